"""The app's charts: every text from the data escaped for plotly, one colour per category.

Plotly renders a subset of HTML in labels, legends, ticks and hovers, so every string that comes
from the data goes through ``plot_text`` (``plot_frame`` does it for a whole frame). Category colours
come from ``category_colors``: fixed by the category's place in its taxonomy, so a category keeps
its colour whatever the filters leave in view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import polars as pl

from memex_audit.analysis import NOT_AUDITED
from memex_audit.app._text import plot_text, shorten
from memex_audit.taxonomy import UNCLASSIFIED
from memex_audit.trajectory import Trajectory

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#59a14f",
    "#8cd17d",
    "#d37295",
    "#a0cbe8",
    "#ffbe7d",
    "#86bcb6",
    "#f1ce63",
    "#d4a6c8",
)
FIXED_COLORS = {
    "correct": "#2ca02c",
    "ungraded": "#c7c7c7",
    NOT_AUDITED: "#e0e0e0",
    UNCLASSIFIED: "#7f7f7f",
}
"""Colours of the rows that are not a taxonomy's category."""

CHART_CONFIG = {
    "displaylogo": False,
    "showLink": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
}
"""Plotly config of every chart: no link out of the app."""


def category_colors(taxonomy_ids: Mapping[str, Sequence[str]], seen: Sequence[str] = ()) -> dict[str, str]:
    """A colour per category: by its position in its taxonomy (stable across views), then the
    categories seen that no taxonomy lists (sorted), then the fixed outcome colours."""
    colors: dict[str, str] = {}
    for ids in taxonomy_ids.values():
        for n, category in enumerate(c for c in ids if c not in FIXED_COLORS):
            colors.setdefault(plot_text(category), PALETTE[n % len(PALETTE)])
    extra = sorted(c for c in seen if plot_text(c) not in colors and c not in FIXED_COLORS)
    for n, category in enumerate(extra, start=len(colors)):
        colors[plot_text(category)] = PALETTE[n % len(PALETTE)]
    colors.update({plot_text(k): v for k, v in FIXED_COLORS.items()})
    return colors


def plot_frame(frame: pl.DataFrame, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """``frame`` with its string columns (or ``columns``) escaped by ``plot_text``."""
    names = columns if columns is not None else [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        [
            pl.col(c)
            .cast(pl.String)
            .str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True)
            for c in names
            if c in frame.columns
        ]
    )


STRIP_KINDS = {
    "faulty step": "#d62728",
    "human label": "#17becf",
    "evidence": "#ff7f0e",
    "error": "#9467bd",
    "agent change": "#1f77b4",
    "step": "#d9d9d9",
}
"""What a cell of the step overview strip shows, most important first, and its colour."""


def strip_kinds(
    trajectory: Trajectory,
    evidence_steps: Sequence[int],
    faulty_steps: Sequence[int],
    labelled_steps: Sequence[int] = (),
) -> list[str]:
    """For each step, the most important of: faulty step, human label, evidence, error, agent
    change, step."""
    evidence, faulty, labelled = set(evidence_steps), set(faulty_steps), set(labelled_steps)
    kinds = []
    previous_agent: str | None = None
    for step in trajectory.steps:
        if step.index in faulty:
            kind = "faulty step"
        elif step.index in labelled:
            kind = "human label"
        elif step.index in evidence:
            kind = "evidence"
        elif step.error:
            kind = "error"
        elif step.agent and previous_agent is not None and step.agent != previous_agent:
            kind = "agent change"
        else:
            kind = "step"
        if step.agent:
            previous_agent = step.agent
        kinds.append(kind)
    return kinds


def step_strip(
    trajectory: Trajectory,
    evidence_steps: Sequence[int],
    faulty_steps: Sequence[int],
    labelled_steps: Sequence[int] = (),
) -> go.Figure:
    """One cell per step, coloured by ``strip_kinds``; hover names the step (escaped). Clicking a
    cell selects its step (the page reads the selection)."""
    kinds = strip_kinds(trajectory, evidence_steps, faulty_steps, labelled_steps)
    figure = go.Figure()
    for kind, color in STRIP_KINDS.items():
        steps = [s for s, k in zip(trajectory.steps, kinds, strict=True) if k == kind]
        if not steps:
            continue
        hover = [
            plot_text(
                f"step {s.index} · {s.role}"
                + (f" · {s.agent}" if s.agent else "")
                + (f" · {s.tool_name}" if s.tool_name else "")
                + f" · {kind}"
                + (f"\n{shorten(s.error, 80)}" if s.error else "")
            ).replace("\n", "<br>")
            for s in steps
        ]
        figure.add_bar(
            x=[s.index for s in steps],
            y=[1] * len(steps),
            name=kind,
            marker={"color": color, "line": {"width": 0}},
            hovertext=hover,
            hoverinfo="text",
            customdata=[s.index for s in steps],
            width=1.0,
        )
    figure.update_layout(
        height=110,
        margin={"l": 10, "r": 10, "t": 30, "b": 25},
        barmode="overlay",
        bargap=0,
        showlegend=True,
        legend={"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
        clickmode="event+select",
        dragmode=False,
    )
    figure.update_yaxes(visible=False, fixedrange=True)
    figure.update_xaxes(title=None, range=[-0.5, len(trajectory.steps) - 0.5], fixedrange=True)
    return figure
