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

from memex_audit.ask._answer import AnswerType, AskAnswer, Evidence, answer_model, evidence_problems
from memex_audit.ask._models import (
    AskedTrajectory,
    AskProducer,
    AskResult,
    AskSummary,
    NumberStats,
    answer_label,
    answers_frame,
    summarize_answers,
)
from memex_audit.ask._runner import (
    ASK_PROMPT_VERSION,
    AskEstimate,
    AskRunner,
    ask_instructions,
    ask_task_text,
    estimate_ask,
)
from memex_audit.ask._scope import ASK_TOOLS, CallResult, StepHit, failed_steps, search_steps, tool_calls
from memex_audit.ask._select import AskSelection, AskUnit, plan_ask

__all__ = [
    "ASK_PROMPT_VERSION",
    "ASK_TOOLS",
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
    "CallResult",
    "Evidence",
    "NumberStats",
    "StepHit",
    "answer_label",
    "answer_model",
    "answers_frame",
    "ask_instructions",
    "ask_task_text",
    "estimate_ask",
    "evidence_problems",
    "failed_steps",
    "plan_ask",
    "search_steps",
    "summarize_answers",
    "tool_calls",
]
