"""Best-of-N: accuracy of each policy against majority vote, accuracy as N grows, and per task the
rollouts' answers (normalised, with short labels A, B, C), the chosen answer diffed against majority
and ground truth, and all N rollouts' actions side by side with the first divergence marked."""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from memex_audit.analysis._aggregate_summary import aggregate_accuracy_frame, aggregate_scaling_frame
from memex_audit.analysis._queries import natural_key, policy_cases, rollout_votes, scaling_long
from memex_audit.app._answers import (
    action_sequence,
    answer_diff,
    answer_labels,
    first_divergence,
    normal_answer,
)
from memex_audit.app._charts import CHART_CONFIG, plot_frame
from memex_audit.app._render import selected_row, show_paged_frame, show_text
from memex_audit.app._state import current_workspace, viewer_params
from memex_audit.app._text import escape_markdown, plot_text

CASE_ORDER = {"rescue": 0, "harm": 1, "both wrong": 2, "both right": 3, "ungraded": 4}

st.title("Best-of-N")
ws = current_workspace()
if not ws.aggregates:
    st.info("No aggregate run loaded: run `memex-audit aggregate ROLLOUTS --out RUN_DIR` first.")
    st.stop()

run = st.selectbox("Aggregate run", list(ws.aggregates), key="run", bind="query-params")
results = ws.aggregates[run]
if not results:
    st.info("This run has no aggregated task yet.")
    st.stop()

accuracy = aggregate_accuracy_frame(results)
left, right = st.columns(2)
with left:
    st.subheader("Accuracy")
    st.dataframe(
        accuracy,
        hide_index=True,
        key="bon:accuracy",
        column_config={"accuracy": st.column_config.NumberColumn(format="percent")},
    )
with right:
    scaling = scaling_long(aggregate_scaling_frame(results))
    if scaling.height:
        figure = px.line(
            plot_frame(scaling, ["policy"]).to_pandas(),
            x="n",
            y="accuracy",
            color="policy",
            markers=True,
            log_x=True,
            title="Accuracy as N grows",
            labels={"n": "rollouts (N)"},
        )
        figure.update_xaxes(tickvals=sorted(set(scaling.get_column("n").to_list())))
        figure.update_yaxes(tickformat=".0%")
        st.plotly_chart(figure, key="bon:scaling", config=CHART_CONFIG)
    else:
        st.caption("This run did not compute accuracy over subsets (it was run with --no-scaling).")

choosers = [p for p in accuracy.get_column("policy").to_list() if p not in ("pass@1", "majority", "oracle")]
if not choosers:
    st.stop()
default = choosers.index("verifier") if "verifier" in choosers else 0
policy = st.selectbox(
    "Policy against majority vote", choosers, index=default, key="policy", bind="query-params"
)
cases = policy_cases(results, policy)
counts = cases.group_by("case").len().sort("case")
st.caption(" · ".join(f"{case}: {n}" for case, n in counts.iter_rows()))
kinds = st.multiselect(
    "Cases",
    sorted(cases.get_column("case").unique().to_list()),
    default=[],
    key="cases",
    bind="query-params",
    help="Rescue: majority wrong, the policy right. Harm: majority right, the policy wrong.",
)
shown = cases.filter(pl.col("case").is_in(kinds)) if kinds else cases
# Rescues and harms first (what a policy changes against majority vote), then tasks in numeric order.
keys = [
    (CASE_ORDER.get(case, len(CASE_ORDER)), natural_key(task))
    for case, task in zip(
        shown.get_column("case").to_list(), shown.get_column("task_id").to_list(), strict=True
    )
]
shown = shown[sorted(range(shown.height), key=keys.__getitem__)]
tasks_table = shown.with_columns(
    pl.col("answer").map_elements(lambda a: normal_answer(a)[:200], return_dtype=pl.String),
    pl.col("majority_answer").map_elements(lambda a: normal_answer(a)[:200], return_dtype=pl.String),
)
st.caption("Select a task to compare its rollouts below.")
page = show_paged_frame(
    tasks_table, key="bon:tasks", page_size=25, on_select="rerun", selection_mode="single-row"
)
left, right = st.columns(2)
left.download_button(
    "Best-of-N table as CSV",
    shown.write_csv(),
    file_name=f"best_of_n_{policy}.csv",
    mime="text/csv",
    on_click="ignore",
    key="bon:csv",
)

if shown.height == 0:
    st.stop()
task_options = shown.get_column("task_id").to_list()
pick = selected_row("bon:tasks")
if pick is not None and pick < page.height:
    st.session_state["b_task"] = page.get_column("task_id")[pick]
requested = st.query_params.get("b_task")
if requested and requested not in task_options:
    st.warning(f"Task {escape_markdown(requested)} is not among the tasks listed; showing another one.")
task_id = st.selectbox("Task", task_options, key="b_task", bind="query-params")
result = ws.aggregate_result(run, task_id)
if result is None:
    st.stop()
rollouts = {t.id: t for t in ws.task(task_id)}
first = next(iter(rollouts.values()), None)
truth = first.ground_truth if first is not None else None
chosen = result.aggregations.get(policy)
majority = result.aggregations.get("majority")

st.subheader(f"Task {escape_markdown(task_id)}")
if result.question:
    show_text(result.question, key="bon:question", label="question")

