"""Agreement of an audit run with human labels.

For category labels: accuracy, per-class precision/recall/F1 and Cohen's κ. For attribution labels
(who failed, where): the faulty agent's accuracy and the faulty step's, exact and within one step.
Labels come from the data (``labels_from_trajectories``) or from a CSV/JSON file of trajectory id →
label (``read_label_file``); ``split_of`` gives a stable dev/test split of the ids.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from memex_audit.analysis._coding_reference import CodingConsistency
from memex_audit.auditor import AuditReport
from memex_audit.errors import UsageError
from memex_audit.trajectory import HumanLabel, Trajectory


class ClassScore(BaseModel):
    """Precision, recall and F1 of one category, with its support in the human labels."""

    model_config = ConfigDict(extra="forbid")

    category: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


class CategoryAgreement(BaseModel):
    """How the auditor's primary categories agree with human category labels.

    Attributes:
        n: Trajectories with both a prediction and a human category.
        accuracy: Share with the same category (``unclassified`` counts as a miss).
        classified: Of the ``n``, how many the audit placed in a category.
        coverage: ``classified / n``.
        precision: Share of the classified ones with the same category as the label.
        macro_f1: Mean F1 over the categories the humans used.
        cohen_kappa: Agreement beyond chance (1 perfect, 0 chance level).
        per_class: Precision/recall/F1 per category.
        confusion: ``confusion[human][predicted]`` counts.
    """

    model_config = ConfigDict(extra="forbid")

    n: int
    accuracy: float
    classified: int = 0
    coverage: float = 0.0
    precision: float | None = None
    macro_f1: float
    cohen_kappa: float
    per_class: list[ClassScore]
    confusion: dict[str, dict[str, int]]


class AttributionAgreement(BaseModel):
    """How the auditor's faulty agent and step agree with human attribution labels.

    Attributes:
        n: Trajectories with a prediction and a human attribution.
        agent_n: Of those, how many have a human faulty agent.
        agent_accuracy: Share where the faulty agent matches (case-insensitive).
        step_n: How many have a human faulty step.
        step_accuracy: Share where the faulty step matches exactly.
        step_within_1: Share where it is off by at most one step.
    """

    model_config = ConfigDict(extra="forbid")

    n: int
    agent_n: int
    agent_accuracy: float | None
    step_n: int
    step_accuracy: float | None
    step_within_1: float | None


class AuditAgreement(BaseModel):
    """Agreement of an audit run with human labels, as ``eval-audit`` reports it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["audit_agreement"] = "audit_agreement"
    labels_from: str
    split: str = "all"
    audited: int
    labelled: int
    matched: int
    unclassified: int
    categories: CategoryAgreement | None = None
    attribution: AttributionAgreement | None = None
    attribution_findings: AttributionAgreement | None = None
    attribution_guesses: AttributionAgreement | None = None
    coding: CodingConsistency | None = None
    producers: list[str] = Field(default_factory=list)


