"""The process's runtime: how many cores there are, how worker processes start (and starting their
server early), and pausing the garbage collector over allocation-heavy work.

A leaf module (standard library only), so that the command line can start the worker server in
its first milliseconds, before it imports anything else. ``memex_audit.runs`` exports the first
names; the loaders pause the collector while they read with ``gc_paused``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.machinery
import multiprocessing
import os
import sys
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


PYDANTIC_PLUGINS_VARIABLE = "PYDANTIC_DISABLE_PLUGINS"


def skip_empty_plugin_search() -> bool:
    """Spare pydantic its search for plugins when no installed distribution declares one.

    When pydantic builds its first model it reads the entry points of every installed
    distribution, through ``importlib.metadata``, for plugins: about 50 ms of a command's start-up
    (and again in each worker server). Here the ``entry_points.txt`` of every ``.dist-info`` and
    ``.egg-info`` folder on ``sys.path`` is read directly (about 1 ms); when none declares a
    ``[pydantic]`` entry point, ``PYDANTIC_DISABLE_PLUGINS`` is set for this process and the
    processes it starts, which tells pydantic what its search would have found: nothing.

    Nothing is changed when the variable is already set, when a distribution declares a plugin,
    or when distributions could come from elsewhere (a zip file on ``sys.path``, an import hook
    that finds distributions).

    Returns:
        Whether the variable was set.
    """
    if PYDANTIC_PLUGINS_VARIABLE in os.environ:
        return False
    for finder in sys.meta_path:
        if finder is not importlib.machinery.PathFinder and hasattr(finder, "find_distributions"):
            return False
    for entry in sys.path:
        folder = entry or "."
        if os.path.isfile(folder):
            return False
        try:
            names = os.listdir(folder)
        except OSError:
            continue  # a missing folder holds nothing
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as fh:
                    declared = "[pydantic]" in fh.read()
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError):
                return False
            if declared:
                return False
    os.environ[PYDANTIC_PLUGINS_VARIABLE] = "__all__"
    return True
