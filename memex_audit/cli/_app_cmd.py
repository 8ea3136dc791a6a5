"""``memex-audit app``: open the web app on run folders."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import typer

from memex_audit.app import RUNS_ENV, discover_runs
from memex_audit.cli._app import app, clean, console, err_console, fail

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
        # No "Deploy" button or developer menu: the app is a viewer of local runs.
        "--client.toolbarMode",
        "viewer",
        # Page files are code, not notebooks: a bare string in one must not be printed on the page.
        "--runner.magicEnabled",
        "false",
        "--server.fileWatcherType",
        "none",
    ]


FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals the ``memex-audit app`` process passes on to the Streamlit server it started."""
STOP_GRACE_S = 10.0
"""How long the server gets to stop after a forwarded signal before it is killed."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Linux: if this process is killed outright (SIGKILL), the server gets SIGTERM instead of
    # serving on alone.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve(command: Sequence[str], env: dict[str, str]) -> int:
    """Run the Streamlit server as a child and stop it with this process.

    SIGINT, SIGTERM and SIGHUP sent to this process are forwarded to the server, which is waited
    for (killed after ``STOP_GRACE_S``); on Linux the server also gets SIGTERM if this process dies
    without a chance to forward anything. Returns the server's exit code (0 when stopped by a signal).
    """
    child = subprocess.Popen(
        list(command), env=env, preexec_fn=_die_with_parent if sys.platform == "linux" else None
    )
    stopping: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    deadline: float | None = None
    try:
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stopping and deadline is None:
                    deadline = time.monotonic() + STOP_GRACE_S
                if deadline is not None and time.monotonic() > deadline:
                    child.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.kill()
            child.wait()
    return 0 if stopping else code


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
        err_console.print(
            f"[yellow]warning:[/] {clean(problem)}", markup=True, highlight=False, soft_wrap=True
        )
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
    code = serve(command, env)
    if code:
        raise typer.Exit(code)
