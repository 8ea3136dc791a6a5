"""The answer a question asks for, and the model ``submit()`` checks it with.

``AnswerType`` reads ``--answer-type`` (``bool``, ``label:a,b,c``, ``number``, ``text``).
``answer_model`` builds the pydantic model an asking agent submits: ``answer`` of that type (or
``None`` when the trajectory does not show it), ``evidence`` (step + quote + note) and
``explanation``. Bound to one trajectory, it rejects a quote that is not at the cited step with the
reason, as the auditor's verdict does, so the agent can copy the text again and resubmit.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, create_model, model_validator

from memex_audit.errors import UsageError
from memex_audit.trajectory import Evidence, Trajectory, evidence_problems

AnswerKind = Literal["bool", "label", "number", "text"]


class AnswerType(BaseModel):
    """What kind of value answers a question.

    Attributes:
        kind: ``bool`` (yes or no), ``label`` (one of ``labels``), ``number`` or ``text``.
        labels: The allowed labels of a ``label`` answer, in the order given.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: AnswerKind
    labels: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AnswerType:
        """Read ``bool``, ``label:a,b,c``, ``number`` or ``text``.

        Raises:
            UsageError: Another kind, or a label list that is empty or repeats a label.
        """
        kind, sep, rest = text.strip().partition(":")
        kind = kind.strip().lower()
        if kind in ("bool", "number", "text") and not sep:
            return cls(kind=kind)
        if kind == "label":
            labels = tuple(label.strip() for label in rest.split(",") if label.strip())
            if not labels:
                raise UsageError("--answer-type label needs its labels: label:a,b,c")
            if len(set(labels)) != len(labels):
                raise UsageError(f"--answer-type {text!r}: a label is repeated")
            return cls(kind="label", labels=labels)
        raise UsageError(f"--answer-type {text!r}: use bool, label:a,b,c, number or text")

    def __str__(self) -> str:
        return f"label:{','.join(self.labels)}" if self.kind == "label" else self.kind

    def python_type(self) -> Any:
        """The type of a (non-null) answer: ``bool``, ``Literal[...]``, ``float`` or ``str``."""
        if self.kind == "bool":
            return bool
        if self.kind == "label":
            return Literal[self.labels]
        if self.kind == "number":
            return float
        return str

    def describe(self) -> str:
        """The answer type in words, for the task statement."""
        return {
            "bool": "True or False",
            "label": "exactly one of " + ", ".join(repr(label) for label in self.labels),
            "number": "a number (a float; compute it, do not retype it)",
            "text": "a short text",
        }[self.kind]

    def validate_answer(self, value: Any) -> bool | float | str | None:
        """``value`` as an answer of this type (``None`` stays ``None``).

        Raises:
            pydantic.ValidationError: ``value`` is not of this type.
        """
        if value is None:
            return None
        checked: bool | float | str = _adapter(self).validate_python(value)
        if isinstance(checked, float) and not math.isfinite(checked):
            raise ValueError("a number answer must be finite")
        return checked


_ADAPTERS: dict[AnswerType, TypeAdapter[Any]] = {}


def _adapter(answer_type: AnswerType) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(answer_type)
    if adapter is None:
        adapter = _ADAPTERS[answer_type] = TypeAdapter(answer_type.python_type())
    return adapter


NEEDS_EVIDENCE = (
    "an answer needs at least one piece of evidence (step and exact quote); when the trajectory "
    "does not show the answer, submit answer None and say in the explanation what you checked"
)


class AskAnswer(BaseModel):
    """What an asking agent submits; ``answer_model`` gives the subclass for one question.

    Attributes:
        answer: The answer, of the question's type; ``None`` when the trajectory does not show it.
        evidence: Quotes (step + verbatim text) the answer rests on; required unless the answer is ``None``.
        explanation: Why, in a few sentences; for ``None``, what was checked.
    """

    model_config = ConfigDict(extra="forbid")

    answer: Any = None
    evidence: list[Evidence] = Field(default_factory=list)
    explanation: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check_against_target(self, info: ValidationInfo) -> AskAnswer:
        context: dict[str, Any] = info.context if isinstance(info.context, dict) else {}
        trajectory = context.get("trajectory")
        if not isinstance(trajectory, Trajectory):
            return self  # no trajectory to check against (an answer read back from a run folder)
        require_evidence = bool(context.get("require_evidence", True))
        problems = []
        if require_evidence and self.answer is not None and not self.evidence:
            problems.append(NEEDS_EVIDENCE)
        problems += evidence_problems(self.evidence, trajectory)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def answer_context(trajectory: Trajectory, *, require_evidence: bool = True) -> dict[str, Any]:
    """The validation context that checks an answer against ``trajectory``: its quotes, and that a
    non-null answer has evidence unless ``require_evidence`` is false. Pass it as
    ``model_validate(..., context=...)`` or as an agent run's ``validation_context``."""
    return {"trajectory": trajectory, "require_evidence": require_evidence}


def answer_model(answer_type: AnswerType) -> type[AskAnswer]:
    """The model of an answer of ``answer_type`` (one class per answer type, kept); validated with
    ``answer_context(trajectory)``, it also checks the answer against the trajectory.

    Use it as the agent's output type so ``submit()`` gives the agent precise error feedback.
    """
    return _answer_model(answer_type.model_dump_json())


@functools.lru_cache(maxsize=128)
def _answer_model(answer_type_json: str) -> type[AskAnswer]:
    answer_type = AnswerType.model_validate_json(answer_type_json)
    value_type = answer_type.python_type()
    answer_field: Any = Field(
        description=f"{answer_type.describe()}; None when the trajectory does not show the answer.",
        allow_inf_nan=False if answer_type.kind == "number" else None,
        min_length=1 if answer_type.kind == "text" else None,
    )
    model: type[AskAnswer] = create_model(
        "Answer",
        __base__=AskAnswer,
        __module__=__name__,
        answer=(value_type | None, answer_field),
        evidence=(
            list[Evidence],
            Field(default_factory=list, description="Steps and exact quotes the answer rests on."),
        ),
        explanation=(str, Field(min_length=1, description="Why; for None, what you checked.")),
    )
    return model
