"""The generator works for seeds other than the committed one."""

from __future__ import annotations

import pytest

from memex_audit.samples._studies import _transpose, best_of_n_study


@pytest.mark.parametrize("seed", [1, 4])
def test_best_of_n_study_builds_for_other_seeds(seed: int) -> None:
    study = best_of_n_study(seed=seed)
    assert len(study.rollouts) == 24
    assert all(len(rollouts) == 8 for rollouts in study.rollouts.values())


@pytest.mark.parametrize("value", [7000, 55, 3, 1234])
def test_a_misprint_always_changes_the_value(value: int) -> None:
    import random

    assert _transpose(value, random.Random(0)) != value
