"""The MemEx loop: the model writes a code block, the kernel runs it, the model reads the output."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from memex_audit.agent._capability import TurnEnd
from memex_audit.agent._extract import END_MARKER, STOP_SEQUENCES, ParsedReply, parse_reply
from memex_audit.agent._observe import format_observation
from memex_audit.agent._prompts import fill
from memex_audit.agent._record import now
from memex_audit.agent._scope import scope_summary
from memex_audit.agent._state import RunState, Stop
from memex_audit.errors import KernelError
from memex_audit.kernel import ExecutionResult, Kernel
from memex_audit.llm import ChatMessage, ContentPart, LLMRequest, LLMResponse, TextPart


async def run_code_loop(state: RunState, kernel: Kernel, system: str) -> Any:
    """Drive turns until a valid submission; returns the validated output.

    Raises:
        Stop: The run ended without one (turns, budget, model failure, rejected submissions).
    """
    settings = state.settings
    first = fill("task", task=state.task, scope=scope_summary(state.scope))
    messages = state.start_conversation(system, first)
    while state.turns < settings.max_turns:
        request = LLMRequest(
            system=system,
            messages=messages,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            stop_sequences=list(STOP_SEQUENCES),
        )
        started_at, started = now(), time.perf_counter()
        response = await state.call_model(request)
        # Only the reply's first block runs. The step's text is the reasoning before it, the code
        # goes in ``code``; what the model wrote after the block is kept in the step's metadata.
        parsed = parse_reply(response.text)
        reasoning, code = parsed.reasoning, parsed.code
        if code is None:
            state.recorder.assistant(
                text=reasoning,
                reasoning=response.reasoning,
                usage=response.usage,
                started_at=started_at,
                duration_s=time.perf_counter() - started,
                metadata={"model_s": response.latency_s, "stop_reason": response.stop_reason},
            )
            observation = fill("no_code")
        else:
            for capability in state.capabilities:
                capability.before_block(code)
            try:
                result = await kernel.execute(code, timeout_s=settings.block_timeout_s)
            except KernelError as exc:
                state.recorder.assistant(
                    text=reasoning,
                    reasoning=response.reasoning,
                    code=code,
                    error=f"KernelError: {exc}",
                    usage=response.usage,
                    started_at=started_at,
                    duration_s=time.perf_counter() - started,
                )
                raise Stop("error", f"the kernel failed: {exc}") from exc
            observation = _observe(state, result, parsed, response, started_at, started)
            if parsed.ignored:
                observation = f"{observation}\n{fill('ignored_rest', what=_ignored_words(parsed))}"
            if not parsed.closed and response.stop_reason in CUT_OFF_REASONS:
                written = response.usage.output_tokens or request.max_tokens
                observation = f"{observation}\n{CUT_OFF_NOTICE.format(tokens=f'{written:,}')}"
        messages.append(ChatMessage(role="assistant", content=_assistant_message(parsed)))
        end = TurnEnd(state.turns, state.recorder.steps[-1], system, messages, observation)
        for capability in state.capabilities:  # memory may compress older turns here
            capability.end_turn(end)
        messages = end.messages
        state.send_observation(system, messages, observation, end.notes)
    raise Stop("max_turns", f"no valid submission after {settings.max_turns} turns")


CUT_OFF_REASONS = frozenset({"length", "max_tokens"})
"""Stop reasons of a reply cut off at its token limit (OpenAI-compatible, Anthropic)."""

# Without it the model sees a SyntaxError at a line it never finished, and its own turn in the
# conversation with a closing fence it never wrote: nothing says the reply was too long.
CUT_OFF_NOTICE = (
    "[your reply reached its token limit ({tokens} tokens) inside its code block: the block was cut "
    "off there and ran as far as it was written. Write a shorter block (print less, define less) "
    "and end it with its closing fence.]"
)


def _assistant_message(parsed: ParsedReply) -> str:
    """The assistant turn as it goes back into the conversation: cut after the block that ran,
    ending with the end marker, so the model sees in its own history the form it is asked for."""
    if parsed.code is None:
        return parsed.kept or "(empty reply)"
    return f"{parsed.kept}\n{END_MARKER}"


def _ignored_words(parsed: ParsedReply) -> str:
    size = f"{len(parsed.ignored):,} characters"
    if parsed.ignored_blocks:
        plural = "s" if parsed.ignored_blocks > 1 else ""
        return f"text ({size}, with {parsed.ignored_blocks} more code block{plural})"
    return f"text ({size})"


def _observe(
    state: RunState,
    result: ExecutionResult,
    parsed: ParsedReply,
    response: LLMResponse,
    started_at: datetime,
    started: float,
) -> str:
    """Record the step; return the observation, or raise ``Stop`` on a valid submission."""
    settings = state.settings
    text, code = parsed.reasoning, parsed.code
    metadata: dict[str, Any] = {
        "model_s": response.latency_s,
        "stop_reason": response.stop_reason,
        "block_s": round(result.duration_s, 6),
        "timed_out": result.timed_out,
        "restarted": result.restarted,
        "abandoned": result.abandoned,
        "submitted": result.submitted,
    }
    if result.notices:
        metadata["notices"] = list(result.notices)
    if parsed.ignored:  # kept for audits of the run; never sent back to the model
        metadata["ignored_after_block"] = parsed.ignored
        metadata["ignored_blocks"] = parsed.ignored_blocks
    duration = time.perf_counter() - started  # the model call and the block

    def record(error: str | None) -> None:
        state.recorder.assistant(
            text=text,
            reasoning=response.reasoning,
            code=code,
            output=result.output,
            error=error,
            usage=response.usage,
            started_at=started_at,
            duration_s=duration,
            metadata=metadata,
        )

    observation = format_observation(result, settings.observation_limit)
    if not result.submitted:
        record(result.error)
        return observation
    value, errors = state.validate_submission(result.submission)
    if errors is None:
        record(None)
        raise Stop("submitted", output=value)
    rejection, exhausted = state.reject_submission(errors)
    metadata["submit_rejected"] = True
    record(rejection)
    if exhausted:
        raise Stop("error", f"submit() was rejected {state.submit_failures} times; last errors:\n{errors}")
    prefix = observation + "\n" if result.output or result.notices else ""
    return prefix + rejection


_SPENT = re.compile(r" · spent so far: [^\]\n]*\]")


def replay_key_request(request: LLMRequest) -> LLMRequest:
    """``request`` without what differs between two runs of the same work: the key of a replay cache.

    The status line after each observation says what the *shared* budget has spent so far,
    which depends on how concurrently running agents interleave; everything else an agent sends
    follows from its own conversation. Pass this as ``client_for_spec(cache_normalize=...)``.
    """

    def clean(text: str) -> str:
        return _SPENT.sub(" · spent so far: …]", text)

    messages: list[ChatMessage] = []
    for message in request.messages:
        if message.role != "user":
            messages.append(message)
        elif isinstance(message.content, str):
            messages.append(message.model_copy(update={"content": clean(message.content)}))
        else:
            parts: list[ContentPart] = [
                part.model_copy(update={"text": clean(part.text)}) if isinstance(part, TextPart) else part
                for part in message.content
            ]
            messages.append(message.model_copy(update={"content": parts}))
    return request.model_copy(update={"messages": messages})