def cohen_kappa(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Cohen's κ of two labelings of the same items (1.0 when both are constant and equal)."""
    n = len(gold)
    if n == 0:
        return 0.0
    observed = sum(g == p for g, p in zip(gold, predicted, strict=True)) / n
    g_counts, p_counts = Counter(gold), Counter(predicted)
    expected = sum(g_counts[c] * p_counts[c] for c in g_counts) / (n * n)
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def category_agreement(gold: Mapping[str, str], predicted: Mapping[str, str]) -> CategoryAgreement:
    """Agreement over the ids present in both mappings (id → category)."""
    ids = [i for i in gold if i in predicted]
    g = [gold[i] for i in ids]
    p = [predicted[i] for i in ids]
    classes = sorted(set(g))
    per_class = []
    for c in classes:
        tp = sum(1 for a, b in zip(g, p, strict=True) if a == c and b == c)
        predicted_c = sum(1 for b in p if b == c)
        support = sum(1 for a in g if a == c)
        precision = tp / predicted_c if predicted_c else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(
            ClassScore(
                category=c,
                precision=round(precision, 4),
                recall=round(recall, 4),
                f1=round(f1, 4),
                support=support,
                predicted=predicted_c,
            )
        )
    confusion: dict[str, dict[str, int]] = {}
    for a, b in zip(g, p, strict=True):
        confusion.setdefault(a, {}).setdefault(b, 0)
        confusion[a][b] += 1
    n = len(ids)
    placed = [(a, b) for a, b in zip(g, p, strict=True) if b != "unclassified"]
    return CategoryAgreement(
        n=n,
        accuracy=round(sum(a == b for a, b in zip(g, p, strict=True)) / n, 4) if n else 0.0,
        classified=len(placed),
        coverage=round(len(placed) / n, 4) if n else 0.0,
        precision=round(sum(a == b for a, b in placed) / len(placed), 4) if placed else None,
        macro_f1=round(sum(s.f1 for s in per_class) / len(per_class), 4) if per_class else 0.0,
        cohen_kappa=round(cohen_kappa(g, p), 4),
        per_class=per_class,
        confusion=confusion,
    )


def _same_agent(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


def attribution_agreement(
    gold: Mapping[str, HumanLabel], predicted: Mapping[str, AuditReport]
) -> AttributionAgreement:
    """Faulty agent and step agreement over the ids present in both mappings."""
    ids = [i for i in gold if i in predicted]
    agents = [
        (gold[i].faulty_agent, predicted[i].faulty_agent) for i in ids if gold[i].faulty_agent is not None
    ]
    steps = [(gold[i].faulty_step, predicted[i].faulty_step) for i in ids if gold[i].faulty_step is not None]
    agent_hits = sum(_same_agent(g, p) for g, p in agents)
    exact = sum(p is not None and g == p for g, p in steps)
    near = sum(p is not None and g is not None and abs(g - p) <= 1 for g, p in steps)
    return AttributionAgreement(
        n=len(ids),
        agent_n=len(agents),
        agent_accuracy=round(agent_hits / len(agents), 4) if agents else None,
        step_n=len(steps),
        step_accuracy=round(exact / len(steps), 4) if steps else None,
        step_within_1=round(near / len(steps), 4) if steps else None,
    )


def labels_from_trajectories(
    trajectories: Iterable[Trajectory], taxonomy: str | None = None
) -> dict[str, HumanLabel]:
    """The first human label of each trajectory (of ``taxonomy`` when given, else any), by trajectory id."""
    labels: dict[str, HumanLabel] = {}
    for t in trajectories:
        for label in t.labels:
            if taxonomy is not None and label.category is not None and label.taxonomy not in (None, taxonomy):
                continue
            labels.setdefault(t.id, label)
            break
    return labels


def _label_from_record(record: Mapping[str, object]) -> HumanLabel:
    step = record.get("faulty_step", record.get("mistake_step"))
    return HumanLabel(
        category=_opt_str(record.get("category", record.get("label"))),
        faulty_agent=_opt_str(record.get("faulty_agent", record.get("mistake_agent"))),
        faulty_step=int(str(step)) if step not in (None, "") else None,
        reason=_opt_str(record.get("reason")),
        annotator="label-file",
    )


def _opt_str(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def read_label_file(path: str | Path) -> dict[str, HumanLabel]:
    """Human labels from a CSV or JSON file of trajectory id → label.

    CSV: a header with ``trajectory_id`` (or ``id``) and any of ``category`` (or ``label``),
    ``faulty_agent``, ``faulty_step``. JSON: an object mapping ids to a category string or to an
    object with those fields, or a list of such objects carrying ``trajectory_id``.

    Raises:
        UsageError: The file cannot be read or has no id column.
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{file}: cannot read the label file: {exc.strerror or exc}") from exc
    labels: dict[str, HumanLabel] = {}
    if file.suffix.lower() == ".csv":
        reader = csv.DictReader(raw.decode("utf-8-sig").splitlines())
        id_field = next((f for f in ("trajectory_id", "id") if f in (reader.fieldnames or [])), None)
        if id_field is None:
            raise UsageError(f"{file}: the CSV needs a 'trajectory_id' (or 'id') column")
        for row in reader:
            labels[row[id_field]] = _label_from_record(row)
        return labels
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{file}: not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        for key, value in data.items():
            labels[key] = (
                _label_from_record(value) if isinstance(value, dict) else HumanLabel(category=str(value))
            )
    elif isinstance(data, list):
        for number, item in enumerate(data):
            ident = item.get("trajectory_id", item.get("id")) if isinstance(item, dict) else None
            if ident is None:
                raise UsageError(f"{file}: item {number} has no 'trajectory_id'")
            labels[str(ident)] = _label_from_record(item)
    else:
        raise UsageError(f"{file}: expected an object or a list of labels")
    return labels


def attribution_basis(report: AuditReport) -> Literal["finding", "guess"]:
    """What a report's faulty step rests on: its own ``attribution`` field, else (older reports) a
    guess when it is unclassified with the low confidence the offline policy gives a guess."""
    if report.attribution is not None:
        return report.attribution
    return "guess" if report.primary == "unclassified" and report.confidence <= 0.1 else "finding"


def read_id_list(path: str | Path) -> set[str]:
    """Trajectory ids, one per line (blank lines and ``#`` comments ignored), or a JSON list.

    Raises:
        UsageError: The file cannot be read or holds no ids.
    """
    file = Path(path)
    try:
        raw = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{file}: cannot read the id list: {exc.strerror or exc}") from exc
    if raw.lstrip().startswith("["):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"{file}: not valid JSON: {exc}") from exc
        ids = {str(x) for x in data} if isinstance(data, list) else set()
    else:
        ids = {
            line.strip() for line in raw.splitlines() if line.strip() and not line.lstrip().startswith("#")
        }
    if not ids:
        raise UsageError(f"{file}: no trajectory ids in the split file")
    return ids


def split_of(trajectory_id: str, test_fraction: float = 0.5) -> Literal["dev", "test"]:
    """A stable dev/test assignment from a hash of the id (the same id always lands in the same split)."""
    digest = hashlib.sha256(trajectory_id.encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_fraction else "dev"


def audit_agreement(
    reports: Sequence[AuditReport],
    labels: Mapping[str, HumanLabel],
    *,
    labels_from: str,
    split: str = "all",
    test_fraction: float = 0.5,
    ids: set[str] | None = None,
    coding: CodingConsistency | None = None,
) -> AuditAgreement:
    """Agreement of ``reports`` with ``labels`` (by trajectory id), on one split of the ids.

    ``split`` is ``all``, ``dev`` or ``test`` (a stable hash split); ``ids`` restricts the labels to
    a given list instead (``split`` then names it).
    """
    by_id = {r.trajectory.id: r for r in reports}
    if ids is not None:
        labels = {k: v for k, v in labels.items() if k in ids}
    elif split != "all":
        labels = {k: v for k, v in labels.items() if split_of(k, test_fraction) == split}
    matched = [i for i in labels if i in by_id]
    gold_categories = {i: labels[i].category for i in matched if labels[i].category is not None}
    categories = None
    if gold_categories:
        categories = category_agreement(
            {i: c for i, c in gold_categories.items() if c is not None},
            {i: by_id[i].primary for i in gold_categories},
        )
    attribution = findings = guesses = None
    if any(labels[i].faulty_agent is not None or labels[i].faulty_step is not None for i in matched):
        attribution = attribution_agreement({i: labels[i] for i in matched}, by_id)
        found = {i: labels[i] for i in matched if attribution_basis(by_id[i]) == "finding"}
        guessed = {i: labels[i] for i in matched if attribution_basis(by_id[i]) == "guess"}
        findings = attribution_agreement(found, by_id) if found else None
        guesses = attribution_agreement(guessed, by_id) if guessed else None
    return AuditAgreement(
        labels_from=labels_from,
        split=split,
        audited=len(by_id),
        labelled=len(labels),
        matched=len(matched),
        unclassified=sum(1 for i in matched if by_id[i].primary == "unclassified"),
        categories=categories,
        attribution=attribution,
        attribution_findings=findings,
        attribution_guesses=guesses,
        coding=coding,
        producers=sorted({by_id[i].producer.name for i in matched}),
    )
