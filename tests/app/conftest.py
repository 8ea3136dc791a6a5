"""Run folders for the app's tests, produced by the real CLI from a part of the sample rollouts.

One rollout's tool output gets hostile markup planted in it (a script, an image with an ``onerror``
handler, a ``javascript:`` link), so the tests can check that the app shows it as text.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memex_audit.cli import app
from tests.paths import committed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Streamlit's AppTest runs a page as ``__main__`` and leaves it there; a process pool started
    later in the same test session would then import that page in its workers."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


SAMPLES = ROOT / "sample_trajectories"
APP_FILE = ROOT / "apps" / "streamlit_app.py"

HOSTILE = (
    "<script>document.title='pwned';window.__pwned=1</script>"
    '<img src=x onerror="window.__pwned=2"> [click me](javascript:alert(1)) :red[not red] $x^2$'
)
"""Markup planted at the end of one tool output."""
PLANTED_TASK = "officeqa-002"
PLANTED_ID = "officeqa-002-tc-1"
PLANTED_STEP = 3
OFFICEQA_TASKS = 8
BEST_OF_N_TASKS = 6


@dataclass(frozen=True)
class AppRuns:
    """The folders the app tests read.

    Attributes:
        root: Folder holding both run folders (what ``MEMEX_AUDIT_RUNS`` names).
        audit: The audit run folder.
        aggregate: The aggregate run folder.
        rollouts: The copied rollouts the runs read.
    """

    root: Path
    audit: Path
    aggregate: Path
    rollouts: Path


def _copy_tasks(source: Path, target: Path, n: int) -> None:
    target.mkdir(parents=True)
    for file in sorted(source.glob("*.jsonl"))[:n]:
        shutil.copy(file, target / file.name)


def _plant(file: Path) -> None:
    lines = []
    for line in file.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["id"] == PLANTED_ID:
            step = record["steps"][PLANTED_STEP]
            assert step["role"] == "tool", "the sample layout changed: plant the markup in another step"
            step["output"] = f"{step['output']}\n{HOSTILE}"
        lines.append(json.dumps(record))
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cli(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def app_runs(tmp_path_factory: pytest.TempPathFactory) -> AppRuns:
    """An audit run over 8 OfficeQA tasks and an aggregate run over 6 best-of-N tasks, made by the CLI."""
    committed(SAMPLES / "officeqa")
    committed(SAMPLES / "best_of_n")
    root = tmp_path_factory.mktemp("app")
    rollouts = root / "rollouts"
    _copy_tasks(SAMPLES / "officeqa", rollouts / "officeqa", OFFICEQA_TASKS)
    _copy_tasks(SAMPLES / "best_of_n", rollouts / "best_of_n", BEST_OF_N_TASKS)
    _plant(rollouts / "officeqa" / f"{PLANTED_TASK}.jsonl")
    runs = root / "runs"
    _cli("audit", str(rollouts / "officeqa"), "--out", str(runs / "audit"))
    _cli("aggregate", str(rollouts / "best_of_n"), "--out", str(runs / "aggregate"), "--subsets", "4")
    return AppRuns(runs, runs / "audit", runs / "aggregate", rollouts)


@pytest.fixture
def runs_env(app_runs: AppRuns, monkeypatch: pytest.MonkeyPatch) -> AppRuns:
    """``MEMEX_AUDIT_RUNS`` pointing at the test runs."""
    monkeypatch.setenv("MEMEX_AUDIT_RUNS", str(app_runs.root))
    return app_runs
