"""An audit run as the app reads it: the table at once, the full reports only when one is opened.

Validating 100k reports takes seconds, and the pages mostly need the table. ``audit run``
exports that table as ``audit.parquet`` when it finishes; when the export is at least as new as
``results.jsonl`` it is read instead (milliseconds), and the reports of one trajectory are read from
``results.jsonl`` when the viewer opens it: lines are screened for the id as bytes, and only those
are parsed and validated. Otherwise (a run in progress, an older run) every report is read up front.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import polars as pl

from memex_audit.analysis import audit_frame
from memex_audit.auditor import AuditReport
from memex_audit.runs import RunStore

_EXPORT = "audit.parquet"
_RESULTS = "results.jsonl"


@dataclass
class AuditResults:
    """One audit run's results.

    Attributes:
        frame: ``audit_frame`` of the run's reports.
        from_export: Whether ``frame`` was read from the run's Parquet export.
    """

    root: Path
    frame: pl.DataFrame
    from_export: bool
    _by_id: dict[str, list[AuditReport]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reports_for(self, trajectory_id: str) -> list[AuditReport]:
        """The reports on one trajectory (one per result key; the last written wins)."""
        with self._lock:
            if trajectory_id not in self._by_id and self.from_export:
                self._by_id[trajectory_id] = _scan(self.root / _RESULTS, trajectory_id)
            return self._by_id.get(trajectory_id, [])

    def explanations(self) -> pl.DataFrame:
        """``trajectory_id, explanation, quotes`` for every report (the last written per key), read
        from ``results.jsonl`` without validating the reports (for exports)."""
        rows: dict[str, tuple[str, str, str]] = {}
        try:
            fh = (self.root / _RESULTS).open("rb")
        except OSError:
            fh = None
        if fh is not None:
            with fh:
                for raw in fh:
                    try:
                        line = orjson.loads(raw)
                        record = line["record"]
                        quotes = " | ".join(
                            f"step {e['step']}: {e['quote']}" for e in record.get("evidence", [])
                        )
                        rows[line["key"]] = (
                            record["trajectory"]["id"],
                            str(record.get("explanation", "")),
                            quotes,
                        )
                    except (orjson.JSONDecodeError, KeyError, TypeError):
                        continue
        return pl.DataFrame(
            list(rows.values()),
            schema={"trajectory_id": pl.String, "explanation": pl.String, "quotes": pl.String},
            orient="row",
        )


def _scan(path: Path, trajectory_id: str) -> list[AuditReport]:
    needle = orjson.dumps(trajectory_id)
    by_key: dict[str, AuditReport] = {}
    try:
        fh = path.open("rb")
    except OSError:
        return []
    with fh:
        for raw in fh:
            if needle not in raw:
                continue
            try:
                line = orjson.loads(raw)
                record = line["record"]
                if record["trajectory"]["id"] != trajectory_id:
                    continue
                report = AuditReport.model_validate(record)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue  # a torn or foreign line: read_results would skip or reject it too
            by_key.pop(line["key"], None)
            by_key[line["key"]] = report
    return list(by_key.values())


def _fresh_export(root: Path) -> pl.DataFrame | None:
    export, results = root / _EXPORT, root / _RESULTS
    try:
        if not export.exists() or (
            results.exists() and export.stat().st_mtime_ns < results.stat().st_mtime_ns
        ):
            return None
        frame = pl.read_parquet(export)
    except (OSError, pl.exceptions.PolarsError):
        return None
    schema = audit_frame([]).schema
    if not set(schema.names()) <= set(frame.columns):
        return None
    try:
        return frame.select(schema.names()).cast(dict(schema))  # type: ignore[arg-type]
    except pl.exceptions.PolarsError:
        return None


def read_audit_results(store: RunStore) -> AuditResults:
    """The run's table (from its fresh Parquet export when there is one) and access to its reports.

    Raises:
        ResultsError: ``results.jsonl`` holds a line that is not an audit report.
    """
    frame = _fresh_export(store.root)
    if frame is not None:
        return AuditResults(store.root, frame, from_export=True)
    reports = store.read_results(AuditReport)
    results = AuditResults(store.root, audit_frame(reports), from_export=False)
    for report in reports:
        results._by_id.setdefault(report.trajectory.id, []).append(report)
    return results
