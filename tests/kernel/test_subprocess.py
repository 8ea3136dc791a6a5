"""The subprocess kernel's isolation: environment, working directory, limits, the JSON channel."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from memex_audit.errors import KernelError
from memex_audit.kernel import ExecutionResult, KernelSetup, SubprocessKernel, clean_environment
from memex_audit.kernel._codec import decode, encode
from memex_audit.trajectory import Trajectory
from tests.factories import memex_run

pytestmark = pytest.mark.slow


def run(
    blocks: list[str], setup: KernelSetup | None = None, **options: Any
) -> tuple[list[ExecutionResult], Path]:
    async def main() -> tuple[list[ExecutionResult], Path]:
        kernel = SubprocessKernel(**options)
        await kernel.start(setup or KernelSetup())
        assert kernel.scratch is not None
        scratch = kernel.scratch
        try:
            return [await kernel.execute(code) for code in blocks], scratch
        finally:
            await kernel.close()

    return asyncio.run(main())


def test_environment_has_no_api_keys_and_cwd_is_a_scratch_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_API_KEY", "sk-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("MEMEX_HARMLESS", "kept")
    blocks = [
        "import os\nprint(sorted(k for k in os.environ if 'KEY' in k))",
        "print(os.environ.get('MEMEX_HARMLESS'))",
        "print(os.getcwd())\n_ = open('note.txt', 'w').write('x')",
    ]
    results, scratch = run(blocks)
    assert results[0].output == "[]\n"
    assert results[1].output == "kept\n"
    assert results[2].output.strip() == str(scratch)
    assert not scratch.exists()  # removed on close


def test_clean_environment_drops_secrets() -> None:
    env = {
        "PATH": "/bin",
        "OPENAI_BASE_URL": "http://x",
        "DB_PASSWORD": "p",
        "GITHUB_TOKEN": "t",
        "LANG": "C",
    }
    assert clean_environment(env) == {"PATH": "/bin", "LANG": "C"}


def test_memory_limit_turns_a_huge_allocation_into_memory_error() -> None:
    results, _ = run(["big = bytearray(3 * 1024**3)", "print('still here')"], memory_limit_mb=1024)
    assert results[0].error is not None and "MemoryError" in results[0].error
    assert results[1].output == "still here\n"


def test_scope_models_are_revalidated_in_the_child_and_submissions_come_back() -> None:
    traj = memex_run()
    setup = KernelSetup(scope={"runs": [traj, traj], "meta": {"n": 2, "where": Path("/tmp")}})
    blocks = [
        "print(type(runs[0]).__name__, runs[0].steps[3].output, meta)",
        "submit(runs[1])",
    ]
    results, _ = run(blocks, setup)
    assert results[0].output == "Trajectory total 3,501 {'n': 2, 'where': '/tmp'}\n"
    assert results[1].submitted and isinstance(results[1].submission, Trajectory)
    assert results[1].submission == traj


def test_objects_without_a_json_form_are_refused_with_a_clear_error() -> None:
    async def main() -> None:
        await SubprocessKernel().start(KernelSetup(scope={"lock": object()}))

    with pytest.raises(KernelError, match="lock: a builtins.object cannot cross"):
        asyncio.run(main())


def test_an_unsendable_submission_is_an_error_the_agent_sees() -> None:
    results, _ = run(["submit(object())", "submit({'ok': True})"])
    assert not results[0].submitted and results[0].error is not None and "cannot cross" in results[0].error
    assert results[1].submitted and results[1].submission == {"ok": True}


def test_a_crashed_process_is_restarted_with_a_notice() -> None:
    results, _ = run(["import os\nos._exit(3)", "print('back')"])
    assert results[0].restarted and results[0].error is not None and "exit code 3" in results[0].error
    assert results[1].output == "back\n"


def test_tool_errors_reach_the_agent_as_exceptions() -> None:
    def lookup(key: str) -> int:
        """Look ``key`` up."""
        raise KeyError(key)

    code = "try:\n    lookup('x')\nexcept KeyError as e:\n    print('KeyError', e)"
    results, _ = run([code], KernelSetup(tools=[lookup]))
    assert results[0].output == "KeyError 'x'\n"


def test_codec_round_trip_keeps_models_and_refuses_the_rest() -> None:
    import orjson

    value = {"t": memex_run(), "xs": (1, 2.5, None), "s": "é"}
    tree = orjson.loads(orjson.dumps(encode(value)))
    back = decode(tree, allow_import=False)
    assert back == {"t": memex_run(), "xs": [1, 2.5, None], "s": "é"}
    with pytest.raises(KernelError):
        encode({1: "int key"})
    assert os.environ.get("ANTHROPIC_API_KEY") is None


def test_cpu_limit_ends_the_process_and_the_kernel_comes_back() -> None:
    results, _ = run(["while True: pass", "print('back')"], cpu_limit_s=1, timeout_s=20)
    first = results[0]
    assert first.restarted and not first.timed_out
    assert first.error is not None and "SIGXCPU" in first.error
    assert results[1].output == "back\n"
