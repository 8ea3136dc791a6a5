"""Procedural memory: a folder of versioned skills that later runs load as typed tools.

A skill is a function an agent wrote, validated with a test call, and saved with
``register_skill``: its self-contained source (the imports it needs, then the ``def``), its
signature, its docstring and the test. On disk::

    <library>/<name>/v1.json, v2.json, ...

one JSON file per version (never pickle), written atomically and never overwritten: registering
a name again adds the next version, the latest that loads wins, older ones are kept. Loading a
skill runs its source in a fresh namespace and its test call; a skill that fails either is
reported (the run's prompt and record say which and why) and an older version is tried.
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import linecache
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memex_audit.agent._render import render_signature
from memex_audit.errors import UsageError

SKILL_SCHEMA_VERSION = "1"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_VERSION_FILE = re.compile(r"^v(\d+)\.json$")
_WORD = re.compile(r"[a-z]+|\d+")


class Skill(BaseModel):
    """One version of a skill, as stored in the library.

    Attributes:
        name: The function's name (the tool's name in later runs).
        version: 1 for the first registration, one more for each later one.
        signature: ``def name(...) -> ...`` as the model reads it.
        doc: The function's docstring.
        source: Self-contained Python: the imports the function needs, then its definition.
        test: Code that called the function and passed when it was registered (run again at load).
        created_at: When it was registered.
        run_id: The run that registered it.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["skill"] = "skill"
    schema_version: str = SKILL_SCHEMA_VERSION
    name: str = Field(pattern=_NAME.pattern)
    version: int = Field(ge=1)
    signature: str
    doc: str = ""
    source: str
    test: str
    created_at: datetime
    run_id: str | None = None

    @property
    def summary(self) -> str:
        """The docstring's first line."""
        return self.doc.strip().split("\n", 1)[0] if self.doc.strip() else ""


@dataclass(frozen=True)
class SkillInfo:
    """A skill as ``search_skills`` and ``register_skill`` describe it."""

    name: str
    version: int
    signature: str
    summary: str


@dataclass(frozen=True)
class LoadedSkill:
    """A skill whose source ran and whose test passed: ``function`` is ready to call."""

    skill: Skill
    function: Callable[..., Any]


@dataclass(frozen=True)
class SkillProblem:
    """A skill version that could not be loaded, and why."""

    name: str
    file: str
    error: str

    def as_record(self) -> dict[str, str]:
        """JSON data for the record."""
        return {"name": self.name, "file": self.file, "error": self.error}


@dataclass(frozen=True)
class SkillLoad:
    """What loading a library gave: the skills ready to use, and the versions that failed."""

    skills: list[LoadedSkill]
    problems: list[SkillProblem]


