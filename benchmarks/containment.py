"""What happens to the host when model code misbehaves: one row per probe, one column per kernel.

Each probe runs in a fresh host process (so a probe that kills its host only ends that row's
host) and reports what the host saw: the block's outcome, whether the next block still ran, and
whether any process or scratch folder outlived ``close()``.

    python benchmarks/containment.py            # all probes, both kernels
    python benchmarks/containment.py --quick    # without the 1 GB print
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBES: dict[str, str] = {
    "lone surrogate": "print('\\ud800')",
    "1 GB print": "print('x' * 1_000_000_000)",
    "flood of lines": "for i in range(3_000_000): print(i)",
    "while True (timeout)": "while True: pass",
    "swallows stop requests": "while True:\n    try:\n        pass\n    except BaseException:\n        pass",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "os._exit(1)": "import os\nos._exit(1)",
    "SIGTERM to itself": "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)",
    "rebind builtins": "import builtins\nbuiltins.len = None\nbuiltins.print = None\nbuiltins.open = None",
    "rebind sys.modules builtins": "import sys\nsys.modules['builtins'].len = None",
    "fork, both return": "import os\npid = os.fork()\nprint('parent' if pid else 'child')",
    "daemon (double fork)": (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        time.sleep(120)\n    os._exit(0)\ntime.sleep(0.2)"
    ),
    "read API key": (
        "import os\nprint('key in env' if 'ANTHROPIC_API_KEY' in os.environ else 'no key in env')"
    ),
}

_HOST = r"""
import asyncio, json, os, sys, time
from pathlib import Path
from memex_audit.kernel import InProcessKernel, KernelSetup, SubprocessKernel
from memex_audit.kernel._lifetime import process_tree

backend, code = sys.argv[1], sys.argv[2]

async def main():
    timeout = 2 if "while True" in code else 30
    kernel = (InProcessKernel(timeout_s=timeout, stop_grace_s=1) if backend == "inprocess"
              else SubprocessKernel(timeout_s=timeout))
    await kernel.start(KernelSetup(scope={"kept": 41}))
    tree = set()
    started = time.perf_counter()
    first = await kernel.execute(code)
    seconds = time.perf_counter() - started
    if backend == "subprocess":
        tree = process_tree(kernel.pid)
    second = await kernel.execute("print(len([kept]))")
    folder = kernel.scratch.parent if backend == "subprocess" else None
    await kernel.close()
    time.sleep(0.5)
    left = [p for p in tree if Path(f"/proc/{p}").exists()
            and Path(f"/proc/{p}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")]
    print(json.dumps({
        "error": (first.error or "").splitlines()[-1] if first.error else None,
        "output": len(first.output), "restarted": first.restarted, "timed_out": first.timed_out,
        "notices": len(first.notices), "next_ok": second.output == "1\n", "seconds": round(seconds, 2),
        "left": len(left), "folder_left": bool(folder and folder.exists()),
    }))

asyncio.run(main())
"""


# In-process, a fork copies the host itself: the copy is stuck without the host's threads.
NOT_IN_PROCESS = {"fork, both return", "daemon (double fork)"}


def run_probe(backend: str, code: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": "sk-ant-benchmark", "PYTHONPATH": str(ROOT)}
    host = subprocess.Popen(
        [sys.executable, "-c", _HOST, backend, code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, _ = host.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(host.pid, signal.SIGKILL)
        host.wait()
        return "host hung (killed after 120 s)"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(host.pid, signal.SIGKILL)  # whatever the probe left in the host's group
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if host.returncode != 0 or not lines:
        code_text = f"signal {-host.returncode}" if host.returncode < 0 else f"exit {host.returncode}"
        return f"HOST DIED ({code_text})"
    r = json.loads(lines[-1])
    parts = []
    if r["timed_out"]:
        parts.append("timed out")
    if r["restarted"]:
        parts.append("restarted")
    if r["error"] and not r["timed_out"]:
        cause = r["error"].replace("KernelError: the kernel process died", "died").split(";")[0]
        parts.append(cause[:40])
    elif not r["timed_out"]:
        parts.append(f"ok, {r['output']:,} chars")
    if r["notices"] and not r["restarted"]:
        parts.append(f"{r['notices']} notice(s)")
    parts.append("next ok" if r["next_ok"] else "NEXT BLOCK FAILED")
    if r["left"] or r["folder_left"]:
        parts.append(f"LEAK: {r['left']} processes, folder {'left' if r['folder_left'] else 'removed'}")
    parts.append(f"{r['seconds']} s")
    return "; ".join(parts)


def parent_kill_probe() -> str:
    """SIGKILL a host while its subprocess kernel runs a forked daemon; count survivors after 5 s."""
    host_code = (
        "import asyncio, sys\nfrom memex_audit.kernel import KernelSetup, SubprocessKernel\n"
        "from memex_audit.kernel._lifetime import process_tree\n"
        "async def main():\n    k = SubprocessKernel(timeout_s=10)\n    await k.start(KernelSetup())\n"
        "    await k.execute(\"import subprocess\\nsubprocess.Popen(['sleep', '120'], start_new_session=True)\\n"
        'import time; time.sleep(0.3)")\n'
        "    print(k.scratch.parent, *process_tree(k.pid), flush=True)\n    await asyncio.sleep(120)\n"
        "asyncio.run(main())\n"
    )
    host = subprocess.Popen([sys.executable, "-c", host_code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert host.stdout is not None
    folder, *pids = host.stdout.readline().split()
    host.kill()
    host.wait()
    time.sleep(5)
    alive = [
        p
        for p in pids
        if Path(f"/proc/{p}/stat").exists() and b") Z" not in Path(f"/proc/{p}/stat").read_bytes()
    ]
    return f"{len(pids)} processes, {len(alive)} alive after 5 s; folder {'LEFT' if Path(folder).exists() else 'removed'}"


def main() -> None:
    quick = "--quick" in sys.argv
    rows = [(name, code) for name, code in PROBES.items() if not (quick and name == "1 GB print")]
    width = max(len(name) for name, _ in rows) + 2
    print(f"{'probe':<{width}}| {'in-process':<52}| subprocess")
    print("-" * (width + 110))
    for name, code in rows:
        inproc = "not run: would fork the host" if name in NOT_IN_PROCESS else run_probe("inprocess", code)
        sub = run_probe("subprocess", code)
        print(f"{name:<{width}}| {inproc:<52}| {sub}", flush=True)
    print(f"{'SIGKILL of the host':<{width}}| {'n/a (the kernel is the host)':<52}| {parent_kill_probe()}")


if __name__ == "__main__":
    main()
