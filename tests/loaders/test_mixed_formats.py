"""A folder of mixed formats: each file read by its own adapter, and converted to native JSONL losslessly."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from memex_audit.cli import app
from memex_audit.loaders import load, registered_formats
from tests.loaders.test_anthropic import anthropic_record
from tests.loaders.test_docent import docent_run
from tests.loaders.test_inspect import inspect_header, inspect_sample
from tests.loaders.test_openai_chat import openai_messages, openai_record
from tests.loaders.test_otel import otlp_export
from tests.loaders.test_scout import scout_rows

runner = CliRunner()

EXPECTED_FORMATS = {
    "openai.json": "openai_chat",
    "openai.jsonl": "openai_chat",
    "anthropic.jsonl": "anthropic",
    "budget.eval": "inspect",
    "inspect.json": "inspect",
    "trace.json": "otel",
    "run.json": "docent",
    "transcripts.parquet": "scout",
}


def make_mixed_folder(root: Path) -> Path:
    """One small file per format, in nested folders, plus a file that is not trajectory data."""
    (root / "chat").mkdir(parents=True)
    (root / "chat" / "openai.json").write_bytes(orjson.dumps(openai_messages()))
    (root / "chat" / "openai.jsonl").write_bytes(
        b"\n".join(
            orjson.dumps(openai_record(id=f"o{i}", task_id="budget-1944", correct=i == 0)) for i in range(2)
        )
    )
    (root / "chat" / "anthropic.jsonl").write_bytes(orjson.dumps(anthropic_record()) + b"\n")
    (root / "evals").mkdir()
    with zipfile.ZipFile(root / "evals" / "budget.eval", "w") as archive:
        archive.writestr("header.json", orjson.dumps(inspect_header()))
        archive.writestr("samples/1_epoch_1.json", orjson.dumps(inspect_sample(1, "C")))
    (root / "evals" / "inspect.json").write_bytes(
        orjson.dumps({**inspect_header(), "samples": [inspect_sample(2, "I")]})
    )
    (root / "traces").mkdir()
    (root / "traces" / "trace.json").write_bytes(orjson.dumps(otlp_export()))
    (root / "docent").mkdir()
    (root / "docent" / "run.json").write_bytes(orjson.dumps(docent_run()))
    pq.write_table(pa.Table.from_pylist(scout_rows()[:2]), root / "transcripts.parquet")
    (root / "notes.txt").write_text("not trajectories")
    return root


def test_each_file_is_read_by_its_own_format_with_no_ties(tmp_path: Path) -> None:
    folder = make_mixed_folder(tmp_path / "mixed")
    sniffed = {}
    for path in folder.rglob("*"):
        if path.name not in EXPECTED_FORMATS:
            continue
        head = path.read_bytes()[:65536]
        scores = {name: adapter.sniff(path, head) for name, adapter in registered_formats().items()}
        best = max(scores.values())
        winners = [name for name, score in scores.items() if score == best]
        assert winners == [EXPECTED_FORMATS[path.name]], (path.name, scores)
        sniffed[path.name] = winners[0]
    assert sniffed == EXPECTED_FORMATS  # every expected file was made and sniffed


def test_convert_of_a_mixed_folder_writes_native_jsonl_that_loads_back_equal(tmp_path: Path) -> None:
    folder = make_mixed_folder(tmp_path / "mixed")
    loaded = load(folder)
    assert loaded.errors == []
    assert {Path(f).name: fmt for f, fmt in loaded.files.items()} == EXPECTED_FORMATS
    out = tmp_path / "native.jsonl"
    result = runner.invoke(app, ["convert", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {len(loaded)} trajectories" in result.output
    back = load(out)
    assert back.errors == []
    assert [t.model_dump() for t in back.trajectories] == [t.model_dump() for t in loaded.trajectories]
    # The converted records still point at the files they came from.
    assert {t.source.format for t in back.trajectories if t.source} == set(EXPECTED_FORMATS.values())


def test_info_on_the_shared_data_reads_every_file_without_errors(shared_data: Path) -> None:
    result = runner.invoke(app, ["info", str(shared_data), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["errors"] == []
    assert payload["counts"]["format"] == {"tau2": 410, "who_and_when": 55, "tau_bench": 12, "swe_agent": 132}
    assert payload["trajectories"] == 609
    # People's failure analyses (failure_reports/*.md) are notes, not rollouts.
    skipped = {Path(p).name for p in payload["skipped"] if Path(p).parent.name != "failure_reports"}
    assert skipped == {
        "README.md",
        "LICENSE",
        "LICENSE.md",
        "SOURCES.tsv",
        "report.json",
        "results_summary.json",
    }


@pytest.mark.slow
def test_the_shared_data_converts_to_native_and_back_unchanged(shared_data: Path, tmp_path: Path) -> None:
    start = time.perf_counter()
    loaded = load(shared_data)
    assert time.perf_counter() - start < 30
    out = tmp_path / "shared.jsonl"
    result = runner.invoke(app, ["convert", str(shared_data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    back = load(out)
    assert back.errors == [] and len(back) == len(loaded) == 609
    for original, converted in zip(loaded.trajectories, back.trajectories, strict=True):
        assert converted == original, original.id


SHARED_FORMATS = {
    "tau2_bench": "tau2",
    "tau_bench": "tau_bench",
    "who_and_when": "who_and_when",
    "mini_swe_agent": "swe_agent",
}


def test_no_format_ties_with_another_on_the_shared_data(shared_data: Path) -> None:
    adapters = registered_formats()
    seen: set[str] = set()
    for path in sorted(shared_data.rglob("*.json")):
        if path.name in ("report.json", "results_summary.json"):
            continue
        head = path.read_bytes()[:65536]
        scores = {name: adapter.sniff(path, head) for name, adapter in adapters.items()}
        best = max(scores.values())
        winners = [name for name, score in scores.items() if score == best]
        folder = path.relative_to(shared_data).parts[0]
        assert winners == [SHARED_FORMATS[folder]], (path, scores)
        seen.add(folder)
    assert seen == set(SHARED_FORMATS)  # a file of every format was checked
