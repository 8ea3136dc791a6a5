"""Errors in tool outputs, judged by the structure of the output (see ``memex_audit.reading.error_line``).

An error is a tool result that failed: a non-zero return code, the tool's error flag, an error
report or a traceback ending in an exception line. Text that merely looks like an error inside a
successful output (an ``except X:`` line in a listing or a diff, a plugin named ``timeout``) is not
one. An error the run recovered from (the same tool later succeeded) is a weaker signal.
"""

from __future__ import annotations

import re

from memex_audit.auditor._scope import is_observation, observation_text
from memex_audit.auditor._signal import STRENGTH, Signal, make_signal, responsible_agent
from memex_audit.reading import error_line
from memex_audit.taxonomy import SignalKind
from memex_audit.trajectory import Trajectory

RESOLVED_DISCOUNT = 0.25
"""An error the trajectory recovered from (the same tool later succeeded) says less about the failure."""

_ERROR_KIND: list[tuple[SignalKind, re.Pattern[str]]] = [
    ("timeout", re.compile(r"\bTimeoutError\b|\btimed? ?out\b|deadline exceeded", re.IGNORECASE)),
    (
        "api_error",
        re.compile(
            r"\bHTTP(?:Error)?(?:/\d(?:\.\d)?)?:? ?[45]\d\d\b|\bstatus(?: code)?:? [45]\d\d\b|rate.?limit|"
            r"too many requests|unauthori[sz]ed|forbidden",
            re.IGNORECASE,
        ),
    ),
    (
        "environment_error",
        re.compile(
            r"^(?:\w+\.)*(?:ModuleNotFoundError|ImportError)\b|command not found|"
            r"No such file or directory|Permission denied|No module named"
        ),
    ),
]


def error_kind(line: str) -> SignalKind:
    """What kind of error an error line reports: a timeout, an API error, the environment, or the tool."""
    return next((kind for kind, pattern in _ERROR_KIND if pattern.search(line)), "tool_error")


def detect_tool_errors(trajectory: Trajectory) -> list[Signal]:
    """Failed tool results, one signal each; an error the same tool later recovered from is weaker."""
    signals = []
    observations = [s for s in trajectory.steps if is_observation(s)]
    failed = {s.index: error_line(s, observation_text(s)) for s in observations}
    # Whether a later observation of the same tool succeeded, for each position: one backward pass.
    recovered_at = [False] * len(observations)
    succeeded: set[str | None] = set()
    for position in range(len(observations) - 1, -1, -1):
        step = observations[position]
        recovered_at[position] = step.tool_name in succeeded
        if failed[step.index] is None:
            succeeded.add(step.tool_name)
    for position, step in enumerate(observations):
        line = failed[step.index]
        if line is None or not step.contains(line):
            continue
        kind = error_kind(line)
        recovered = recovered_at[position]
        strength = STRENGTH[kind] - (RESOLVED_DISCOUNT if recovered else 0.0)
        state = "the same tool later succeeded" if recovered else "never recovered from"
        signals.append(
            make_signal(
                kind,
                step,
                line,
                f"error in the output of step {step.index} ({state})",
                agent=responsible_agent(trajectory, step.index),
                strength=strength,
            )
        )
    return signals
