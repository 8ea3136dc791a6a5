"""The ``memex-audit`` command line: thin commands over the library.

Each command module attaches its commands to the shared Typer ``app`` on import; the order of
``COMMANDS`` is the order ``--help`` lists them in. ``main`` imports only the module of the command
being run (``memex-audit --help`` imports none): the others are listed by name and summary alone,
so start-up does not pay for polars, the agents and the web app when a command needs none of them.
``app`` (for tests and embedding) is the application with every command.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

COMMANDS: dict[str, tuple[str, str]] = {
    "info": (
        "_info",
        "Count trajectories by task, model, harness, outcome and format; then list load errors and warnings.",
    ),
    "convert": ("_info", "Write native JSONL (one trajectory per line) from whatever `load` reads."),
    "formats": ("_info", "List the rollout formats memex-audit can read."),
    "schema": ("_info", "Generate the JSON Schemas of every persisted model (or --check them for drift)."),
    "aggregate": (
        "_aggregate",
        "Aggregate the rollouts of every task: majority, summary-only, the verifier (and an LLM).",
    ),
    "eval-aggregate": (
        "_aggregate",
        "Print per-task results, accuracy of pass@1 / majority / summary-only / aggregators / oracle,\n"
        "rescues and harms against majority vote, accuracy as N grows, and how the verifier's scores rank\n"
        "each (correct, wrong) pair of rollouts of a task (right / tie / reverse).",
    ),
    "audit": (
        "_audit",
        "Classify every failed trajectory into a taxonomy, with evidence, into a resumable run folder.",
    ),
    "eval-audit": (
        "_audit",
        "Agreement of an audit run with human labels: category accuracy, per-class F1 and Cohen's kappa; "
        "faulty agent and step accuracy (exact and within one step) for attribution labels.",
    ),
    "show": (
        "_audit",
        "Print a run's results and errors: audit labels with evidence, aggregated answers, check findings, answers.",
    ),
    "check": (
        "_check",
        "Run checks of your own over every trajectory: typed Python functions that return findings.",
    ),
    "ask": (
        "_ask",
        "Put a question of your own to each trajectory: a typed answer with evidence, from a model.",
    ),
    "app": (
        "_app_cmd",
        "Open the web app: failure breakdowns, trajectories with their evidence, best-of-N results.",
    ),
    "samples": (
        "_samples",
        "The synthetic sample rollouts (sample_trajectories/): generate them, or check a folder against them.",
    ),
}
"""Each command: the module that defines it and its summary, in the order ``--help`` lists them
(commands, then groups such as ``samples``); a test keeps them in step with the modules."""

MODULES = ("_info", "_aggregate", "_audit", "_check", "_ask", "_samples", "_app_cmd")
"""Every command module, in registration order."""


def _import_all() -> typer.Typer:
    for module in MODULES:
        importlib.import_module(f"memex_audit.cli.{module}")
    from memex_audit.cli._app import app

    return app


def _command_in(argv: list[str]) -> str | None:
    """The command ``argv`` runs (its first word that is not an option), if any."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _summary_only(app: typer.Typer, name: str, summary: str) -> None:
    """List ``name`` in ``--help`` without importing its module."""

    def listed_only() -> None:  # pragma: no cover - only the real command ever runs
        raise SystemExit(f"memex-audit {name}: run it through main()")

    app.command(name, help=summary)(listed_only)


def application(argv: list[str]) -> typer.Typer:
    """The application for running ``argv``: the real module of its command, summaries of the others.

    An unknown command (or one this table does not list yet) gets every module, so its behaviour
    (and the error for a misspelt command) is that of the full application.
    """
    name = _command_in(argv)
    if name is not None and name not in COMMANDS:
        return _import_all()
    from memex_audit.cli._app import app

    if app.registered_commands or app.registered_groups:
        return app  # already built in this process
    wanted = COMMANDS[name][0] if name is not None else None
    for command, (module, summary) in COMMANDS.items():
        if module == wanted:
            importlib.import_module(f"memex_audit.cli.{module}")
            wanted = None  # registers all of its commands at once
        elif command != name and module != COMMANDS.get(name or "", ("",))[0]:
            _summary_only(app, command, summary)
    return app


def _option(argv: list[str], *names: str) -> str | None:
    """The value given to an option of ``argv`` (``--name value`` or ``--name=value``), if any."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def _prepare_audit_workers(argv: list[str]) -> None:
    """For an offline audit that may run on the process pool, start the pool's worker server now,
    so that it imports the auditor while this process imports the command (both take about as
    long). Any doubt (a model, another executor, an unreadable option) leaves it to the command."""
    if _command_in(argv) != "audit" or "--dry-run" in argv:
        return
    if _option(argv, "--executor") not in (None, "processes"):
        return
    try:
        model = _option(argv, "--model", "-m")
        if model is not None or _option(argv, "--base-url") is not None:
            # Only a model spec needs the model layer's parser (and its import time) to tell.
            from memex_audit.llm import parse_model_spec

            if not parse_model_spec(model, base_url=_option(argv, "--base-url")).offline:
                return
        from memex_audit._runtime import prepare_processes

        prepare_processes(AUDIT_WORKER_PRELOAD)
    except Exception:  # the command itself reports what is wrong with its options
        return


AUDIT_WORKER_PRELOAD = ("memex_audit.cli._worker_preload",)
"""What the offline audit's worker processes import before they start: the auditor (as the
auditor's pool does) and the built-in format adapters, which the processes reading the index use
(see ``memex_audit.cli._worker_preload``)."""


def main() -> None:
    """Entry point of the ``memex-audit`` console script."""
    # No command does linear algebra worth a thread pool, and OpenBLAS starts one per process at
    # numpy's import: about 0.1 s of CPU in this process and again in each worker server.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from memex_audit._runtime import gc_paused, skip_empty_plugin_search

    skip_empty_plugin_search()  # before the worker server starts: it inherits the answer
    # The imports build many objects and no garbage: the cyclic collector is paused over them...
    with gc_paused():
        _prepare_audit_workers(sys.argv[1:])
        app = application(sys.argv[1:])
    # ...and what they built, which lives as long as the process, is frozen: no collection walks it
    # again (a loaded trajectory is many small objects; audits allocate many).
    gc.freeze()
    try:
        app()
    finally:
        # The interpreter's exit collects whatever is not frozen: a full pass over every object
        # the command made (about 0.1 s after an audit) to free memory the exit frees anyway.
        gc.freeze()


def __getattr__(name: str) -> Any:
    if name == "app":
        return _import_all()
    raise AttributeError(f"module 'memex_audit.cli' has no attribute {name!r}")


__all__ = ["app", "main"]
