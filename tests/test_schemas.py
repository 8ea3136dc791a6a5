"""The committed JSON Schemas in schemas/ are generated from the models and never drift from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memex_audit.schemas import (
    PERSISTED_MODELS,
    generate_schemas,
    render_schema,
    stale_schemas,
    write_schemas,
)
from tests.paths import ROOT, committed

SCHEMAS = ROOT / "schemas"
REGENERATE = "regenerate them with `memex-audit schema --out schemas` (or `make schemas`)"


@pytest.mark.parametrize("stem", sorted(PERSISTED_MODELS))
def test_the_committed_schema_matches_its_model(stem: str) -> None:
    path = committed(SCHEMAS) / f"{stem}.schema.json"
    assert path.is_file(), f"{path.name} is missing; {REGENERATE}"
    assert path.read_bytes() == render_schema(generate_schemas()[stem]), f"{path.name} drifted; {REGENERATE}"


def test_no_committed_schema_is_left_without_a_model() -> None:
    on_disk = {p.name for p in committed(SCHEMAS).glob("*.schema.json")}
    assert on_disk == {f"{stem}.schema.json" for stem in PERSISTED_MODELS}


def test_a_changed_schema_is_reported_as_stale(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    assert stale_schemas(tmp_path) == []
    path = tmp_path / "trajectory.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"].pop("task_id")
    path.write_bytes(render_schema(schema))
    (tmp_path / "audit_report.schema.json").unlink()
    assert sorted(stale_schemas(tmp_path)) == ["audit_report.schema.json", "trajectory.schema.json"]
