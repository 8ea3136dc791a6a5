"""Putting a question to trajectories: estimate, run concurrently, resume, stop at a budget.

Each selected trajectory is one unit on the runs layer's ``UnitRunner``: an agent run with the
trajectory in scope (human labels removed) that ends in a ``submit()`` of the question's answer
model, whose evidence is checked against the trajectory. Each answer is appended to the run folder
as soon as it is done, so an interrupted run resumes where it stopped and never asks twice.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from typing import Literal

from memex_audit.agent import Agent, AgentSettings, Budget, render_prompt
from memex_audit.ask._answer import AnswerType, AskAnswer, answer_context, answer_model
from memex_audit.ask._models import AskedTrajectory, AskProducer, AskResult
from memex_audit.ask._scope import ASK_TOOLS
from memex_audit.ask._select import AskUnit
from memex_audit.llm import LLMClient, ModelPrice, estimate_cost, estimate_tokens, worst_case_cost
from memex_audit.runs import RunFailure, RunOutcome, RunStore, Unit, UnitDone, UnitProgress, UnitRunner
from memex_audit.trajectory import Trajectory, Usage, outcome_of

ASK_PROMPT_VERSION = "1"
"""Version of ``prompts/ask.md``; answers record it with their producer."""


def ask_instructions() -> str:
    """The asking agent's role prompt (``prompts/ask.md``)."""
    return render_prompt("memex_audit.ask", "ask")


def ask_task_text(question: str, answer_type: AnswerType, target: Trajectory) -> str:
    """The task statement of one run: the question, the answer type, and which trajectory."""
    return (
        f"Question about the trajectory `target` (id {target.id!r}, task {target.task_id!r}, harness "
        f"{target.harness!r}, model {target.model!r}, {len(target.steps)} steps, {outcome_of(target)}):\n\n"
        f"{question}\n\nThe answer is {answer_type.describe()}, or None when the trajectory does not show "
        "it. Find the steps that decide it, cite them with exact quotes, and submit."
    )


@dataclass(frozen=True)
class AskEstimate:
    """What a run would ask and roughly cost, before anything is spent.

    Attributes:
        to_ask: Selected trajectories not yet answered in the run folder.
        already_done: Selected trajectories the folder already has an answer or a final error for.
        input_tokens: Estimated input tokens over all agent turns.
        output_tokens: Estimated output tokens.
        cost_usd: Estimated cost; ``None`` when the model's price is unknown.
        model: The model that would answer.
    """

    to_ask: int
    already_done: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    model: str


_EST_TURNS = 5
_EST_OUTPUT_PER_TURN = 300
_EST_OBSERVATION_PER_TURN = 900


def estimate_ask(
    units: Sequence[AskUnit],
    question: str,
    answer_type: AnswerType,
    model: str,
    *,
    done: Set[str] = frozenset(),
    price: ModelPrice | None = None,
) -> AskEstimate:
    """Estimate tokens and cost of asking about ``units`` (those not in ``done``) with ``model``.

    A run is assumed to take about five turns; each turn resends the conversation, which grows by
    the reply and a bounded observation. Only what the agent prints reaches the model, so the size
    of a trajectory does not enter the estimate; its task statement does.

    Args:
        price: The model's price at its endpoint (default: its list price, when known).
    """
    pending = [u for u in units if u.key not in done]
    base = estimate_tokens(ask_instructions()) + 1500  # the loop's own prompt, tool stubs and scope summary
    growth = (_EST_OUTPUT_PER_TURN + _EST_OBSERVATION_PER_TURN) * _EST_TURNS * (_EST_TURNS - 1) // 2
    input_tokens = sum(
        _EST_TURNS * (base + estimate_tokens(ask_task_text(question, answer_type, u.trajectory))) + growth
        for u in pending
    )
    output_tokens = len(pending) * _EST_TURNS * _EST_OUTPUT_PER_TURN
    cost = estimate_cost(model, Usage(input_tokens=input_tokens, output_tokens=output_tokens), price=price)
    return AskEstimate(
        to_ask=len(pending),
        already_done=len(units) - len(pending),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        model=model,
    )


