"""``memex-audit app``: run folders passed through the environment, the app file found, clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_app_process_stops_the_server(app_runs: AppRuns, signum: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "MEMEX_AUDIT_RUNS"}
    process = subprocess.Popen(
        [
            *(sys.executable, "-c", "from memex_audit.cli import main; main()"),
            *("app", str(app_runs.root), "--port", str(port), "--no-browser"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the signal reaches this process only, as `kill PID` does
    )
    health = f"http://127.0.0.1:{port}/_stcore/health"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(health, timeout=2):
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the app did not start"
                time.sleep(0.5)
        server = int(Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()[0])
        process.send_signal(signum)
        assert process.wait(timeout=30) == 0
        with pytest.raises(OSError):
            urllib.request.urlopen(health, timeout=2)
        assert not Path(f"/proc/{server}").exists() or "zombie" in Path(f"/proc/{server}/status").read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
