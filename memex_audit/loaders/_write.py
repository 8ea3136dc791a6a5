"""Writing native JSONL, atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from memex_audit.loaders._native import dump_jsonl_line
from memex_audit.trajectory import Trajectory


def write_jsonl(trajectories: Iterable[Trajectory], path: str | Path) -> int:
    """Write trajectories as native JSONL, one per line; returns how many were written.

    The file is written to a temporary name beside ``path`` and renamed into place, so a reader
    never sees half a file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    count = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for trajectory in trajectories:
                fh.write(dump_jsonl_line(trajectory))
                count += 1
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
