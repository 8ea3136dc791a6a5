"""What the Streamlit app (``apps/``) needs from the package: finding runs, loading them, showing
trajectory text safely. ``memex-audit app RUN_DIR...`` starts it."""

from memex_audit.app._discovery import (
    RUNS_ENV,
    Discovery,
    RunInfo,
    discover_runs,
    paths_from_env,
    run_fingerprint,
)
from memex_audit.app._text import (
    TextPage,
    escape_markdown,
    find_quote,
    highlight_markdown,
    page_text,
    shorten,
)
from memex_audit.app._workspace import Workspace, load_workspace

__all__ = [
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
]
