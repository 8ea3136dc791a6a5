"""Writing the sample folder, and checking that a folder matches what the generator writes.

Layout of the folder::

    README.md                           what the data is and how it was made (generated)
    officeqa/officeqa-001.jsonl ...     native JSONL, one file per task (6 rollouts)
    best_of_n/bon-001.jsonl ...         native JSONL, one file per task (8 rollouts)
    mixed_formats/README.md
    mixed_formats/openai_chat/*.json    a few tool-calling rollouts as OpenAI chat records
    mixed_formats/anthropic/*.json      a few as Anthropic Messages transcripts

Everything is a function of the seed: no wall clock, no hash order. The corpus is never written
into the folder (a loader would take its files for rollouts); ``write_corpus`` dumps it elsewhere.
"""

from __future__ import annotations

import filecmp
import tempfile
from dataclasses import dataclass
from pathlib import Path

from memex_audit.loaders import write_jsonl
from memex_audit.samples._corpus import build_corpus
from memex_audit.samples._mixed import dump_json, to_anthropic_messages, to_openai_chat
from memex_audit.samples._readme import render_mixed_readme, render_readme
from memex_audit.samples._studies import Study, best_of_n_study, officeqa_study
from memex_audit.trajectory import Trajectory

DEFAULT_SEED = 20260406
"""The seed the committed ``sample_trajectories/`` were generated from."""

_OWNED = (("officeqa", "*.jsonl"), ("best_of_n", "*.jsonl"), ("mixed_formats", "**/*.json"))


@dataclass
class SampleSet:
    """Both studies built from one seed."""

    seed: int
    officeqa: Study
    best_of_n: Study

    @property
    def studies(self) -> tuple[Study, Study]:
        return (self.officeqa, self.best_of_n)

    def trajectories(self) -> list[Trajectory]:
        """Every sample rollout, study by study, task by task."""
        return [t for study in self.studies for trajs in study.rollouts.values() for t in trajs]


def build_samples(seed: int = DEFAULT_SEED) -> SampleSet:
    """Build both studies in memory (about a second)."""
    clean = build_corpus(seed)
    return SampleSet(seed, officeqa_study(seed, clean), best_of_n_study(seed, clean))


def mixed_format_picks(samples: SampleSet) -> dict[str, list[Trajectory]]:
    """The tool-calling rollouts copied into each foreign format: failed and correct, from both studies."""

    def pick(study: Study, failed: bool, count: int, skip: int) -> list[Trajectory]:
        found = [
            t
            for trajs in study.rollouts.values()
            for t in trajs
            if t.harness == "tool_calling" and t.failed == failed
        ]
        return found[skip : skip + count]

    oqa, bon = samples.officeqa, samples.best_of_n
    return {
        "openai_chat": [*pick(oqa, True, 2, 0), *pick(oqa, False, 1, 0), *pick(bon, True, 1, 0)],
        "anthropic": [*pick(oqa, True, 2, 2), *pick(oqa, False, 1, 1), *pick(bon, False, 1, 0)],
    }


def _clear(out: Path) -> None:
    """Remove files this generator owns, so tasks that no longer exist do not linger."""
    for folder, pattern in _OWNED:
        for path in sorted((out / folder).glob(pattern)):
            path.unlink()


def write_samples(out_dir: str | Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Generate the sample folder into ``out_dir``; returns the files written.

    Files the generator owns (the study JSONL files, the mixed-format copies) that it no longer
    produces are removed; other files in ``out_dir`` are left alone.
    """
    out = Path(out_dir)
    samples = build_samples(seed)
    _clear(out)
    written: list[Path] = []
    for study in samples.studies:
        for task_id, trajs in study.rollouts.items():
            path = out / study.name / f"{task_id}.jsonl"
            write_jsonl(trajs, path)
            written.append(path)
    picks = mixed_format_picks(samples)
    for fmt, trajs in picks.items():
        convert = to_openai_chat if fmt == "openai_chat" else to_anthropic_messages
        for traj in trajs:
            path = out / "mixed_formats" / fmt / f"{traj.id}.json"
            _write_bytes(path, dump_json(convert(traj)))
            written.append(path)
    _write_bytes(out / "mixed_formats" / "README.md", render_mixed_readme(picks).encode())
    _write_bytes(out / "README.md", render_readme(samples, picks).encode())
    written += [out / "mixed_formats" / "README.md", out / "README.md"]
    return written


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _files(root: Path) -> set[str]:
    if not root.is_dir():
        return set()
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def check_samples(out_dir: str | Path, seed: int = DEFAULT_SEED) -> list[str]:
    """Regenerate into a temporary folder and compare bytes with ``out_dir``.

    Returns one line per difference (``missing: …``, ``unexpected: …``, ``differs: …``); an empty
    list means ``out_dir`` is exactly what the generator writes.
    """
    out = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="memex-samples-") as tmp:
        fresh = Path(tmp)
        write_samples(fresh, seed)
        expected, actual = _files(fresh), _files(out)
        problems = [f"missing: {rel}" for rel in sorted(expected - actual)]
        problems += [f"unexpected: {rel}" for rel in sorted(actual - expected)]
        problems += [
            f"differs: {rel}"
            for rel in sorted(expected & actual)
            if not filecmp.cmp(fresh / rel, out / rel, shallow=False)
        ]
    return problems


def write_corpus(out_dir: str | Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Dump both corpora as text (``officeqa/`` clean, ``best_of_n/`` with its printing errors)."""
    samples = build_samples(seed)
    written = []
    for study in samples.studies:
        for name, text in study.corpus.dump_text().items():
            path = Path(out_dir) / study.name / name
            _write_bytes(path, text.encode())
            written.append(path)
    return written
