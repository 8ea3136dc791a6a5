"""Offline audit throughput: failed trajectories audited per second, signals alone and end to end.

Reads a folder of rollouts (the project's ``sample_trajectories/`` by default, or any path), then
measures on one core:

* ``signals``: the offline signals and the verdict, called directly (pure functions);
* ``runner``: the whole offline audit through the agent loop, kernel and ``submit()``, writing a
  run folder (``--concurrency`` audits at once), which is what ``memex-audit audit`` does.

    python benchmarks/audit.py                          # sample_trajectories/, memex taxonomy
    python benchmarks/audit.py ../shared/data/who_and_when --taxonomy mast
    python benchmarks/audit.py --repeat 5               # audit the failed ones 5 times over
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from memex_audit.auditor import AuditRunner, detect_signals, plan_audit, verdict_from_signals
from memex_audit.loaders import load
from memex_audit.runs import RunStore
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Trajectory

ROOT = Path(__file__).resolve().parent.parent


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
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
