"""``memex-audit app``: open the web app on run folders."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import typer

from memex_audit.app import RUNS_ENV, discover_runs
from memex_audit.cli._app import app, console, err_console, fail

APP_FILE_ENV = "MEMEX_AUDIT_APP_FILE"
"""Environment variable pointing at the app's ``streamlit_app.py`` when it is not found by itself."""


def find_app_file() -> Path | None:
    """``apps/streamlit_app.py``: from ``MEMEX_AUDIT_APP_FILE``, beside the package's source tree (an
    editable install or a checkout), inside an installed wheel, or under the working directory."""
    candidates = []
    if os.environ.get(APP_FILE_ENV):
        candidates.append(Path(os.environ[APP_FILE_ENV]))
    package_dir = Path(__file__).resolve().parent.parent
    candidates += [
        package_dir.parent / "apps" / "streamlit_app.py",  # a checkout or an editable install
        package_dir / "_shipped" / "apps" / "streamlit_app.py",  # a wheel (force-included)
        Path.cwd() / "apps" / "streamlit_app.py",
    ]
    return next((c.resolve() for c in candidates if c.is_file()), None)


def streamlit_command(app_file: Path, port: int, address: str, browser: bool) -> list[str]:
    """The ``streamlit run`` command line for the app."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_file),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "false" if browser else "true",
        "--browser.gatherUsageStats",
        "false",
    ]


@app.command("app")
def app_command(
    run_dirs: list[Path] = typer.Argument(
        None,
        help="Run folders (the --out of `memex-audit audit` or `aggregate`), or folders holding them. "
        f"Added to those in ${RUNS_ENV}.",
        show_default=False,
    ),
    port: int = typer.Option(8501, "--port", "-p", help="Port to serve the app on."),
    address: str = typer.Option(
        "127.0.0.1", "--address", help="Address to listen on (0.0.0.0 to share it on the network)."
    ),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser window."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the command and the run folders instead of starting the app."
    ),
) -> None:
    """Open the web app: failure breakdowns, trajectories with their evidence, best-of-N results.

    The app reads the run folders given here and those in $MEMEX_AUDIT_RUNS (separated by the
    system's path separator); the rollout files the runs read are loaded from the paths recorded in
    their manifests (relative paths from the current directory). Stop it with Ctrl-C.
    """
    requested = [str(p.resolve()) for p in run_dirs or []]
    env_paths = [p for p in os.environ.get(RUNS_ENV, "").split(os.pathsep) if p.strip()]
    found = discover_runs([*requested, *env_paths])
    for problem in found.problems:
        err_console.print(f"[yellow]warning:[/] {problem}", highlight=False, soft_wrap=True)
    if not found.runs:
        raise fail(
            "no run folder found: pass the --out folder of `memex-audit audit` or `memex-audit aggregate` "
            f"(or a folder holding them), or set {RUNS_ENV}"
        )
    app_file = find_app_file()
    if app_file is None:
        raise fail(
            "the app file apps/streamlit_app.py was not found. It ships with the source tree, not the "
            "wheel: install memex-audit from a checkout (pip install -e .), run from the checkout, or set "
            f"{APP_FILE_ENV} to the path of streamlit_app.py"
        )
    command = streamlit_command(app_file, port, address, browser=not no_browser)
    env = {**os.environ, RUNS_ENV: os.pathsep.join(dict.fromkeys([*requested, *env_paths]))}
    for run in found.runs:
        console.print(f"{run.kind:9} {run.name}  {run.path}", highlight=False)
    if dry_run:
        console.print(
            f"{RUNS_ENV}={shlex.quote(env[RUNS_ENV])} {shlex.join(command)}", highlight=False, soft_wrap=True
        )
        return
    console.print(f"serving on http://{address}:{port} (Ctrl-C stops it)", highlight=False)
    try:
        code = subprocess.call(command, env=env)
    except KeyboardInterrupt:
        code = 0
    if code:
        raise typer.Exit(code)
