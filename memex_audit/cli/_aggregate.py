"""``memex-audit aggregate`` and ``eval-aggregate``: pick the answer to trust among N rollouts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import orjson
import polars as pl
import typer
from rich.table import Table

from memex_audit.aggregator import (
    AggregateTaskResult,
    KeyConfig,
    PairwiseSeparation,
    accuracy_by_policy,
    aggregate_groups,
    pairwise_by_policy,
)
from memex_audit.analysis import (
    aggregate_accuracy_frame,
    aggregate_scaling_frame,
    aggregate_tasks_frame,
    write_aggregate_exports,
)
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
    record_load_errors,
    resumable,
)
from memex_audit.errors import UsageError
from memex_audit.loaders import load
from memex_audit.reading import AnswerConfig
from memex_audit.runs import RunStore


@app.command()
def aggregate(
    path: Path = typer.Argument(
        ..., help="A rollout file or folder; rollouts are grouped by task id across files."
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", callback=folder_option, help="Run folder to create, or to resume when it exists."
    ),
    n: int | None = typer.Option(None, "--n", min=1, help="Use only the first N rollouts of each task."),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Also run the LLM aggregator with this model. "
        + MODEL_HELP
        + " Offline: the offline policies only.",
    ),
    base_url: BaseUrlOption = None,
    cache: CacheOption = None,
    temperature: TemperatureOption = DEFAULT_TEMPERATURE,
    batch: bool = typer.Option(False, "--batch", help=BATCH_HELP),
    glob: GlobOption = None,
    format: FormatOption = None,
    mode: str = typer.Option(
        "auto",
        help="Answer keys: 'answer' (final answers), 'actions' (state-changing tool calls), "
        "or 'auto' (actions for τ-bench runs and rollouts without an answer).",
    ),
    rel_tol: float = typer.Option(
        1e-6, "--rel-tol", help="Relative tolerance when comparing numeric answers."
    ),
    abs_tol: float = typer.Option(
        0.0, "--abs-tol", help="Absolute tolerance when comparing numeric answers."
    ),
    subsets: int = typer.Option(24, help="Subsets drawn per size N for the accuracy-vs-N curve."),
    scaling: bool = typer.Option(True, help="Compute accuracy over subsets of 1, 2, 4, … rollouts."),
    seed: int = typer.Option(0, help="Seed for subset sampling and the random-rollout baseline."),
    concurrency: int = typer.Option(1, "--concurrency", "-c", min=1, help="Tasks aggregated at once."),
    max_cost: float | None = typer.Option(
        None,
        "--max-cost",
        help="Stop starting new tasks once the LLM aggregator has spent this many US dollars.",
    ),
    max_turns: int = typer.Option(20, "--max-turns", min=1, help="Turns of the LLM aggregator per task."),
    price: PriceOption = None,
    allow_unpriced: AllowUnpricedOption = False,
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
    fail_on_error: bool = typer.Option(
        False,
        "--fail-on-error",
        help="Exit with status 1 when any task could not be aggregated or its LLM aggregation failed.",
    ),
) -> None:
    """Aggregate the rollouts of every task: majority, summary-only, the verifier (and an LLM).

    Each task's result is appended to RUN_DIR/results.jsonl when done; rerunning the same command
    resumes, skipping finished tasks. Evaluate with `memex-audit eval-aggregate RUN_DIR`.
    """
    existing_path(path)
    if mode not in ("auto", "answer", "actions"):
        raise fail("--mode must be auto, answer or actions")
    mode_value: Literal["auto", "answer", "actions"] = mode  # type: ignore[assignment]
    cfg = KeyConfig(mode=mode_value, answer=AnswerConfig(rel_tol=rel_tol, abs_tol=abs_tol))
    run_config: dict[str, object] = {
        "path": str(path),
        "n": n,
        "model": None,
        "mode": mode,
        "rel_tol": rel_tol,
        "abs_tol": abs_tol,
        "subsets": subsets,
        "seed": seed,
    }
    with user_errors():
        spec = priced_spec(model, base_url, price)
        require_price(spec, max_cost=max_cost, allow_unpriced=allow_unpriced)
        run_config["model"] = None if spec.offline else str(spec)
        client = client_for_model(model, base_url, cache=cache, temperature=temperature, batch=batch)
        announce_model(spec)
        _check_same_config(out, run_config)
        store = RunStore.open(out, "aggregate", run_config)  # type: ignore[arg-type]
        record_model_settings(
            store, spec, role="aggregator", temperature=temperature, cache=cache, batch=batch
        )
        loaded = load(path, glob=glob, format=format)
        if not loaded.trajectories:
            store.close()
            raise nothing_loaded(path, glob, loaded.errors, "rollouts")
        record_load_errors(store, loaded.errors)
        groups = loaded.tasks()
        with file_progress("aggregating", total=len(groups)) as progress:
            bar = progress.task_ids[0]
            with resumable(store, "tasks done"):
                outcome = asyncio.run(
                    aggregate_groups(
                        groups,
                        store,
                        model=client,
                        config=cfg,
                        n=n,
                        scaling=scaling,
                        max_subsets=subsets,
                        seed=seed,
                        on_task=lambda _task, _status: progress.advance(bar),
                        concurrency=concurrency,
                        max_cost_usd=max_cost,
                        max_turns=max_turns,
                        price=run_price(spec, batch=batch),
                        allow_unpriced=allow_unpriced,
                        finalize=write_aggregate_exports,
                    )
                )
        store.close()
    how = (
        "through the agent loop"
        if outcome.through_agent
        else f"directly ({outcome.agent_fallback or 'asked for'})"
    )
    if as_json:
        typer.echo(
            orjson.dumps(
                {
                    "run": str(out),
                    "tasks": outcome.tasks,
                    "done": outcome.done,
                    "skipped": outcome.skipped,
                    "failed": outcome.failed,
                    "llm_failed": outcome.llm_failed,
                    "remaining": outcome.remaining,
                    "stopped": outcome.stopped,
                    "cost_usd": outcome.cost_usd,
                    "load_errors": len(loaded.errors),
                    "through_agent": outcome.through_agent,
                    "agent_fallback": outcome.agent_fallback,
                },
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
    else:
        print_cache_stats(client, cache)
        console.print(
            f"{outcome.done} tasks aggregated, {outcome.skipped} already done, {outcome.failed} failed "
            f"({len(loaded.errors)} load errors); verifier ran {how}. Results in {out}",
            highlight=False,
        )
        if outcome.llm_failed:
            err_console.print(
                f"[bold yellow]the LLM aggregator failed on {outcome.llm_failed} tasks[/]; their offline results "
                f"are kept and the causes are in {clean(out / 'errors.jsonl')}",
                markup=True,
                highlight=False,
            )
    if outcome.stopped == "budget":
        exit_at_budget(outcome.remaining, "tasks")
    llm_failed = outcome.llm_failed if fail_on_error else 0
    exit_for_errors(
        outcome.failed + llm_failed,
        outcome.done - llm_failed,
        fail_on_error=fail_on_error,
        errors_file=out / "errors.jsonl",
    )


@app.command("eval-aggregate")
def eval_aggregate(
    run_dir: Path = typer.Argument(..., help="The --out folder of an aggregate run."),
    tasks: bool = typer.Option(True, help="Print the per-task table."),
    limit: int = typer.Option(200, help="Rows of the per-task table to print."),
    as_json: bool = typer.Option(False, "--json", help="Print the evaluation as JSON."),
) -> None:
    """Print per-task results, accuracy of pass@1 / majority / summary-only / aggregators / oracle,
    rescues and harms against majority vote, accuracy as N grows, and how the verifier's scores rank
    each (correct, wrong) pair of rollouts of a task (right / tie / reverse)."""
    existing_path(run_dir)
    with user_errors():
        store = RunStore.read(run_dir)
        if store.kind != "aggregate":
            raise UsageError(f"{run_dir} holds an {store.kind} run, not an aggregate run")
        results = store.read_results(AggregateTaskResult)
    if not results:
        raise fail(f"{run_dir} has no aggregated tasks yet; run `memex-audit aggregate` first")
    if as_json:
        pairs = pairwise_by_policy(results)
        typer.echo(
            orjson.dumps(
                {
                    "run": str(run_dir),
                    "tasks": len(results),
                    "accuracy": aggregate_accuracy_frame(results).to_dicts(),
                    "scaling": aggregate_scaling_frame(results).to_dicts(),
                    "pairwise": {name: sep.model_dump() for name, sep in pairs.items()},
                    "per_task": aggregate_tasks_frame(results).to_dicts() if tasks else [],
                },
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
        return
    if tasks:
        console.print(_tasks_table(aggregate_tasks_frame(results), limit))
    console.print(
        _frame_table("Accuracy (rescues/harms against majority vote)", aggregate_accuracy_frame(results))
    )
    scaling = aggregate_scaling_frame(results)
    if scaling.height:
        console.print(_frame_table("Accuracy as N grows (mean over subsets, then tasks)", scaling))
    pairwise = pairwise_by_policy(results)
    if pairwise:
        console.print(
            _frame_table(
                "Pairwise separation (correct vs wrong rollouts of a task, by score)",
                _pairwise_frame(pairwise),
            )
        )
    errors = store.read_errors()
    if errors:
        err_console.print(f"{len(errors)} errors recorded in {run_dir / 'errors.jsonl'}", highlight=False)


def print_aggregate_run(store: RunStore, fmt: Literal["text", "json"], limit: int = 200) -> None:
    """What ``show`` prints for an aggregate run: the answer each policy returned per task, the
    accuracy of each policy, and the errors of tasks without a result."""
    results = store.read_results(AggregateTaskResult)
    done = {r.task_id for r in results}
    errors = [e for e in store.read_errors() if e.key not in done]
    if fmt == "json":
        summary = {"tasks": len(results), "accuracy": accuracy_by_policy(results)}
        echo_run_json(store, summary, "tasks", results, errors)
        return
    config = store.manifest.config
    typer.echo(
        plain(
            f"aggregate run {store.root}: {len(results)} tasks, {len(errors)} errors; model "
            f"{config.get('model') or 'offline'}, data {config.get('path')}"
        )
    )
    if results:
        console.print(_tasks_table(aggregate_tasks_frame(results), limit))
        console.print(
            _frame_table("Accuracy (rescues/harms against majority vote)", aggregate_accuracy_frame(results))
        )
    echo_errors(errors)


def _pairwise_frame(pairwise: dict[str, PairwiseSeparation]) -> pl.DataFrame:
    rows = [
        {
            "policy": name,
            "pairs": sep.pairs,
            "right": sep.right,
            "tie": sep.tie,
            "reverse": sep.reverse,
            "right share": sep.right / sep.pairs if sep.pairs else None,
        }
        for name, sep in sorted(pairwise.items())
    ]
    return pl.DataFrame(rows)


def _tasks_table(frame: pl.DataFrame, limit: int) -> Table:
    policies = [
        p for p in ("pass@1", "majority", "summary_only", "verifier", "llm", "oracle") if p in frame.columns
    ]
    short = {
        "pass@1": "p@1",
        "majority": "maj",
        "summary_only": "sum",
        "verifier": "ver",
        "llm": "llm",
        "oracle": "orc",
    }
    table = Table(
        title="Per task (1 = the returned rollout is correct; p@1 = share of correct rollouts)",
        title_justify="left",
        show_edge=False,
    )
    table.add_column("task", overflow="fold")
    table.add_column("n", justify="right")
    for p in policies:
        table.add_column(short[p], justify="right")
    table.add_column("verifier vs majority", overflow="fold")
    for row in frame.head(limit).iter_rows(named=True):
        cells = [plain(row["task_id"]), str(row["n_rollouts"])]
        for p in policies:
            value = row[p]
            cells.append("-" if value is None else f"{value:.2f}" if p == "pass@1" else f"{value:.0f}")
        maj, ver = row.get("majority_answer"), row.get("verifier_answer")
        cells.append("same" if maj == ver else f"{_cell(maj, 22)} → {_cell(ver, 22)}")
        table.add_row(*cells)
    if frame.height > limit:
        table.add_row(f"… {frame.height - limit} more", *[""] * (len(policies) + 2))
    return table


def _frame_table(title: str, frame: pl.DataFrame, limit: int | None = None) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    for column in frame.columns:
        numeric = frame.schema[column].is_numeric()
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    rows = frame.rows()
    for row in rows[:limit] if limit is not None else rows:
        table.add_row(*(_cell(v) for v in row))
    if limit is not None and len(rows) > limit:
        table.add_row(f"… {len(rows) - limit} more", *[""] * (len(frame.columns) - 1))
    return table


def _cell(value: object, width: int = 48) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    text = str(value)
    return plain(text if len(text) <= width else text[: width - 1] + "…")


def _check_same_config(out: Path, config: dict[str, object]) -> None:
    if not (out / "manifest.json").exists():
        return
    previous = RunStore.read(out).manifest.config
    for name in ("n", "model", "mode", "rel_tol", "abs_tol", "subsets", "seed"):
        if name in previous and previous[name] != config[name]:
            raise UsageError(
                f"{out} was started with {name}={previous[name]!r}, not {config[name]!r}; "
                "resume with the same options or choose another --out folder"
            )
