"""``memex-audit ask``: put a question of your own to each trajectory, get typed answers with evidence."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Literal

import orjson
import typer
from rich.table import Table

from memex_audit.ask import (
    AnswerType,
    AskEstimate,
    AskResult,
    AskRunner,
    AskSelection,
    AskSummary,
    answers_frame,
    estimate_ask,
    plan_ask,
    summarize_answers,
)
from memex_audit.cli._app import (
    app,
    clean,
    console,
    fail,
    file_progress,
    plain,
    user_errors,
)
from memex_audit.cli._info import input_path
from memex_audit.cli._model import (
    DEFAULT_TEMPERATURE,
    MODEL_HELP,
    announce_model,
    build_client,
    priced_spec,
    record_model_settings,
    require_price,
)
from memex_audit.cli._options import (
    AllowUnpricedOption,
    BaseUrlOption,
    CacheOption,
    FormatOption,
    GlobOption,
    PriceOption,
    RunFolderOption,
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
from memex_audit.loaders import load
from memex_audit.runs import RunStore, UnitProgress

NEEDS_A_MODEL = (
    "ask needs a model: pass --model anthropic:NAME (with ANTHROPIC_API_KEY) or openai:NAME "
    "(--base-url URL for an OpenAI-compatible server). Offline, write the question as a check, a "
    "Python function of a trajectory that returns findings, and run it with "
    "`memex-audit check PATH --check FILE.py` (the shipped examples are in checks/)."
)


ASK_MODEL_HELP = (
    MODEL_HELP.replace(", or offline (the default)", "")
    + " Required: a question of your own has no offline answer (offline, write a check)."
)


@app.command("ask")
def ask_command(
    path: Path = typer.Argument(
        ..., help="A rollout file, a folder (read recursively), or - for standard input."
    ),
    question: str = typer.Argument(..., help="The question to put to each trajectory."),
    answer_type: str = typer.Option(
        "text",
        "--answer-type",
        "-a",
        help="The answer's type: bool, label:a,b,c (one of the labels), number, or text.",
    ),
    model: str | None = typer.Option(None, "--model", "-m", help=ASK_MODEL_HELP),
    base_url: BaseUrlOption = None,
    cache: CacheOption = None,
    temperature: TemperatureOption = DEFAULT_TEMPERATURE,
    out: RunFolderOption = Path("runs/ask"),
    where: list[str] | None = typer.Option(
        None,
        "--where",
        "-w",
        help="Only trajectories where FIELD=PATTERN (outcome=failed,ungraded; model, harness, task, id, "
        "format take glob patterns); repeat to combine.",
    ),
    limit: int | None = typer.Option(
        None, "--limit", "-n", min=0, help="At most N trajectories, in input order."
    ),
    sample: int | None = typer.Option(None, "--sample", min=0, help="A random sample of N (before --limit)."),
    seed: int = typer.Option(0, "--seed", help="Seed of --sample."),
    concurrency: int = typer.Option(
        4, "--concurrency", "-c", min=1, help="Trajectories asked about at once."
    ),
    max_cost: float | None = typer.Option(
        None, "--max-cost", help="Stop starting new questions once this many US dollars are spent."
    ),
    max_turns: int = typer.Option(12, "--max-turns", min=1, help="Agent turns allowed per trajectory."),
    price: PriceOption = None,
    allow_unpriced: AllowUnpricedOption = False,
    kernel: str = typer.Option(
        "subprocess",
        "--kernel",
        help="Where the model's code runs: subprocess (isolated, killable) or inprocess.",
    ),
    glob: GlobOption = None,
    format: FormatOption = None,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only say how many trajectories would be asked about and what it would cost."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON instead of a table."),
    fail_on_error: bool = typer.Option(
        False, "--fail-on-error", help="Exit with status 1 when any trajectory could not be answered."
    ),
) -> None:
    """Put a question of your own to each trajectory: a typed answer with evidence, from a model.

    A MemEx agent gets each trajectory in scope (as `target`, with reading helpers), answers with a
    value of --answer-type (or None when the trajectory does not show it) and cites steps with
    exact quotes, which are checked. Answers go to a resumable run folder: rerunning the same command
    skips what is answered. Read them with `memex-audit show RUN`. Needs --model; offline, write a
    check (`memex-audit check`).
    """
    input_path(path)
    if kernel not in ("inprocess", "subprocess"):
        raise fail("--kernel must be inprocess or subprocess")
    with user_errors():
        kind = AnswerType.parse(answer_type)
        if not question.strip():
            raise UsageError("the question is empty")
        spec = priced_spec(model, base_url, price)
        if spec.offline:
            raise fail(NEEDS_A_MODEL)
        selection = AskSelection.parse(where or (), limit=limit, sample=sample, seed=seed)
        loaded = load(path, glob=glob, format=format)
        if not loaded.trajectories:
            raise nothing_loaded(path, glob, loaded.errors)
        units = plan_ask(loaded.trajectories, selection)
        existing = RunStore.read(out) if (out / "manifest.json").exists() else None
        if existing is not None and existing.kind == "ask":
            config = existing.manifest.config
            asked = (config.get("question"), config.get("answer_type"))
            if asked != (question, str(kind)):
                raise UsageError(
                    f"{out} holds answers to {asked[0]!r} ({asked[1]}); use another --out for this question"
                )
        if dry_run:
            done = existing.done_keys() if existing is not None and existing.kind == "ask" else set()
            estimate = estimate_ask(units, question, kind, spec.name, done=done, price=spec.price)
            if spec.price is None:  # an unknown price at this endpoint stays unknown
                estimate = dataclasses.replace(estimate, cost_usd=None)
            _print_estimate(
                estimate, spec.describe(), not_selected=len(loaded.trajectories) - len(units), as_json=as_json
            )
            return
        require_price(spec, max_cost=max_cost, allow_unpriced=allow_unpriced)
        if not units:
            raise UsageError(
                f"no trajectory of {path} matches the selection ({len(loaded.trajectories)} loaded)"
            )
        client = build_client(spec, cache=cache, temperature=temperature)
        if not as_json:
            announce_model(spec)
        store = RunStore.open(
            out,
            kind="ask",
            config={
                "path": str(path),
                "glob": glob,
                "format": format,
                "question": question,
                "answer_type": str(kind),
                "model": str(spec),
                "concurrency": concurrency,
                "max_cost_usd": max_cost,
                "where": list(where or []),
                "limit": limit,
                "sample": sample,
                "seed": seed,
            },
        )
        record_model_settings(
            store, spec, role="ask", temperature=temperature, cache=cache, max_turns=max_turns
        )
        record_load_errors(store, loaded.errors)

        def finalize(run: RunStore) -> None:
            results = run.read_results(AskResult)
            run.write_json("summary.json", _summary(run, results, load_errors=len(loaded.errors)))
            run.write_parquet("answers", answers_frame(results))

        with file_progress("asking", show_cost=True) as progress:
            bar = progress.task_ids[0]

            def on_progress(p: UnitProgress) -> None:
                progress.update(bar, completed=p.done, total=p.total, cost=p.cost_usd)

            runner = AskRunner(
                question,
                kind,
                model=client,
                concurrency=concurrency,
                max_cost_usd=max_cost,
                kernel=kernel,  # type: ignore[arg-type]
                max_turns=max_turns,
                on_progress=on_progress,
                price=spec.price,
                allow_unpriced=allow_unpriced,
            )
            with resumable(store, "answers"):
                outcome = asyncio.run(runner.run(units, store, finalize=finalize))
        summary = AskSummary.model_validate_json((out / "summary.json").read_bytes())
        stopped_keys = set(outcome.error_keys)
        budget_stops = sum(1 for e in store.read_errors() if e.kind == "budget" and e.key in stopped_keys)
        store.close()
    stopped = "budget" if budget_stops and outcome.stopped == "complete" else outcome.stopped
    if as_json:
        payload = {
            "run": str(out),
            "question": question,
            "answer_type": str(kind),
            "asked": outcome.done,
            "skipped": outcome.skipped,
            "errors": outcome.errors,
            "remaining": outcome.remaining,
            "stopped": stopped,
            "cost_usd": outcome.cost_usd,
            "unknown_cost": outcome.unknown_cost,
            "elapsed_s": round(outcome.elapsed_s, 3),
            "model": client.model,
            "load_errors": len(loaded.errors),
            "summary": summary.model_dump(mode="json"),
        }
        typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
    else:
        print_finished(f"asked about {outcome.done}", outcome, client.model)
        print_cache_stats(client, cache)
        _summary_table(summary)
        console.print(f"answers in {out}/results.jsonl (run `memex-audit show {out}`)", highlight=False)
    if stopped == "budget":
        exit_at_budget(outcome.remaining + budget_stops, "trajectories")
    exit_for_errors(
        outcome.errors, outcome.done, fail_on_error=fail_on_error, errors_file=out / "errors.jsonl"
    )


def _print_estimate(estimate: AskEstimate, model: str, *, not_selected: int, as_json: bool) -> None:
    if as_json:
        payload = {**dataclasses.asdict(estimate), "not_selected": not_selected, "endpoint": model}
        typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
        return
    cost = "unknown (no price for this model)" if estimate.cost_usd is None else f"${estimate.cost_usd:,.4f}"
    console.print(
        f"model: {clean(model)}\nwould ask about [bold]{estimate.to_ask}[/] trajectories with "
        f"{clean(estimate.model)} ({estimate.already_done} already done, {not_selected} not selected)\n"
        f"estimated tokens: {estimate.input_tokens:,} in, {estimate.output_tokens:,} out; estimated cost: {cost}",
        markup=True,
        highlight=False,
    )


def _summary(store: RunStore, results: list[AskResult], *, load_errors: int | None = None) -> AskSummary:
    config = store.manifest.config
    errors = [e for e in store.read_errors() if e.kind != "load"]
    return summarize_answers(
        results,
        question=str(config.get("question") or ""),
        answer_type=str(config.get("answer_type") or "text"),
        model=config.get("model"),
        errors=len({e.key for e in errors} - store.result_keys()),
        load_errors=load_errors
        if load_errors is not None
        else sum(e.kind == "load" for e in store.read_errors()),
    )


def _summary_table(summary: AskSummary) -> None:
    console.print(
        f"{summary.answered} of {summary.trajectories} trajectories answered ({summary.unanswered} do not show "
        f"the answer); {summary.errors} errors",
        highlight=False,
    )
    if summary.counts:
        table = Table(show_edge=False)
        table.add_column("answer")
        table.add_column("trajectories", justify="right")
        for answer, count in summary.counts.items():
            table.add_row(plain(answer), str(count))
        console.print(table)
    if summary.numbers is not None:
        n = summary.numbers
        console.print(
            f"numbers: mean {n.mean:g}, median {n.median:g}, min {n.min:g}, max {n.max:g} (n={n.n})",
            highlight=False,
        )


def _result_lines(result: AskResult) -> list[str]:
    ref = result.trajectory
    where = (ref.file or "?") + (f":{ref.line}" if ref.line else "")
    lines = [
        f"{ref.id}  task={ref.task_id}  model={ref.model}  harness={ref.harness}  {ref.outcome}  [{where}]",
        f"  answer: {result.answer_text}",
        f"  {result.explanation}",
    ]
    for item in result.evidence:
        note = f"  ({item.note})" if item.note else ""
        lines.append(f"    step {item.step}: {item.quote!r}{note}")
    cost = "unknown" if result.producer.cost_usd is None else f"${result.producer.cost_usd:.4f}"
    lines.append(f"  by {result.producer.name}, cost {cost}, {result.producer.turns} turns")
    return lines


def print_ask_run(store: RunStore, fmt: Literal["text", "json"], answer: str | None = None) -> None:
    """What ``show`` prints for an ask run: the question, the answer counts, each answer with its
    evidence, and the run's errors; ``answer`` keeps the answers equal to it (``true``, a label...)."""
    results = store.read_results(AskResult)
    summary = _summary(store, results)
    done = store.result_keys()
    errors = [e for e in store.read_errors() if e.key not in done]
    if answer is not None:
        results = [r for r in results if r.answer_text.casefold() == answer.casefold()]
    if fmt == "json":
        echo_run_json(store, summary, "results", results, errors)
        return
    config = store.manifest.config
    typer.echo(
        plain(
            f"ask run {store.root}: {summary.trajectories} answers, {len(errors)} errors; model "
            f"{config.get('model')}, data {config.get('path')}\nquestion ({summary.answer_type}): {summary.question}"
        )
    )
    for value, count in summary.counts.items():
        typer.echo(plain(f"  {value}: {count}"))
    if summary.numbers is not None:
        n = summary.numbers
        typer.echo(f"  numbers: mean {n.mean:g}, median {n.median:g}, min {n.min:g}, max {n.max:g} (n={n.n})")
    for result in results:
        typer.echo("")
        typer.echo(plain("\n".join(_result_lines(result))))
    echo_errors(errors)
