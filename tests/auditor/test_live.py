"""The LLM auditor against a real model (needs ANTHROPIC_API_KEY; skipped without it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from memex_audit.auditor import AuditReport, AuditRunner
from memex_audit.llm import AnthropicClient, allow_model_requests
from memex_audit.loaders import load
from memex_audit.runs import RunStore
from memex_audit.taxonomy import load_taxonomy

SAMPLE = Path(__file__).resolve().parents[2] / "sample_trajectories" / "officeqa" / "officeqa-001.jsonl"


@pytest.mark.live
def test_llm_auditor_labels_a_sample_with_checked_evidence(tmp_path: Path) -> None:
    if not SAMPLE.exists():
        pytest.skip("sample_trajectories/ has not been generated")
    allow_model_requests(True)
    try:
        trajectories = load(SAMPLE).trajectories
        failed = [t for t in trajectories if t.failed][:1]
        siblings = [t for t in trajectories if not t.failed]
        store = RunStore.open(tmp_path / "run", kind="audit")
        outcome = AuditRunner(
            load_taxonomy("memex"), model=AnthropicClient(), max_turns=10, max_cost_usd=0.5
        ).run_sync(failed + siblings, store)
    finally:
        allow_model_requests(False)
    assert outcome.audited == 1, store.read_errors()
    (report,) = store.read_results(AuditReport)
    assert report.producer.kind == "llm" and report.producer.turns >= 1
    assert report.evidence
    for item in report.evidence:
        assert failed[0].steps[item.step].contains(item.quote)
