"""Every judgement figure on the development data, in one run (offline policy).

    python benchmarks/judgement.py                    # ../shared/data beside the project
    python benchmarks/judgement.py --data DIR         # another folder laid out the same way
    python benchmarks/judgement.py --model anthropic:claude-sonnet-4-6 [--cache DIR] [--limit N]
    python benchmarks/judgement.py --model openai:NAME --base-url http://127.0.0.1:8000/v1 --limit 5

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

With ``--model SPEC`` (a spec as in every command: ``anthropic:NAME``, ``openai:NAME`` with
``--base-url``...) the LLM auditor runs instead, through ``AuditRunner`` and the client of
``client_for_spec``, on the coding runs (taxonomy coding), the Who&When logs (mast) and the τ²
airline failed runs (customer_service), and the LLM aggregator on τ² airline; the same figures are
printed. It first prints the estimated tokens and cost and spends nothing without ``--yes``.
``--limit N`` takes the first N failed runs (and N tasks) of each set; ``--cache DIR`` records every
reply and replays it on a rerun, so a recorded evaluation is reproduced without a key and at no cost.
The samples (synthetic) stay with the offline policy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from memex_audit.agent._code_loop import replay_key_request
from memex_audit.aggregator._agent_policy import aggregation_task_text, aggregator_instructions
from memex_audit.aggregator._run import aggregate_groups
from memex_audit.analysis import (
    audit_agreement,
    coding_consistency,
    coding_reference_labels,
    labels_from_trajectories,
    read_failure_analyses,
    reward_agreement,
)
from memex_audit.auditor import (
    AuditReport,
    AuditRunner,
    AuditUnit,
    Producer,
    detect_signals,
    estimate_audit,
    fallback_verdict,
    plan_audit,
    verdict_from_signals,
)
from memex_audit.cli._model import record_model_settings
from memex_audit.errors import UsageError
from memex_audit.llm import LLMClient, estimate_cost, estimate_tokens
from memex_audit.llm._spec import ModelSpec, client_for_spec, parse_model_spec
from memex_audit.loaders import load
from memex_audit.runs import RunStore
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import TaskGroup, Trajectory, Usage, group_by_task

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


Auditor = Callable[[list[Trajectory], str], list[AuditReport]]
"""Who audits a set of runs into a taxonomy: the offline signals (``audit``) or ``ModelRun.audit``."""

# The figures the CLI's --dry-run uses per audit (``estimate_audit``), for the aggregator too.
_EST_TURNS = 6
_EST_GROWTH_PER_TURN = 350 + 900  # a reply and a bounded observation


@dataclass
class ModelRun:
    """The LLM auditor and aggregator of ``--model``: the client, where its runs go, what they did.

    Attributes:
        spec: The model spec.
        out: The folder holding one run folder per audit set and the aggregation.
        cache: Where replies are recorded and replayed from.
        limit: Audit the first ``limit`` failed runs (aggregate the first ``limit`` tasks) of each set.
    """

    spec: ModelSpec
    out: Path
    cache: Path | None = None
    limit: int | None = None
    concurrency: int = 4
    max_turns: int = 20
    kernel: str = "subprocess"
    spent: float = 0.0
    unknown_cost: bool = False
    endings: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    _client: LLMClient | None = None

    @property
    def client(self) -> LLMClient:
        """The client of ``client_for_spec``, made on first use (after the estimate): it needs a key."""
        if self._client is None:
            self._client = client_for_spec(
                self.spec,
                cache_dir=self.cache,
                cache_normalize=replay_key_request if self.cache is not None else None,
            )
        return self._client

    def units(self, runs: list[Trajectory]) -> list[AuditUnit]:
        """The failed runs this evaluation audits, in the order ``plan_audit`` gives them."""
        units, _ = plan_audit(runs)
        return units[: self.limit] if self.limit is not None else units

    def groups(self, runs: list[Trajectory]) -> list[TaskGroup]:
        """The tasks this evaluation aggregates."""
        groups = group_by_task(runs)
        return groups[: self.limit] if self.limit is not None else groups

    def _store(self, name: str, kind: str, config: dict[str, Any]) -> RunStore:
        store = RunStore.open(self.out / name, kind, {**config, "model": str(self.spec)})  # type: ignore[arg-type]
        record_model_settings(
            store,
            self.spec,
            role="auditor" if kind == "audit" else "aggregator",
            temperature=0.0,
            cache=self.cache,
            max_turns=self.max_turns,
        )
        return store

    def audit(self, runs: list[Trajectory], taxonomy_name: str) -> list[AuditReport]:
        """Audit ``units(runs)`` with the model (resuming what ``out`` already holds)."""
        taxonomy = load_taxonomy(taxonomy_name)
        store = self._store(f"audit-{taxonomy_name}", "audit", {"taxonomy": taxonomy_name})
        runner = AuditRunner(
            taxonomy,
            model=self.client,
            kernel=self.kernel,  # type: ignore[arg-type]
            max_turns=self.max_turns,
        )
        done = store.done_keys()
        pending = [u for u in self.units(runs) if u.key not in done]

        async def audit_all() -> None:
            gate = asyncio.Semaphore(self.concurrency)

            async def one(unit: AuditUnit) -> None:
                async with gate:
                    report, error, cost = await runner.audit_one(unit, store)
                self.unknown_cost |= cost is None
                self.spent += cost or 0.0
                self.endings["verdict" if report is not None else (error.kind if error else "error")] += 1

            await asyncio.gather(*(one(u) for u in pending))

        asyncio.run(audit_all())
        ids = {u.trajectory.id for u in self.units(runs)}
        reports = [r for r in store.read_results(AuditReport) if r.trajectory.id in ids]
        errors = {e.key for e in store.read_errors()} - {r.trajectory.id for r in reports}
        self.notes.append(
            f"{taxonomy_name}: {len(reports)} verdicts accepted, {len(errors)} audits without one"
            + (f" (see {store.root / 'errors.jsonl'})" if errors else "")
        )
        return reports

    def aggregate(self, runs: list[Trajectory], n: int) -> Path:
        """Aggregate ``groups(runs)`` with the offline policies and the model; returns the run folder."""
        store = self._store("aggregate", "aggregate", {"n": n})
        outcome = asyncio.run(aggregate_groups(self.groups(runs), store, model=self.client, n=n))
        self.unknown_cost |= outcome.unknown_cost
        self.spent += outcome.cost_usd
        print(
            f"{self.spec}: {outcome.done} tasks aggregated ({outcome.skipped} already done, "
            f"{outcome.failed} failed, the LLM aggregator failed on {outcome.llm_failed})"
        )
        return store.root

    def estimate(self, data: Path, n: int) -> None:
        """Print what the evaluation would send and cost, before anything is spent."""
        price = self.spec.price
        lines, tokens_in, tokens_out = [], 0, 0
        for label, folder, taxonomy in _AUDIT_SETS:
            units = self.units(_runs(data / folder))
            estimate = estimate_audit(units, load_taxonomy(taxonomy), self.spec.name)
            tokens_in += estimate.input_tokens
            tokens_out += estimate.output_tokens
            lines.append(
                f"  {label} (taxonomy {taxonomy}): {len(units)} failed runs to audit, "
                f"{estimate.input_tokens:,} tokens in, {estimate.output_tokens:,} out"
            )
        groups = self.groups(_runs(data / _AIRLINE))
        base = estimate_tokens(aggregator_instructions()) + 1500
        agg_in = sum(
            _EST_TURNS * (base + estimate_tokens(aggregation_task_text(_first(g, n))))
            + _EST_GROWTH_PER_TURN * _EST_TURNS * (_EST_TURNS - 1) // 2
            for g in groups
        )
        agg_out = len(groups) * _EST_TURNS * 350
        tokens_in += agg_in
        tokens_out += agg_out
        lines.append(
            f"  customer-service aggregation (best-of-{n}): {len(groups)} tasks, "
            f"{agg_in:,} tokens in, {agg_out:,} out"
        )
        usage = Usage(input_tokens=tokens_in, output_tokens=tokens_out)
        cost = estimate_cost(self.spec.name, usage, price=price) if price is not None else None
        print(f"model: {self.spec.describe()}")
        print("\n".join(lines))
        print(
            f"estimated tokens: {tokens_in:,} in, {tokens_out:,} out; estimated cost: "
            + ("unknown (no price for this model at this endpoint)" if cost is None else f"${cost:,.4f}")
            + (f" at most (replies in the cache {self.cache} cost nothing)" if self.cache else "")
        )


_AIRLINE = Path("tau2_bench") / "airline_runs"
_AUDIT_SETS = (
    ("coding runs", Path("mini_swe_agent"), "coding"),
    ("multi-agent logs", Path("who_and_when"), "mast"),
    ("customer-service audits", _AIRLINE, "customer_service"),
)


@cache
def _runs(root: Path) -> list[Trajectory]:
    return list(load(root).trajectories)


def _first(group: TaskGroup, n: int) -> TaskGroup:
    return group.model_copy(update={"trajectories": group.trajectories[:n]})


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def coding(data: Path, auditor: Auditor = audit) -> None:
    root = data / "mini_swe_agent"
    runs = _runs(root)
    reports = auditor(runs, "coding")
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


def multi_agent(data: Path, auditor: Auditor = audit) -> None:
    root = data / "who_and_when"
    runs = _runs(root)
    reports = {r.trajectory.id: r for r in auditor(runs, "mast")}
    labels = labels_from_trajectories(runs)
    number = re.compile(r"(\d+)\D*$")

    def half(t: Trajectory) -> str:
        found = number.search(Path((t.source.file if t.source else None) or t.id).stem)
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
        if att is None or not chosen:
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


def customer_service(data: Path, n: int, model: ModelRun | None = None) -> None:
    root = data / _AIRLINE
    print(f"\n== customer-service tasks ({root}): best-of-{n} across agents")
    cli = [sys.executable, "-m", "memex_audit.cli"]
    runs = _runs(root)
    if model is not None:  # the offline policies and the LLM aggregator, on the same tasks
        out = model.aggregate(runs, n)
        sys.stdout.flush()
        subprocess.run([*cli, "eval-aggregate", str(out)], check=True)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for label, extra in (
                (f"every rollout, best-of-{n} over subsets", []),
                (f"first {n} rollouts", ["--n", str(n)]),
            ):
                out = Path(tmp) / f"agg{len(extra)}"
                subprocess.run(
                    [*cli, "aggregate", str(root), *extra, "--out", str(out)],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                shown = subprocess.run(
                    [*cli, "eval-aggregate", str(out), "--json", "--no-tasks"],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                _print_aggregate(label, json.loads(shown.stdout), n)
    reports = (model.audit if model is not None else audit)(runs, "customer_service")
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.primary] = counts.get(r.primary, 0) + 1
    print(
        f"audits of {len(reports)} failed rollouts (customer_service): "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    )
    if model is None:
        checked, right = reward_agreement(runs, load_taxonomy("customer_service"))
        print(f"classified audit labels that reward_info carries: {right} of {checked}")


def _print_aggregate(label: str, payload: dict[str, Any], n: int) -> None:
    """One line of accuracies at ``n`` rollouts (or over all) and the verifier's pairwise separation."""
    row = next((r for r in payload.get("scaling", []) if r.get("n") == n), None)
    if row is None:
        row = {r["policy"]: r["accuracy"] for r in payload.get("accuracy", [])}
    names = ("pass@1", "majority", "summary_only", "verifier", "oracle")
    figures = ", ".join(f"{k} {row[k]:.3f}" for k in names if isinstance(row.get(k), int | float))
    sep = payload.get("pairwise", {}).get("verifier")
    pairs = f"; pairwise {sep['right']} right / {sep['tie']} tied / {sep['reverse']} reversed" if sep else ""
    print(f"[{label}] {figures}{pairs}")


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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=4, help="rollouts per task for best-of-N")
    parser.add_argument("--only", choices=["coding", "multi_agent", "customer_service", "samples"])
    llm = parser.add_argument_group("the LLM auditor and aggregator (nothing is spent without --yes)")
    llm.add_argument("--model", help="model spec: anthropic:NAME, openai:NAME (with --base-url)...")
    llm.add_argument("--base-url", help="endpoint of an OpenAI-compatible server (default OPENAI_BASE_URL)")
    llm.add_argument("--cache", type=Path, help="record replies here and replay them on a rerun")
    llm.add_argument("--limit", type=int, help="only the first N failed runs (and N tasks) of each set")
    llm.add_argument("--dry-run", action="store_true", help="print the estimate and stop")
    llm.add_argument("--yes", action="store_true", help="spend: run the model after the estimate")
    llm.add_argument("--out", type=Path, help="keep the run folders here (default: a temporary folder)")
    llm.add_argument("--concurrency", type=int, default=4, help="audits at once")
    llm.add_argument("--max-turns", type=int, default=20, help="agent turns per audit")
    llm.add_argument(
        "--kernel", choices=["subprocess", "inprocess"], default="subprocess", help="where model code runs"
    )
    args = parser.parse_args(argv)
    try:
        spec = parse_model_spec(args.model, base_url=args.base_url)
    except UsageError as exc:
        raise SystemExit(f"judgement.py: {exc}") from None
    if spec.offline:
        run_offline(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = ModelRun(
            spec,
            out=args.out or Path(tmp),
            cache=args.cache,
            limit=args.limit,
            concurrency=max(1, args.concurrency),
            max_turns=args.max_turns,
            kernel=args.kernel,
        )
        model.estimate(args.data, args.n)
        if args.dry_run or not args.yes:
            print("nothing was sent" + ("" if args.dry_run else ": add --yes to run the model"))
            return
        try:
            model.client  # noqa: B018 - fails here, before any work, without a key or a cache
        except UsageError as exc:
            raise SystemExit(f"judgement.py: {exc}") from None
        run_model(args, model)


def run_model(args: argparse.Namespace, model: ModelRun) -> None:
    """The figures of the real-data sets with ``model`` auditing and aggregating."""
    parts: dict[str, Callable[[], None]] = {
        "coding": lambda: coding(args.data, model.audit),
        "multi_agent": lambda: multi_agent(args.data, model.audit),
        "customer_service": lambda: customer_service(args.data, args.n, model),
    }
    for name, part in parts.items():
        if args.only in (None, name):
            part()
    ended = ", ".join(f"{kind} {count}" for kind, count in model.endings.most_common())
    cost = f"${model.spent:.4f}" + (" and some unknown" if model.unknown_cost else "")
    print(f"\n{model.spec}: audits ended: {ended or 'none run'}; cost of audits and aggregation {cost}")
    for note in model.notes:
        print(f"  {note}")
    stats = getattr(getattr(model.client, "inner", None), "stats", None)
    if stats is not None:
        print(f"cache {model.cache}: {stats.hits} replies replayed, {stats.misses} requests sent")
    if args.only == "samples":
        print("the samples are synthetic: they are audited by the offline policy only (omit --model)")


def run_offline(args: argparse.Namespace) -> None:
    """Every figure with the offline policy."""
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
