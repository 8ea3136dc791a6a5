"""``memex-audit check``: run typed Python checks of your own over every trajectory, offline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import orjson
import typer
from rich.table import Table

import memex_audit
from memex_audit.checks import (
    CheckProgress,
    CheckReport,
    CheckSummary,
    check_files,
    checks_digest,
    findings_frame,
    load_checks,
    read_check_reports,
    run_checks,
    summarize_checks,
)
from memex_audit.cli._app import app, clean, console, file_progress, user_errors
from memex_audit.cli._info import input_path
from memex_audit.cli._options import FormatOption, GlobOption, RunFolderOption
from memex_audit.cli._runs import (
    echo_errors,
    echo_run_json,
    exit_for_errors,
    nothing_loaded,
    record_load_errors,
    resumable,
)
from memex_audit.errors import UsageError
from memex_audit.loaders import load
from memex_audit.runs import RunStore

SHIPPED_CHECKS = Path(memex_audit.__file__).resolve().parent.parent / "checks"
"""The example checks of a repository checkout (``checks/`` beside the package)."""


def _check_paths(paths: list[Path] | None) -> list[Path]:
    if paths:
        return paths
    if SHIPPED_CHECKS.is_dir():
        return [SHIPPED_CHECKS]
    raise UsageError("pass --check FILE.py (a file of checks, or a folder of them)")


@app.command("check")
def check_command(
    path: Path = typer.Argument(
        ..., help="A rollout file, a folder (read recursively), or - for standard input."
    ),
    checks: list[Path] | None = typer.Option(
        None,
        "--check",
        "-k",
        help="A Python file of checks, or a folder of them; repeat for more (default: the shipped examples).",
    ),
    out: RunFolderOption = Path("runs/check"),
    workers: int = typer.Option(1, "--workers", "-j", min=1, help="Processes to check in."),
    glob: GlobOption = None,
    format: FormatOption = None,
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON instead of a table."),
    fail_on_error: bool = typer.Option(
        False, "--fail-on-error", help="Exit with status 1 when any trajectory could not be checked."
    ),
) -> None:
    """Run checks of your own over every trajectory: typed Python functions that return findings.

    A check is a function of a Trajectory (and optionally its TaskGroup) that returns Findings
    (label, step, quote, note), usually built on memex_audit.reading; each quote is verified
    against its step. Results go to a resumable run folder: rerunning the same checks skips what
    is done, edited checks run again. Read them with `memex-audit show RUN`.
    """
    input_path(path)
    with user_errors():
        files = check_files(_check_paths(checks))
        loaded_checks = load_checks(files)
        digest = checks_digest(files)
        load_start = time.perf_counter()
        loaded = load(path, glob=glob, format=format)
        load_s = time.perf_counter() - load_start
        if not loaded.trajectories:
            raise nothing_loaded(path, glob, loaded.errors)
        if (out / "manifest.json").exists():
            previous = RunStore.read(out).manifest.config
            if previous.kind == "check" and previous.path not in (None, str(path)):
                raise UsageError(f"{out} holds checks of {previous.path}; use another --out for {path}")
        store = RunStore.open(
            out,
            kind="check",
            config={
                "path": str(path),
                "glob": glob,
                "format": format,
                "checks": [str(f) for f in files],
                "check_names": [c.name for c in loaded_checks],
                "checks_digest": digest,
                "workers": workers,
            },
        )
        record_load_errors(store, loaded.errors)
        names = [c.name for c in loaded_checks]

        def finalize(run: RunStore) -> None:
            reports = read_check_reports(run, digest)
            run.write_json(
                "summary.json",
                summarize_checks(reports, digest=digest, checks=names, load_errors=len(loaded.errors)),
            )
            run.write_parquet("findings", findings_frame(reports))

        with file_progress("checking") as progress:
            bar = progress.task_ids[0]

            def on_progress(p: CheckProgress) -> None:
                progress.update(bar, completed=p.done, total=p.total)

            with resumable(store, "results"):
                outcome = run_checks(
                    loaded.trajectories,
                    loaded_checks,
                    store,
                    digest=digest,
                    workers=workers,
                    on_progress=on_progress,
                    finalize=finalize,
                )
        summary = CheckSummary.model_validate_json((out / "summary.json").read_bytes())
        store.close()
    if as_json:
        payload = {
            "run": str(out),
            "checks": names,
            "checked": outcome.checked,
            "skipped": outcome.skipped,
            "errors": outcome.errors,
            "load_errors": len(loaded.errors),
            "load_s": round(load_s, 3),
            "check_s": round(outcome.elapsed_s, 3),
            "trajectories_per_s": round(outcome.per_second, 1),
            "summary": summary.model_dump(mode="json"),
        }
        typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
    else:
        console.print(
            f"checked {outcome.checked} trajectories with {len(names)} checks ({outcome.skipped} already done, "
            f"{outcome.errors} errors) in {outcome.elapsed_s:.2f} s ({outcome.per_second:,.0f} trajectories/s; "
            f"loading took {load_s:.2f} s)",
            highlight=False,
        )
        _summary_table(summary)
        console.print(f"results in {out}/results.jsonl (run `memex-audit show {out}`)", highlight=False)
    exit_for_errors(
        outcome.errors, outcome.checked, fail_on_error=fail_on_error, errors_file=out / "errors.jsonl"
    )


def _summary_table(summary: CheckSummary) -> None:
    console.print(
        f"{summary.with_findings} of {summary.trajectories} trajectories have findings", highlight=False
    )
    if summary.labels:
        table = Table(show_edge=False)
        for column in ("label", "check", "trajectories", "findings", "unverified"):
            table.add_column(column, justify="left" if column in ("label", "check") else "right")
        for count in summary.labels:
            table.add_row(
                count.label,
                count.check or "",
                str(count.trajectories),
                str(count.findings),
                str(count.unverified),
            )
        console.print(table)
    for name, raised in summary.failures.items():
        console.print(
            f"[bold red]check {clean(name)} raised on {raised} trajectories[/] (see `memex-audit show`)",
            markup=True,
        )


def _report_lines(report: CheckReport) -> list[str]:
    ref = report.trajectory
    where = (ref.file or "?") + (f":{ref.line}" if ref.line else "")
    lines = [
        f"{ref.id}  task={ref.task_id}  model={ref.model}  harness={ref.harness}  {ref.outcome}  [{where}]"
    ]
    for finding in report.findings:
        at = f"step {finding.step}" if finding.step is not None else "trajectory"
        quote = f": {finding.quote!r}" if finding.quote is not None else ""
        lines.append(f"  {finding.label} ({finding.check}) at {at}{quote}")
        if finding.note:
            lines.append(f"    {finding.note}")
        if finding.verified is False:
            lines.append(f"    [evidence does not hold: {finding.problem}]")
    for failure in report.failures:
        lines.append(
            f"  check {failure.check} raised {failure.error}"
            + (f" at {failure.where}" if failure.where else "")
        )
    return lines


def print_check_run(store: RunStore, fmt: Literal["text", "json"], label: str | None = None) -> None:
    """What ``show`` prints for a check run: the findings per trajectory, and the run's errors."""
    reports = read_check_reports(store)
    config = store.manifest.config
    digest = str(config.get("checks_digest") or "")
    names = list(config.get("check_names") or [])
    errors = [e for e in store.read_errors() if e.key not in {f"{digest}:{r.trajectory.id}" for r in reports}]
    summary = summarize_checks(
        reports, digest=digest, checks=names, load_errors=sum(e.kind == "load" for e in errors)
    )
    if label is not None:
        reports = [
            r.model_copy(update={"findings": [f for f in r.findings if f.label == label]}) for r in reports
        ]
    shown = [r for r in reports if r.findings or (r.failures and label is None)]
    if fmt == "json":
        echo_run_json(store, summary, "reports", shown, errors)
        return
    typer.echo(
        f"check run {store.root}: {summary.trajectories} trajectories checked, {summary.with_findings} with "
        f"findings, {len(errors)} errors; checks {', '.join(names)}; data {config.get('path')}"
    )
    for count in summary.labels:
        typer.echo(
            f"  {count.label}: {count.trajectories} trajectories, {count.findings} findings"
            + (f" ({count.unverified} with evidence that does not hold)" if count.unverified else "")
        )
    for report in shown:
        typer.echo("")
        typer.echo("\n".join(_report_lines(report)))
    echo_errors(errors)
