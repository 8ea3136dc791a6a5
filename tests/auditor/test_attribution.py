"""Decisive-error attribution: the step where the wrong answer's value entered, else a marked guess."""

from __future__ import annotations

from memex_audit.auditor import detect_signals, verdict_from_signals
from memex_audit.auditor._attribution import attribute, positional_guess, trace_answer
from memex_audit.auditor._classify import GUESS_CONFIDENCE
from memex_audit.auditor._process_signals import detect_repetition, detect_retyped_numbers
from memex_audit.auditor._readings import table_rows
from memex_audit.reading._numbers import find_numbers, is_line_number
from memex_audit.taxonomy import load_taxonomy
from memex_audit.trajectory import Outcome, Step, Trajectory
from tests.factories import multi_agent_run
from tests.paths import shared_data

QUESTION = "Which of the two homes sold for more in 2022, and for how much?"


def _team(*messages: tuple[str, str, str], truth: str = "900000") -> Trajectory:
    """An AG2-like team run: (agent, role, text) per step; a ``Computer_terminal`` step is a tool output."""
    steps = [
        Step(index=i, role=role, agent=agent, text=text)  # type: ignore[arg-type]
        for i, (agent, role, text) in enumerate(messages)
    ]
    return Trajectory(
        id="team-1",
        task_id="homes",
        question=QUESTION,
        ground_truth=truth,
        outcome=Outcome(correct=False),
        harness="ag2",
        steps=steps,
    )


def test_the_worker_who_first_states_the_wrong_value_is_blamed_not_the_verifier_who_repeats_it() -> None:
    run = _team(
        ("Planner_Expert", "assistant", f"# General Task\n{QUESTION}\n## Plan\n1. Gather the prices."),
        ("Analyst_Expert", "user", "Real estate expert, please give the two sale prices."),
        (
            "RealEstate_Expert",
            "assistant",
            "Here is the data: Akaikai Loop sold for $850,000, Komo Mai for $950,000.",
        ),
        ("Checker_Expert", "user", "Comparing 850000 and 950000, 950000 is higher."),
        ("Checker_Expert", "user", "The home that sold for more is **950000**.\n\nTERMINATE"),
    )
    traced = trace_answer(run)
    assert traced is not None and traced.finding
    assert (traced.step, traced.agent) == (2, "RealEstate_Expert")
    assert traced.quote is not None and run.steps[2].contains(traced.quote)
    verdict = verdict_from_signals([], load_taxonomy("mast"), run)
    assert (verdict.faulty_step, verdict.faulty_agent) == (2, "RealEstate_Expert")
    assert verdict.confidence > GUESS_CONFIDENCE
    assert "positional guess" not in verdict.explanation


def test_a_computed_value_goes_to_the_code_that_produced_it() -> None:
    run = _team(
        ("Planner_Expert", "assistant", f"# General Task\n{QUESTION}"),
        ("Coder_Expert", "user", "```python\nprint(737015 - 4965 + 1)\n```"),
        ("Computer_terminal", "user", "exitcode: 0 (execution succeeded)\nCode output: 732051"),
        ("Checker_Expert", "user", "Therefore the difference is 732,051 as computed."),
    )
    traced = trace_answer(run)
    assert traced is not None and (traced.step, traced.agent) == (1, "Coder_Expert")


def test_values_the_task_gives_or_the_truth_holds_are_not_traced() -> None:
    run = _team(
        ("Planner_Expert", "assistant", f"# General Task\n{QUESTION}\nThe prices are 950000 and 850000."),
        ("Checker_Expert", "user", "Therefore the answer is 950000 and the year is 2022."),
        truth="950000",
    )
    assert trace_answer(run) is None


def test_without_a_traceable_answer_the_attribution_is_a_marked_guess() -> None:
    run = multi_agent_run()
    run = run.model_copy(update={"steps": [*run.steps[:2], run.steps[2].model_copy(update={"text": "OK."})]})
    guess = attribute(run)
    assert not guess.finding and guess.step == 1 and guess.agent == "WebSurfer"
    verdict = verdict_from_signals([], load_taxonomy("mast"), run)
    assert verdict.confidence == GUESS_CONFIDENCE
    assert "positional guess" in verdict.explanation


