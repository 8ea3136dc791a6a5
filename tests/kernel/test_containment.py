"""The host survives whatever model code does; kernel processes live no longer than their host.

One test per containment probe, on both kernels where the probe applies. In-process, a crash,
``os._exit``, a fatal signal or a fork take the host with them by nature: those probes run on the
subprocess kernel only (the in-process kernel documents it).
"""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from memex_audit.agent import Agent
from memex_audit.kernel import ExecutionResult, InProcessKernel, Kernel, KernelSetup, SubprocessKernel, _block
from memex_audit.kernel._lifetime import process_tree
from memex_audit.llm import ScriptedModel

pytestmark = pytest.mark.slow

BACKENDS = ["inprocess", "subprocess"]
ROOT = Path(__file__).resolve().parents[2]


def make_kernel(backend: str, **options: Any) -> Kernel:
    if backend == "inprocess":
        return InProcessKernel(timeout_s=options.pop("timeout_s", 5.0), stop_grace_s=1.0, **options)
    return SubprocessKernel(timeout_s=options.pop("timeout_s", 5.0), **options)


def run(backend: str, blocks: list[str], **options: Any) -> list[ExecutionResult]:
    async def main() -> list[ExecutionResult]:
        kernel = make_kernel(backend, **options)
        await kernel.start(KernelSetup(scope={"kept": 41}))
        try:
            return [await kernel.execute(code) for code in blocks]
        finally:
            await kernel.close()

    return asyncio.run(main())


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for a reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")


def wait_gone(pids: list[int], within_s: float = 5.0) -> list[int]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


# -- what crosses to the host is sanitised -----------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lone_surrogate_is_replaced_and_the_namespace_survives(backend: str) -> None:
    results = run(
        backend, ["x = 1\nprint('a\\ud800b', '\\ud83d\\ude00')", "raise ValueError('\\udcff')", "print(x)"]
    )
    assert results[0].output == "a\ufffdb \U0001f600\n" and results[0].error is None
    assert results[1].error is not None and "ValueError: \ufffd" in results[1].error
    assert results[2].output == "1\n" and not results[2].restarted
    for result in results:
        result.model_dump_json()  # every field encodes


def test_a_submitted_lone_surrogate_crosses_from_the_subprocess() -> None:
    results = run("subprocess", ["submit({'answer': 'x\\ud800'})", "print(kept)"])
    assert results[0].submitted and results[0].submission == {"answer": "x\ufffd"}
    assert results[1].output == "41\n"


class Answer(BaseModel):
    answer: str


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_run_that_prints_and_submits_surrogates_is_recorded(backend: str) -> None:
    model = ScriptedModel(
        ["```python\nprint('\\ud800')\n```", "```python\nsubmit({'answer': '\\udfff'})\n```"]
    )
    agent: Agent[Answer] = Agent(model, Answer, kernel=backend, block_timeout_s=5)  # type: ignore[arg-type]
    result = agent.run_sync("Print.")
    assert result.stop_reason == "submitted"
    record = json.loads(result.trajectory.model_dump_json())
    assert "\ufffd" in json.dumps(record, ensure_ascii=False)
    assert "\ufffd" in model.requests[1].messages[-1].text()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_flood_of_output_is_capped_with_the_rest_counted(backend: str) -> None:
    code = "print('<' + 'x' * 50_000_000 + '>')\nfor i in range(200_000): print(i)"
    results = run(backend, ["kept = 'still here'", code, "print(kept)"], output_limit=10_000)
    flood = results[1]
    assert flood.error is None and not flood.restarted
    assert len(flood.output) < 11_000
    assert flood.output.startswith("<xxx") and flood.output.endswith("199999\n")
    total = 50_000_003 + sum(len(str(i)) + 1 for i in range(200_000))
    assert "characters omitted by the kernel" in flood.output and f"{total:,} in all" in flood.output
    assert results[2].output == "still here\n"


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_one_gigabyte_print_costs_neither_kernel_nor_host(backend: str) -> None:
    results = run(backend, ["print('x' * 1_000_000_000)", "print('after')"], timeout_s=30)
    assert results[0].error is None and len(results[0].output) < 300_000
    assert results[1].output == "after\n" and not results[1].restarted


