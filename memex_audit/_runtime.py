"""The process's runtime: how many cores there are, how worker processes start (and starting their
server early), and pausing the garbage collector over allocation-heavy work.

A leaf module (standard library only), so that the command line can start the worker server in
its first milliseconds, before it imports anything else. ``memex_audit.runs`` exports the first
names; the loaders pause the collector while they read with ``gc_paused``.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
from collections.abc import Iterator, Sequence


def available_cpus() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def start_method() -> str:
    """How worker processes start here: ``forkserver``, or ``spawn`` where there is none."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def prepare_processes(preload: Sequence[str]) -> bool:
    """Start the server that ``processes`` workers fork from now, importing ``preload`` in the
    background, so that start-up overlaps with the caller's own work (its imports, reading an index).

    Returns whether a server was started (only with ``forkserver``, on a machine with more than one
    core: elsewhere there is nothing to overlap). Harmless when no pool is made after all; a server
    already running is kept (with what it preloaded).
    """
    if start_method() != "forkserver" or available_cpus() < 2:
        return False
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    try:
        forkserver.ensure_running()
    except OSError:  # no server here (a sandbox without sockets): the work runs as it would anyway
        return False
    return True


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for the block, and restored after it as it was.

    Trajectories are acyclic trees of many small objects: the collector finds nothing in them, yet
    its passes over every new object cost about 3x the parse time of a large folder. Cycles made
    in the block are collected after it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
