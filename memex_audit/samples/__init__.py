"""Synthetic sample rollouts the project generates itself (``sample_trajectories/``).

A seeded generator builds a small corpus of Treasury-bulletin-style documents, asks questions over
it, and runs scripted MemEx-style and Tool-Calling-style solvers that really call the tools on it,
with failures planted in a realistic mix and labelled with the step where they happen.
"""

from memex_audit.samples._corpus import Corpus, build_corpus
from memex_audit.samples._generate import (
    DEFAULT_SEED,
    SampleSet,
    build_samples,
    check_samples,
    write_corpus,
    write_samples,
)
from memex_audit.samples._questions import Question
from memex_audit.samples._studies import GenerationError, Study
from memex_audit.samples._tables import Defect
from memex_audit.samples._tools import TableView, Toolbox

__all__ = [
    "DEFAULT_SEED",
    "Corpus",
    "Defect",
    "GenerationError",
    "Question",
    "SampleSet",
    "Study",
    "TableView",
    "Toolbox",
    "build_corpus",
    "build_samples",
    "check_samples",
    "write_corpus",
    "write_samples",
]
