"""The memex-audit command line: info, convert, schema and --help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memex_audit.cli import app
from memex_audit.loaders import load
from tests.loaders.test_load import make_messy_folder

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def test_info_on_a_messy_folder_exits_0_and_lists_each_bad_item(tmp_path: Path) -> None:
    folder = make_messy_folder(tmp_path / "runs")
    result = runner.invoke(app, ["info", str(folder)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "5 trajectories of 2 tasks" in result.output
    assert "5 load errors" in result.output
    for name in ("truncated.json", "latin1.jsonl", "mixed.jsonl:2", "mixed.jsonl:4", "empty.jsonl"):
        assert name in result.output
    assert "steps.0.role" in result.output


def test_info_json_counts(tmp_path: Path) -> None:
    folder = make_messy_folder(tmp_path / "runs")
    result = runner.invoke(app, ["info", str(folder), "--json"])
    payload = json.loads(result.stdout)
    assert payload["trajectories"] == 5
    assert payload["counts"]["harness"] == {"memex": 3, "tool_calling": 1, "ag2": 1}
    assert payload["counts"]["outcome"] == {"correct": 3, "failed": 2}
    assert len(payload["errors"]) == 5  # five bad items in four files: mixed.jsonl has two
    assert {e["line"] for e in payload["errors"] if e["file"].endswith("mixed.jsonl")} == {2, 4}


def test_convert_writes_native_jsonl_that_loads_back(tmp_path: Path) -> None:
    folder = make_messy_folder(tmp_path / "runs")
    out = tmp_path / "out" / "all.jsonl"
    result = runner.invoke(app, ["convert", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 5 trajectories" in result.output
    assert len(out.read_bytes().splitlines()) == 5
    original = load(folder).trajectories
    again = load(out)
    assert again.errors == []
    assert [t.model_dump(exclude={"source"}) for t in again.trajectories] == [
        t.model_dump(exclude={"source"}) for t in original
    ]


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["info", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_committed_schemas_match_the_models(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "--check", "--out", str(ROOT / "schemas")])
    assert result.exit_code == 0, f"schemas drifted; run `memex-audit schema --out schemas`: {result.output}"
    stale = runner.invoke(app, ["schema", "--check", "--out", str(tmp_path)])
    assert stale.exit_code == 1
    assert "trajectory.schema.json" in stale.output


@pytest.mark.parametrize("command", [[], ["info"], ["convert"], ["schema"], ["formats"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "Usage" in result.output
    assert len(result.output) > 200
