"""Prompt tokens per turn over a long scripted run, with and without indexed experience memory.

The same 50-turn script runs twice through the MemEx loop with a scripted model: each turn
prints a batch of records (a few hundred to a few thousand characters, as exploring
trajectories does), the second-to-last turn recalls turn 1 and the last submits its output. The
figure per turn is the estimated input tokens of the request the model received (system prompt
plus conversation, ``estimate_request_tokens``). Without memory the context grows with every turn;
with ``MemoryConfig(context_budget=...)`` older turns move into the index and the request stays
under the budget, while ``recall`` still returns turn 1's output exactly.

    python benchmarks/memory.py
    python benchmarks/memory.py --turns 50 --budget 8000 --every 1
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from memex_audit.agent import Agent, MemoryConfig, RunResult
from memex_audit.llm import ScriptedModel, estimate_request_tokens


def script(turns: int, seed: int = 0) -> list[str]:
    """``turns`` replies: ``turns - 2`` blocks printing records, a recall of turn 1, a submit."""
    rng = random.Random(seed)
    replies = []
    for turn in range(1, turns - 1):
        rows = rng.choice([5, 10, 20, 40, 60])
        body = (
            f"rows = [f'step {{i}}: tool=search status={{i % 3}} score={{(i * {turn}) % 97}}' for i in range({rows})]\n"
            "print('\\n'.join(rows))"
        )
        replies.append(f"Look at batch {turn} of the records.\n```python\n{body}\n```")
    replies.append("Check turn 1 again.\n```python\nprint(recall('T1').output[-60:])\n```")
    replies.append("Done.\n```python\nsubmit(recall('T1').output)\n```")
    return replies


def run(turns: int, memory: MemoryConfig | None) -> tuple[list[int], RunResult[str], float]:
    """Prompt tokens of each request, the result, and the wall time of the run."""
    model = ScriptedModel(script(turns))
    # Without memory there is no recall: the last two turns then fail or stop, which is fine here.
    agent: Agent[str] = Agent(model, str, memory=memory, max_turns=turns, observation_limit=4000)
    started = time.perf_counter()
    result = agent.run_sync("Read every batch of records, then give back the first batch exactly.")
    return [estimate_request_tokens(r) for r in model.requests], result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=50, help="turns of the scripted run")
    parser.add_argument("--budget", type=int, default=8000, help="context budget in tokens")
    parser.add_argument(
        "--compress-at", type=float, default=0.7, help="share of the budget that triggers compression"
    )
    parser.add_argument(
        "--compress-to", type=float, default=0.4, help="share of the budget a compression aims for"
    )
    parser.add_argument("--every", type=int, default=5, help="print every Nth turn of the table")
    args = parser.parse_args()

    config = MemoryConfig(
        context_budget=args.budget, compress_at=args.compress_at, compress_to=args.compress_to
    )
    plain, _, plain_s = run(args.turns, None)
    compressed, result, memory_s = run(args.turns, config)

    print(f"prompt tokens per turn, {args.turns}-turn scripted run, budget {args.budget:,} (estimated)")
    print(f"{'turn':>5} {'no memory':>10} {'memory':>8}")
    for turn in range(1, args.turns + 1):
        if turn % args.every and turn not in (1, args.turns):
            continue
        left = f"{plain[turn - 1]:,}" if turn <= len(plain) else "-"
        right = f"{compressed[turn - 1]:,}" if turn <= len(compressed) else "-"
        print(f"{turn:>5} {left:>10} {right:>8}")
    print(f"{'max':>5} {max(plain):>10,} {max(compressed):>8,}")
    print(f"{'mean':>5} {statistics.fmean(plain):>10,.0f} {statistics.fmean(compressed):>8,.0f}")
    print(f"{'total':>5} {sum(plain):>10,} {sum(compressed):>8,}")
    memory = result.trajectory.metadata.get("memory")
    assert isinstance(memory, dict)
    first = result.trajectory.steps[2].output
    print(
        f"memory: {memory['compressions']} compressions, recalls {memory['recalls']}, "
        f"recalled output exact: {result.output == first and bool(first)}, "
        f"stop: {result.stop_reason}; wall time {plain_s:.2f}s without, {memory_s:.2f}s with"
    )


if __name__ == "__main__":
    main()
