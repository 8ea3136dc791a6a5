"""Moved to ``memex_audit.analysis``; this name is kept so older imports keep working."""

from typing import Any

from memex_audit import analysis as _moved


def __getattr__(name: str) -> Any:
    return getattr(_moved, name)
