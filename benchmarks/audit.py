"""Offline audit throughput: failed trajectories audited per second, signals alone and end to end.

Reads a folder of rollouts (the project's ``sample_trajectories/`` by default, or any path), then
measures on one core:

* ``signals``: the offline signals and the verdict, called directly (pure functions);
* ``runner``: the whole offline audit through the agent loop, kernel and ``submit()``, writing a
  run folder (``--concurrency`` audits at once), which is what ``memex-audit audit`` does.

* ``end to end``: ``memex-audit audit DATA --taxonomy memex`` as a user runs it, start-up and
  loading included, over all of ``../shared/data`` (``--data``): this version with its default
  executor and with ``--executor local``, beside the version before the run core and executors
  (``--before REV``, read from git into a scratch folder), in the same run. Both packages are
  byte-compiled first, as an installed package is; the runs alternate, ``--e2e-repeat`` times each,
  and the median is reported.

    python benchmarks/audit.py                          # sample_trajectories/, memex taxonomy
    python benchmarks/audit.py ../shared/data/who_and_when --taxonomy mast
    python benchmarks/audit.py --repeat 5               # audit the failed ones 5 times over
    python benchmarks/audit.py --end-to-end-only        # only the end-to-end comparison
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from memex_audit.auditor import AuditRunner, detect_signals, plan_audit, verdict_from_signals
from memex_audit.loaders import load
from memex_audit.runs import RunStore
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Trajectory

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
BEFORE = "624d466~1"
"""The commit before the run core, the index and the executors."""


def _replicate(trajectories: list[Trajectory], repeat: int) -> list[Trajectory]:
    if repeat <= 1:
        return trajectories
    out = []
    for n in range(repeat):
        for t in trajectories:
            out.append(t.model_copy(update={"id": f"{t.id}~{n}", "task_id": f"{t.task_id}~{n}"}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", nargs="?", default=str(ROOT / "sample_trajectories"))
    parser.add_argument("--taxonomy", default="memex")
    parser.add_argument(
        "--repeat", type=int, default=1, help="Audit every failed trajectory this many times."
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="The end-to-end input.")
    parser.add_argument("--before", default=BEFORE, help="The git revision to compare with ('' to skip).")
    parser.add_argument("--end-to-end-only", action="store_true")
    parser.add_argument(
        "--e2e-repeat", type=int, default=3, help="Runs of each end-to-end command (median reported)."
    )
    args = parser.parse_args()
    if args.end_to_end_only:
        end_to_end(args.data, args.before, args.e2e_repeat)
        return

    taxonomy = load_taxonomy(args.taxonomy)
    loaded = load(args.path)
    trajectories = _replicate(loaded.trajectories, args.repeat)
    units, _ = plan_audit(trajectories)
    print(f"{len(trajectories)} trajectories, {len(units)} failed ones to audit ({args.path})")

    started = time.perf_counter()
    for unit in units:
        target = unit.trajectory.without_labels()
        siblings = unit.group.without_labels().trajectories
        verdict_from_signals(
            detect_signals(target, siblings, ground_truth=unit.group.ground_truth), taxonomy, target
        )
    elapsed = time.perf_counter() - started
    print(f"signals: {len(units) / elapsed:,.0f} trajectories/s ({elapsed:.2f} s)")

    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore.open(Path(tmp) / "run", kind="audit")
        outcome = AuditRunner(taxonomy, concurrency=args.concurrency).run_sync(trajectories, store)
        rate = outcome.audited / outcome.elapsed_s if outcome.elapsed_s else float("nan")
        print(
            f"runner:  {rate:,.1f} trajectories/s ({outcome.audited} audited, {outcome.errors} errors, "
            f"{outcome.elapsed_s:.2f} s, concurrency {args.concurrency}, in-process kernel)"
        )
    end_to_end(args.data, args.before, args.e2e_repeat)


def _compile(tree: Path) -> None:
    """Byte-compile the package in ``tree`` into its ``__pycache__`` folders, as installing does
    (``PYTHONDONTWRITEBYTECODE`` would otherwise make every run compile every module again)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(tree / "memex_audit")], check=True, capture_output=True
    )


def _audit_command(
    tree: Path | None, data: Path, out: Path, *options: str
) -> tuple[float, dict[str, object]]:
    """Wall time of ``memex-audit audit`` (start-up included) from the package in ``tree`` (default: this one)."""
    env = {**os.environ, "COLUMNS": "160"}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    code = "import sys; sys.argv[0] = 'memex-audit'; from memex_audit.cli import main; main()"
    # Text output, which every version prints (--json came with the run core).
    command = [sys.executable, "-c", code, "audit", str(data), "--taxonomy", "memex", "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run([*command, *options], capture_output=True, text=True, env=env, cwd=tree or ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    found = re.search(r"audited (\d+) trajectories", done.stdout)
    return wall, {"audited": int(found.group(1)) if found else -1}


def _checkout(rev: str, into: Path) -> Path | None:
    """The package as it was at ``rev`` (from ``git archive``), or ``None`` when git cannot give it."""
    archive = into / "before.tar"
    with archive.open("wb") as fh:
        made = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "memex_audit"], stdout=fh, stderr=subprocess.PIPE
        )
    if made.returncode != 0:
        print(f"before: skipped (git archive {rev}: {made.stderr.decode().strip()})")
        return None
    tree = into / "before"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    # The shipped taxonomies are resolved from the repository root beside the package.
    (tree / "taxonomies").symlink_to(ROOT / "taxonomies")
    return tree


def end_to_end(data: Path, before: str, repeat: int = 3) -> None:
    """``memex-audit audit DATA --taxonomy memex`` end to end: this version beside ``before``,
    ``repeat`` alternating runs of each, medians reported."""
    if not data.is_dir():
        print(f"end to end: skipped ({data} is not there)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tree = _checkout(before, work) if before else None
        runs: list[tuple[str, Path | None, tuple[str, ...]]] = []
        if tree is not None:
            runs.append((f"before ({before})", tree, ()))
        runs += [
            ("this version, default executor", None, ()),
            ("this version, --executor local", None, ("--executor", "local")),
        ]
        for _, where, _ in runs:
            _compile(where or ROOT)
        walls: dict[str, list[float]] = {name: [] for name, _, _ in runs}
        audited: dict[str, int] = {}
        for n in range(repeat):
            for k, (name, where, options) in enumerate(runs):
                out = work / f"run-{n}-{k}"  # a new run folder every time: nothing to resume
                wall, result = _audit_command(where, data, out, *options)
                walls[name].append(wall)
                audited[name] = int(str(result["audited"]))
                print(f"  {name}: {wall:.2f} s", flush=True)
    medians = {name: statistics.median(values) for name, values in walls.items()}
    first = medians[runs[0][0]]
    print(
        f"\nend to end over {data} (memex-audit audit --taxonomy memex, offline, start-up included; "
        f"median of {repeat}, byte-compiled; load average now {os.getloadavg()[0]:.2f})"
    )
    print(f"{'run':<34} {'audited':>8} {'wall s':>8} {'traj/s':>8} {'speed-up':>9}")
    for name, _, _ in runs:
        wall = medians[name]
        print(
            f"{name:<34} {audited[name]:>8} {wall:>8.2f} {audited[name] / wall:>8.1f} {first / wall:>8.2f}x"
        )


if __name__ == "__main__":
    main()
