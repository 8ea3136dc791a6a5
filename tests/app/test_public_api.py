"""The names ``memex_audit.app`` offers are deliberate: this test pins them."""

from __future__ import annotations

import memex_audit.app


def test_app_names() -> None:
    assert set(memex_audit.app.__all__) == {
        "RUNS_ENV",
        "Discovery",
        "RunInfo",
        "TextPage",
        "Workspace",
        "discover_runs",
        "escape_markdown",
        "find_quote",
        "highlight_markdown",
        "load_workspace",
        "page_text",
        "paths_from_env",
        "run_fingerprint",
        "shorten",
    }
    assert memex_audit.app.RUNS_ENV == "MEMEX_AUDIT_RUNS"
