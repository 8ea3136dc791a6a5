"""Procedural memory: a function registered in one run is a typed tool in the next."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from memex_audit.agent import Agent, Skill, SkillLibrary
from memex_audit.errors import UsageError
from memex_audit.llm import ScriptedModel

SLUGIFY = '''def slugify(text: str, sep: str = "-") -> str:
    """Lower-case words of ``text`` joined by ``sep``."""
    return sep.join(re.findall(r"[a-z0-9]+", text.lower()))'''


def code(body: str, thought: str = "Next step.") -> str:
    return f"{thought}\n```python\n{body}\n```"


def register_run(
    library: Path, body: str = SLUGIFY, test: str = "assert slugify('A  b!') == 'a-b'"
) -> ScriptedModel:
    model = ScriptedModel(
        [
            code("import re"),
            code(f"{body}\nprint(slugify('Hello World'))"),
            code(f"info = register_skill(slugify, test={test!r})\nprint(info)"),
            code("submit('saved')"),
        ]
    )
    result = Agent(model, str, skills=library).run_sync("Write slugify and save it.")
    assert result.stop_reason == "submitted", result.error
    assert "SkillInfo(name='slugify'" in model.requests[3].messages[-1].text()
    return model


def test_a_skill_registered_in_one_run_is_a_typed_tool_in_the_next(tmp_path: Path) -> None:
    library = tmp_path / "skills"
    first = register_run(library)
    assert "SkillInfo(name='slugify', version=1" in first.requests[3].messages[-1].text()
    saved = json.loads((library / "slugify" / "v1.json").read_text())
    assert saved["signature"] == "def slugify(text: str, sep: str = '-') -> str"
    assert saved["doc"] == "Lower-case words of ``text`` joined by ``sep``."
    assert saved["source"].startswith("import re\n") and "def slugify" in saved["source"]
    assert saved["test"] == "assert slugify('A  b!') == 'a-b'"

    model = ScriptedModel([code("submit(slugify('Memex Audit, 2026', sep='_'))")])
    result = Agent(model, str, skills=library).run_sync("Make a slug.")
    assert result.output == "memex_audit_2026"
    system = model.requests[0].system
    assert "## Skills" in system
    assert "def slugify(text: str, sep: str = '-') -> str:" in system
    assert "Lower-case words of ``text`` joined by ``sep``. (v1)" in system
    assert result.trajectory.metadata["skills"] == {
        "library": str(library),
        "loaded": ["slugify@1"],
        "problems": [],
        "registered": [],
    }


def test_re_registering_bumps_the_version_latest_wins_older_kept(tmp_path: Path) -> None:
    library = tmp_path / "skills"
    register_run(library)
    register_run(
        library, SLUGIFY.replace("sep.join", "sep.upper().join"), "assert slugify('a b', 'x') == 'aXb'"
    )
    assert SkillLibrary(library).versions("slugify") == [1, 2]
    model = ScriptedModel([code("submit(slugify('a b', 'x'))")])
    result = Agent(model, str, skills=library).run_sync("Use the newest.")
    assert result.output == "aXb"
    assert "(v2)" in model.requests[0].system


def test_a_broken_skill_is_reported_not_fatal_and_an_older_version_loads(tmp_path: Path) -> None:
    library = tmp_path / "skills"
    register_run(library)
    (library / "slugify" / "v2.json").write_text("{not json")
    bad = (
        SkillLibrary(library)
        .read("slugify", 1)
        .model_copy(
            update={
                "name": "fails",
                "source": "def fails() -> int:\n    return 1\n",
                "test": "assert fails() == 2",
            }
        )
    )
    (library / "fails").mkdir()
    (library / "fails" / "v1.json").write_text(bad.model_dump_json())
    model = ScriptedModel([code("submit(slugify('still works'))")])
    result = Agent(model, str, skills=library).run_sync("Use what loads.")
    assert result.stop_reason == "submitted" and result.output == "still-works"
    system = model.requests[0].system
    assert "could not be loaded" in system
    assert "v2.json): it is not a valid skill file" in system
    assert "fails" in system and "its test failed: AssertionError" in system
    skills = result.trajectory.metadata["skills"]
    assert isinstance(skills, dict) and skills["loaded"] == ["slugify@1"]
    problems = skills["problems"]
    assert isinstance(problems, list) and {p["name"] for p in problems} == {"slugify", "fails"}  # type: ignore[index]


def test_registration_needs_a_self_contained_function_and_a_passing_test(tmp_path: Path) -> None:
    library = tmp_path / "skills"
    model = ScriptedModel(
        [
            code("limit = 3\ndef short(xs: list[int]) -> list[int]:\n    return xs[:limit]"),
            code("register_skill(short, test='assert short([1, 2, 3, 4]) == [1, 2, 3]')"),
            code(
                "def double(x: int) -> int:\n    return x * 2\nregister_skill(double, test='assert double(2) == 5')"
            ),
            code("register_skill(lambda x: x, test='pass')"),
            code("register_skill = print"),
            code("submit('done')"),
        ]
    )
    Agent(model, str, skills=library).run_sync("Try to save.")
    assert "reads kernel names no import provides: limit (int)" in model.requests[2].messages[-1].text()
    assert "its test failed: AssertionError" in model.requests[3].messages[-1].text()
    assert "not a lambda" in model.requests[4].messages[-1].text()
    assert "`register_skill` is reserved and was restored" in model.requests[5].messages[-1].text()
    assert SkillLibrary(library).names() == []


@pytest.mark.slow
def test_search_finds_skills_in_a_large_library(tmp_path: Path) -> None:
    library = SkillLibrary(tmp_path / "skills")
    for n in range(30):
        library.register(
            name=f"metric_{n}", source=f"def metric_{n}() -> int:\n    return {n}\n", test="pass"
        )
    library.register(
        name="count_tool_errors",
        source='def count_tool_errors(outputs: list[str]) -> int:\n    """Count tracebacks in tool outputs."""\n'
        '    return sum("Traceback" in o for o in outputs)\n',
        test="assert count_tool_errors(['Traceback x', 'ok']) == 1",
    )
    assert library.search("tracebacks tool")[0].name == "count_tool_errors"
    model = ScriptedModel(
        [
            code("hits = search_skills('count tracebacks in tool outputs')\nprint(hits[0].name)"),
            code("submit(metric_3())"),
        ]
    )
    result = Agent(model, int, skills=library).run_sync("Find a skill.")
    assert model.requests[1].messages[-1].text().startswith("count_tool_errors")
    assert result.output == 3  # every skill is callable, listed or not
    system = model.requests[0].system
    assert "31 in the library; the 20 newest are listed" in system and "search_skills(query)" in system
    assert system.count("(v1)") == 20


def test_concurrent_registrations_get_distinct_versions(tmp_path: Path) -> None:
    library = SkillLibrary(tmp_path / "skills")
    errors: list[BaseException] = []

    def register(n: int) -> None:
        try:
            library.register(name="same", source=f"def same() -> int:\n    return {n}\n", test="same()")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert library.versions("same") == [1, 2, 3, 4, 5, 6]
    assert not [p for p in (tmp_path / "skills" / "same").iterdir() if p.suffix == ".tmp"]
    assert all(isinstance(library.read("same", v), Skill) for v in range(1, 7))


def test_a_skill_name_taken_by_the_scope_is_reported(tmp_path: Path) -> None:
    library = tmp_path / "skills"
    register_run(library)
    model = ScriptedModel([code("submit(slugify)")])
    result = Agent(model, str, skills=library).run_sync("Shadowed.", slugify="mine")
    assert result.output == "mine"
    assert "not loaded: `slugify` is taken in this run" in model.requests[0].system


def test_skills_are_in_process_only() -> None:
    with pytest.raises(UsageError, match="in-process kernel only"):
        Agent(ScriptedModel([]), str, skills="anywhere", kernel="subprocess")
