"""Defining checks in a Python file, and loading them from files or folders.

A check is a function of a ``Trajectory`` (and, when it takes a second parameter, the
``TaskGroup`` of that trajectory's task) that returns findings: a ``Finding``, an iterable of
them, or ``None``. A check file marks its checks with ``@check`` (or names them ``check_*``)::

    from memex_audit.checks import Finding, check
    from memex_audit.reading import calls_with_results, is_error_output

    @check(description="A call that failed was repeated unchanged.")
    def repeated_failing_call(trajectory):
        ...
        yield Finding(label="repeated_failing_call", step=3, quote="Error: ...", note="...")
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from memex_audit.checks._models import Finding
from memex_audit.errors import UsageError
from memex_audit.trajectory import TaskGroup, Trajectory

CheckResult = Finding | Iterable[Finding] | None
"""What a check function returns."""

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__memex_check__"


@dataclass(frozen=True)
class Check:
    """A loaded check.

    Attributes:
        name: The check's name (the function's, unless ``@check(name=...)`` says otherwise).
        description: What it looks for (its docstring's first line unless given).
        function: The function.
        wants_group: Whether it takes the trajectory's ``TaskGroup`` as a second argument.
        source: The file it was loaded from.
    """

    name: str
    description: str
    function: Callable[..., CheckResult]
    wants_group: bool
    source: str

    def __call__(self, trajectory: Trajectory, group: TaskGroup) -> list[Finding]:
        """Run the check; its findings as a list, each marked with the check's name."""
        result = self.function(trajectory, group) if self.wants_group else self.function(trajectory)
        if result is None:
            return []
        items = [result] if isinstance(result, Finding) else list(result)
        for item in items:
            if not isinstance(item, Finding):
                raise TypeError(f"check {self.name} returned {type(item).__name__}, not a Finding")
        return [item.model_copy(update={"check": self.name}) for item in items]


@overload
def check(function: F, /) -> F: ...
@overload
def check(*, name: str | None = None, description: str | None = None) -> Callable[[F], F]: ...
def check(
    function: F | None = None, /, *, name: str | None = None, description: str | None = None
) -> F | Callable[[F], F]:
    """Mark a function as a check (usable bare, ``@check``, or with ``name`` / ``description``)."""

    def mark(fn: F) -> F:
        setattr(fn, _MARK, {"name": name or fn.__name__, "description": description})
        return fn

    return mark(function) if function is not None else mark


def check_files(paths: Iterable[Path]) -> list[Path]:
    """The ``.py`` files named, folders expanded (sorted; files starting with ``_`` skipped).

    Raises:
        UsageError: A path does not exist, is not a Python file, or a folder holds none.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
            if not found:
                raise UsageError(f"{path} holds no check files (*.py)")
            files.extend(found)
        elif path.is_file() and path.suffix == ".py":
            files.append(path)
        elif path.exists():
            raise UsageError(f"{path} is not a Python file; a check file is a .py file")
        else:
            raise UsageError(f"check file {path} does not exist")
    return files


def checks_digest(files: Iterable[Path]) -> str:
    """A short digest of the check files' names and contents: results of other versions are apart."""
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda p: p.name):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def load_checks(paths: Iterable[Path]) -> list[Check]:
    """The checks defined in the files (or folders of files) ``paths``, in file and definition order.

    Raises:
        UsageError: A file cannot be imported (its error is named), defines no check, or two
            checks share a name.
    """
    checks: list[Check] = []
    for file in check_files(paths):
        found = _checks_in(file)
        if not found:
            raise UsageError(f"{file} defines no check: mark functions with @check or name them check_*")
        checks.extend(found)
    seen: dict[str, str] = {}
    for item in checks:
        if item.name in seen:
            raise UsageError(f"two checks are named {item.name!r} ({seen[item.name]} and {item.source})")
        seen[item.name] = item.source
    return checks


def _checks_in(file: Path) -> list[Check]:
    module_name = (
        f"memex_audit_checks_{hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:10]}_{file.stem}"
    )
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # process pools find the functions by module name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise UsageError(f"{file} could not be imported: {type(exc).__name__}: {exc}") from exc
    found: list[Check] = []
    for attr, value in vars(module).items():
        if not callable(value) or getattr(value, "__module__", None) != module_name:
            continue
        mark = getattr(value, _MARK, None)
        if mark is None and not (attr.startswith("check_") and inspect.isfunction(value)):
            continue
        mark = mark or {"name": attr, "description": None}
        found.append(
            Check(
                name=str(mark["name"]),
                description=mark["description"] or _first_line(inspect.getdoc(value)),
                function=value,
                wants_group=_wants_group(value, file),
                source=str(file),
            )
        )
    return found


def _wants_group(function: Callable[..., Any], file: Path) -> bool:
    params = [
        p
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(params) not in (1, 2):
        raise UsageError(
            f"check {function.__name__} in {file} takes {len(params)} arguments; a check takes the "
            "trajectory, and optionally its TaskGroup"
        )
    return len(params) == 2


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0] if doc and doc.strip() else ""
