"""Reading rollout files: a registry of format adapters, and ``load`` for files and folders."""

from memex_audit.loaders._load import STDIN, LoadResult, iter_files, iter_load, load
from memex_audit.loaders._native import NativeFormat, dump_jsonl_line
from memex_audit.loaders._registry import (
    FormatAdapter,
    LoadError,
    LoadItem,
    LoadWarning,
    get_format,
    register_format,
    registered_formats,
    sniff_format,
)
from memex_audit.loaders._write import write_jsonl

__all__ = [
    "STDIN",
    "FormatAdapter",
    "LoadError",
    "LoadItem",
    "LoadResult",
    "LoadWarning",
    "NativeFormat",
    "dump_jsonl_line",
    "get_format",
    "iter_files",
    "iter_load",
    "load",
    "register_format",
    "registered_formats",
    "sniff_format",
    "write_jsonl",
]

# The index of big folders and URLs: one task group at a time instead of the whole folder.
from memex_audit.loaders._index import (
    IndexEntry,
    TrajectoryIndex,
    index_trajectories,
    load_entries,
    load_task,
)

__all__ += ["IndexEntry", "TrajectoryIndex", "index_trajectories", "load_entries", "load_task"]
