"""Start-up of the command line: ``main`` imports only the command being run, and lists the others
exactly as the full application does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from memex_audit.cli import COMMANDS, MODULES

ENV = {**os.environ, "COLUMNS": "140", "NO_COLOR": "1"}


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=ENV, timeout=120
    )


def test_the_command_table_matches_the_command_modules() -> None:
    import typer.main

    from memex_audit.cli import app

    group = typer.main.get_command(app)
    names = group.list_commands(None)  # type: ignore[attr-defined,arg-type]
    assert list(COMMANDS) == names
    for name in names:
        command = group.commands[name]  # type: ignore[attr-defined]
        module = (command.callback.__module__ if command.callback else "").rsplit(".", 1)[-1]
        assert COMMANDS[name][1] == (command.help or "").split("\n\n")[0], name
        if module in MODULES:
            assert COMMANDS[name][0] == module, name


@pytest.mark.slow
@pytest.mark.parametrize("args", [("--help",), ("audit", "--help"), ("samples", "--help")])
def test_help_is_the_full_applications(args: tuple[str, ...]) -> None:
    lazy = _run("import sys; sys.argv[0] = 'memex-audit'; from memex_audit.cli import main; main()", *args)
    full = _run("import sys; sys.argv[0] = 'memex-audit'; from memex_audit.cli import app; app()", *args)
    assert lazy.returncode == full.returncode == 0
    assert lazy.stdout == full.stdout


def test_help_imports_no_command_module_nor_polars() -> None:
    probe = _run(
        "import sys\n"
        "from memex_audit.cli import main\n"
        "sys.argv = ['memex-audit', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('memex_audit.cli._') or m == 'polars')\n"
        "print('LOADED', loaded)"
    )
    assert "LOADED ['memex_audit.cli._app']" in probe.stdout


@pytest.mark.slow
def test_an_unknown_command_fails_as_before() -> None:
    lazy = _run("import sys; sys.argv[0] = 'memex-audit'; from memex_audit.cli import main; main()", "bogus")
    assert lazy.returncode == 2
    assert "No such command 'bogus'" in lazy.stderr


@pytest.mark.parametrize(
    ("argv", "started"),
    [
        (["audit", "rollouts/"], True),
        (["audit", "rollouts/", "--executor", "processes"], True),
        (["audit", "rollouts/", "--model=offline"], True),
        (["audit", "rollouts/", "--executor", "local"], False),
        (["audit", "rollouts/", "--executor=ray"], False),
        (["audit", "rollouts/", "--dry-run"], False),
        (["audit", "rollouts/", "-m", "anthropic:claude-sonnet-4-6"], False),
        (["audit", "rollouts/", "--model", "not a model spec ::"], False),
        (["aggregate", "rollouts/"], False),
    ],
)
def test_the_worker_server_starts_early_only_for_an_offline_audit_that_may_use_the_pool(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], started: bool
) -> None:
    from memex_audit import _runtime
    from memex_audit.cli import AUDIT_WORKER_PRELOAD, _prepare_audit_workers

    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(_runtime, "prepare_processes", lambda preload: calls.append(tuple(preload)))
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    _prepare_audit_workers(argv)
    assert calls == ([AUDIT_WORKER_PRELOAD] if started else [])


def test_the_audit_command_starts_without_the_analysis_layer_or_polars() -> None:
    # Its worker processes start while it imports: what only summarises results comes at the end.
    probe = _run(
        "import sys\n"
        "from memex_audit.cli import application\n"
        "application(['audit'])\n"
        "print('LOADED', sorted(m for m in sys.modules if m == 'polars' "
        "or m.startswith(('memex_audit.analysis', 'memex_audit.aggregator'))))"
    )
    assert "LOADED []" in probe.stdout, probe.stdout + probe.stderr
