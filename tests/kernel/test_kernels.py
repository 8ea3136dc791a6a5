"""Behaviour both kernel backends share: the same block gives the same observation on each."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from memex_audit.kernel import ExecutionResult, InProcessKernel, Kernel, KernelSetup, SubprocessKernel
from memex_audit.trajectory import Trajectory
from tests.factories import memex_run

BACKENDS = ["inprocess", pytest.param("subprocess", marks=pytest.mark.slow)]


class Hit(BaseModel):
    step: int
    text: str


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    hits: list[Hit]


def span_of(trajectory: Trajectory, pattern: str) -> Span:
    """First and last step matching ``pattern``."""
    steps = trajectory.search(pattern)
    return Span(steps[0], steps[-1], find_hits(trajectory, pattern))


def find_hits(trajectory: Trajectory, pattern: str) -> list[Hit]:
    """Steps whose text matches ``pattern``."""
    return [Hit(step=i, text=trajectory.steps[i].searchable_text()[:20]) for i in trajectory.search(pattern)]


async def slow_double(x: int) -> int:
    """Double ``x`` after a short wait."""
    await asyncio.sleep(0.01)
    return 2 * x


def make_kernel(backend: str, timeout_s: float = 5.0) -> Kernel:
    if backend == "inprocess":
        return InProcessKernel(timeout_s=timeout_s, stop_grace_s=1.0)
    return SubprocessKernel(timeout_s=timeout_s)


def run(
    backend: str,
    blocks: list[str],
    setup: KernelSetup | None = None,
    timeout_s: float = 5.0,
) -> list[ExecutionResult]:
    async def main() -> list[ExecutionResult]:
        kernel = make_kernel(backend, timeout_s)
        await kernel.start(setup or KernelSetup())
        try:
            return [await kernel.execute(code) for code in blocks]
        finally:
            await kernel.close()

    return asyncio.run(main())


@pytest.mark.parametrize("backend", BACKENDS)
def test_state_persists_and_final_expression_is_shown(backend: str) -> None:
    results = run(backend, ["x = 20\nprint('set')", "x + 1", "y = x * 2", "print(y)\ny"])
    assert [r.output for r in results] == ["set\n", "21\n", "", "40\n40\n"]
    assert all(r.ok for r in results)


@pytest.mark.parametrize("backend", BACKENDS)
def test_top_level_await(backend: str) -> None:
    results = run(
        backend, ["import asyncio\nawait asyncio.sleep(0.01)\nprint('awake')", "await asyncio.sleep(0, 'v')"]
    )
    assert results[0].output == "awake\n"
    assert results[1].output == "'v'\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_errors_are_short_tracebacks_on_the_agents_lines(backend: str) -> None:
    results = run(backend, ["def f(d):\n    return d['missing']\n", "a = 1\nf({})", "x = ("])
    error = results[1].error
    assert error is not None
    assert 'File "<cell 2>", line 2' in error and "f({})" in error
    assert "return d['missing']" in error and error.endswith("KeyError: 'missing'")
    assert "_block.py" not in error
    assert results[2].error is not None and "SyntaxError" in results[2].error


@pytest.mark.parametrize("backend", BACKENDS)
def test_submit_cannot_be_swallowed(backend: str) -> None:
    code = "try:\n    submit({'answer': 42})\nexcept Exception:\n    print('swallowed')\nprint('after')"
    [result] = run(backend, [code])
    assert result.submitted and result.submission == {"answer": 42}
    assert result.output == "" and result.error is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_reserved_names_are_restored(backend: str) -> None:
    setup = KernelSetup(tools=[find_hits])
    results = run(backend, ["submit = 1\nfind_hits = None", "submit(3)"], setup)
    assert any("`submit` is reserved" in n for n in results[0].notices)
    assert any("`find_hits` is reserved" in n for n in results[0].notices)
    assert results[1].submitted and results[1].submission == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_cpu_bound_block_times_out_and_kernel_stays_usable(backend: str) -> None:
    setup = KernelSetup(scope={"n": 7})
    started = time.perf_counter()
    results = run(
        backend, ["kept = 1", "while True: pass", "print(n)", "print('alive')"], setup, timeout_s=0.5
    )
    assert time.perf_counter() - started < 10
    timeout = results[1]
    assert timeout.timed_out and not timeout.abandoned
    assert timeout.error is not None and "TimeoutError" in timeout.error
    assert results[2].output == "7\n"  # scope objects are there either way
    assert results[3].output == "alive\n"
    if backend == "subprocess":
        assert timeout.restarted and "namespace was reset" in " ".join(timeout.notices)
    else:
        assert not timeout.restarted


@pytest.mark.parametrize("backend", BACKENDS)
def test_tools_return_objects_into_scope(backend: str) -> None:
    setup = KernelSetup(scope={"traj": memex_run()}, tools=[find_hits, slow_double])
    blocks = [
        "hits = find_hits(traj, 'bulletin')\nprint(type(hits[0]).__name__, [h.step for h in hits])",
        "print(await slow_double(4), type(traj).__name__, len(traj.steps))",
        "import asyncio\nprint(await asyncio.gather(slow_double(1), slow_double(2)))",
    ]
    results = run(backend, blocks, setup)
    assert results[0].output == "Hit [2, 3]\n"
    assert results[1].output == "8 Trajectory 5\n"
    assert results[2].output == "[2, 4]\n"


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_spawn_handler_runs_and_does_not_count_against_the_timeout(backend: str) -> None:
    seen: list[tuple[str, Any, dict[str, Any]]] = []

    async def spawn(task: str, output_type: Any, objects: dict[str, Any]) -> Any:
        seen.append((task, output_type, objects))
        await asyncio.sleep(1.0)
        return len(task) if output_type is int else task.upper()

    setup = KernelSetup(spawn=spawn)
    code = "import asyncio\nprint(await asyncio.gather(spawn_agent('abc', output_type=int, k=1), spawn_agent('de')))"
    [result] = run(backend, [code], setup, timeout_s=0.8)
    assert result.output == "[3, 'DE']\n", result
    assert sorted((t, o) for t, _, o in [(s[0], s[1], s[2]) for s in seen]) == [("abc", {"k": 1}), ("de", {})]
    assert {s[1] for s in seen} == {int, str}


def test_concurrent_kernels_do_not_mix_prints() -> None:
    code = "import asyncio\nfor i in range(30):\n    print(name, i)\n    await asyncio.sleep(0.001)"

    async def main() -> list[ExecutionResult]:
        kernels = [InProcessKernel() for _ in range(4)]
        for n, kernel in enumerate(kernels):
            await kernel.start(KernelSetup(scope={"name": f"k{n}"}))
        results = await asyncio.gather(*(k.execute(code) for k in kernels))
        for kernel in kernels:
            await kernel.close()
        return list(results)

    for n, result in enumerate(asyncio.run(main())):
        lines = result.output.splitlines()
        assert lines == [f"k{n} {i}" for i in range(30)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_tools_and_spawn_work_with_create_task(backend: str) -> None:
    async def spawn(task: str, output_type: Any, objects: dict[str, Any]) -> Any:
        return task.upper()

    setup = KernelSetup(tools=[slow_double], spawn=spawn)
    code = (
        "import asyncio\n"
        "a = asyncio.create_task(slow_double(5))\n"
        "b = asyncio.create_task(spawn_agent('sub'))\n"
        "print(await a, await b)"
    )
    [result] = run(backend, [code], setup)
    assert result.output == "10 SUB\n", result


@pytest.mark.parametrize("backend", BACKENDS)
def test_scope_objects_reach_tools_as_the_hosts_originals(backend: str) -> None:
    traj = memex_run()
    runs = [memex_run("a"), memex_run("b")]
    received: list[Any] = []

    def inspect_it(trajectory: Trajectory) -> str:
        """Remember what arrived."""
        received.append(trajectory)
        return trajectory.id

    setup = KernelSetup(scope={"traj": traj, "runs": runs}, tools=[inspect_it])
    [result] = run(backend, ["print(inspect_it(traj), inspect_it(runs[1]))"], setup)
    assert result.output == "m-1 b\n"
    assert received[0] is traj and received[1] is runs[1]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_output_printed_before_a_timeout_is_kept(backend: str) -> None:
    code = "import time\nprint('started', flush=True)\ntime.sleep(0.6)\nprint('looping')\nwhile True: pass"
    [result, after] = run(backend, [code, "print('next')"], timeout_s=1.5)
    assert result.timed_out
    assert result.output == "started\nlooping\n"
    assert after.output == "next\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_dataclass_results_cross_as_dataclasses(backend: str) -> None:
    setup = KernelSetup(scope={"traj": memex_run()}, tools=[span_of])
    code = "s = span_of(traj, 'bulletin')\nprint(type(s).__name__, s.start, s.end, type(s.hits[0]).__name__)"
    [result] = run(backend, [code], setup)
    assert result.output == "Span 2 3 Hit\n", result
