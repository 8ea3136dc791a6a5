"""The in-process kernel's honest limits: what it stops, what it has to abandon."""

from __future__ import annotations

import asyncio
import sys
import warnings
from typing import TextIO

from memex_audit.kernel import ExecutionResult, FakeKernel, InProcessKernel, Kernel, KernelSetup


def run(
    blocks: list[str], kernel: InProcessKernel, setup: KernelSetup | None = None
) -> list[ExecutionResult]:
    async def main() -> list[ExecutionResult]:
        await kernel.start(setup or KernelSetup())
        try:
            return [await kernel.execute(code) for code in blocks]
        finally:
            await kernel.close()

    return asyncio.run(main())


def test_scope_objects_are_shared_by_reference() -> None:
    shared: list[int] = []
    results = run(
        ["shared.append(1)\nshared is shared"], InProcessKernel(), KernelSetup(scope={"shared": shared})
    )
    assert shared == [1] and results[0].output == "True\n"


def test_a_bare_except_does_not_keep_a_timed_out_loop_alive() -> None:
    code = "while True:\n    try:\n        while True: pass\n    except BaseException:\n        pass"
    results = run([code, "print('ok')"], InProcessKernel(timeout_s=0.3, stop_grace_s=3.0))
    # The exception is raised again and again until it lands outside the inner try.
    assert results[0].timed_out
    assert results[1].output == "ok\n"


def test_a_block_stuck_in_a_c_call_is_abandoned_and_the_kernel_moves_on() -> None:
    kernel = InProcessKernel(timeout_s=0.2, stop_grace_s=0.2)
    results = run(["x = 5", "import time\ntime.sleep(1.5)", "print(x)"], kernel)
    assert results[1].timed_out and results[1].abandoned
    assert "abandoned" in " ".join(results[1].notices)
    assert results[2].output == "5\n"


def test_prints_outside_any_block_go_to_the_real_stream(capsys: object) -> None:
    results = run(["print('inside')"], InProcessKernel())
    print("outside")
    assert results[0].output == "inside\n"


def test_fake_kernel_plays_its_script() -> None:
    async def main() -> list[ExecutionResult]:
        kernel: Kernel = FakeKernel([ExecutionResult(output="one")])
        await kernel.start(KernelSetup())
        return [await kernel.execute("a"), await kernel.execute("b")]

    first, second = asyncio.run(main())
    assert first.output == "one" and second.output == ""
    assert isinstance(InProcessKernel(), Kernel)


def test_input_fails_fast_instead_of_waiting_on_the_terminal() -> None:
    results = run(["input('name? ')"], InProcessKernel(timeout_s=2))
    assert results[0].error is not None and "EOFError" in results[0].error and not results[0].timed_out


def test_a_closed_kernels_thread_runs_the_next_kernel_on_a_fresh_loop_with_nothing_left_over() -> None:
    seen: list[object] = []
    first = (
        "import asyncio, threading\n"
        "task = asyncio.create_task(asyncio.sleep(3600))\n"
        "await asyncio.sleep(0)\n"
        "seen.append((threading.get_ident(), asyncio.get_running_loop()))"
    )
    later = (
        "import asyncio, threading\n"
        "seen.append((threading.get_ident(), asyncio.get_running_loop(), len(asyncio.all_tasks())))"
    )

    async def main() -> None:
        for code in (first, later):
            kernel = InProcessKernel()
            await kernel.start(KernelSetup(scope={"seen": seen}))
            result = await kernel.execute(code)
            assert result.error is None
            await kernel.close()
            for _ in range(500):  # the thread winds the loop up on its own, then waits in the pool
                await asyncio.sleep(0.01)
                if seen[-1][1].is_closed():  # type: ignore[index]
                    break
            await asyncio.sleep(0.02)

    asyncio.run(main())
    (thread, loop), (thread_again, loop_again, tasks) = [s for s in seen if isinstance(s, tuple)]
    assert thread_again == thread  # the thread came back to the pool...
    assert loop_again is not loop and loop.is_closed()  # ...but the loop did not
    assert tasks == 1  # only the block itself: the first kernel's task did not survive


def test_a_repeated_block_prints_its_compile_warning_every_time() -> None:
    def to_stderr(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    code = "x = 1\nprint(x is 1)"
    with warnings.catch_warnings():  # shown as without a test runner: printed to stderr
        warnings.simplefilter("default")
        warnings.showwarning = to_stderr
        outputs = [run([code], InProcessKernel())[0].output for _ in range(2)]
        outputs += [result.output for result in run([code, code], InProcessKernel())]
    assert all("SyntaxWarning" in out and out.endswith("True\n") for out in outputs)
