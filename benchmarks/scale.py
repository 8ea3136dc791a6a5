"""Scale: the offline audit (``audit --taxonomy memex``) over a big folder, per executor, and the
memory of the loading pass as the folder grows.

Builds a folder of N trajectories: copies of ``sample_trajectories/`` with fresh ids and task ids
(so every copy is its own set of tasks, groups keep their size), written as native JSONL. Then, each
in its own process, measured from outside (wall time from process start, start-up included; peak
RSS of the process tree sampled from /proc, and of the driver process):

* ``baseline``: the path before the index and executors: ``load`` the whole folder, then
  ``AuditRunner.run`` in one process (what ``memex-audit audit`` did);
* ``local``: ``memex-audit audit --executor local`` (the index, one task group at a time, in process);
* ``processes``: ``memex-audit audit --executor processes`` (a worker per core);
* ``ray``: ``memex-audit audit --executor ray`` on a local Ray instance with 2 CPUs (skipped without Ray).

and the loading pass alone (no audit) at N and 2N trajectories: ``load`` of the whole folder beside
the index pass plus reading every task group once through it.

    python benchmarks/scale.py                       # N = 5,000 (a few minutes on 2 cores)
    python benchmarks/scale.py --n 50000             # the full figure (audits take ~10x longer)
    python benchmarks/scale.py --load-only --load-sizes 50000,100000 --passes index
                                                     # the index at 50k and 100k (load() of 100k
                                                     # native trajectories needs several GB)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_trajectories"
PER_FILE = 2000


def build_folder(target: Path, n: int) -> int:
    """Write ``n`` trajectories (copies of the samples with fresh ids) as native JSONL under ``target``."""
    import orjson

    from memex_audit.loaders import load

    records = []
    for traj in load(SAMPLES).trajectories:
        data = traj.model_dump(mode="json")
        data["source"] = None
        records.append(data)
    target.mkdir(parents=True, exist_ok=True)
    written, copy, part = 0, 0, 0
    lines: list[bytes] = []
    while written < n:
        for data in records:
            if written >= n:
                break
            lines.append(
                orjson.dumps({**data, "id": f"{data['id']}~{copy}", "task_id": f"{data['task_id']}~{copy}"})
            )
            written += 1
            if len(lines) >= PER_FILE:
                (target / f"part-{part:05d}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
                lines, part = [], part + 1
        copy += 1
    if lines:
        (target / f"part-{part:05d}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return written


# -- measuring a process from outside ---------------------------------------------------------------


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def measure(command: list[str]) -> dict[str, float | str]:
    """Run ``command``: wall time, stdout, peak RSS of its process tree (sum, sampled) and of its
    largest process (its own VmHWM, reported as it exits)."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile() as hwm,
    ):
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env={**os.environ, HWM_ENV: hwm.name})
        peak_tree = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak_tree[0] = max(peak_tree[0], sum(_rss_kb(p) for p in _tree(proc.pid)))
                stop.wait(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        if os.path.isdir("/proc"):
            sampler.start()
        _, status, _usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        stop.set()
        if sampler.is_alive():
            sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        reported = Path(hwm.name).read_text().strip()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    main_kb = int(reported) if reported else 0
    return {
        "wall_s": wall,
        "tree_mb": max(peak_tree[0], main_kb) / 1024,
        "main_mb": main_kb / 1024,
        "stdout": stdout,
    }


# -- what each measured process runs ----------------------------------------------------------------


def child_baseline(data: str, out: str) -> None:
    """The path before the index and executors: load everything, audit in one process."""
    from memex_audit.auditor import AuditRunner
    from memex_audit.loaders import load
    from memex_audit.runs import RunStore
    from memex_audit.taxonomy import load_taxonomy

    loaded = load(data)
    with RunStore.open(out, kind="audit") as store:
        outcome = AuditRunner(load_taxonomy("memex")).run_sync(loaded.trajectories, store)
    print(json.dumps({"audited": outcome.audited, "errors": outcome.errors}))


def child_load(data: str, how: str) -> None:
    """The loading pass alone: ``load`` everything, or the index then every task group once."""
    from memex_audit.loaders import index_trajectories, load, load_task

    if how == "load":
        loaded = load(data)
        print(json.dumps({"trajectories": len(loaded.trajectories), "tasks": len(loaded.tasks())}))
        return
    count = tasks = 0
    with index_trajectories(data) as index:
        for _, entries in index.tasks():
            group, _ = load_task(entries)
            count += len(group.trajectories) if group else 0
            tasks += 1
    print(json.dumps({"trajectories": count, "tasks": tasks}))


# Each measured process reports its own peak RSS (VmHWM) as it exits: the kernel's accounting seen
# from the parent (wait4) would also count the benchmark's own memory, which a fork copies.
HWM_ENV = "MEMEX_BENCH_HWM"
_REPORT_HWM = (
    "import atexit, os\n"
    "def _hwm():\n"
    "    with open('/proc/self/status') as fh, open(os.environ['" + HWM_ENV + "'], 'w') as out:\n"
    "        out.write(next(l.split()[1] for l in fh if l.startswith('VmHWM:')))\n"
    "if os.path.isdir('/proc') and os.environ.get('" + HWM_ENV + "'):\n"
    "    atexit.register(_hwm)\n"
)


def _cli(*args: str) -> list[str]:
    code = _REPORT_HWM + "import sys\nsys.argv[0] = 'memex-audit'\nfrom memex_audit.cli import main\nmain()"
    return [sys.executable, "-c", code, *args]


def _self(*args: str) -> list[str]:
    code = (
        _REPORT_HWM
        + f"import runpy, sys\nsys.argv = [{__file__!r}, *sys.argv[1:]]\nrunpy.run_path({__file__!r}, run_name='__main__')"
    )
    return [sys.executable, "-c", code, *args]


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=5000, help="Trajectories in the audited folder (default 5000)."
    )
    parser.add_argument(
        "--executors", default="baseline,local,processes,ray", help="Which runs to measure (comma-separated)."
    )
    parser.add_argument(
        "--load-sizes", default=None, help="Folder sizes for the loading pass (default: N and 2N)."
    )
    parser.add_argument("--load-only", action="store_true", help="Only measure the loading pass.")
    parser.add_argument("--passes", default="load,index", help="Loading passes to measure (load, index).")
    parser.add_argument("--keep", type=Path, default=None, help="Build the folders here and keep them.")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        child_baseline(*rest) if kind == "baseline" else child_load(rest[0], rest[1])
        return

    work = args.keep or Path(tempfile.mkdtemp(prefix="memex-scale-"))
    try:
        folders: dict[int, Path] = {}

        def folder(n: int) -> Path:
            if n not in folders:
                path = work / f"data-{n}"
                if not path.exists():
                    started = time.perf_counter()
                    build_folder(path, n)
                    size = sum(f.stat().st_size for f in path.glob("*.jsonl")) / 1e6
                    print(
                        f"built {path} ({n:,} trajectories, {size:,.0f} MB) in {time.perf_counter() - started:.1f} s"
                    )
                folders[n] = path
            return folders[n]

        cores = os.cpu_count()
        print(f"python {sys.version.split()[0]}, {cores} cores, load average {os.getloadavg()[0]:.2f}")
        if not args.load_only:
            data = folder(args.n)
            rows, base_rate = [], None
            for kind in args.executors.split(","):
                out = work / f"run-{kind}-{args.n}"
                shutil.rmtree(out, ignore_errors=True)
                if kind == "ray":
                    try:
                        import ray  # noqa: F401
                    except ImportError:
                        print("ray: skipped (pip install 'memex-audit[ray]')")
                        continue
                if kind == "baseline":
                    command = _self("--child", "baseline", str(data), str(out))
                else:
                    command = _cli(
                        "audit",
                        str(data),
                        "--taxonomy",
                        "memex",
                        "--out",
                        str(out),
                        "--json",
                        "--executor",
                        kind,
                    )
                m = measure(command)
                result = json.loads(str(m["stdout"])[str(m["stdout"]).index("{") :])
                audited = int(result["audited"])
                rate = args.n / float(m["wall_s"])
                base_rate = base_rate or rate
                rows.append(
                    [
                        kind,
                        f"{audited:,}",
                        f"{float(m['wall_s']):.1f}",
                        f"{rate:,.1f}",
                        f"{rate / base_rate:.2f}x",
                        f"{float(m['tree_mb']):,.0f}",
                        f"{float(m['main_mb']):,.0f}",
                    ]
                )
                print(f"  {kind}: {rows[-1][2]} s", flush=True)
            print(f"\noffline audit (--taxonomy memex) of {args.n:,} trajectories, start-up included")
            print(
                _table(
                    rows,
                    [
                        "run",
                        "audited",
                        "wall s",
                        "traj/s",
                        "vs baseline",
                        "peak RSS tree MB",
                        "peak RSS driver MB",
                    ],
                )
            )
        sizes = [int(s) for s in args.load_sizes.split(",")] if args.load_sizes else [args.n, 2 * args.n]
        rows = []
        for n in sizes:
            data = folder(n)
            for how in args.passes.split(","):
                m = measure(_self("--child", "load", str(data), how))
                rows.append(
                    [
                        how,
                        f"{n:,}",
                        f"{float(m['wall_s']):.1f}",
                        f"{float(m['main_mb']):,.0f}",
                        f"{float(m['tree_mb']):,.0f}",
                    ]
                )
                print(f"  {how} {n:,}: {rows[-1][2]} s", flush=True)
        print("\nloading pass: load() holds the folder; the index holds one task group at a time")
        print(_table(rows, ["pass", "trajectories", "wall s", "peak RSS MB", "peak RSS tree MB"]))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
