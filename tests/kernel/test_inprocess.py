"""The in-process kernel's honest limits: what it stops, what it has to abandon."""

from __future__ import annotations

import asyncio

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
