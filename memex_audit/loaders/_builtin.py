"""Imports the built-in adapters; each registers itself with the registry on import.

The native format comes first so it wins ties.
"""

from memex_audit.loaders import _native  # noqa: F401
