"""Prompts are files rendered strictly: a placeholder typo fails loudly instead of reaching a model."""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

import pytest

import memex_audit
from memex_audit.agent import PromptTemplate, load_prompt, render_prompt
from memex_audit.errors import UsageError

PROMPT_PACKAGES = ("memex_audit.agent", "memex_audit.auditor", "memex_audit.aggregator", "memex_audit.ask")


def _shipped_prompts() -> list[tuple[str, str]]:
    return [
        (package, entry.name.removesuffix(".md"))
        for package in PROMPT_PACKAGES
        for entry in resources.files(package).joinpath("prompts").iterdir()
        if entry.name.endswith(".md")
    ]


def test_a_placeholder_typo_in_the_template_names_both_spellings() -> None:
    template = PromptTemplate("Audit $target against $taxnomy.", name="audit-typo")
    with pytest.raises(UsageError) as raised:
        template.render(target="t1", taxonomy="memex")
    message = str(raised.value)
    assert "audit-typo" in message
    assert "no value for $taxnomy" in message
    assert "no placeholder for $taxonomy" in message


def test_a_missing_value_is_named() -> None:
    with pytest.raises(UsageError, match=r"no value for \$turn"):
        PromptTemplate("Turn $turn of $max_turns").render(max_turns=10)


def test_rendering_fills_every_placeholder_and_keeps_dollar_signs() -> None:
    template = PromptTemplate("Spent $$${spent} of $$$budget ($turn).")
    assert template.placeholders == {"spent", "budget", "turn"}
    assert template.render(spent="1.50", budget=5, turn="T3") == "Spent $1.50 of $5 (T3)."
    assert template.render({"spent": 1, "budget": 2}, turn=3) == "Spent $1 of $2 (3)."


def test_a_stray_dollar_sign_is_refused_with_its_line() -> None:
    with pytest.raises(UsageError, match=r"line 2: a '\$' that starts no placeholder"):
        PromptTemplate("first line\ncosts $5")


def test_an_unknown_prompt_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"no prompt 'auditr'"):
        load_prompt("memex_audit.auditor", "auditr")


@pytest.mark.parametrize(("package", "name"), _shipped_prompts())
def test_every_shipped_prompt_loads(package: str, name: str) -> None:
    template = load_prompt(package, name)
    assert template.text.strip(), f"{package}:{name} is empty"


def test_the_four_prompt_folders_are_found() -> None:
    found = {package for package, _ in _shipped_prompts()}
    assert found == set(PROMPT_PACKAGES)


def test_the_stock_agents_prompts_and_their_placeholders() -> None:
    assert load_prompt("memex_audit.auditor", "auditor").placeholders == {"taxonomy"}
    assert load_prompt("memex_audit.aggregator", "aggregator").placeholders == set()
    assert load_prompt("memex_audit.ask", "ask").placeholders == set()
    text = render_prompt("memex_audit.auditor", "auditor", taxonomy="## Categories\n- SS.1 Wrong source")
    assert text.rstrip().endswith("- SS.1 Wrong source")
    assert "$taxonomy" not in text


def _prompt_calls() -> list[tuple[str, int, str, str, set[str]]]:
    """Every ``fill(name, ...)`` and ``render_prompt(package, name, ...)`` in the package source."""
    root = Path(memex_audit.__file__).parent
    calls = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            keywords = {k.arg for k in node.keywords if k.arg is not None}
            where = str(path.relative_to(root.parent))
            if node.func.id == "fill" and len(args) == 1:
                calls.append((where, node.lineno, "memex_audit.agent", args[0], keywords))
            elif node.func.id == "render_prompt" and len(args) == 2:
                calls.append((where, node.lineno, args[0], args[1], keywords))
    return calls


def test_every_call_site_passes_exactly_the_placeholders_of_its_prompt() -> None:
    calls = _prompt_calls()
    assert len(calls) >= 20, "the scan of prompt calls found too few calls to mean anything"
    wrong = [
        f"{where}:{line}: {package}:{name} gets {sorted(given)}, needs {sorted(needed)}"
        for where, line, package, name, given in calls
        if given != (needed := load_prompt(package, name).placeholders)
    ]
    assert not wrong, "\n".join(wrong)
