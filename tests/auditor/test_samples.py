"""The offline audit on the project's sample data: every failed rollout gets a report, and every
piece of evidence is really at the step it cites."""

from __future__ import annotations

from pathlib import Path

import pytest

from memex_audit.analysis._audit_agreement import audit_agreement, labels_from_trajectories
from memex_audit.auditor import AuditReport, AuditRunner
from memex_audit.loaders import load
from memex_audit.runs import RunStore
from memex_audit.taxonomy import load_taxonomy
from tests.paths import committed

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parents[2] / "sample_trajectories"


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory):
    loaded = load(committed(SAMPLES))
    store = RunStore.open(tmp_path_factory.mktemp("audit") / "run", kind="audit")
    AuditRunner(load_taxonomy("memex"), concurrency=4).run_sync(loaded.trajectories, store)
    return loaded.trajectories, store.read_results(AuditReport), store.read_errors()


def test_every_failed_sample_is_audited(audited) -> None:
    trajectories, reports, errors = audited
    assert errors == []
    failed = {t.id for t in trajectories if t.failed}
    assert {r.trajectory.id for r in reports} == failed


def test_every_label_evidence_exists_in_its_trajectory(audited) -> None:
    trajectories, reports, _ = audited
    by_id = {t.id: t for t in trajectories}
    cited = 0
    for report in reports:
        target = by_id[report.trajectory.id]
        assert (
            report.trajectory.file is not None
            and Path(report.trajectory.file).name == Path(target.source.file).name
        )  # type: ignore[union-attr]
        if report.primary != "unclassified":
            assert report.evidence, report
        for item in report.evidence:
            assert target.steps[item.step].contains(item.quote), (report.trajectory.id, item)
            cited += 1
    assert cited > len(reports) // 2


def test_offline_labels_agree_with_the_planted_failures(audited) -> None:
    trajectories, reports, _ = audited
    agreement = audit_agreement(
        reports, labels_from_trajectories(trajectories, "memex"), labels_from="samples"
    )
    assert agreement.categories is not None
    assert agreement.categories.accuracy >= 0.6
    assert agreement.categories.cohen_kappa >= 0.4
