"""Questions of your own: put a question to each trajectory and get a typed answer with evidence.

::

    answer_type = AnswerType.parse("label:tests,no_tests,unclear")   # or bool, number, text
    units = plan_ask(trajectories, AskSelection.parse(["outcome=failed"], limit=20))
    runner = AskRunner("Did the agent run the tests after its last edit?", answer_type, model=client)
    outcome = runner.run_sync(units, RunStore.open("runs/ask", kind="ask"))

Each trajectory is put in the scope of a MemEx agent (as ``target``, with reading-layer helpers);
the agent submits ``{answer, evidence: [{step, quote, note}], explanation}``, and ``submit()``
rejects a quote that is not at the cited step, with the reason, until it is fixed. Answers go to a
resumable run folder, one ``AskResult`` per trajectory. A question needs a model; deterministic
questions are checks (``memex_audit.checks``), which run offline.
"""

from memex_audit.ask._answer import AnswerType, AskAnswer, answer_context, answer_model
from memex_audit.ask._models import (
    AskedTrajectory,
    AskProducer,
    AskResult,
    AskSummary,
    NumberStats,
    answers_frame,
    summarize_answers,
)
from memex_audit.ask._runner import AskEstimate, AskRunner, estimate_ask
from memex_audit.ask._select import AskSelection, AskUnit, plan_ask

__all__ = [
    "AnswerType",
    "AskAnswer",
    "AskEstimate",
    "AskProducer",
    "AskResult",
    "AskRunner",
    "AskSelection",
    "AskSummary",
    "AskUnit",
    "AskedTrajectory",
    "NumberStats",
    "answer_context",
    "answer_model",
    "answers_frame",
    "estimate_ask",
    "plan_ask",
    "summarize_answers",
]