def test_the_guess_skips_the_plain_search_a_browsing_worker_opens_with() -> None:
    steps = [
        Step(index=0, role="user", agent="human", text="Which fund had the lowest fee?"),
        Step(index=1, role="assistant", agent="Orchestrator (-> WebSurfer)", text="Please search for funds."),
        Step(
            index=2,
            role="assistant",
            agent="WebSurfer",
            text="I typed 'funds' into '0 characters out of 2000'.",
        ),
        Step(index=3, role="assistant", agent="Orchestrator (-> WebSurfer)", text="Open the first result."),
        Step(index=4, role="assistant", agent="WebSurfer", text="I clicked 'Fund list'. The page shows..."),
    ]
    run = Trajectory(id="m1", task_id="f", question="Which fund had the lowest fee?", steps=steps)
    guess = positional_guess(run)
    assert (guess.step, guess.agent, guess.finding) == (4, "WebSurfer", False)


def test_a_coordinator_repeating_an_instruction_is_not_a_repeated_step() -> None:
    ask = "Please continue scrolling the archive page and identify the city on the horizon."
    steps = [Step(index=0, role="user", agent="human", text="Which city?")]
    for i in range(1, 7, 2):
        steps.append(Step(index=i, role="assistant", agent="Orchestrator (-> WebSurfer)", text=ask))
        steps.append(
            Step(index=i + 1, role="assistant", agent="WebSurfer", text=f"I scrolled down, page {i}.")
        )
    run = Trajectory(id="r", task_id="c", question="Which city?", steps=steps)
    assert detect_repetition(run) == []


def test_line_numbers_of_a_listing_are_not_values() -> None:
    listing = "   212  def total(rows):\n   213      return sum(rows)\n   214  \n"
    assert all(is_line_number(listing, m) for m in find_numbers(listing) if m.value >= 212)
    assert is_line_number("sed -n '212,230p' a.py", find_numbers("sed -n '212,230p' a.py")[0])
    assert not is_line_number("Total debt 3,501.2", find_numbers("Total debt 3,501.2")[0])
    steps = [
        Step(index=0, role="user", text="Fix the bug."),
        Step(index=1, role="assistant", text="Read it.", code="!cat -n app.py", output=listing),
        Step(index=2, role="assistant", text="Edit.", code="!sed -n '213,215p' app.py"),
    ]
    run = Trajectory(id="c", task_id="c", question="Fix the bug.", steps=steps)
    assert detect_retyped_numbers(run) == []


def test_a_directory_listing_is_not_a_table() -> None:
    listing = (
        "total 24\n-rw-r--r-- 1 root root 4096 Jan  1 12:00 a.py\n"
        "-rw-r--r-- 1 root root 4096 Jan  1 12:00 b.py\n"
    )
    steps = [
        Step(index=0, role="user", text="List."),
        Step(index=1, role="assistant", text="ls", code="!ls -l", output=listing),
    ]
    assert table_rows(Trajectory(id="l", task_id="l", steps=steps)) == ()


def _who_and_when() -> list[Trajectory]:
    from memex_audit.loaders import load

    loaded = load(shared_data("who_and_when"))
    trajectories = list(getattr(loaded, "trajectories", loaded))
    assert trajectories, "no Who&When log loaded from ../shared/data/who_and_when"
    return trajectories


def test_attribution_on_who_and_when_beats_the_old_first_worker_rule() -> None:
    """On real multi-agent logs, the attribution is at least as good as the old fallback alone (first
    acting worker step: 62% agent / 31% step on the dev data) and the traced findings beat it."""
    taxonomy = load_taxonomy("mast")
    agent_hits = step_hits = traced = traced_steps = 0
    trajectories = _who_and_when()
    for run in trajectories:
        label = run.labels[0]
        verdict = verdict_from_signals(detect_signals(run, ground_truth=run.ground_truth), taxonomy, run)
        same_agent = (verdict.faulty_agent or "").casefold() == (label.faulty_agent or "").casefold()
        agent_hits += same_agent
        step_hits += verdict.faulty_step == label.faulty_step
        if "positional guess" not in verdict.explanation:
            traced += 1
            traced_steps += verdict.faulty_step == label.faulty_step
    n = len(trajectories)
    assert agent_hits / n >= 0.62
    assert step_hits / n >= 0.36
    if traced:
        assert traced_steps / traced >= 0.4
