"""Load speed and memory: parse + validate native JSONL on one core.

Generates (once, cached under ``.bench/load``) a folder of native JSONL trajectories with realistic
shapes — 20 to 80 steps, tool outputs of a few hundred bytes to tens of KB, code blocks, tool calls —
then loads it in a fresh process and reports MB/s, trajectories/s and peak memory (RSS growth)
against the data size.

    python benchmarks/load.py               # 200 MB (default)
    python benchmarks/load.py --mb 50       # a smaller run
    python benchmarks/load.py --regenerate  # rebuild the data
    python benchmarks/load.py --repeat 3    # best of 3, with and without the strict-JSON checks

Each measurement also runs once with the native loader's strict-JSON checks (non-finite numbers,
repeated keys: ``memex_audit.loaders._json_checks``) switched off, alternating, so their cost is
measured in the same run on the same data.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from memex_audit.loaders import load, write_jsonl
from memex_audit.trajectory import Outcome, Step, ToolCall, Trajectory, Usage

ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    "bulletin table revised preliminary total receipts outlays debt interest federal quarter fiscal "
    "month series billion million percent held public account treasury securities marketable"
).split()


def _text(rng: random.Random, n_chars: int) -> str:
    parts: list[str] = []
    size = 0
    while size < n_chars:
        if rng.random() < 0.3:
            word = f"{rng.randint(1, 99_999):,}.{rng.randint(0, 9)}"
        else:
            word = rng.choice(WORDS)
        parts.append(word)
        size += len(word) + 1
    return " ".join(parts)


def _trajectory(rng: random.Random, number: int) -> Trajectory:
    n_steps = rng.randint(20, 80)
    steps: list[Step] = [Step(index=0, role="user", text=_text(rng, 300))]
    memex = number % 2 == 0
    while len(steps) < n_steps:
        i = len(steps)
        usage = Usage(
            input_tokens=rng.randint(2_000, 60_000), output_tokens=rng.randint(50, 900), cost_usd=0.001
        )
        output = _text(rng, int(rng.lognormvariate(7.5, 1.1)))
        if memex:
            steps.append(
                Step(
                    index=i,
                    role="assistant",
                    text=_text(rng, 200),
                    code="rows = read_table(doc, 'receipts')\nprint(rows.head(20))\n" * rng.randint(1, 4),
                    output=output,
                    usage=usage,
                    duration_s=rng.uniform(0.5, 20),
                )
            )
        else:
            call_id = f"call_{number}_{i}"
            steps.append(
                Step(
                    index=i,
                    role="assistant",
                    text=_text(rng, 120),
                    tool_calls=[
                        ToolCall(id=call_id, name="read_table", arguments={"doc": "b-1944-04", "page": i})
                    ],
                    usage=usage,
                    duration_s=rng.uniform(0.5, 20),
                )
            )
            if len(steps) < n_steps:
                steps.append(
                    Step(
                        index=i + 1, role="tool", tool_call_id=call_id, tool_name="read_table", output=output
                    )
                )
    return Trajectory(
        id=f"bench-{number:06d}",
        task_id=f"task-{number // 8:05d}",
        question=_text(rng, 200),
        ground_truth=f"{rng.randint(1, 9_999):,}",
        final_answer=f"{rng.randint(1, 9_999):,}",
        outcome=Outcome(correct=rng.random() < 0.5),
        harness="memex" if memex else "tool_calling",
        model=rng.choice(["qwen-3.6-27b", "claude-sonnet-4-6", "gpt-5.5"]),
        steps=steps,
        usage=Usage(input_tokens=100_000, output_tokens=5_000, cost_usd=0.42),
        metadata={"bench": True},
    )


def generate(folder: Path, target_mb: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.jsonl"):
        old.unlink()
    rng = random.Random(20261122)
    number = 0
    file_index = 0
    written = 0
    while written < target_mb * 1e6:
        batch = [_trajectory(rng, number + k) for k in range(500)]
        number += len(batch)
        path = folder / f"part-{file_index:03d}.jsonl"
        write_jsonl(batch, path)
        written += path.stat().st_size
        file_index += 1
    print(f"generated {written / 1e6:.1f} MB, {number} trajectories in {file_index} files under {folder}")


def _switch_off_checks() -> None:
    """The native loader without its strict-JSON checks (what it cost before they existed)."""
    from memex_audit.loaders import _native

    _native.model_shape = lambda traj: (0, True)  # type: ignore[assignment]
    _native.keys_consistent = lambda raw, keys: True  # type: ignore[assignment]


def measure(folder: Path) -> dict[str, float]:
    """Load the folder in this process and report speed and RSS growth."""
    size = sum(p.stat().st_size for p in folder.glob("*.jsonl"))
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    cpu_start = time.process_time()
    result = load(folder)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert not result.errors, result.errors[:3]
    return {
        "data_mb": size / 1e6,
        "trajectories": len(result.trajectories),
        "steps": sum(len(t.steps) for t in result.trajectories),
        "wall_s": wall,
        "cpu_s": cpu,
        "mb_per_s": size / 1e6 / wall,
        "trajectories_per_s": len(result.trajectories) / wall,
        "peak_rss_growth_mb": (peak_rss - base_rss) / 1e6,
        "peak_memory_ratio": (peak_rss - base_rss) / size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=200.0, help="size of the generated data (MB)")
    parser.add_argument("--folder", type=Path, default=ROOT / ".bench" / "load")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="measurements of each kind (best kept)")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--without-checks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:
        if args.without_checks:
            _switch_off_checks()
        print(json.dumps(measure(args.folder)))
        return
    have = sum(p.stat().st_size for p in args.folder.glob("*.jsonl")) / 1e6 if args.folder.exists() else 0
    if args.regenerate or have < args.mb * 0.98 or have > args.mb * 1.2:
        generate(args.folder, args.mb)
    # Measure in a fresh process so the generator's memory does not hide the loader's.
    best: dict[bool, dict[str, float]] = {}
    for _ in range(max(1, args.repeat)):
        for checks in (True, False):
            command = [sys.executable, __file__, "--measure-only", "--folder", str(args.folder)]
            out = subprocess.run(
                command + ([] if checks else ["--without-checks"]), check=True, capture_output=True, text=True
            )
            figures = json.loads(out.stdout)
            if checks not in best or figures["cpu_s"] < best[checks]["cpu_s"]:
                best[checks] = figures
    figures, unchecked = best[True], best[False]
    print(
        f"load(): {figures['data_mb']:.1f} MB, {figures['trajectories']:.0f} trajectories, {figures['steps']:.0f} steps\n"
        f"  {figures['wall_s']:.2f} s wall ({figures['cpu_s']:.2f} s CPU, one core)\n"
        f"  {figures['mb_per_s']:.1f} MB/s, {figures['trajectories_per_s']:.0f} trajectories/s\n"
        f"  peak RSS growth {figures['peak_rss_growth_mb']:.0f} MB = {figures['peak_memory_ratio']:.2f}x the data size\n"
        f"  without the strict-JSON checks: {unchecked['cpu_s']:.3f} s CPU, {unchecked['mb_per_s']:.1f} MB/s; "
        f"the checks cost {100 * (figures['cpu_s'] / unchecked['cpu_s'] - 1):+.1f}% CPU "
        f"(best of {max(1, args.repeat)})"
    )


if __name__ == "__main__":
    main()
