from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from memex_audit.aggregator import AggregateTaskResult
from memex_audit.cli import app
from memex_audit.loaders import write_jsonl
from memex_audit.runs import RunStore

from .conftest import qa_rollout

runner = CliRunner()


def _write_rollouts(path: Path) -> None:
    table = "Receipts | 3,501 | 2,200 | 1,301 | 900"
    rollouts = []
    for task in ("a", "b", "c"):
        for i, answer in enumerate(["3,501", "3501", "3531", "3,501"]):
            rollouts.append(
                qa_rollout(
                    f"{task}{i}",
                    answer,
                    [("print(get('receipts'))", table)],
                    correct=answer != "3531",
                    task_id=task,
                )
            )
    write_jsonl(rollouts, path)


def _result_lines(run: Path) -> list[dict]:
    return [orjson.loads(line) for line in (run / "results.jsonl").read_bytes().splitlines() if line.strip()]


def test_aggregate_then_eval_prints_the_table(tmp_path: Path) -> None:
    data = tmp_path / "rollouts.jsonl"
    _write_rollouts(data)
    run = tmp_path / "run"
    result = runner.invoke(app, ["aggregate", str(data), "--out", str(run), "--subsets", "4"])
    assert result.exit_code == 0, result.output
    assert "3 tasks aggregated" in result.output
    shown = runner.invoke(app, ["eval-aggregate", str(run)])
    assert shown.exit_code == 0, shown.output
    for name in ("pass@1", "majority", "summary_only", "verifier", "oracle", "rescues", "harms"):
        assert name in shown.output
    assert "Accuracy as N grows" in shown.output
    assert (run / "aggregate_accuracy.parquet").exists()
    # the verifier's scores rank each task's (correct, wrong) pairs: 3 tasks x 3 correct x 1 wrong
    assert "Pairwise separation" in shown.output
    pairwise = shown.output.split("Pairwise separation")[1]
    line = next(row for row in pairwise.splitlines() if row.strip().startswith("verifier"))
    cells = [c.strip() for c in line.split("│")]
    assert cells[1:5] == ["9", "9", "0", "0"]


def test_rerun_resumes_without_duplicates(tmp_path: Path) -> None:
    data = tmp_path / "rollouts.jsonl"
    _write_rollouts(data)
    run = tmp_path / "run"
    args = ["aggregate", str(data), "--out", str(run), "--no-scaling"]
    assert runner.invoke(app, args).exit_code == 0
    assert len(_result_lines(run)) == 3
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "0 tasks aggregated, 3 already done" in again.output
    assert len(_result_lines(run)) == 3
    # a run killed mid-write leaves a torn last line: that task is redone, the others are not
    raw = (run / "results.jsonl").read_bytes()
    (run / "results.jsonl").write_bytes(raw[: len(raw) - 40])
    resumed = runner.invoke(app, args)
    assert "1 tasks aggregated, 2 already done" in resumed.output
    results = RunStore.read(run).read_results(AggregateTaskResult)
    assert sorted(r.task_id for r in results) == ["a", "b", "c"]


def test_resuming_with_other_options_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "rollouts.jsonl"
    _write_rollouts(data)
    run = tmp_path / "run"
    assert runner.invoke(app, ["aggregate", str(data), "--out", str(run), "--no-scaling"]).exit_code == 0
    other = runner.invoke(app, ["aggregate", str(data), "--out", str(run), "--no-scaling", "--n", "2"])
    assert other.exit_code == 2
    assert "resume with the same options" in other.output


def test_model_without_key_is_a_usage_error(tmp_path: Path) -> None:
    data = tmp_path / "rollouts.jsonl"
    _write_rollouts(data)
    result = runner.invoke(app, ["aggregate", str(data), "--out", str(tmp_path / "r"), "--model", "claude-x"])
    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in result.output


@pytest.mark.slow
def test_a_failed_llm_aggregation_keeps_the_offline_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    data = tmp_path / "rollouts.jsonl"
    _write_rollouts(data)
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    run = tmp_path / "run"
    args = [
        "aggregate",
        str(data),
        "--out",
        str(run),
        "--no-scaling",
        "--model",
        "anthropic:claude-sonnet-4-6",
    ]
    result = runner.invoke(app, [*args, "--cache", str(cache)])
    assert result.exit_code == 0, result.output
    assert "LLM aggregator failed on" in result.output
    from memex_audit.aggregator import AggregateTaskResult
    from memex_audit.runs import RunStore

    store = RunStore.read(run)
    results = store.read_results(AggregateTaskResult)
    assert results and all("majority" in r.aggregations and "verifier" in r.aggregations for r in results)
    assert all(r.aggregations["llm"].error for r in results)
    assert {e.key for e in store.read_errors()} == {r.task_id for r in results}
    strict = runner.invoke(
        app, [*args, "--cache", str(cache), "--fail-on-error", "--out", str(tmp_path / "b")]
    )
    assert strict.exit_code == 1
