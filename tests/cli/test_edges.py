"""The edges of the command line: data printed as it is, one clear line for a wrong --out or an old
option, every kind of run shown, and the version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from memex_audit import __version__
from memex_audit.cli import app
from memex_audit.loaders import load, write_jsonl
from tests.cli.test_audit import _folder

runner = CliRunner()


def _one_error_line(result: Result) -> str:
    """The error a failed command printed: exactly one line on stderr, starting with ``error:``."""
    assert result.exit_code != 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "{data}"],
        ["aggregate", "{data}"],
        ["check", "{data}"],
        ["ask", "{data}", "Did it finish?"],
        ["schema"],
        ["samples", "generate"],
    ],
    ids=lambda c: c[0],
)
def test_an_out_that_is_a_file_is_one_clear_line(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "data").mkdir()
    taken = tmp_path / "taken.txt"
    taken.write_text("not a folder\n")
    args = [part.format(data=tmp_path / "data") for part in command]
    result = runner.invoke(app, [*args, "--out", str(taken)], terminal_width=300)
    line = _one_error_line(result)
    assert line == f"error: --out {taken} is a file, not a folder; choose a folder to write into"
    assert taken.read_text() == "not a folder\n"


def test_convert_to_an_out_that_is_a_folder_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["convert", str(_folder(tmp_path)), "--out", str(tmp_path)], terminal_width=300
    )
    assert (
        _one_error_line(result) == f"error: --out {tmp_path} is a folder; give the path of the file to write"
    )


def test_bracketed_data_and_paths_are_printed_as_they_are(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    bracketed = [
        t.model_copy(update={"harness": "[bold]", "model": "[x]"}) for t in load(folder).trajectories
    ]
    data = tmp_path / "bracketed.jsonl"
    write_jsonl(bracketed, data)
    out = tmp_path / "runs[" / "x]"  # the path holds "[/x]", a closing tag to rich
    result = runner.invoke(app, ["audit", str(data), "--out", str(out)], terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "[/x]" in str(out) and f"results in {out}/results.jsonl" in result.output
    assert "[bold]" in result.output and "[x]" in result.output  # the harness and model columns


def test_show_prints_an_aggregate_run_as_one(tmp_path: Path) -> None:
    folder, run = _folder(tmp_path), tmp_path / "agg"
    made = runner.invoke(app, ["aggregate", str(folder), "--out", str(run)], terminal_width=300)
    assert made.exit_code == 0, made.output
    text = runner.invoke(app, ["show", str(run)], terminal_width=300)
    assert text.exit_code == 0, text.output
    assert text.output.startswith(f"aggregate run {run}: 2 tasks, 0 errors")
    assert "officeqa-001" in text.output and "Field required" not in text.output
    shown = runner.invoke(app, ["show", str(run), "--output-format", "json"])
    assert shown.exit_code == 0, shown.output
    payload = json.loads(shown.stdout)
    assert payload["manifest"]["kind"] == "aggregate" and payload["summary"]["tasks"] == 2
    assert sorted(t["task_id"] for t in payload["tasks"]) == sorted({t.task_id for t in load(folder)})
    filtered = runner.invoke(app, ["show", str(run), "--category", "x"], terminal_width=300)
    assert "holds an aggregate run, which has no categories" in _one_error_line(filtered)


def test_show_names_its_output_format_and_refuses_the_old_spelling(tmp_path: Path) -> None:
    folder, run = _folder(tmp_path), tmp_path / "run"
    runner.invoke(app, ["audit", str(folder), "--out", str(run)])
    shown = runner.invoke(app, ["show", str(run), "--output-format", "json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["summary"]["audited"] == 7
    for old in ("--format", "-f"):
        result = runner.invoke(app, ["show", str(run), old, "json"], terminal_width=300)
        assert "--output-format text|json" in _one_error_line(result)
        assert result.stdout == ""
    wrong = runner.invoke(app, ["show", str(run), "--output-format", "yaml"], terminal_width=300)
    assert _one_error_line(wrong) == "error: --output-format must be text or json"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"memex-audit {__version__}\n"


def test_python_dash_m_runs_the_command_line() -> None:
    env = {**os.environ, "COLUMNS": "140", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "memex_audit", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"memex-audit {__version__}\n"


def test_the_package_says_it_is_typed() -> None:
    import memex_audit

    assert (Path(memex_audit.__file__).parent / "py.typed").is_file()