class AskRunner:
    """Puts one question to trajectories through the MemEx loop, into a run folder.

    Args:
        question: The question.
        answer_type: The type of its answer.
        model: The LLM that answers (there is no offline policy: a question of your own needs a
            model; write a check for deterministic questions).
        concurrency: Trajectories asked about at once.
        max_cost_usd: Stop starting new runs once this much has been spent (in-flight ones finish).
        kernel: ``subprocess`` (the default: model-written code is untrusted) or ``inprocess``.
        max_turns: Agent turns allowed per trajectory.
        require_evidence: Reject a non-null answer without evidence.
        on_progress: Called after each trajectory with the run's progress.
        price: The model's price at its endpoint; under ``max_cost_usd`` each call reserves its
            worst-case cost at this price before it is sent, so concurrency cannot overshoot.
        allow_unpriced: Run under ``max_cost_usd`` although the price is unknown.
    """

    def __init__(
        self,
        question: str,
        answer_type: AnswerType,
        *,
        model: LLMClient,
        concurrency: int = 4,
        max_cost_usd: float | None = None,
        kernel: Literal["inprocess", "subprocess"] = "subprocess",
        max_turns: int = 12,
        require_evidence: bool = True,
        on_progress: Callable[[UnitProgress], None] | None = None,
        price: ModelPrice | None = None,
        allow_unpriced: bool = False,
    ) -> None:
        self.question = question
        self.answer_type = answer_type
        self.model = model
        self.concurrency = max(1, concurrency)
        self.max_cost_usd = max_cost_usd
        self.kernel = kernel
        self.max_turns = max_turns
        self.require_evidence = require_evidence
        self.on_progress = on_progress
        self.price = price
        self.allow_unpriced = allow_unpriced
        self._settings = AgentSettings(instructions=ask_instructions(), kernel=kernel, max_turns=max_turns)
        self._budget: Budget | None = None

    def run_sync(
        self, units: Sequence[AskUnit], store: RunStore, *, finalize: Callable[[RunStore], None] | None = None
    ) -> RunOutcome:
        """``run`` for callers without an event loop."""
        return asyncio.run(self.run(units, store, finalize=finalize))

    async def run(
        self, units: Sequence[AskUnit], store: RunStore, *, finalize: Callable[[RunStore], None] | None = None
    ) -> RunOutcome:
        """Ask about every unit that ``store`` does not have yet (see ``plan_ask``); ``finalize``
        (exports) is called once at the end, also when the run is interrupted."""
        if self.max_cost_usd is not None:
            # One budget shared by every agent run and continued from the folder's ledger.
            self._budget = Budget(
                max_cost_usd=self.max_cost_usd,
                spent_usd=store.spent_usd(),
                worst_case=lambda request: worst_case_cost(request, self.price),
                allow_unpriced=self.allow_unpriced,
            )
        work_units = [Unit.of_trajectory(u.key, u, u.trajectory) for u in units]
        runner = UnitRunner(
            store,
            concurrency=self.concurrency,
            max_cost_usd=self.max_cost_usd,
            on_progress=self.on_progress,
            finalize=finalize,
        )
        return await runner.run(work_units, self._work)

    async def _work(self, item: Unit[AskUnit]) -> UnitDone:
        """One question to one trajectory: the agent run, then the answer or the error it ends in."""
        unit = item.payload
        src = unit.trajectory.source
        target = unit.trajectory.without_labels()
        agent: Agent[AskAnswer] = Agent(
            self.model,
            answer_model(self.answer_type),
            self._settings,
            tools=ASK_TOOLS,
            budget=self._budget,
            name=f"ask:{unit.key}",
        )

        def failure(kind: str, message: str, *, final: bool, trace: str | None = None) -> RunFailure:
            return RunFailure(
                key=item.key,
                kind=kind,
                message=message,
                file=src.file if src else None,
                line=src.line if src else None,
                final=final,
                traceback=trace,
            )

        try:
            result = await agent.run(
                ask_task_text(self.question, self.answer_type, target),
                validation_context=answer_context(target, require_evidence=self.require_evidence),
                target=target,
                question=self.question,
            )
        except Exception as exc:  # one trajectory's failure must not stop the run
            trace = "".join(traceback.format_exception(exc))[-8000:]
            return UnitDone(
                error=failure("internal", f"{type(exc).__name__}: {exc}", final=False, trace=trace),
                cost_usd=0.0,
            )
        runs = [result.trajectory]
        # No call made (a budget that stops the first one) costs nothing; tokens without a price are unknown.
        cost = result.usage.cost_usd if result.usage.total_tokens else 0.0
        output = result.output
        if result.stop_reason != "submitted" or not isinstance(output, AskAnswer):
            message = result.error or f"the agent stopped ({result.stop_reason}) without submitting an answer"
            # Out of turns is the model's answer to this trajectory; a model or budget error is retried.
            error = failure(result.stop_reason, message, final=result.stop_reason == "max_turns")
            return UnitDone(error=error, cost_usd=cost, runs=runs)
        record = AskResult.model_validate(
            {
                "question": self.question,
                "answer_type": str(self.answer_type),
                "answer": output.answer,
                "evidence": [e.model_dump() for e in output.evidence],
                "explanation": output.explanation,
                "trajectory": AskedTrajectory.of(unit.trajectory).model_dump(),
                "producer": AskProducer(
                    name=self.model.model,
                    usage=result.usage,
                    cost_usd=cost,
                    turns=result.turns,
                    stop_reason=result.stop_reason,
                    run_id=result.trajectory.id,
                    prompt_version=ASK_PROMPT_VERSION,
                ).model_dump(),
            },
            context={"trajectory": unit.trajectory},
        )
        return UnitDone(record=record, cost_usd=cost, runs=runs)
