"""Prompt files, loaded by name from a package's ``prompts/`` folder and rendered strictly.

Every prompt of the agent loop and of the stock agents is a Markdown file with ``$name``
placeholders (``$$`` for a literal dollar sign). Rendering is strict: a placeholder without a value,
or a value without a placeholder (a typo on either side), raises ``UsageError`` naming it, instead
of sending a prompt with a hole in it.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from memex_audit.errors import UsageError

_PLACEHOLDER = string.Template.pattern


@dataclass(frozen=True)
class PromptTemplate:
    """The text of one prompt and the placeholders it needs.

    Args:
        text: The template: ``$name`` or ``${name}`` placeholders, ``$$`` for a dollar sign.
        name: What the prompt is called in error messages (e.g. ``memex_audit.auditor:auditor``).
    """

    text: str
    name: str = "prompt"

    def __post_init__(self) -> None:
        for match in _PLACEHOLDER.finditer(self.text):
            if match.group("invalid") is not None:
                line = self.text.count("\n", 0, match.start()) + 1
                raise UsageError(
                    f"prompt {self.name}, line {line}: a '$' that starts no placeholder "
                    "(write $$ for a dollar sign, $name or ${name} for a value)"
                )

    @property
    def placeholders(self) -> frozenset[str]:
        """The names of the placeholders in the text."""
        return frozenset(string.Template(self.text).get_identifiers())

    def render(self, values: Mapping[str, object] | None = None, /, **more: object) -> str:
        """The text with every placeholder replaced by ``str(value)``.

        Raises:
            UsageError: A placeholder has no value, or a value has no placeholder; the message
                names them.
        """
        given = {**(values or {}), **more}
        missing = sorted(self.placeholders - given.keys())
        unknown = sorted(given.keys() - self.placeholders)
        if missing or unknown:
            problems = []
            if missing:
                problems.append("no value for " + ", ".join(f"${n}" for n in missing))
            if unknown:
                problems.append("no placeholder for " + ", ".join(f"${n}" for n in unknown))
            expected = ", ".join(f"${n}" for n in sorted(self.placeholders)) or "none"
            raise UsageError(f"prompt {self.name}: {'; '.join(problems)} (its placeholders: {expected})")
        return string.Template(self.text).substitute({k: str(v) for k, v in given.items()})


@functools.cache
def load_prompt(package: str, name: str) -> PromptTemplate:
    """The prompt ``<package>/prompts/<name>.md``, read once.

    Args:
        package: The package that ships the prompt, e.g. ``"memex_audit.auditor"``.
        name: The file name without ``.md``.

    Raises:
        UsageError: The package has no such prompt, or its text has a stray ``$``.
    """
    path = resources.files(package).joinpath("prompts", f"{name}.md")
    if not path.is_file():
        raise UsageError(f"{package} has no prompt {name!r} (no file prompts/{name}.md)")
    return PromptTemplate(path.read_text(encoding="utf-8"), name=f"{package}:{name}")


def render_prompt(package: str, name: str, /, **values: object) -> str:
    """The prompt ``<package>/prompts/<name>.md`` with its placeholders filled (see ``PromptTemplate``)."""
    return load_prompt(package, name).render(values)


def fill(name: str, **values: object) -> str:
    """The agent loop's prompt ``name`` with its placeholders filled, without surrounding blank space."""
    return render_prompt("memex_audit.agent", name, **values).strip()
