"""Every judgement figure on the development data, in one run (offline policy).

    python benchmarks/judgement.py                    # ../shared/data beside the project
    python benchmarks/judgement.py --data DIR         # another folder laid out the same way

Prints, for each kind of real rollout:

* coding runs (mini-swe-agent on SWE-bench): share of classified labels consistent with the run's
  exit status, patch and test report; ``broke_existing_tests`` recall on runs whose report shows a
  previously passing test failing; ``unclassified``; agreement with people's failure analyses;
* multi-agent logs (Who&When): faulty agent and faulty step (exact), overall, where a finding
  placed it and where it is a positional guess, next to the positional rule alone (first acting
  step of a non-coordinating agent) on the same logs, for the even- and odd-numbered files apart;
* customer-service tasks (τ² airline, best-of-4 across agents): pass@1, majority vote, the offline
  verifier and the oracle, with the verifier's pairwise separation (``eval-aggregate``);
* the samples: the audit's agreement with the planted labels, and audits per second (signals
  alone), as a ratio against loading the same trajectories.

The offline policy's verdicts are computed by calling its signals directly: that is the code its
one reply runs in the kernel, so the figures are those of ``memex-audit audit``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from memex_audit.auditor import AuditReport, Producer, detect_signals, fallback_verdict, verdict_from_signals
from memex_audit.loaders import load
from memex_audit.results import coding_consistency, coding_reference_labels, read_failure_analyses
from memex_audit.results._audit_agreement import audit_agreement, labels_from_trajectories
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Trajectory, group_by_task

ROOT = Path(__file__).resolve().parent.parent
REJECTED: list[str] = []
_COORDINATOR = re.compile(r"orchestrator|manager|planner|coordinator|human|^user$|admin", re.IGNORECASE)


def audit(trajectories: list[Trajectory], taxonomy_name: str) -> list[AuditReport]:
    """Offline audits of the failed trajectories, with their siblings as the policy sees them."""
    taxonomy = load_taxonomy(taxonomy_name)
    producer = Producer(kind="offline", name="offline-signals (direct)")
    reports = []
    for group in group_by_task(trajectories):
        for t in group.failed:
            target = t.without_labels()
            siblings = [s.without_labels() for s in group.trajectories]
            verdict = verdict_from_signals(
                detect_signals(target, siblings, ground_truth=group.ground_truth), taxonomy, target
            )
            try:
                reports.append(AuditReport.from_verdict(verdict, target, taxonomy, producer))
            except ValidationError as exc:  # what submit() rejects; the policy then submits the fallback
                REJECTED.append(f"{t.id}: {exc.errors()[0]['msg'][:160]}")
                reason = "the offline verdict was rejected by submit()"
                fallback = fallback_verdict(target, reason)
                reports.append(AuditReport.from_verdict(fallback, target, taxonomy, producer))
    return reports


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def coding(data: Path) -> None:
    root = data / "mini_swe_agent"
    runs = [t for t in load(root).trajectories]
    reports = audit(runs, "coding")
    figures = coding_consistency(reports, runs)
    print(f"\n== coding runs ({root}): {figures.audited} failed runs audited (taxonomy coding)")
    print(
        f"classified labels consistent with exit status, patch and test report: {pct(figures.consistent_share)} "
        f"of {figures.labels}"
    )
    print(
        f"broke_existing_tests given where the report shows a regression: {figures.regressions_flagged} "
        f"of {figures.regressions} ({pct(figures.regressions_recall)})"
    )
    print(f"unclassified: {pct(figures.unclassified_share)}")
    analyses = root / "failure_reports"
    if analyses.is_dir():
        labels = coding_reference_labels(runs, read_failure_analyses(analyses))
        agreement = audit_agreement(reports, labels, labels_from=str(analyses))
        cats = agreement.categories
        if cats is not None:
            print(
                f"agreement with people's failure analyses (n={cats.n}): accuracy {cats.accuracy:.3f}, "
                f"precision of classified {cats.precision}, kappa {cats.cohen_kappa:.3f}"
            )


def _positional(t: Trajectory) -> tuple[int | None, str | None]:
    for step in t.steps:
        if step.role in ("assistant", "user") and step.agent and not _COORDINATOR.search(step.agent):
            if step.code or step.tool_calls or "```" in (step.text or ""):
                return step.index, re.sub(r"\s*\(.*\)\s*$", "", step.agent)
    return None, None


def multi_agent(data: Path) -> None:
    root = data / "who_and_when"
    runs = load(root).trajectories
    reports = {r.trajectory.id: r for r in audit(runs, "mast")}
    labels = labels_from_trajectories(runs)
    number = re.compile(r"(\d+)\D*$")

    def half(t: Trajectory) -> str:
        found = number.search(Path(t.source.file or t.id).stem)
        return "odd" if found and int(found.group(1)) % 2 else "even"

    print(f"\n== multi-agent logs ({root}): {len(reports)} failed logs audited (taxonomy mast)")
    for name, keep in (
        ("all", lambda t: True),
        ("even files", lambda t: half(t) == "even"),
        ("odd files", lambda t: half(t) == "odd"),
    ):
        chosen = [t for t in runs if keep(t) and t.id in labels and t.id in reports]
        agreement = audit_agreement([reports[t.id] for t in chosen], labels, labels_from=str(root))
        att = agreement.attribution
        if att is None:
            continue
        base_agent = base_step = 0
        for t in chosen:
            step, agent = _positional(t)
            gold = labels[t.id]
            base_agent += bool(
                agent and gold.faulty_agent and agent.casefold() == gold.faulty_agent.casefold()
            )
            base_step += step is not None and step == gold.faulty_step
        print(
            f"[{name}] n={att.n}: faulty agent {pct(att.agent_accuracy)}, step {pct(att.step_accuracy)} "
            f"(positional rule alone: {pct(base_agent / len(chosen))} / {pct(base_step / len(chosen))}); "
            f"unclassified {agreement.unclassified}"
        )
        for label, part in (
            ("findings", agreement.attribution_findings),
            ("guesses", agreement.attribution_guesses),
        ):
            if part is not None and name == "all":
                print(
                    f"    {label}: n={part.n}, agent {pct(part.agent_accuracy)}, step {pct(part.step_accuracy)}"
                )


def customer_service(data: Path, n: int) -> None:
    root = data / "tau2_bench" / "airline_runs"
    print(f"\n== customer-service tasks ({root}): best-of-{n} across agents")
    cli = [sys.executable, "-m", "memex_audit.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "agg"
        subprocess.run(
            [*cli, "aggregate", str(root), "--n", str(n), "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run([*cli, "eval-aggregate", str(out)], check=True)
    runs = load(root).trajectories
    reports = audit(runs, "customer_service")
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.primary] = counts.get(r.primary, 0) + 1
    print(
        f"audits of {len(reports)} failed rollouts (customer_service): "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    )


def samples() -> None:
    root = ROOT / "sample_trajectories"
    started = time.perf_counter()
    runs = load(root, glob="*.jsonl").trajectories
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reports = audit(runs, "memex")
    audit_seconds = time.perf_counter() - started
    labels = labels_from_trajectories(runs, "memex")
    agreement = audit_agreement(reports, labels, labels_from=str(root))
    cats = agreement.categories
    print(f"\n== samples ({root}): {len(reports)} failed audited")
    if cats is not None:
        print(
            f"accuracy {cats.accuracy:.3f}, kappa {cats.cohen_kappa:.3f}; faulty step exact "
            f"{pct(agreement.attribution.step_accuracy if agreement.attribution else None)}"
        )
    print(
        f"signals: {len(reports) / audit_seconds:.0f} audits/s; audit time / load time of the same folder: "
        f"{audit_seconds / load_seconds:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=4, help="rollouts per task for best-of-N")
    parser.add_argument("--only", choices=["coding", "multi_agent", "customer_service", "samples"])
    args = parser.parse_args()
    parts: dict[str, Callable[[], None]] = {
        "coding": lambda: coding(args.data),
        "multi_agent": lambda: multi_agent(args.data),
        "customer_service": lambda: customer_service(args.data, args.n),
        "samples": samples,
    }
    for name, part in parts.items():
        if args.only in (None, name):
            part()
    if REJECTED:
        print(f"\n{len(REJECTED)} offline verdicts were rejected by submit() (the fallback was used):")
        for line in REJECTED[:10]:
            print("  " + line)


if __name__ == "__main__":
    main()
