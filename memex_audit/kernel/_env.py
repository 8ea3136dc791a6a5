"""The environment and resource limits of a kernel process."""

from __future__ import annotations

import os
import re
import resource
from collections.abc import Mapping

# Variable names that carry credentials; a kernel process never sees them.
_SECRET_NAME = re.compile(
    r"(API_?KEY|ACCESS_?KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_?KEY|AUTH|SESSION_?KEY)",
    re.IGNORECASE,
)
_SECRET_PREFIXES = ("ANTHROPIC_", "OPENAI_", "AWS_", "AZURE_", "GOOGLE_", "GCP_", "HF_", "HUGGING", "GITHUB_")


def clean_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``environ`` (default: this process's) without API keys and other secrets."""
    source = os.environ if environ is None else environ
    return {
        name: value
        for name, value in source.items()
        if not _SECRET_NAME.search(name) and not name.upper().startswith(_SECRET_PREFIXES)
    }


def apply_limits(memory_mb: int | None, cpu_s: int | None) -> None:
    """Cap this process's address space and CPU seconds (called by the kernel process itself)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_mb is not None:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_s is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
