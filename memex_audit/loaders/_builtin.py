"""Imports the built-in adapters; each registers itself with the registry on import.

The native format comes first so it wins ties.
"""

from memex_audit.loaders import _native  # noqa: F401
from memex_audit.loaders._formats import (
    _anthropic,  # noqa: F401
    _claude_code,  # noqa: F401
    _codex,  # noqa: F401
    _docent,  # noqa: F401
    _inspect,  # noqa: F401
    _openai_chat,  # noqa: F401
    _otel,  # noqa: F401
    _scout,  # noqa: F401
    _swe_agent,  # noqa: F401
    _tau2,  # noqa: F401
    _tau_bench,  # noqa: F401
    _who_and_when,  # noqa: F401
)
