"""The public surface of the top-level package is deliberate: this test pins it."""

from __future__ import annotations

import memex_audit


def test_top_level_names() -> None:
    assert sorted(memex_audit.__all__) == memex_audit.__all__
    for name in memex_audit.__all__:
        assert hasattr(memex_audit, name), name
    assert {"Trajectory", "TaskGroup", "load", "write_jsonl", "MemexAuditError"} <= set(memex_audit.__all__)


def test_error_hierarchy_has_one_root() -> None:
    from memex_audit import errors

    for name in (
        "UsageError",
        "TrajectoryFormatError",
        "TaxonomyError",
        "KernelError",
        "ModelError",
        "ResultsError",
    ):
        assert issubclass(getattr(errors, name), errors.MemexAuditError)
    assert issubclass(errors.BudgetExceeded, errors.ModelError)
    err = errors.TrajectoryFormatError("bad role", file="a.jsonl", line=3, field="steps.0.role")
    assert str(err) == "a.jsonl:3: bad role (field steps.0.role)"
