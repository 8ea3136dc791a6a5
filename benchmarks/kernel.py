"""Kernel and agent-loop figures: per-block overhead, sub-agent speed-up, prompt size under load.

* Per-block overhead: the mean wall time of ``kernel.execute`` for a trivial block, on both
  backends (what the loop adds to every turn besides the model call).
* Sub-agent speed-up: a parent spawns N sub-agents whose fake model waits 1 s per call, once with
  ``asyncio.gather`` and once one after another; the ratio is the speed-up.
* Context under load: a scripted agent runs a few blocks while a ~100 MB trajectory is in scope;
  the largest request it sent (characters and estimated tokens) shows the context stays bounded.
  The subprocess figure includes shipping the trajectory to the child over the JSON channel.

    python benchmarks/kernel.py
    python benchmarks/kernel.py --blocks 500 --children 8 --trajectory-mb 100
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from pydantic import BaseModel

from memex_audit.agent import Agent
from memex_audit.kernel import InProcessKernel, Kernel, KernelSetup, SubprocessKernel
from memex_audit.llm import FunctionModel, LLMRequest, ScriptedModel, estimate_request_tokens
from memex_audit.trajectory import Step, Trajectory


class Count(BaseModel):
    n: int


async def block_overhead(kernel: Kernel, blocks: int) -> tuple[float, float]:
    """Mean and p95 milliseconds of ``execute`` for ``x = i`` plus a final expression."""
    await kernel.start(KernelSetup(scope={"k": 1}))
    times = []
    try:
        for i in range(blocks):
            started = time.perf_counter()
            await kernel.execute(f"x = {i}\nx + k")
            times.append((time.perf_counter() - started) * 1000)
    finally:
        await kernel.close()
    times.sort()
    return statistics.fmean(times), times[int(len(times) * 0.95) - 1]


def fan_out_model(children: int, concurrent: bool) -> FunctionModel:
    async def reply(request: LLMRequest) -> str:
        await asyncio.sleep(1.0)
        first = request.messages[0].text()
        if "Sub-task" in first:
            return "```python\nsubmit(1)\n```"
        if len(request.messages) == 1:
            if concurrent:
                body = f"parts = await asyncio.gather(*(spawn_agent(f'Sub-task {{i}}', output_type=int) for i in range({children})))"
            else:
                body = f"parts = [await spawn_agent(f'Sub-task {{i}}', output_type=int) for i in range({children})]"
            return f"```python\nimport asyncio\n{body}\n```"
        return "```python\nsubmit({'n': sum(parts)})\n```"

    return FunctionModel(reply)


async def spawn_block_seconds(children: int, concurrent: bool) -> float:
    agent = Agent(
        fan_out_model(children, concurrent), Count, block_timeout_s=5.0, max_concurrent_subagents=children
    )
    result = await agent.run("Fan out.")
    assert result.output == Count(n=children), result.error
    block_s = result.trajectory.steps[2].metadata["block_s"]
    assert isinstance(block_s, float)
    return block_s


def big_trajectory(megabytes: int) -> Trajectory:
    """A trajectory of about ``megabytes`` MB: 1,000 steps with long tool outputs."""
    per_step = megabytes * 1_000_000 // 500  # half of the 1,000 steps carry an output
    line = "Table 3. Public debt outstanding, March 1944: 3,501 million dollars. "
    output = (line * (per_step // len(line) + 1))[:per_step]
    steps = [
        Step(
            index=i, role="tool" if i % 2 else "assistant", output=output if i % 2 else None, text=f"step {i}"
        )
        for i in range(1000)
    ]
    return Trajectory(id="big", task_id="bench", question="What was the debt?", steps=steps)


async def largest_prompt(kernel: str, trajectory: Trajectory) -> tuple[int, int, float]:
    """Largest request (chars, estimated tokens) of a 5-turn run, and the run's seconds."""
    replies = [
        "```python\nprint(len(big.steps), sum(len(s.output or '') for s in big.steps))\n```",
        "```python\nbig.steps[1].output\n```",  # a 100 kB repr: truncated for the model
        "```python\nhits = big.search('3,501')\nprint(len(hits), hits[:5])\n```",
        "```python\nfor s in big.steps[:50]:\n    print(s.index, (s.output or '')[:2000])\n```",
        "```python\nsubmit({'n': len(hits)})\n```",
    ]
    model = ScriptedModel(replies)
    started = time.perf_counter()
    result = await Agent(model, Count, kernel=kernel, block_timeout_s=120).run("Count.", big=trajectory)
    seconds = time.perf_counter() - started
    assert result.stop_reason == "submitted", result.error
    sizes = [
        (len(r.system) + sum(len(m.text()) for m in r.messages), estimate_request_tokens(r))
        for r in model.requests
    ]
    chars, tokens = max(sizes)
    return chars, tokens, seconds


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blocks", type=int, default=300, help="blocks per backend for the overhead")
    parser.add_argument("--children", type=int, default=8, help="sub-agents to spawn")
    parser.add_argument("--trajectory-mb", type=int, default=100, help="size of the trajectory in scope")
    args = parser.parse_args()

    print("per-block overhead (x = i; x + k)")
    for name, kernel in (("inprocess", InProcessKernel()), ("subprocess", SubprocessKernel())):
        mean, p95 = await block_overhead(kernel, args.blocks)
        print(f"  {name:<11} mean {mean:7.3f} ms   p95 {p95:7.3f} ms   ({args.blocks} blocks)")

    concurrent = await spawn_block_seconds(args.children, concurrent=True)
    sequential = await spawn_block_seconds(args.children, concurrent=False)
    print(f"sub-agents ({args.children}, fake model 1 s per call)")
    print(
        f"  gather {concurrent:.2f} s   one by one {sequential:.2f} s   speed-up {sequential / concurrent:.1f}x"
    )

    trajectory = big_trajectory(args.trajectory_mb)
    size_mb = len(trajectory.model_dump_json()) / 1e6
    print(f"largest per-turn prompt with a {size_mb:.0f} MB trajectory in scope (5-turn run)")
    for kernel_name in ("inprocess", "subprocess"):
        chars, tokens, seconds = await largest_prompt(kernel_name, trajectory)
        print(f"  {kernel_name:<11} {chars:,} chars  ≈ {tokens:,} tokens   (run {seconds:.1f} s)")


if __name__ == "__main__":
    asyncio.run(main())
