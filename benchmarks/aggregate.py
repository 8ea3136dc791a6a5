"""Cost of aggregation: the offline policies per task, the agent loop around the verifier, and the
accuracy-vs-N curve, on a rollout folder (the best-of-N samples by default).

    python benchmarks/aggregate.py
    python benchmarks/aggregate.py ../shared/data/tau2_bench/airline_runs --subsets 12

Reports seconds per task for each policy (fresh process caches, then warm), for one verifier run
through the MemEx loop, and for the scaling curve, plus the prompt size the offline policy sends.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from memex_audit.aggregator import OFFLINE_POLICIES, KeyConfig, blind_group, scaling_curve
from memex_audit.aggregator._agent_policy import aggregate_with_agent
from memex_audit.loaders import load

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "sample_trajectories" / "best_of_n")
    parser.add_argument("--subsets", type=int, default=24, help="subsets per size for the scaling curve")
    args = parser.parse_args()

    groups = load(args.folder).tasks()
    cfg = KeyConfig()
    rollouts = sum(len(g) for g in groups)
    print(f"{len(groups)} tasks, {rollouts} rollouts from {args.folder}")
    blinded = [blind_group(g) for g in groups]
    for name, policy in OFFLINE_POLICIES.items():
        for label in ("cold", "warm"):
            start = time.perf_counter()
            for g in blinded:
                policy(g, cfg)
            per_task = (time.perf_counter() - start) / len(groups)
            print(f"  {name:<13} {label}: {per_task * 1000:8.1f} ms/task")

    start = time.perf_counter()
    tokens = 0
    for g in groups:
        aggregation, _run = asyncio.run(aggregate_with_agent(g, None, cfg))
        tokens += aggregation.usage.input_tokens
    per_task = (time.perf_counter() - start) / len(groups)
    print(
        f"  verifier through the agent loop: {per_task * 1000:8.1f} ms/task, {tokens // len(groups)} prompt tokens/task"
    )

    start = time.perf_counter()
    for g in groups:
        scaling_curve(g, cfg, max_subsets=args.subsets)
    per_task = (time.perf_counter() - start) / len(groups)
    print(f"  scaling curve ({args.subsets} subsets per size): {per_task:6.2f} s/task")


if __name__ == "__main__":
    main()
