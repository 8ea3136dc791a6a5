"""Taxonomies: the shipped ones, validation errors that say where, lookup, and resolution in a wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from memex_audit.errors import TaxonomyError
from memex_audit.taxonomy import (
    SIGNAL_KINDS,
    UNCLASSIFIED,
    available_taxonomies,
    load_taxonomy,
    parse_taxonomy,
    shipped_taxonomy_dir,
)

ROOT = Path(__file__).resolve().parents[2]


def test_every_shipped_taxonomy_loads_by_name() -> None:
    names = set(available_taxonomies())
    assert {"memex", "mast", "trail", "customer_service", "coding"} <= names
    for name in names:
        taxonomy = load_taxonomy(name)
        assert taxonomy.name == name
        assert all(c.definition for c in taxonomy.categories)


def test_memex_axes_have_the_ids_the_sample_labels_use() -> None:
    memex = load_taxonomy("memex")
    assert [c.id for c in memex.categories] == [
        "source_selection",
        "interpretation",
        "search_strategy",
        "execution",
    ]
    assert memex.category_ids[-1] == UNCLASSIFIED
    assert memex.category_for_signal("retyped_number").id == "execution"  # type: ignore[union-attr]


def test_mast_has_fourteen_modes_in_three_groups() -> None:
    mast = load_taxonomy("mast")
    assert [g.id for g in mast.groups] == [
        "specification_issues",
        "inter_agent_misalignment",
        "task_verification",
    ]
    counts = {g.id: sum(c.group == g.id for c in mast.categories) for g in mast.groups}
    assert counts == {"specification_issues": 5, "inter_agent_misalignment": 6, "task_verification": 3}
    assert mast.focus == "attribution"
    assert mast.category("FM-1.3").id == "step_repetition"


def test_trail_has_three_families_with_subcategories() -> None:
    trail = load_taxonomy("trail")
    assert {g.id for g in trail.groups} == {"reasoning", "system_execution", "planning_coordination"}
    sub = {c.subgroup for c in trail.categories if c.group == "system_execution"}
    assert {"configuration_issues", "api_issues", "resource_management"} <= sub
    cat = trail.category("reasoning/information_processing/tool_output_misinterpretation")
    assert cat.name == "Tool output misinterpretation"


def test_lookup_by_id_name_and_path() -> None:
    memex = load_taxonomy("memex")
    assert memex.category("Source Selection").id == "source_selection"
    assert memex.category("grounding/interpretation").id == "interpretation"
    assert memex.get("nonsense") is None
    with pytest.raises(KeyError, match="valid ids"):
        memex.category("nonsense")
    assert memex.group_of("execution").id == "process"  # type: ignore[union-attr]


def test_load_by_path_and_from_user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = textwrap.dedent(
        """
        name: mine
        categories:
          - id: slow
            name: Too slow
            definition: The agent ran out of time.
            signals: [turn_limit]
        """
    )
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    assert load_taxonomy(path).category_for_signal("turn_limit").id == "slow"  # type: ignore[union-attr]
    monkeypatch.setenv("MEMEX_AUDIT_TAXONOMIES", str(tmp_path))
    assert load_taxonomy("mine").name == "mine"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "name: x\ncategories:\n  - id: a\n    name: A\n    definition: ''\n",
            "categories[a].definition: a category needs a definition",
        ),
        (
            "name: x\ncategories:\n  - id: a\n    name: A\n    definition: d\n    signals: [psychic]\n",
            "categories[a].signals",
        ),
        ("name: x\ncategories:\n  - id: unclassified\n    name: U\n    definition: d\n", "reserved"),
        (
            "name: x\ncategories:\n  - {id: a, name: A, definition: d}\n  - {id: a, name: B, definition: d}\n",
            "defined twice",
        ),
        ("name: x\ncategories:\n  - {id: a, name: A, definition: d, group: nowhere}\n", "group 'nowhere'"),
        (
            "name: x\ncategories:\n  - {id: a, name: A, definition: d, signals: [timeout]}\n  - {id: b, name: B, definition: d, signals: [timeout]}\n",
            "claimed by both",
        ),
        ("name: x\ncategories: [\n", "not valid YAML"),
        ("- just a list\n", "must hold a mapping"),
        ("name: x\ncategories:\n  - {id: a, name: A, definition: d, colour: red}\n", "categories[a].colour"),
    ],
)
def test_invalid_taxonomies_name_file_and_field(body: str, expected: str) -> None:
    with pytest.raises(TaxonomyError) as info:
        parse_taxonomy(body, source="bad.yaml")
    assert str(info.value).startswith("bad.yaml")
    assert expected in str(info.value)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(TaxonomyError, match="memex"):
        load_taxonomy("no_such_taxonomy")
    with pytest.raises(TaxonomyError, match="no such taxonomy file"):
        load_taxonomy("missing/file.yaml")


def test_signal_names_in_shipped_files_are_known() -> None:
    for name in available_taxonomies():
        for cat in load_taxonomy(name).categories:
            assert set(cat.signals) <= set(SIGNAL_KINDS)


def test_describe_lists_every_category() -> None:
    trail = load_taxonomy("trail")
    text = trail.describe()
    assert all(f"`{c.id}`" in text for c in trail.categories)
    assert UNCLASSIFIED in text


def test_shipped_taxonomies_resolve_from_a_wheel_layout(tmp_path: Path) -> None:
    """A wheel carries the YAML files as memex_audit/_shipped/taxonomies, with no source tree around it."""
    assert shipped_taxonomy_dir() == ROOT / "taxonomies"  # the editable install sees the source tree
    site = tmp_path / "site"
    pkg = site / "memex_audit"
    shutil.copytree(ROOT / "memex_audit" / "taxonomy", pkg / "taxonomy")
    shutil.copy(ROOT / "memex_audit" / "errors.py", pkg / "errors.py")
    (pkg / "__init__.py").write_text("")
    shutil.copytree(ROOT / "taxonomies", pkg / "_shipped" / "taxonomies")
    code = (
        "from memex_audit.taxonomy import load_taxonomy, shipped_taxonomy_dir;"
        "print(shipped_taxonomy_dir()); print(load_taxonomy('mast').name)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines == [str(pkg / "_shipped" / "taxonomies"), "mast"]
