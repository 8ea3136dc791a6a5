"""What ``memex_audit.app`` offers beyond its pinned names (tests/test_public_api.py): the env variable."""

from __future__ import annotations

import memex_audit.app


def test_the_runs_variable_is_named_for_the_project() -> None:
    assert memex_audit.app.RUNS_ENV == "MEMEX_AUDIT_RUNS"
