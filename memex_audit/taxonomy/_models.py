"""The taxonomy models: a named set of failure categories, optionally grouped.

A taxonomy file (YAML) holds one ``Taxonomy``. Categories may name the offline ``signals`` that
point to them: the offline auditor maps each signal that fires on a trajectory to the category that
claims it. The category id ``unclassified`` is reserved: every taxonomy has it implicitly, and it is
the label when nothing points anywhere.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

UNCLASSIFIED = "unclassified"
"""The reserved category id for a failure no evidence could place."""

SignalKind = Literal[
    "tool_error",
    "api_error",
    "timeout",
    "environment_error",
    "retyped_number",
    "ground_truth_seen",
    "wandered_past_answer",
    "missing_sibling_source",
    "duplicated_source",
    "corrupted_source",
    "preliminary_value",
    "wrong_field",
    "few_searches",
    "repeated_searches",
    "repeated_steps",
    "turn_limit",
    "no_answer",
    "format_mismatch",
    "rounding_mismatch",
    "intermediate_rounding",
    "unit_mismatch",
    "missing_action",
    "wrong_arguments",
    "wrong_entity",
    "unexpected_action",
    "premature_transfer",
    "policy_violation",
    "computed_mismatch",
    "unconfirmed_write",
    "unsupported_amount",
    "no_patch",
    "tests_modified",
    "config_modified",
    "fix_missed",
    "fix_partial",
    "tests_regressed",
]
"""The offline signals a category can claim (the auditor implements each one)."""

SIGNAL_KINDS: tuple[str, ...] = SignalKind.__args__  # type: ignore[attr-defined]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Group(_Strict):
    """A family of categories (e.g. MAST's "inter-agent misalignment").

    Attributes:
        id: Lower-case identifier, unique in the taxonomy.
        name: Human-readable name.
        definition: What the categories of the group have in common.
    """

    id: str
    name: str
    definition: str = ""

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} is not a valid id (lower-case letters, digits, underscores)")
        return value


class Category(_Strict):
    """One failure category.

    Attributes:
        id: Lower-case identifier, unique in the taxonomy; labels cite it.
        name: Human-readable name.
        definition: What a trajectory must show to earn this label.
        group: Id of the ``Group`` the category belongs to, if the taxonomy has groups.
        subgroup: A finer family inside the group (TRAIL's "API issues", "hallucinations"...).
        code: The category's code in its source paper (e.g. ``FM-1.3``), when it has one.
        examples: Short illustrations of the failure.
        signals: Offline signals that point to this category.
    """

    id: str
    name: str
    definition: str
    group: str | None = None
    subgroup: str | None = None
    code: str | None = None
    examples: list[str] = Field(default_factory=list)
    signals: list[SignalKind] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} is not a valid id (lower-case letters, digits, underscores)")
        if value == UNCLASSIFIED:
            raise ValueError(f"{UNCLASSIFIED!r} is reserved: every taxonomy has it implicitly")
        return value

    @field_validator("definition")
    @classmethod
    def _check_definition(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a category needs a definition")
        return value.strip()

    @property
    def path(self) -> str:
        """``group/subgroup/id`` (the parts that are set), e.g. ``reasoning/hallucinations/tool_hallucination``."""
        return "/".join(p for p in (self.group, self.subgroup, self.id) if p)


class Taxonomy(_Strict):
    """A failure taxonomy: categories (optionally grouped) with definitions and offline signals.

    Attributes:
        name: The name it is chosen by (``memex``, ``mast``...).
        title: A human-readable title.
        description: What the taxonomy is for and where it comes from.
        version: Version of the taxonomy's content.
        focus: ``categories`` when the labels to predict are categories; ``attribution`` when what
            matters most is which agent and which step failed (e.g. Who&When data).
        groups: The families of categories, if any.
        categories: The categories, in display order.
    """

    name: str
    title: str = ""
    description: str = ""
    version: str = "1"
    focus: Literal["categories", "attribution"] = "categories"
    groups: list[Group] = Field(default_factory=list)
    categories: list[Category] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_references(self) -> Taxonomy:
        seen: set[str] = set()
        for cat in self.categories:
            if cat.id in seen:
                raise ValueError(f"category id {cat.id!r} is defined twice")
            seen.add(cat.id)
        group_ids = [g.id for g in self.groups]
        if len(set(group_ids)) != len(group_ids):
            raise ValueError("group ids must be unique")
        for cat in self.categories:
            if self.groups and cat.group is None:
                raise ValueError(f"category {cat.id!r} has no group, but the taxonomy defines groups")
            if cat.group is not None and cat.group not in group_ids:
                raise ValueError(
                    f"category {cat.id!r} names group {cat.group!r}, which is not among {group_ids}"
                )
        claimed: dict[str, str] = {}
        for cat in self.categories:
            for signal in cat.signals:
                if signal in claimed:
                    raise ValueError(
                        f"signal {signal!r} is claimed by both {claimed[signal]!r} and {cat.id!r}; "
                        "each signal may point to one category"
                    )
                claimed[signal] = cat.id
        return self

    # -- lookup ------------------------------------------------------------------------------------

    @property
    def category_ids(self) -> list[str]:
        """The category ids in order, followed by the reserved ``unclassified``."""
        return [c.id for c in self.categories] + [UNCLASSIFIED]

    def get(self, key: str) -> Category | None:
        """The category with this id, name (case-insensitive) or path, or ``None``."""
        folded = key.strip().casefold()
        for cat in self.categories:
            if key in (cat.id, cat.path) or cat.name.casefold() == folded or cat.code == key:
                return cat
        return None

    def category(self, key: str) -> Category:
        """The category with this id, name or path.

        Raises:
            KeyError: No category matches; the message lists the valid ids.
        """
        found = self.get(key)
        if found is None:
            raise KeyError(
                f"{key!r} is not a category of taxonomy {self.name!r}; valid ids: {self.category_ids}"
            )
        return found

    def is_category(self, category_id: str) -> bool:
        """Whether ``category_id`` is a valid label in this taxonomy (``unclassified`` included)."""
        return category_id in self.category_ids

    def group_of(self, category_id: str) -> Group | None:
        """The group of a category, if any."""
        cat = self.get(category_id)
        if cat is None or cat.group is None:
            return None
        return next(g for g in self.groups if g.id == cat.group)

    def category_for_signal(self, signal: str) -> Category | None:
        """The category that claims an offline signal, or ``None`` when none does."""
        for cat in self.categories:
            if signal in cat.signals:
                return cat
        return None

    def describe(self) -> str:
        """The taxonomy as Markdown text: what an LLM auditor reads to learn the categories."""
        lines = [f"# Taxonomy `{self.name}`: {self.title or self.name}", ""]
        if self.description:
            lines += [self.description.strip(), ""]
        groups = self.groups or [Group(id="all", name="Categories")]
        for group in groups:
            members = [c for c in self.categories if (c.group or "all") == group.id]
            if self.groups:
                lines += [f"## {group.name} (`{group.id}`)", ""]
                if group.definition:
                    lines += [group.definition.strip(), ""]
            for cat in members:
                code = f" [{cat.code}]" if cat.code else ""
                lines.append(f"- `{cat.id}`{code} **{cat.name}**: {cat.definition}")
                for example in cat.examples:
                    lines.append(f"  - e.g. {example}")
            lines.append("")
        lines.append(f"- `{UNCLASSIFIED}`: no evidence in the trajectory supports any category above.")
        return "\n".join(lines) + "\n"
