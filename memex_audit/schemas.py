"""JSON Schemas of every persisted model, generated from the models into ``schemas/``.

Each part of memex_audit lists its persisted models in ``PERSISTED_MODELS`` (file stem →
``"module:Class"``); ``memex-audit schema`` writes them and a test fails when the committed files
drift from the models. The files are generated: never edit them by hand.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

PERSISTED_MODELS: dict[str, str] = {
    "trajectory": "memex_audit.trajectory:Trajectory",
    "task_group": "memex_audit.trajectory:TaskGroup",
    "load_problem": "memex_audit.loaders:LoadProblem",
    "run_manifest": "memex_audit.runs:RunManifest",
    "run_failure": "memex_audit.runs:RunFailure",
    "result_line": "memex_audit.runs:ResultLine",
    "failure_line": "memex_audit.runs:FailureLine",
    "aggregation": "memex_audit.aggregator:Aggregation",
    "aggregate_task_result": "memex_audit.aggregator:AggregateTaskResult",
    "taxonomy": "memex_audit.taxonomy:Taxonomy",
    "audit_report": "memex_audit.auditor:AuditReport",
    "audit_verdict": "memex_audit.auditor:AuditVerdict",
    "ask_result": "memex_audit.ask:AskResult",
    "audit_summary": "memex_audit.analysis:RunAuditSummary",
    "audit_agreement": "memex_audit.analysis:AuditAgreement",
    "skill": "memex_audit.agent:Skill",
}


def _resolve(spec: str) -> type[BaseModel]:
    module, _, name = spec.partition(":")
    model = getattr(importlib.import_module(module), name)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{spec} is not a pydantic model")
    return model


def generate_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of each persisted model, keyed by file stem."""
    return {
        stem: _resolve(spec).model_json_schema(mode="validation") for stem, spec in PERSISTED_MODELS.items()
    }


def render_schema(schema: dict[str, Any]) -> bytes:
    """A schema as the committed file holds it: sorted keys, two-space indent, trailing newline."""
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_schemas(directory: str | Path) -> list[Path]:
    """Write ``<stem>.schema.json`` for every persisted model; returns the files written."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, schema in generate_schemas().items():
        path = out / f"{stem}.schema.json"
        path.write_bytes(render_schema(schema))
        written.append(path)
    return written


def stale_schemas(directory: str | Path) -> list[str]:
    """Names of the schema files in ``directory`` that are missing or differ from the models."""
    out = Path(directory)
    stale = []
    for stem, schema in generate_schemas().items():
        path = out / f"{stem}.schema.json"
        if not path.exists() or path.read_bytes() != render_schema(schema):
            stale.append(path.name)
    return stale
