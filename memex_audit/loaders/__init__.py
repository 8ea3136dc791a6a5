"""Reading rollout files: a registry of format adapters, and ``load`` for files and folders."""

from memex_audit.loaders._index import (
    IndexEntry,
    TrajectoryIndex,
    index_trajectories,
    is_url,
    load_entries,
    load_task,
)
from memex_audit.loaders._load import STDIN, LoadResult, iter_files, iter_load, load
from memex_audit.loaders._native import NativeFormat, dump_jsonl_line
from memex_audit.loaders._registry import (
    FormatAdapter,
    LoadItem,
    LoadProblem,
    LoadWarning,
    get_format,
    known_extensions,
    register_format,
    registered_formats,
    sniff_format,
)
from memex_audit.loaders._write import write_jsonl

__all__ = [
    "STDIN",
    "FormatAdapter",
    "IndexEntry",
    "LoadItem",
    "LoadProblem",
    "LoadResult",
    "LoadWarning",
    "NativeFormat",
    "TrajectoryIndex",
    "dump_jsonl_line",
    "get_format",
    "index_trajectories",
    "is_url",
    "iter_files",
    "iter_load",
    "known_extensions",
    "load",
    "load_entries",
    "load_task",
    "register_format",
    "registered_formats",
    "sniff_format",
    "write_jsonl",
]