# -- answers: normalised, labelled A, B, C by votes, chosen vs majority vs gold as diffs ----------------
normal = {r.rollout_id: normal_answer(r.answer) for r in result.rollouts}
labels = answer_labels(list(normal.values()))
gold = normal_answer(truth) if truth is not None else None
chosen_text = normal_answer(chosen.answer) if chosen and chosen.answer is not None else ""
majority_text = normal_answer(majority.answer) if majority and majority.answer is not None else ""


def _label_of(text: str | None) -> str:
    if text is None:
        return "–"
    return labels.get(text, "other")


def _mark(ok: float | None) -> str:
    if ok is None:
        return ""
    return " :green[:material/check: right]" if ok >= 0.5 else " :red[:material/close: wrong]"


cols = st.columns(3)
cols[0].markdown(
    f"**{escape_markdown(policy)} chose** answer {_label_of(chosen_text)}{_mark(result.correct.get(policy))}"
)
cols[1].markdown(
    f"**majority vote** answer {_label_of(majority_text)}{_mark(result.correct.get('majority'))}"
)
cols[2].markdown(
    "**ground truth** " + (f"answer {_label_of(gold)}" if gold in labels else "(no rollout gave it)")
    if gold is not None
    else "**ground truth**: none recorded"
)
diff_tabs = st.tabs(
    [f"{policy} vs majority", f"{policy} vs ground truth", "majority vs ground truth", "answers"]
)
pairs = [
    (chosen_text, majority_text, policy, "majority"),
    (chosen_text, gold, policy, "ground truth"),
    (majority_text, gold, "majority", "ground truth"),
]
for tab, (a, b, a_name, b_name) in zip(diff_tabs[:3], pairs, strict=True):
    with tab:
        if b is None:
            st.caption("No ground truth recorded for this task.")
        elif a == b:
            st.caption(
                f"{escape_markdown(a_name)} and {escape_markdown(b_name)} give the same answer (normalised)."
            )
            st.code(a or "(none)", language="json", wrap_lines=True)
        else:
            st.code(answer_diff(a, b, a_name, b_name), language="diff", wrap_lines=True)
with diff_tabs[3]:
    for text, label in labels.items():
        st.caption(f"answer {label}")
        st.code(text or "(empty)", language="json", wrap_lines=True)
    if gold is not None and gold not in labels:
        st.caption("ground truth")
        st.code(gold, language="json", wrap_lines=True)

votes = rollout_votes(result, policy).with_columns(
    pl.col("rollout_id").replace_strict({k: labels[v] for k, v in normal.items()}, default="?").alias("label")
)
vote_counts = (
    votes.group_by("label")
    .agg(pl.len().alias("rollouts"), pl.col("trusted").any().alias(f"chosen by {policy}"))
    .with_columns(
        pl.col("label")
        .replace_strict({v: k for k, v in labels.items()}, default="")
        .map_elements(lambda a: plot_text(a[:600]).replace("\n", "<br>"), return_dtype=pl.String)
        .alias("answer")
    )
    .sort("label")
)
left, right = st.columns([3, 2])
with left:
    st.caption("All rollouts: select one to open it in the trajectory viewer.")
    st.dataframe(
        votes.select(
            "label",
            "rollout_id",
            "correct",
            "returned",
            "trusted",
            "majority",
            "votes",
            "support",
            "score",
            "model",
            "notes",
        ),
        hide_index=True,
        key="bon:votes",
        on_select="rerun",
        selection_mode="single-row",
    )
    event = st.session_state.get("bon:votes")
    rows = event["selection"]["rows"] if event else []
    if rows:
        row = votes.row(rows[0], named=True)
        st.switch_page("views/trajectories.py", query_params=viewer_params(task_id, row["rollout_id"]))
with right:
    figure = px.bar(
        vote_counts.to_pandas(),
        x="label",
        y="rollouts",
        color=f"chosen by {policy}",
        hover_data={"answer": True, "label": False},
        title="Votes per answer (hover for the answer)",
        labels={"label": "answer"},
    )
    figure.update_xaxes(type="category")
    st.plotly_chart(figure, key="bon:vote_chart", config=CHART_CONFIG)
if chosen is not None and chosen.rationale:
    show_text(chosen.rationale, key="bon:rationale", label=f"{policy} rationale")

# -- all N rollouts' actions, aligned by position, the first divergence marked --------------------------
loaded = [rollouts[r.rollout_id] for r in result.rollouts if r.rollout_id in rollouts]
if loaded:
    sequences = {t.id: action_sequence(t) for t in loaded}
    divergence = first_divergence([[a for _, a in seq] for seq in sequences.values()])
    st.subheader("Actions of all rollouts")
    st.caption(
        "Each column is a rollout (its answer label first); row n is its n-th action (tool call or code)."
        + (f" The rollouts first differ at action {divergence} (marked ▶)." if divergence is not None else "")
    )
    longest = max((len(s) for s in sequences.values()), default=0)
    frame = pl.DataFrame(
        {
            "action": [("▶ " if n == divergence else "") + str(n) for n in range(longest)],
            **{
                f"{labels.get(normal.get(tid, ''), '?')} · {tid}": [
                    f"[{seq[n][0]}] {seq[n][1]}" if n < len(seq) else "" for n in range(longest)
                ]
                for tid, seq in sequences.items()
            },
        }
    )
    st.dataframe(frame, hide_index=True, key="bon:actions", height=min(600, 40 + 35 * max(longest, 1)))
