"""What the worker processes of an offline audit import before the first one starts.

The worker server imports this module once and forks every worker from itself, so each worker
starts with the auditor and the built-in format adapters (which the processes reading the index
use) already imported. The cyclic garbage collector is paused over the imports: they build many
objects (models, patterns, classes) and no garbage, and its passes over them cost about a tenth
of the import time. What they built is then frozen, so that no worker's collections walk it again.
"""

from __future__ import annotations

import gc

from memex_audit._runtime import gc_paused

with gc_paused():
    import memex_audit.auditor  # noqa: F401
    from memex_audit.loaders import registered_formats

    registered_formats()  # imports the built-in adapters
gc.freeze()
