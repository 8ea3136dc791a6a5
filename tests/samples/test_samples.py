"""The committed sample rollouts: regenerable byte for byte, loadable, and honest about their labels."""

from __future__ import annotations

import filecmp
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from memex_audit.loaders import load, registered_formats
from memex_audit.samples import DEFAULT_SEED, SampleSet, build_samples, check_samples, write_samples
from memex_audit.samples._questions import Question
from memex_audit.samples._tables import SPEC_BY_CODE, month_label
from memex_audit.trajectory import Step, Trajectory, group_by_task

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_trajectories"
CHECK_ARGS = ("samples", "generate", "--out", str(SAMPLES), "--check")
CATEGORIES = {"source_selection", "interpretation", "search_strategy", "execution"}


@pytest.fixture(scope="module")
def samples() -> SampleSet:
    return build_samples(DEFAULT_SEED)


@pytest.fixture(scope="module")
def committed() -> list[Trajectory]:
    result = load(SAMPLES, glob="*.jsonl")
    assert result.errors == []
    return result.trajectories


@pytest.fixture(scope="module")
def questions(samples: SampleSet) -> dict[str, Question]:
    return {q.task_id: q for study in samples.studies for q in study.questions}


def _files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith(".")
    }


@pytest.mark.slow
def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    write_samples(tmp_path)
    assert _files(tmp_path) == _files(SAMPLES)
    differing = [
        rel
        for rel in sorted(_files(tmp_path))
        if not filecmp.cmp(tmp_path / rel, SAMPLES / rel, shallow=False)
    ]
    assert differing == []


@pytest.mark.slow
def test_check_reports_a_changed_and_an_extra_file(tmp_path: Path) -> None:
    write_samples(tmp_path)
    first = tmp_path / "officeqa" / "officeqa-001.jsonl"
    first.write_bytes(first.read_bytes().replace(b"qwen-3.6-27b", b"qwen-3.6-28b", 1))
    (tmp_path / "officeqa" / "stray.jsonl").write_text("{}\n")
    assert check_samples(tmp_path) == [
        "unexpected: officeqa/stray.jsonl",
        "differs: officeqa/officeqa-001.jsonl",
    ]


