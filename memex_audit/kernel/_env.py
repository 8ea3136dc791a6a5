"""The environment and resource limits of a kernel process, and the host's secrets kept from it."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import resource
import sys
import threading
from collections.abc import Mapping

# Variable names that carry credentials; a kernel process never sees them.
_SECRET_NAME = re.compile(
    r"(API_?KEY|ACCESS_?KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_?KEY|AUTH|SESSION_?KEY)",
    re.IGNORECASE,
)
_SECRET_PREFIXES = ("ANTHROPIC_", "OPENAI_", "AWS_", "AZURE_", "GOOGLE_", "GCP_", "HF_", "HUGGING", "GITHUB_")


def is_secret_name(name: str) -> bool:
    """True for an environment variable that carries (or may carry) a credential."""
    return bool(_SECRET_NAME.search(name)) or name.upper().startswith(_SECRET_PREFIXES)


def clean_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``environ`` (default: this process's) without API keys and other secrets."""
    source = os.environ if environ is None else environ
    return {name: value for name, value in source.items() if not is_secret_name(name)}


_hidden_lock = threading.Lock()


def hide_secrets_from_proc() -> list[str]:
    """Overwrite secret values in this process's initial environment block; returns their names.

    ``/proc/<pid>/environ`` shows the environment a process was started with, read from its own
    memory, whatever it did to ``os.environ`` since; any process of the same user can read it, a
    kernel process included. Each secret's value is first copied to the C heap (``putenv``), so
    ``os.environ``, ``getenv`` and the environment of subprocesses keep it, then its bytes in the
    initial block are overwritten with ``*``. Linux only; elsewhere (or when the block cannot be
    found) nothing is done.
    """
    if not sys.platform.startswith("linux"):
        return []
    try:
        with open("/proc/self/stat", "rb") as handle:
            stat = handle.read()
        # Fields 50 and 51 (env_start, env_end), counted after the parenthesised command name.
        fields = stat[stat.rfind(b")") + 2 :].split()
        start, end = int(fields[47]), int(fields[48])
    except (OSError, ValueError, IndexError):
        return []
    if not 0 < start < end or end - start > 1 << 24:
        return []
    hidden: list[str] = []
    with _hidden_lock:
        block = ctypes.string_at(start, end - start)
        offset = 0
        for entry in block.split(b"\0"):
            name, sep, value = entry.partition(b"=")
            where = start + offset + len(name) + 1
            offset += len(entry) + 1
            text = name.decode("utf-8", "replace")
            if not sep or not value or value.strip(b"*") == b"" or not is_secret_name(text):
                continue
            current = os.environ.get(text)
            with contextlib.suppress(OSError, ValueError):
                if current is not None:
                    os.putenv(text, current)  # a heap copy: the C environment stops pointing here
                else:
                    os.unsetenv(text)
            ctypes.memset(where, ord("*"), len(value))
            hidden.append(text)
    return hidden


def apply_limits(memory_mb: int | None, cpu_s: int | None) -> None:
    """Cap this process's address space and CPU seconds (called by the kernel process itself)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_mb is not None:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_s is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
