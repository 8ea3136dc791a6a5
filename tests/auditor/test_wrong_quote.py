"""A wrong quote: submit() rejects it with the reason, the model fixes it, the verdict is accepted.

The replies are of the kind models write on an audit: the quote is retyped from memory (the
thousands separator dropped), so it is not in the cited step; the rejection says which quote and
which step; the next reply copies the text from the step's output and submits again.
"""

from __future__ import annotations

from pathlib import Path

from memex_audit.auditor import AuditReport, AuditRunner
from memex_audit.llm import ScriptedModel
from memex_audit.runs import RunStore
from memex_audit.taxonomy import load_taxonomy
from tests.factories import memex_traj

LOOK = """The answer 3,522.7 differs from the truth 3,501.2. I'll read what the table call printed.

```python
for s in target.steps[2:]:
    print(s.index, repr(s.code), '->', repr(s.output))
```
<end_code>"""

# The quote is retyped: "total 3522.7" where the step printed "total 3,522.7".
WRONG_QUOTE = """Step 2 read the April 1944 bulletin, which reports March as a preliminary figure; the March
issue has the revised one. That is a source-selection error that enters at step 2.

```python
submit({
    'findings': [
        {'category': 'source_selection', 'step': 2, 'quote': 'total 3522.7',
         'note': 'read the April issue instead of the March one'},
    ],
    'explanation': 'The run took the total from bulletin-1944-04 rather than the March issue.',
    'confidence': 0.7,
})
```
<end_code>"""

FIXED = """The quote must be copied exactly; I'll take it from the step's output.

```python
quote = target.steps[2].output.strip()
print(repr(quote))
submit({
    'findings': [
        {'category': 'source_selection', 'step': 2, 'quote': quote,
         'note': 'read the April issue instead of the March one'},
    ],
    'explanation': 'The run took the total from bulletin-1944-04 rather than the March issue.',
    'confidence': 0.7,
})
```
<end_code>"""


def test_a_wrong_quote_is_rejected_with_the_reason_and_the_fixed_verdict_is_accepted(tmp_path: Path) -> None:
    target = memex_traj(
        "wrong-quote",
        [("t = read_table('bulletin-1944-04', 'FD-1')\nprint(t.loc['March'])", "total 3,522.7")],
        answer="3,522.7",
    )
    model = ScriptedModel([LOOK, WRONG_QUOTE, FIXED])
    store = RunStore.open(tmp_path / "run", kind="audit")
    outcome = AuditRunner(load_taxonomy("memex"), model=model).run_sync([target], store)

    assert (outcome.audited, outcome.errors) == (1, 0)
    # The rejection reaches the model: what was wrong, where, and that it may try again.
    rejection = model.requests[2].messages[-1].text()
    assert "submit() rejected the value" in rejection
    assert "'total 3522.7' does not occur in step 2 of wrong-quote" in rejection
    assert "quote text exactly as it appears in that step" in rejection and "retries left" in rejection

    (report,) = store.read_results(AuditReport)
    assert report.primary == "source_selection" and report.faulty_step == 2
    assert [(f.step, f.quote) for f in report.findings] == [(2, "total 3,522.7")]
    assert report.producer.turns == 3 and report.producer.stop_reason == "submitted"

    # The run records the rejected submit as a step of its own, then the accepted one.
    (run,) = store.read_run_trajectories()
    looked, rejected, accepted = [s for s in run.steps if s.role == "assistant"]
    assert looked.error is None and "total 3,522.7" in (looked.output or "")
    assert rejected.metadata.get("submit_rejected") is True and "does not occur in step 2" in (
        rejected.error or ""
    )
    assert accepted.error is None and "'total 3,522.7'" in (accepted.output or "")
