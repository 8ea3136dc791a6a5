"""``memex-audit app``: run folders passed through the environment, the app file found, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memex_audit.cli import app
from memex_audit.cli._app_cmd import APP_FILE_ENV, find_app_file, streamlit_command
from tests.app.conftest import APP_FILE, AppRuns


def test_dry_run_names_the_runs_and_the_streamlit_command(
    app_runs: AppRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMEX_AUDIT_RUNS", "/elsewhere/runs")
    result = CliRunner().invoke(
        app, ["app", str(app_runs.audit), "--port", "8611", "--dry-run", "--no-browser"]
    )
    assert result.exit_code == 0, result.output
    assert "audit" in result.output and str(app_runs.audit) in result.output
    assert f"MEMEX_AUDIT_RUNS={app_runs.audit}{os.pathsep}/elsewhere/runs" in result.output
    assert "--server.port 8611" in result.output and "--server.headless true" in result.output


def test_no_run_folder_is_an_error_that_says_what_to_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEMEX_AUDIT_RUNS", raising=False)
    result = CliRunner().invoke(app, ["app", str(tmp_path)])
    assert result.exit_code == 2
    assert "no run folder found" in result.output


def test_the_app_file_is_found_from_the_source_tree_or_the_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert find_app_file() == APP_FILE
    other = tmp_path / "streamlit_app.py"
    other.write_text("")
    monkeypatch.setenv(APP_FILE_ENV, str(other))
    assert find_app_file() == other
    command = streamlit_command(APP_FILE, 9000, "127.0.0.1", browser=True)
    assert command[1:4] == ["-m", "streamlit", "run"] and "--server.headless" in command


def test_a_missing_app_file_is_reported(app_runs: AppRuns, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("memex_audit.cli._app_cmd.find_app_file", lambda: None)
    result = CliRunner().invoke(app, ["app", str(app_runs.root), "--dry-run"])
    assert result.exit_code == 2
    assert "apps/streamlit_app.py was not found" in " ".join(result.output.split())
