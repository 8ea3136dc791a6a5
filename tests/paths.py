"""Where the tests' data lives, and what a missing piece means.

``sample_trajectories/`` and ``tests/loaders/fixtures/`` are committed with the project: a test that
needs them fails when they are missing, and says how to restore them. ``../shared/data`` (public
trajectories beside the project) is provided by CI: missing there (``CI=true``) it fails too;
on a machine without it, the tests that read it are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_trajectories"
SHARED_DATA = ROOT.parent / "shared" / "data"


def committed(path: Path) -> Path:
    """``path``, which is committed with the project; a missing or empty one fails the test."""
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        pytest.fail(
            f"{where} is missing: it is committed with the project. Restore it with "
            f"`git checkout -- {where}` (sample_trajectories/ can also be rebuilt with `make samples`).",
            pytrace=False,
        )
    return path


def in_ci() -> bool:
    """Whether the tests run in CI (``CI=true``), where ../shared/data must be present."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def shared_data(*parts: str) -> Path:
    """``../shared/data/<parts>``: skipped when missing locally, a failure when missing in CI."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"{path} is missing (the public trajectories beside the project)"
        if in_ci():
            pytest.fail(f"{message}; CI must provide ../shared/data", pytrace=False)
        pytest.skip(message)
    return path
