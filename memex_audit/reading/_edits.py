"""Which steps of a shell-driven coding rollout wrote to which files.

Coding agents edit files through shell commands (``sed -i``, a heredoc redirected into a file, a
Python snippet that opens a file for writing, ``patch``/``git apply``). Knowing the step that first
wrote each file the submitted patch changes locates where a change entered the run, which is where
an audit should point, rather than at a later test rerun that only shows the symptom.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from memex_audit.reading._memo import per_steps
from memex_audit.trajectory import Step, Trajectory

# The lookahead for the first characters of the choices lets the regex engine leave most positions
# of a long command at once instead of trying every choice there.
_WRITE = re.compile(
    r"(?=[>.cegmopst])(?:\bsed\s+(?:-[a-zA-Z]*i|--in-place)|(?<![<>&|0-9])>{1,2}\s*['\"]?[\w./-]+|\btee\b|"
    r"open\([^)]*['\"][wa]\+?['\"]|\.write_text\(|\.write\(|\bpatch\b|\bgit\s+apply\b|"
    r"\b(?:cp|mv|touch)\s|\bperl\s+-[a-zA-Z]*i|str_replace|create_file|edit_file)"
)


@dataclass(frozen=True)
class FileEdit:
    """A step that wrote to a file.

    Attributes:
        step: The step index.
        path: The file as the patch names it.
        quote: The text of the step that names the file (verbatim, for evidence).
    """

    step: int
    path: str
    quote: str


def _command_text(step: Step) -> str:
    parts = [step.code or ""]
    for call in step.tool_calls:
        for value in call.arguments.values():
            if isinstance(value, str):
                parts.append(value)
    return "\n".join([p for p in parts if p])


def _mentions(command: str, path: str) -> str | None:
    """The way ``command`` names ``path``: the full path, else a path ending with its last two parts."""
    if path in command:
        return path
    tail = _tail(path)
    # the pattern only matches where the tail is written: most commands do not write it at all
    if tail in command and _tail_pattern(tail).search(command):
        return tail
    return None


def _tail(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else parts[-1]


@functools.lru_cache(maxsize=1024)
def _tail_pattern(tail: str) -> re.Pattern[str]:
    """``tail`` written as a whole path (not inside a longer name)."""
    return re.compile(rf"(?<![\w.-]){re.escape(tail)}(?![\w.-])")


def file_edits(trajectory: Trajectory, paths: tuple[str, ...]) -> list[FileEdit]:
    """Steps that wrote to one of ``paths``, in order (a step that names a path and writes)."""
    return [e for e in _all_edits(trajectory, paths)]


def first_edit(trajectory: Trajectory, path: str) -> FileEdit | None:
    """The first step that wrote to ``path``."""
    return next((e for e in _all_edits(trajectory, (path,)) if e.path == path), None)


def _all_edits(trajectory: Trajectory, paths: tuple[str, ...]) -> list[FileEdit]:
    edits = []
    for step, command in _writing_steps(trajectory):
        for path in paths:
            named = _mentions(command, path)
            if named is not None and step.contains(named):
                edits.append(FileEdit(step.index, path, named))
    return edits


@per_steps
def _writing_steps(trajectory: Trajectory) -> tuple[tuple[Step, str], ...]:
    """The assistant steps whose command writes, each with its command text."""
    commands = ((s, _command_text(s)) for s in trajectory.steps if s.role == "assistant")
    return tuple((s, command) for s, command in commands if _WRITE.search(command))
