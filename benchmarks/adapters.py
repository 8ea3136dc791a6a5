"""Load throughput of the format adapters on real rollouts (the ``../shared/data`` folder by default).

Each file is loaded on its own (best of ``--repeat`` runs, one core) and the time is added to the
format that read it; the report gives MB/s and trajectories/s per format and for the whole folder,
plus the time of one ``load(folder)`` call as ``memex-audit info`` makes it.

    python benchmarks/adapters.py                    # ../shared/data
    python benchmarks/adapters.py path/to/rollouts --repeat 5
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

from memex_audit.loaders import iter_files, load

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3, help="runs per file; the fastest counts")
    args = parser.parse_args()

    seconds: dict[str, float] = defaultdict(float)
    size: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    errors = 0
    for file in iter_files(args.folder):
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = load(file)
            best = min(best, time.perf_counter() - start)
        if not result.trajectories:
            continue  # companion or unrelated files
        fmt = next(iter(result.files.values()))
        seconds[fmt] += best
        size[fmt] += file.stat().st_size
        count[fmt] += len(result.trajectories)
        errors += len(result.errors)

    print(f"{'format':<14}{'MB':>8}{'trajs':>8}{'seconds':>10}{'MB/s':>9}{'trajs/s':>10}")
    for fmt in sorted(seconds, key=lambda f: -size[f]):
        mb = size[fmt] / 1e6
        print(
            f"{fmt:<14}{mb:>8.1f}{count[fmt]:>8}{seconds[fmt]:>10.3f}{mb / seconds[fmt]:>9.1f}"
            f"{count[fmt] / seconds[fmt]:>10.0f}"
        )
    total_mb = sum(size.values()) / 1e6
    total_s = sum(seconds.values())
    print(f"{'all':<14}{total_mb:>8.1f}{sum(count.values()):>8}{total_s:>10.3f}{total_mb / total_s:>9.1f}")

    start = time.perf_counter()
    folder = load(args.folder)
    elapsed = time.perf_counter() - start
    print(
        f"\nload({args.folder}): {len(folder)} trajectories, {len(folder.errors)} errors, "
        f"{len(folder.skipped)} skipped in {elapsed:.2f}s ({total_mb / elapsed:.1f} MB/s)"
    )
    if errors or folder.errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