def materialize(skill: Skill) -> Callable[..., Any]:
    """Run a skill's source in a fresh namespace, run its test there, and return the function.

    Raises:
        ValueError: The source does not define a function of the skill's name, or the source or
            the test raised (the message names the exception).
    """
    filename = f"<skill {skill.name} v{skill.version}>"
    # Tracebacks and ``inspect.getsource`` read skill lines from here.
    linecache.cache[filename] = (len(skill.source), None, skill.source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": f"memex_skill_{skill.name}", "__builtins__": builtins}
    try:
        exec(compile(skill.source, filename, "exec"), namespace)
    except (Exception, SystemExit) as exc:  # a skill's exit() must not end the run loading it
        raise ValueError(f"its source raised {type(exc).__name__}: {exc}") from None
    function = namespace.get(skill.name)
    if not inspect.isfunction(function):
        raise ValueError(f"its source defines no function named {skill.name!r}")
    try:
        exec(compile(skill.test, f"<test of {skill.name} v{skill.version}>", "exec"), dict(namespace))
    except (Exception, SystemExit) as exc:
        raise ValueError(f"its test failed: {type(exc).__name__}: {exc}") from None
    return function


class SkillLibrary:
    """A folder of skills (created on first registration).

    Args:
        path: The library's folder.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"SkillLibrary({str(self.path)!r})"

    def versions(self, name: str) -> list[int]:
        """The versions of ``name`` on disk, oldest first."""
        folder = self.path / name
        if not folder.is_dir():
            return []
        found = [int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_FILE.match(p.name))]
        return sorted(found)

    def names(self) -> list[str]:
        """Names with at least one version on disk, sorted."""
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if p.is_dir() and _NAME.match(p.name))

    def read(self, name: str, version: int) -> Skill:
        """One version, parsed.

        Raises:
            ValueError: The file is missing, not JSON, or does not validate as a ``Skill`` of
                that name and version.
        """
        path = self.path / name / f"v{version}.json"
        try:
            skill = Skill.model_validate_json(path.read_bytes())
        except OSError as exc:
            raise ValueError(f"cannot read it: {exc.strerror or exc}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(file)"
            raise ValueError(f"it is not a valid skill file ({where}: {first['msg']})") from None
        if skill.name != name or skill.version != version:
            raise ValueError(f"it holds {skill.name} v{skill.version}, not {name} v{version}")
        return skill

    def register(self, *, name: str, source: str, test: str, run_id: str | None = None) -> Skill:
        """Check a skill (its source runs, its test passes) and save it as the next version.

        Args:
            name: The function's name.
            source: Self-contained source defining it.
            test: Code calling it that must not raise.
            run_id: The run registering it.

        Returns:
            The saved version.

        Raises:
            UsageError: The name is not a plain identifier.
            ValueError: The source or the test failed.
        """
        if not _NAME.match(name):
            raise UsageError(f"a skill name must be a plain identifier not starting with '_', not {name!r}")
        if not test.strip():
            raise ValueError("a skill needs a test: code that calls it and checks the result")
        draft = Skill(
            name=name,
            version=1,
            signature="",
            source=source,
            test=test,
            created_at=datetime.now(UTC),
            run_id=run_id,
        )
        function = materialize(draft)
        draft = draft.model_copy(
            update={"signature": render_signature(function), "doc": inspect.getdoc(function) or ""}
        )
        return self._write_next(draft)

    def _write_next(self, draft: Skill) -> Skill:
        folder = self.path / draft.name
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            version = (self.versions(draft.name) or [0])[-1] + 1
            skill = draft.model_copy(update={"version": version})
            fd, tmp = tempfile.mkstemp(prefix=f".v{version}.", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(skill.model_dump_json(indent=2).encode() + b"\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                # A hard link appears whole and fails if another run took this version first.
                os.link(tmp, folder / f"v{version}.json")
                return skill
            except FileExistsError:
                continue
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def latest(self) -> tuple[list[Skill], list[SkillProblem]]:
        """The newest readable version of each skill (unreadable newer ones are reported)."""
        skills: list[Skill] = []
        problems: list[SkillProblem] = []
        for name in self.names():
            for version in reversed(self.versions(name)):
                try:
                    skills.append(self.read(name, version))
                    break
                except ValueError as exc:
                    problems.append(SkillProblem(name, str(self.path / name / f"v{version}.json"), str(exc)))
        return skills, problems

    def load(self) -> SkillLoad:
        """Every skill ready to call: for each name, the newest version that reads, runs and passes.

        Never raises for a bad skill: it goes in ``problems`` and an older version is tried.
        """
        loaded: list[LoadedSkill] = []
        problems: list[SkillProblem] = []
        for name in self.names():
            for version in reversed(self.versions(name)):
                file = str(self.path / name / f"v{version}.json")
                try:
                    skill = self.read(name, version)
                    loaded.append(LoadedSkill(skill, materialize(skill)))
                    break
                except ValueError as exc:
                    problems.append(SkillProblem(name, file, str(exc)))
        return SkillLoad(loaded, problems)

    def search(self, query: str, limit: int = 5) -> list[Skill]:
        """The skills whose name, docstring and signature share the most words with ``query``.

        Lexical scoring: a query word found in the name counts 3, in the docstring or
        signature 1; a word that starts one of them counts half. Ties go to the shorter name.
        """
        skills, _ = self.latest()
        return rank(skills, query, limit)


def rank(skills: list[Skill], query: str, limit: int) -> list[Skill]:
    """``skills`` sorted by lexical score against the words of ``query`` (see ``SkillLibrary.search``)."""
    words = _words(query)
    scored: list[tuple[float, Skill]] = []
    for skill in skills:
        name = set(_words(skill.name))
        text = set(_words(skill.doc + " " + skill.signature))
        score = 0.0
        for word in words:
            if word in name:
                score += 3
            elif word in text:
                score += 1
            elif any(w.startswith(word) for w in name | text):
                score += 0.5
        if score > 0:
            scored.append((score, skill))
    scored.sort(key=lambda pair: (-pair[0], len(pair[1].name), pair[1].name))
    return [skill for _, skill in scored[:limit]]


def _words(text: str) -> list[str]:
    # snake_case and camelCase split into words: "parseHTTPDate_v2" -> parse, http, date, v, 2.
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return _WORD.findall(spaced.lower())


def as_info(skill: Skill) -> SkillInfo:
    """The short description of a skill."""
    return SkillInfo(name=skill.name, version=skill.version, signature=skill.signature, summary=skill.summary)


def coerce_library(value: SkillLibrary | str | Path) -> SkillLibrary:
    """A ``SkillLibrary`` from itself or a folder path."""
    if isinstance(value, SkillLibrary):
        return value
    if isinstance(value, str | os.PathLike):
        return SkillLibrary(value)
    raise UsageError(f"skills must be a SkillLibrary or a folder path, not {type(value).__name__}")
