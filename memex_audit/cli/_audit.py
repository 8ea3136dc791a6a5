"""``memex-audit audit``, ``eval-audit`` and ``show``: classify failed rollouts and read the results."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import orjson
import typer
from rich.table import Table

from memex_audit._runtime import gc_paused
from memex_audit.auditor import (
    AuditEstimate,
    AuditProgress,
    AuditReport,
    AuditRunner,
    AuditSelection,
    OfflineAuditPolicy,
    OfflineAuditWorker,
    estimate_audit,
    plan_audit,
    plan_indexed,
)
from memex_audit.cli import AUDIT_WORKER_PRELOAD
from memex_audit.cli._app import (
    app,
    clean,
    console,
    err_console,
    existing_path,
    fail,
    file_progress,
    folder_option,
    plain,
    user_errors,
)
from memex_audit.cli._model import (
    BATCH_HELP,
    DEFAULT_TEMPERATURE,
    MODEL_HELP,
    announce_model,
    client_for_model,
    priced_spec,
    record_model_settings,
    require_price,
    resolve_spec,
    run_price,
)
from memex_audit.cli._options import (
    AllowUnpricedOption,
    BaseUrlOption,
    CacheOption,
    FormatOption,
    GlobOption,
    PriceOption,
    TemperatureOption,
)
from memex_audit.cli._runs import (
    echo_errors,
    echo_run_json,
    exit_at_budget,
    exit_for_errors,
    nothing_loaded,
    print_cache_stats,
    print_finished,
    record_load_errors,
    resumable,
)
from memex_audit.errors import UsageError
from memex_audit.llm import LLMClient, estimate_cost
from memex_audit.loaders import index_trajectories, is_url, load
from memex_audit.runs import (
    EXECUTOR_KINDS,
    ProcessExecutor,
    RunStore,
    StorageError,
    default_executor,
    prepare_processes,
)
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Usage

if TYPE_CHECKING:
    import polars as pl

    from memex_audit.analysis import AuditAgreement

# The analysis layer (and polars with it) is imported where results are summarised, not at start-up:
# an audit's workers start while this process would otherwise still be importing it.


def _model_client(
    model: str | None,
    base_url: str | None,
    *,
    cache: Path | None = None,
    temperature: float | None = DEFAULT_TEMPERATURE,
    batch: bool = False,
) -> LLMClient:
    """The client for ``--model`` (a spec read by ``memex_audit.llm.parse_model_spec``, as in
    every command): the offline policy for ``offline`` or no model."""
    client = client_for_model(model, base_url, cache=cache, temperature=temperature, batch=batch)
    return OfflineAuditPolicy() if client is None else client


def _id_list(path: Path) -> set[str]:
    """The trajectory ids listed in ``path`` (see ``memex_audit.analysis.read_id_list``)."""
    from memex_audit.analysis import read_id_list

    return read_id_list(path)


def _print_estimate(estimate: AuditEstimate) -> None:
    cost = "unknown (no price for this model)" if estimate.cost_usd is None else f"${estimate.cost_usd:,.4f}"
    console.print(
        f"would audit [bold]{estimate.to_audit}[/] selected trajectories of {estimate.tasks} tasks with "
        f"{clean(estimate.model)} ({estimate.already_done} already done, {estimate.not_failed} not selected)\n"
        f"estimated tokens: {estimate.input_tokens:,} in, {estimate.output_tokens:,} out; estimated cost: {cost}",
        markup=True,
        highlight=False,
    )


def _frame_table(frame: pl.DataFrame, title: str) -> Table:
    """A breakdown frame as a table with one ``count (percent)`` column per value."""
    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column("category")
    values = [c[: -len(" n")] for c in frame.columns if c.endswith(" n")]
    for value in values:
        table.add_column(plain(value), justify="right")
    for row in frame.iter_rows(named=True):
        table.add_row(plain(row["category"]), *(f"{row[f'{v} n']} ({row[f'{v} %']:.1f}%)" for v in values))
    return table


def print_breakdown(
    reports: list[AuditReport], categories: list[str], frame: pl.DataFrame | None = None
) -> None:
    """Print the category breakdown by harness and by model (``frame``: the reports' ``audit_frame``,
    when the caller has it already)."""
    if not reports:
        console.print("no audit results yet")
        return
    from memex_audit.analysis import audit_frame, breakdown_table

    if frame is None:
        frame = audit_frame(reports)
    for by in ("harness", "model"):
        console.print(
            _frame_table(breakdown_table(frame, by, categories), f"primary category by {by} (count, %)")
        )
        console.print()


@app.command()
def audit(
    path: str = typer.Argument(
        ...,
        help="A rollout file or a folder of them (read recursively), or a URL (s3://…, gs://…: the cloud extra).",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", callback=folder_option, help="Run folder to write (reusing one resumes it)."
    ),
    taxonomy: str = typer.Option(
        "memex",
        "--taxonomy",
        "-t",
        help="Taxonomy name (memex, mast, trail, customer_service, coding) or YAML path.",
    ),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    base_url: BaseUrlOption = None,
    cache: CacheOption = None,
    temperature: TemperatureOption = DEFAULT_TEMPERATURE,
    batch: bool = typer.Option(False, "--batch", help=BATCH_HELP),
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, help="Trajectories audited at once."),
    max_cost: float | None = typer.Option(
        None, "--max-cost", help="Stop starting new audits once this many US dollars are spent."
    ),
    max_turns: int = typer.Option(20, "--max-turns", min=1, help="Agent turns allowed per trajectory."),
    price: PriceOption = None,
    allow_unpriced: AllowUnpricedOption = False,
    kernel: str | None = typer.Option(
        None,
        "--kernel",
        help="Where agent code runs: inprocess, or subprocess (isolated, killable; the default with a model).",
    ),
    glob: GlobOption = None,
    where: list[str] = typer.Option(
        [],
        "--where",
        "-w",
        help="Only rollouts whose FIELD matches: outcome=failed|correct|ungraded|any (comma-separated; "
        "default failed), model=, harness=, task=, id=, format= (glob patterns). Repeat to combine.",
    ),
    ids: Path | None = typer.Option(None, "--ids", help="Only the trajectory ids listed in this file."),
    limit: int | None = typer.Option(None, "--limit", min=0, help="At most N rollouts (the first selected)."),
    sample: int | None = typer.Option(
        None, "--sample", min=0, help="A random sample of N selected rollouts."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of --sample."),
    format: FormatOption = None,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only say how many trajectories would be audited and what it would cost."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON instead of tables."),
    fail_on_error: bool = typer.Option(
        False, "--fail-on-error", help="Exit with status 1 when any trajectory could not be audited."
    ),
    executor: str | None = typer.Option(
        None,
        "--executor",
        help="Where audits run: local (this process), processes (every core; the default offline on "
        "several cores) or ray (a Ray cluster: the ray extra). processes and ray run the offline policy.",
    ),
    address: str | None = typer.Option(
        None, "--address", help="The Ray cluster to join with --executor ray (default: start one here)."
    ),
) -> None:
    """Classify every failed trajectory into a taxonomy, with evidence, into a resumable run folder.

    Groups trajectories by task and audits each failed one with its siblings in scope (human labels removed). Rerunning the same command on the same --out folder skips what is done. Prints the breakdown of primary categories by harness and by model at the end.
    """
    if not is_url(path):
        existing_path(Path(path))
    if kernel not in (None, "inprocess", "subprocess"):
        raise fail("--kernel must be inprocess or subprocess")
    if executor not in (None, *EXECUTOR_KINDS):
        raise fail(f"--executor must be one of {', '.join(EXECUTOR_KINDS)}")
    processes: ProcessExecutor | None = None
    with user_errors():
        tax = load_taxonomy(taxonomy)
        offline = resolve_spec(model, base_url).offline
        if (
            executor in (None, "processes")
            and not dry_run
            and offline
            and prepare_processes(AUDIT_WORKER_PRELOAD)
        ):
            # The worker processes' start-up (importing the auditor, as its workers preload it)
            # overlaps with this process's; the same processes read the index on every core, then
            # audit (when there are enough audits for the pool, see ``default_executor``).
            worker = OfflineAuditWorker(
                tax, kernel="subprocess" if kernel == "subprocess" else "inprocess", max_turns=max_turns
            )
            processes = ProcessExecutor(worker, preload=AUDIT_WORKER_PRELOAD)
    with user_errors(), contextlib.ExitStack() as stack:
        if processes is not None:
            stack.callback(processes.close)
        loaded = stack.enter_context(
            index_trajectories(
                path,
                glob=glob,
                format=format,
                workers=processes.workers if processes is not None else 1,
                pool=processes.pool if processes is not None else None,
            )
        )
        if not loaded.entries:
            raise nothing_loaded(path, glob, loaded.errors)
        selection = AuditSelection.parse(
            where,
            ids=_id_list(existing_path(ids)) if ids is not None else None,
            limit=limit,
            sample=sample,
            seed=seed,
        )
        units, _, not_failed = plan_indexed(loaded, selection)
        if loaded.errors:
            err_console.print(
                f"{len(loaded.errors)} files or records could not be read (see `memex-audit info`)"
            )
        spec = priced_spec(model, base_url, price)
        if dry_run:
            done: set[str] = set()
            if (out / "manifest.json").exists():
                done = RunStore.read(out).done_keys()
            target: LLMClient | str = OfflineAuditPolicy() if spec.offline else spec.name
            planned, not_failed = plan_audit(load(path, glob=glob, format=format).trajectories, selection)
            estimate = estimate_audit(planned, tax, target, done=done, not_failed=not_failed)
            if not spec.offline:  # priced at this endpoint: an unknown price stays unknown
                tokens = Usage(input_tokens=estimate.input_tokens, output_tokens=estimate.output_tokens)
                listed = run_price(spec, batch=batch)
                cost = estimate_cost(spec.name, tokens, price=listed) if listed is not None else None
                estimate = dataclasses.replace(estimate, cost_usd=cost)
                announce_model(spec)
            _print_estimate(estimate)
            return
        require_price(spec, max_cost=max_cost, allow_unpriced=allow_unpriced)
        client = _model_client(model, base_url, cache=cache, temperature=temperature, batch=batch)
        announce_model(spec)
        if (out / "manifest.json").exists():
            previous = RunStore.read(out).manifest.config.get("taxonomy")
            if previous not in (None, tax.name):
                raise UsageError(
                    f"{out} holds an audit with taxonomy {previous!r}; use another --out for {tax.name!r}"
                )
            finished = RunStore.read(out)
            if {u.key for u in units} <= finished.done_keys():
                # Nothing left to do: report what is there and write nothing (the folder may be read-only).
                reports = finished.read_results(AuditReport)
                if as_json:
                    typer.echo(
                        orjson.dumps(
                            {
                                "run": str(out),
                                "audited": 0,
                                "skipped": len(units),
                                "errors": 0,
                                "remaining": 0,
                                "stopped": "complete",
                                "primary": dict(Counter(r.primary for r in reports)),
                            },
                            option=orjson.OPT_INDENT_2,
                        ).decode()
                    )
                else:
                    console.print(
                        f"audited 0 trajectories ({len(units)} already done, 0 errors): nothing left to do in {out}",
                        highlight=False,
                    )
                    print_breakdown(reports, tax.category_ids)
                return
        store = RunStore.open(
            out,
            kind="audit",
            config={
                "path": str(path),
                "taxonomy": tax.name,
                "taxonomy_source": str(taxonomy),
                "model": str(spec),
                "glob": glob,
                "format": format,
                "concurrency": concurrency,
                "max_cost_usd": max_cost,
                "selection": None if selection.is_default else selection.model_dump(mode="json"),
            },
        )
        record_model_settings(
            store,
            spec,
            role="auditor",
            temperature=temperature,
            cache=cache,
            max_turns=max_turns,
            batch=batch,
        )
        record_load_errors(store, loaded.errors)

        finalized: list[AuditReport] = []  # what the finalize step read, printed below
        frames: list[pl.DataFrame] = []  # and their frame

        def finalize(run: RunStore) -> None:
            if processes is not None:
                # Every job is done: the workers exit while the exports are written.
                processes.pool.shutdown(wait=False, cancel_futures=True)
            from memex_audit.analysis import audit_frame, summarize_audit

            reports = run.read_results(AuditReport)
            finalized[:] = reports
            frames[:] = [audit_frame(reports)]
            errors = run.read_errors()
            summary = summarize_audit(
                reports,
                errors=len({e.key for e in errors} - {r.trajectory.id for r in reports}),
                frame=frames[0],
            )
            run.write_json("summary.json", summary)
            if reports:
                run.write_parquet("audit", frames[0])

        with file_progress("auditing", show_cost=True) as progress:
            bar = progress.task_ids[0]

            summaries: list[bool] = []

            def on_progress(p: AuditProgress) -> None:
                progress.update(bar, completed=p.done, total=p.total, cost=p.cost_usd)
                if not summaries and p.done >= 0.9 * p.total:
                    # The finalize step's imports, while the last audits run rather than after them.
                    summaries.append(True)
                    with gc_paused():
                        from memex_audit.analysis import audit_frame, summarize_audit  # noqa: F401

            runner = AuditRunner(
                tax,
                model=client,
                concurrency=concurrency,
                max_cost_usd=max_cost,
                price=run_price(spec, batch=batch),
                allow_unpriced=allow_unpriced,
                kernel=kernel,  # type: ignore[arg-type]
                max_turns=max_turns,
                on_progress=on_progress,
            )
            if executor is None:
                pending = len({u.key for u in units} - store.done_keys())
                executor = default_executor(spec.offline, pending)
            running: str | ProcessExecutor = executor
            if executor == "processes" and processes is not None:
                running = processes
            with resumable(store, "trajectories done"):
                outcome = asyncio.run(
                    runner.run_indexed(
                        loaded,
                        store,
                        executor=running,  # type: ignore[arg-type]
                        address=address,
                        finalize=finalize,
                        selection=selection,
                    )
                )
        reports = finalized or store.read_results(AuditReport)
        store.close()
    if as_json:
        typer.echo(
            orjson.dumps(
                {
                    "run": str(out),
                    "audited": outcome.audited,
                    "skipped": outcome.skipped,
                    "errors": outcome.errors,
                    "remaining": outcome.remaining,
                    "stopped": outcome.stopped,
                    "cost_usd": outcome.cost_usd,
                    "unknown_cost": outcome.unknown_cost,
                    "elapsed_s": round(outcome.elapsed_s, 3),
                    "producer": client.model,
                    "load_errors": len(loaded.errors),
                    "primary": dict(Counter(r.primary for r in reports)),
                },
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
    else:
        print_finished(f"audited {outcome.audited}", outcome, client.model)
        print_cache_stats(client, cache)
        print_breakdown(reports, tax.category_ids, frames[0] if finalized else None)
        console.print(f"results in {out}/results.jsonl (run `memex-audit show {out}`)", highlight=False)
    if outcome.stopped == "budget":
        exit_at_budget(outcome.remaining, "trajectories")
    exit_for_errors(
        outcome.errors, outcome.audited, fail_on_error=fail_on_error, errors_file=out / "errors.jsonl"
    )


def _agreement_tables(agreement: AuditAgreement) -> None:
    console.print(
        f"{agreement.matched} audited trajectories have a human label ({agreement.labelled} labelled, "
        f"{agreement.audited} audited, split {agreement.split}); {agreement.unclassified} were unclassified; "
        f"labels from {agreement.labels_from}; producer {', '.join(agreement.producers) or '?'}",
        highlight=False,
    )
    if agreement.categories is not None:
        cats = agreement.categories
        precision = "n/a" if cats.precision is None else f"{cats.precision:.3f}"
        console.print(
            f"\n[bold]categories[/] (n={cats.n}): accuracy {cats.accuracy:.3f}, macro F1 {cats.macro_f1:.3f}, "
            f"Cohen's kappa {cats.cohen_kappa:.3f}; coverage {cats.coverage:.3f} ({cats.classified} classified), "
            f"precision of classified labels {precision}",
            markup=True,
            highlight=False,
        )
        table = Table(show_edge=False)
        for column in ("category", "precision", "recall", "F1", "human", "predicted"):
            table.add_column(column, justify="left" if column == "category" else "right")
        for s in cats.per_class:
            table.add_row(
                plain(s.category),
                f"{s.precision:.3f}",
                f"{s.recall:.3f}",
                f"{s.f1:.3f}",
                str(s.support),
                str(s.predicted),
            )
        console.print(table)
    if agreement.attribution is not None:
        att = agreement.attribution

        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{100 * value:.1f}%"

        console.print(
            f"\n[bold]attribution[/] (n={att.n}): faulty agent {pct(att.agent_accuracy)} of {att.agent_n}; "
            f"faulty step exact {pct(att.step_accuracy)}, within ±1 {pct(att.step_within_1)} of {att.step_n}",
            markup=True,
            highlight=False,
        )
        for name, part in (
            ("findings", agreement.attribution_findings),
            ("positional guesses", agreement.attribution_guesses),
        ):
            if part is not None:
                console.print(
                    f"  where it rests on {name} (n={part.n}): faulty agent {pct(part.agent_accuracy)}, "
                    f"faulty step exact {pct(part.step_accuracy)}",
                    highlight=False,
                )
    if agreement.coding is not None and agreement.coding.audited:
        cod = agreement.coding

        def share(value: float | None) -> str:
            return "n/a" if value is None else f"{100 * value:.1f}%"

        console.print(
            f"\n[bold]coding rollouts against their grading evidence[/] ({cod.audited} audited): "
            f"{share(cod.consistent_share)} of {cod.labels} checkable labels consistent with the exit status, "
            f"patch and test report ({cod.unverifiable} not checkable); unclassified {share(cod.unclassified_share)}; "
            f"broke_existing_tests given in {cod.regressions_flagged} of {cod.regressions} runs whose report shows "
            f"a previously passing test failing",
            markup=True,
            highlight=False,
        )
        table = Table(show_edge=False)
        for column in ("label", "given", "consistent"):
            table.add_column(column, justify="left" if column == "label" else "right")
        for label, (given, consistent) in sorted(cod.by_label.items()):
            table.add_row(plain(label), str(given), str(consistent))
        console.print(table)


@app.command("eval-audit")
def eval_audit(
    run_dir: Path = typer.Argument(..., help="The --out folder of an audit run."),
    labels: Path | None = typer.Option(
        None,
        "--labels",
        "-l",
        help="CSV or JSON file of trajectory id → label (default: labels in the data).",
    ),
    data: Path | None = typer.Option(
        None, "--data", help="Where to read the labelled data (default: the run's input)."
    ),
    split: str = typer.Option(
        "all",
        "--split",
        help="Evaluate on all ids, the dev or test half (stable hash), or the ids listed in a FILE.",
    ),
    analyses: Path | None = typer.Option(
        None,
        "--analyses",
        help="Folder of people's failure analyses of coding runs (<instance>.md with a '**Failure Type:**' "
        "line): use them as the reference labels.",
    ),
    test_fraction: float = typer.Option(
        0.5, "--test-fraction", min=0.0, max=1.0, help="Share of ids in the test split."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the agreement as JSON."),
) -> None:
    """Agreement of an audit run with human labels: category accuracy, per-class F1 and Cohen's kappa; faulty agent and step accuracy (exact and within one step) for attribution labels.

    Writes agreement.json into the run folder.
    """
    from memex_audit.analysis import (
        audit_agreement,
        coding_consistency,
        coding_reference_labels,
        labels_from_trajectories,
        read_failure_analyses,
        read_label_file,
        split_of,
    )

    existing_path(run_dir)
    ids: set[str] | None = None
    split_name = split
    with user_errors():
        if split not in ("all", "dev", "test"):
            ids = _id_list(existing_path(Path(split)))
            split_name = Path(split).stem
        store = RunStore.read(run_dir)
        reports = store.read_results(AuditReport)
        where = data or store.input_path()
        trajectories = []
        if where is not None and where.exists():
            glob = store.manifest.config.get("glob")
            trajectories = load(where, glob=str(glob) if glob else None).trajectories
        if labels is not None:
            gold = read_label_file(existing_path(labels))
            source = str(labels)
        elif analyses is not None:
            gold = coding_reference_labels(trajectories, read_failure_analyses(existing_path(analyses)))
            source = f"{analyses} (people's failure analyses, refined by the test reports)"
        else:
            if where is None:
                raise UsageError("the run does not say where its data is; pass --data or --labels")
            existing_path(where)
            taxonomy = store.manifest.config.get("taxonomy")
            gold = labels_from_trajectories(trajectories, str(taxonomy) if taxonomy else None)
            source = str(where)
        chosen = ids if ids is not None else None
        in_split = [
            r
            for r in reports
            if (chosen is None and (split == "all" or split_of(r.trajectory.id, test_fraction) == split))
            or (chosen is not None and r.trajectory.id in chosen)
        ]
        agreement = audit_agreement(
            reports,
            gold,
            labels_from=source,
            split=split_name,
            test_fraction=test_fraction,
            ids=ids,
            coding=coding_consistency(in_split, trajectories) if trajectories else None,
        )
        name = "agreement.json" if split == "all" else f"agreement.{split_name}.json"
        try:
            store.write_json(name, agreement)
        except StorageError as exc:  # a read-only run folder still evaluates
            err_console.print(f"[yellow]not saved:[/] {clean(exc)}", markup=True, highlight=False)
    if as_json:
        typer.echo(agreement.model_dump_json(indent=2))
        return
    _agreement_tables(agreement)


def _report_text(report: AuditReport) -> list[str]:
    ref = report.trajectory
    where = f"{ref.file}" + (f":{ref.line}" if ref.line else "") if ref.file else "?"
    secondary = f" (+ {', '.join(report.secondary)})" if report.secondary else ""
    lines = [
        f"{ref.id}  task={ref.task_id}  harness={report.harness}  model={report.model}  [{where}]",
        f"  {report.primary}{secondary}  confidence {report.confidence:.2f}  faulty step {report.faulty_step}"
        + (f" by {report.faulty_agent}" if report.faulty_agent else ""),
        f"  {report.explanation}",
    ]
    for item in report.evidence:
        note = f"  ({item.note})" if item.note else ""
        lines.append(f"    step {item.step}: {item.quote!r}{note}")
    lines.append(
        f"  by {report.producer.name}, cost ${report.producer.cost_usd or 0.0:.4f}, {report.producer.turns} turns"
    )
    return lines


@app.command()
def show(
    run_dir: Path = typer.Argument(..., help="The --out folder of a run (audit, aggregate, check or ask)."),
    output_format: str = typer.Option(
        "text", "--output-format", help="text for people, json for scripts and agents."
    ),
    category: str | None = typer.Option(
        None,
        "--category",
        help="Only show results with this primary category (check runs: label; ask runs: answer).",
    ),
    input_format: str | None = typer.Option(None, "--format", "-f", hidden=True),
) -> None:
    """Print a run's results and errors: audit labels with evidence, aggregated answers, check findings, answers."""
    from memex_audit.analysis import summarize_audit

    if input_format is not None:
        raise fail(
            "show prints with --output-format text|json; --format names the format of input files "
            "on the other commands"
        )
    existing_path(run_dir)
    if output_format not in ("text", "json"):
        raise fail("--output-format must be text or json")
    fmt: Literal["text", "json"] = output_format  # type: ignore[assignment]
    with user_errors():
        store = RunStore.read(run_dir)
        if store.kind == "aggregate":  # answers chosen per task (memex-audit aggregate)
            if category is not None:
                raise UsageError(f"{run_dir} holds an aggregate run, which has no categories to filter by")
            from memex_audit.cli._aggregate import print_aggregate_run

            print_aggregate_run(store, fmt)
            return
        if store.kind == "check":  # findings of user checks (memex-audit check); --category filters labels
            from memex_audit.cli._check import print_check_run

            print_check_run(store, fmt, label=category)
            return
        if store.kind == "ask":  # answers to a question (memex-audit ask); --category filters answers
            from memex_audit.cli._ask import print_ask_run

            print_ask_run(store, fmt, answer=category)
            return
        reports = store.read_results(AuditReport)
        errors = store.read_errors()
    if category is not None:
        reports = [r for r in reports if r.primary == category]
    done = {r.trajectory.id for r in reports}
    open_errors = [e for e in errors if e.key not in done]
    if fmt == "json":
        echo_run_json(
            store, summarize_audit(reports, errors=len(open_errors)), "reports", reports, open_errors
        )
        return
    config = store.manifest.config
    typer.echo(
        f"audit run {run_dir}: {len(reports)} results, {len(open_errors)} errors; taxonomy "
        f"{config.get('taxonomy')}, model {config.get('model')}, data {config.get('path')}"
    )
    for report in reports:
        typer.echo("")
        typer.echo(plain("\n".join(_report_text(report))))
    echo_errors(open_errors)