# -- timeouts never raise into the host ----------------------------------------------------------


def test_a_stop_request_landing_after_the_block_is_a_timeout_not_a_host_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The reported failure: BlockTimeout raised while the block's capture was being reset.
    real_stop = _block.stop_capture
    calls = {"n": 0}

    def stop_then_timeout(token: Any) -> None:
        real_stop(token)
        calls["n"] += 1
        if calls["n"] == 1:
            raise _block.BlockTimeout

    monkeypatch.setattr(_block, "stop_capture", stop_then_timeout)
    results = run("inprocess", ["print('partial')", "print('next')"])
    assert results[0].timed_out and results[0].error is not None and "TimeoutError" in results[0].error
    assert results[1].output == "next\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_block_that_swallows_every_stop_request_still_times_out(backend: str) -> None:
    code = "import time\nwhile True:\n    try:\n        time.sleep(0.001)\n    except BaseException:\n        pass"
    results = run(backend, [code, "print(kept)"], timeout_s=0.5)
    assert results[0].timed_out and results[0].error is not None and "TimeoutError" in results[0].error
    assert results[1].output == "41\n"


# -- crashes, exits and signals in the child become a restart and an error --------------------


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        ("import ctypes\nctypes.string_at(0)", "SIGSEGV"),
        ("import os\nos._exit(1)", "exit code 1"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)", "SIGTERM"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
        ("import socket, sys\nsocket.socket(fileno=int(sys.argv[1])).close()", "died"),
    ],
    ids=["segfault", "os_exit", "sigterm", "sigkill", "closed_channel"],
)
def test_a_dying_subprocess_kernel_is_restarted_with_an_error_naming_the_cause(code: str, cause: str) -> None:
    results = run("subprocess", ["x = 1", code, "print(kept, 'x' in globals())"])
    died = results[1]
    assert died.restarted and died.error is not None and cause in died.error
    assert any("restarted" in notice for notice in died.notices)
    assert results[2].output == "41 False\n"


# -- rebound builtins ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_rebound_builtins_stay_in_the_kernel_and_are_restored(backend: str) -> None:
    rebind = "import builtins\nbuiltins.len = None\nbuiltins.print = None\nbuiltins.open = None"
    results = run(backend, [rebind, "print(len([1, 2]), open)"])
    assert results[0].error is None
    assert {"len", "print", "open"} <= {n.split("`")[1] for n in results[0].notices}
    assert results[1].output.startswith("2 <built-in function open>")
    assert builtins.len is len and callable(builtins.print) and callable(builtins.open)


@pytest.mark.parametrize("backend", BACKENDS)
def test_builtins_changed_through_sys_modules_are_put_back_after_the_block(backend: str) -> None:
    real = builtins.len
    results = run(backend, ["import sys\nsys.modules['builtins'].len = None", "print(len('abc'))"])
    assert builtins.len is real
    assert any("`len`" in notice for notice in results[0].notices)
    assert results[1].output == "3\n"


def test_replaced_host_streams_are_put_back_in_process() -> None:
    results = run("inprocess", ["import sys\nsys.stdout = None", "print('fine')"])
    assert sys.stdout is not None and results[1].output == "fine\n"
    assert any("sys.stdout" in notice for notice in results[0].notices)


# -- forks cannot answer for the kernel; nothing outlives close --------------------------------


def test_a_forked_child_cannot_answer_later_blocks() -> None:
    fork = "import os, time\npid = os.fork()\nprint('parent' if pid else 'child')"
    blocks = [fork, *(f"print({n})" for n in range(5))]
    results = run("subprocess", blocks)
    assert results[0].output == "parent\n"
    assert [r.output for r in results[1:]] == [f"{n}\n" for n in range(5)]