def test_cli_check_passes_under_another_hash_seed() -> None:
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.run(
        [sys.executable, "-c", "from memex_audit.cli import main; main()", *CHECK_ARGS],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_cli_refuses_a_corpus_dump_inside_the_sample_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from memex_audit.cli import app

    runner = CliRunner()
    inside = runner.invoke(
        app, ["samples", "generate", "--out", str(tmp_path), "--corpus-out", str(tmp_path / "corpus")]
    )
    assert inside.exit_code == 2
    dumped = runner.invoke(
        app, ["samples", "generate", "--out", str(tmp_path / "s"), "--corpus-out", str(tmp_path / "c")]
    )
    assert dumped.exit_code == 0, dumped.output
    texts = sorted((tmp_path / "c" / "officeqa").glob("TB-*.txt"))
    assert len(texts) == 13
    assert "Table FFO-1. Summary of Fiscal Operations" in texts[0].read_text()
    assert not list((tmp_path / "s").rglob("*.txt"))


def test_studies_shapes(committed: list[Trajectory]) -> None:
    by_study: dict[str, list[Trajectory]] = {}
    for t in committed:
        by_study.setdefault(str(t.metadata["study"]), []).append(t)
    assert set(by_study) == {"officeqa", "best_of_n"}
    oqa_groups = group_by_task(by_study["officeqa"])
    assert len(oqa_groups) >= 30
    for g in oqa_groups:
        assert re.fullmatch(r"officeqa-\d{3}", g.task_id)
        assert Counter(t.harness for t in g) == {"memex": 3, "tool_calling": 3}
    bon_groups = group_by_task(by_study["best_of_n"])
    assert len(bon_groups) >= 20
    assert all(len(g) == 8 and re.fullmatch(r"bon-\d{3}", g.task_id) for g in bon_groups)
    for t in committed:
        assert (
            t.source is not None
            and t.source.file is not None
            and t.source.file.endswith(f"{t.task_id}.jsonl")
        )
        assert t.model == "qwen-3.6-27b"
        assert isinstance(t.ground_truth, str)
        assert t.outcome.correct is not None
        assert [s.index for s in t.steps] == list(range(len(t.steps)))


def test_correct_rollouts_answer_the_ground_truth(committed: list[Trajectory]) -> None:
    for t in committed:
        assert t.outcome.correct == (t.final_answer == t.ground_truth), t.id
        if t.outcome.correct:
            assert t.labels == [], t.id


def _expected(kind: str, v: list[int | float]) -> str:
    if kind == "pct_change":
        return f"{(v[1] - v[0]) / v[0] * 100:.1f}%"
    if kind == "quarter_total":
        return f"{sum(v) / 1000:,.1f}"
    if kind == "cumulative":
        return f"{sum(v):,}"
    if kind == "difference":
        return f"{v[0] - v[1]:,}"
    if kind == "share":
        return f"{v[0] / v[1] * 100:.1f}%"
    assert kind == "combined_millions"
    return f"{(v[0] + v[1]) * 1000:,.0f}"


def test_ground_truth_follows_from_the_corpus(samples: SampleSet, questions: dict[str, Question]) -> None:
    """Recomputed here from the corpus's final figures, independently of the generator's formulas."""
    corpus = samples.officeqa.corpus
    for q in questions.values():
        values = [corpus.true_value(n.metric.table, n.month, n.metric.column) for n in q.needs]
        assert q.ground_truth == _expected(q.kind, values), q.task_id


def _code(step: Step) -> str:
    """The code a step ran: a MemEx code block, or a python_exec call's code."""
    parts = [step.code or ""] + [str(c.arguments.get("code", "")) for c in step.tool_calls]
    return "\n".join(parts)


def _reads(step: Step) -> list[tuple[str, str]]:
    found = re.findall(r"read_table\('([^']+)', '([^']+)'\)", step.code or "")
    found += [
        (str(c.arguments["doc_id"]), str(c.arguments["table"]))
        for c in step.tool_calls
        if c.name == "read_table"
    ]
    return found


def test_every_failure_has_one_label_with_evidence_at_its_faulty_step(committed: list[Trajectory]) -> None:
    failed = [t for t in committed if t.failed]
    assert failed
    for t in failed:
        assert len(t.labels) == 1, t.id
        label = t.labels[0]
        assert label.taxonomy == "memex" and label.category in CATEGORIES
        assert label.annotator == "synthetic-generator"
        assert label.faulty_step is not None and 0 <= label.faulty_step < len(t.steps)
        assert t.steps[label.faulty_step].role == "assistant"
        evidence = label.metadata["evidence"]
        assert isinstance(evidence, list) and evidence
        steps_cited = set()
        for item in evidence:
            assert isinstance(item, dict)
            step, quote = item["step"], item["quote"]
            assert isinstance(step, int) and isinstance(quote, str) and quote
            assert t.steps[step].contains(quote), (t.id, step, quote)
            steps_cited.add(step)
        assert label.faulty_step in steps_cited, t.id


def test_planted_evidence_matches_the_mode(
    committed: list[Trajectory], samples: SampleSet, questions: dict[str, Question]
) -> None:
    seen: Counter[str] = Counter()
    for t in committed:
        if not t.failed:
            continue
        label = t.labels[0]
        mode = str(label.metadata["mode"])
        seen[mode] += 1
        q = questions[t.task_id]
        corpus = samples.officeqa.corpus if t.metadata["study"] == "officeqa" else samples.best_of_n.corpus
        assert label.faulty_step is not None
        step = t.steps[label.faulty_step]
        earlier = "\n".join((s.output or "") for s in t.steps[: label.faulty_step])
        if mode in (
            "wrong_bulletin",
            "wrong_table",
            "preliminary_value",
            "duplicated_table",
            "corrupted_table",
        ):
            quotes = {str(e["quote"]) for e in label.metadata["evidence"] if isinstance(e, dict)}
            doc_id, code = next(r for r in _reads(step) if r[0] in quotes or r[1] in quotes)
            table = corpus.table(doc_id, code)
            result = step
            if t.harness == "tool_calling":
                call = next(c for c in step.tool_calls if c.arguments.get("table") == code)
                result = next(s for s in t.steps if s.tool_call_id == call.id)
            assert result.output is not None and f"Table {code}." in result.output
            needed = [n.month for n in q.needs]
            if mode == "wrong_bulletin":
                # the issue prints the needed month a year earlier, not the needed month itself
                assert code == q.table, t.id
                assert any(m not in table.months and (m[0] - 1, m[1]) in table.months for m in needed), t.id
            elif mode == "wrong_table":
                assert SPEC_BY_CODE[code].lookalike_of == q.table, t.id
            elif mode == "preliminary_value":
                prelim = [m for m in needed if (r := table.row(m)) is not None and r.marker == "p"]
                assert prelim, t.id
                assert re.search(rf"{month_label(prelim[0]).split()[0]} p\s", result.output), t.id
            elif mode == "duplicated_table":
                assert table.defect is not None and table.defect.kind == "duplicated"
                older = corpus.table(table.defect.copied_from or "", code)
                first_row = "".join(table.spec.fmt(v).rjust(14) for v in older.rows[0].values)
                assert first_row in result.output, t.id
            else:
                assert table.defect is not None and table.defect.kind == "misprint"
                assert table.spec.fmt(table.defect.printed or 0) in result.output, t.id
        elif mode == "wrong_column":
            code_text = _code(step)
            wrong = [
                n
                for n in q.needs
                if n.metric.confusable.sub in code_text or n.metric.confusable.group in code_text
            ]
            assert wrong or t.harness == "tool_calling", t.id
            assert "=" in code_text
        elif mode == "misread_units":
            assert q.converts_units and "1000" not in _code(step), t.id
        elif mode == "stopped_early":
            bound = re.findall(r"^(\w+) = ", _code(step), flags=re.M)
            assert len([b for b in bound if b in {n.var for n in q.needs}]) < len(q.needs), t.id
        elif mode == "wandered":
            assert q.ground_truth in earlier and _reads(step), t.id
        elif mode == "retyped_number":
            typed = re.findall(r"= (\d+(?:\.\d+)?)\b", _code(step))
            shown = {x.replace(",", "") for x in re.findall(r"\d[\d,]*(?:\.\d+)?", earlier)}
            assert any(x not in shown for x in typed), t.id
        elif mode == "rounding":
            assert "round(" in _code(step), t.id
        elif mode == "answer_format":
            assert t.final_answer != q.ground_truth
            assert re.sub(r"[^\d.\-]", "", t.final_answer or "") == re.sub(r"[^\d.\-]", "", q.ground_truth), (
                t.id
            )
        else:
            pytest.fail(f"unknown mode {mode}")
    assert {"wrong_bulletin", "wrong_table", "preliminary_value", "wrong_column", "wandered"} <= set(seen)
    assert {"duplicated_table", "corrupted_table", "retyped_number"} <= set(seen)


def test_officeqa_failure_mix_is_realistic(committed: list[Trajectory]) -> None:
    oqa = [t for t in committed if t.metadata["study"] == "officeqa"]
    rate = sum(t.failed for t in oqa) / len(oqa)
    assert 0.40 <= rate <= 0.55
    fail = {h: sum(t.failed for t in oqa if t.harness == h) for h in ("memex", "tool_calling")}
    assert fail["tool_calling"] > fail["memex"]
    categories = Counter(t.labels[0].category for t in oqa if t.failed)
    assert set(categories) == CATEGORIES
    grounding = categories["source_selection"] + categories["interpretation"]
    assert grounding > 0.6 * sum(categories.values())
    process = {
        h: sum(
            1
            for t in oqa
            if t.failed and t.harness == h and t.labels[0].category in ("search_strategy", "execution")
        )
        for h in fail
    }
    assert process["tool_calling"] > process["memex"]


def test_best_of_n_has_majority_wrong_and_majority_right_tasks(committed: list[Trajectory]) -> None:
    groups = group_by_task(t for t in committed if t.metadata["study"] == "best_of_n")
    wrong_by_defect = right = 0
    for g in groups:
        votes = Counter(t.final_answer for t in g)
        majority, count = votes.most_common(1)[0]
        if majority == g.ground_truth:
            right += 1
            continue
        readers = [
            t
            for t in g
            if t.failed and t.labels[0].metadata["mode"] in ("duplicated_table", "corrupted_table")
        ]
        if len(readers) == count and all(t.final_answer == majority for t in readers):
            wrong_by_defect += 1
            # the rollouts that got it right say what is wrong with the table, from its raw output
            assert any(
                t.success
                and any("add up" in (s.text or "") or "duplicated" in (s.text or "") for s in t.steps)
                for t in g
            ), g.task_id
    assert wrong_by_defect >= 3
    assert right >= 10


def test_usage_latency_and_timestamps_are_filled(committed: list[Trajectory]) -> None:
    for t in committed:
        total_in = total_out = 0
        previous = None
        for s in t.steps:
            if s.role == "assistant":
                assert s.usage is not None and s.usage.output_tokens > 0 and s.usage.cost_usd is not None
                assert s.duration_s is not None and s.duration_s > 0
                total_in += s.usage.input_tokens
                total_out += s.usage.output_tokens
            assert s.started_at is not None
            if previous is not None:
                assert s.started_at >= previous
            previous = s.started_at
        assert (t.usage.input_tokens, t.usage.output_tokens) == (total_in, total_out)
        assert t.usage.cost_usd is not None and 0 < t.usage.cost_usd < 0.05


def test_labels_are_not_leaked_into_what_an_auditor_sees(committed: list[Trajectory]) -> None:
    for t in committed:
        seen = t.without_labels().model_dump_json()
        assert "synthetic-generator" not in seen
        assert '"mode"' not in seen
        for word in ("preliminary_value", "wrong_bulletin", "retyped_number", "source_selection"):
            assert word not in seen, (t.id, word)


def test_mixed_format_copies(committed: list[Trajectory]) -> None:
    files = sorted((SAMPLES / "mixed_formats").rglob("*.json"))
    assert len(files) >= 6
    native = {t.id: t for t in committed}
    for path in files:
        record = orjson.loads(path.read_bytes())
        assert record["metadata"]["copy_of"] in native
        assert record["messages"]
        original = native[record["metadata"]["copy_of"]]
        assert record["final_answer"] == original.final_answer and record["task_id"] == original.task_id
    if not {"openai_chat", "anthropic"} <= set(registered_formats()):
        pytest.skip("the OpenAI chat / Anthropic adapters are not registered")
    result = load(SAMPLES / "mixed_formats")
    assert result.errors == []
    assert len(result.trajectories) == len(files)


def test_a_failed_generator_check_is_a_memex_audit_error() -> None:
    from memex_audit.errors import MemexAuditError
    from memex_audit.samples import GenerationError

    assert issubclass(GenerationError, MemexAuditError)  # `except MemexAuditError` catches it
