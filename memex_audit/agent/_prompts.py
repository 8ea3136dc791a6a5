"""The prompt files of the agent loop, read once from ``memex_audit/agent/prompts``."""

from __future__ import annotations

import functools
import string
from importlib import resources


@functools.cache
def prompt(name: str) -> string.Template:
    """The template ``prompts/<name>.md`` (``$placeholders`` filled with ``substitute``)."""
    text = resources.files("memex_audit.agent").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")
    return string.Template(text)


def fill(name: str, **values: object) -> str:
    """The prompt ``name`` with its placeholders filled; unknown ``$words`` are left as they are."""
    return prompt(name).safe_substitute({k: str(v) for k, v in values.items()}).strip()