def test_close_kills_everything_the_kernel_started_and_removes_its_folder() -> None:
    spawn = textwrap.dedent(
        """
        import os, subprocess
        pids = [subprocess.Popen(['sleep', '60']).pid,
                subprocess.Popen(['sleep', '60'], start_new_session=True).pid]
        if os.fork() == 0:  # a daemon: double fork and a new session
            os.setsid()
            if os.fork() == 0:
                import time; time.sleep(60)
            os._exit(0)
        import time; time.sleep(0.3)
        print(os.getpid(), *pids)
        """
    )

    async def main() -> tuple[list[int], Path]:
        kernel = SubprocessKernel(timeout_s=10)
        await kernel.start(KernelSetup())
        assert kernel.scratch is not None and kernel.pid is not None
        result = await kernel.execute(spawn)
        tree = sorted(process_tree(kernel.pid))
        await kernel.close()
        assert result.error is None, result.error
        return tree, kernel.scratch

    tree, scratch = asyncio.run(main())
    assert len(tree) >= 5  # the guardian, the kernel, two sleeps and the daemon
    assert wait_gone(tree) == []
    assert not scratch.parent.exists()


_HOST = """
import asyncio, os, sys
from memex_audit.kernel import KernelSetup, SubprocessKernel
from memex_audit.kernel._lifetime import process_tree

async def main():
    kernel = SubprocessKernel(timeout_s=30)
    await kernel.start(KernelSetup())
    result = await kernel.execute(sys.argv[1])
    print(result.output.strip() or result.error, flush=True)
    print(kernel.scratch.parent, *sorted(process_tree(kernel.pid)), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def start_host(block: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], list[str]]:
    host = subprocess.Popen(
        [sys.executable, "-c", _HOST, block],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert host.stdout is not None
    lines = [host.stdout.readline().strip(), host.stdout.readline().strip()]
    return host, lines


def test_nothing_survives_a_sigkill_of_the_host() -> None:
    block = (
        "import subprocess, os\np = subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
        "q = subprocess.Popen(['sleep', '60'])\nimport time; time.sleep(0.3)\nprint(p.pid, q.pid)"
    )
    host, (spawned, tree_line) = start_host(block)
    folder, *tree = tree_line.split()
    pids = [int(p) for p in tree] + [int(p) for p in spawned.split()]
    try:
        assert len(pids) >= 4 and Path(folder).exists()
        host.send_signal(signal.SIGKILL)
        host.wait(5)
        assert wait_gone(pids, 5.0) == []
        deadline = time.monotonic() + 2
        while Path(folder).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(folder).exists()
    finally:
        host.kill()
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_hosts_secrets_cannot_be_read_from_the_kernel() -> None:
    block = (
        "import os\nstat = open(f'/proc/{os.getppid()}/stat').read()\n"  # the guardian's parent
        "host = open(f\"/proc/{stat.rsplit(')', 1)[1].split()[1]}/environ\", 'rb').read()\n"
        "print(b'sk-ant-probe' in host, b'ANTHROPIC_API_KEY=' in host, 'ANTHROPIC_API_KEY' in os.environ)"
    )
    host, (seen, _) = start_host(block, {"ANTHROPIC_API_KEY": "sk-ant-probe"})
    host.kill()
    host.wait(5)
    # The name stays visible in the host's initial environment, the value does not.
    assert seen == "False True False"


def test_a_restart_leaves_no_scratch_folder_or_process_behind() -> None:
    # Only this kernel's folders count: other kernels on the machine may be starting meanwhile.
    folders: set[Path] = set()

    async def main() -> list[ExecutionResult]:
        kernel = SubprocessKernel(timeout_s=0.5)
        await kernel.start(KernelSetup(scope={"kept": 41}))
        results = []
        try:
            for code in ["import os\nos._exit(1)", "while True: pass", "print('ok')"]:
                assert kernel.scratch is not None
                folders.add(kernel.scratch.parent)
                results.append(await kernel.execute(code))
        finally:
            await kernel.close()
        return results

    results = asyncio.run(main())
    assert results[2].output == "ok\n"
    assert folders and not any(folder.exists() for folder in folders)
