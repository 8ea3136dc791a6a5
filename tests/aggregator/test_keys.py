from __future__ import annotations

from memex_audit.aggregator import KeyConfig
from memex_audit.aggregator._keys import action_key, key_of, keys_match, normalize_arguments
from memex_audit.loaders import load
from memex_audit.trajectory import TaskGroup
from tests import paths

from .conftest import qa_rollout, tau_rollout


def test_action_key_ignores_reads_failed_calls_and_order() -> None:
    a = tau_rollout(
        "a",
        [
            ("get_user_details", {"user_id": "u1"}, "{}"),
            ("cancel_reservation", {"reservation_id": "XYZ"}, "Error: not allowed"),
            ("update_reservation_baggages", {"reservation_id": "ABC", "total_baggages": 2.0}, "{}"),
            ("cancel_reservation", {"reservation_id": "DEF"}, "{}"),
            ("transfer_to_human_agents", {"summary": "user wants a refund"}, "Transfer successful"),
        ],
    )
    b = tau_rollout(
        "b",
        [
            ("cancel_reservation", {"reservation_id": " def "}, "{}"),
            ("search_direct_flight", {"origin": "JFK"}, "[]"),
            ("update_reservation_baggages", {"total_baggages": 2, "reservation_id": "abc"}, "{}"),
        ],
    )
    ka, kb = action_key(a), action_key(b)
    assert [c.name for c in ka.actions] == ["cancel_reservation", "update_reservation_baggages"]
    assert keys_match(ka, kb)
    assert ka.label == kb.label


def test_repeated_calls_count_as_a_multiset_unless_configured() -> None:
    once = tau_rollout("a", [("cancel_reservation", {"reservation_id": "X"}, "{}")])
    twice = tau_rollout("b", [("cancel_reservation", {"reservation_id": "X"}, "{}")] * 2)
    assert not keys_match(action_key(once), action_key(twice))
    as_set = KeyConfig(multiset=False)
    assert keys_match(action_key(once, as_set), action_key(twice, as_set))


def test_read_only_tools_are_configurable() -> None:
    cfg = KeyConfig(state_changing=frozenset({"transfer_to_human_agents"}), read_only=frozenset({"log_note"}))
    assert not cfg.is_read_only("transfer_to_human_agents")
    assert cfg.is_read_only("log_note")
    assert (
        cfg.is_read_only("get_flight_status") and cfg.is_read_only("calculate") and cfg.is_read_only("think")
    )
    assert not cfg.is_read_only("book_reservation")


def test_ignored_argument_paths() -> None:
    args = {"flights": [{"flight_number": "HAT1", "date": "2024-05-01", "price": 120.0}], "summary": "x"}
    assert normalize_arguments(args, ("summary", "flights.*.price")) == {
        "flights": [{"date": "2024-05-01", "flight_number": "hat1"}]
    }


def test_auto_mode_keys_answers_and_actions() -> None:
    assert key_of(qa_rollout("q", "3,501")).kind == "answer"
    assert key_of(tau_rollout("t", [("cancel_reservation", {"reservation_id": "X"}, "{}")])).kind == "actions"
    assert key_of(qa_rollout("n", None)).kind == "none"


def _gold_key(group: TaskGroup, cfg: KeyConfig) -> str:
    gold = group.ground_truth if isinstance(group.ground_truth, list) else []
    calls = [
        (a["name"], normalize_arguments(a.get("arguments") or {}, cfg.ignored_arguments))
        for a in gold
        if isinstance(a, dict) and isinstance(a.get("name"), str) and not cfg.is_read_only(a["name"])
    ]
    import orjson

    sigs = sorted(
        orjson.dumps({"name": n, "arguments": a}, option=orjson.OPT_SORT_KEYS).decode() for n, a in calls
    )
    return "; ".join(sigs) if sigs else "(no state changes)"


def test_tau2_airline_keys_match_the_gold_actions_of_successful_rollouts() -> None:
    runs = paths.shared_data("tau2_bench", "airline_runs")
    result = load(runs)
    groups = result.tasks()
    assert len(groups) == 50
    assert all(len(g) >= 7 for g in groups)
    cfg = KeyConfig()
    agree = total = 0
    for group in groups:
        gold = _gold_key(group, cfg)
        for t in group.succeeded:
            key = key_of(t, cfg)
            assert key.kind == "actions"
            total += 1
            agree += key.label == gold
    # a rewarded rollout left the database as the gold actions do; a few reach it another way
    assert total > 200
    assert agree / total > 0.85
    # agents that pass extra flight fields (price, origin) key the same as those that do not
    task24 = next(g for g in groups if g.task_id.endswith("/24"))
    labels = {t.metadata.get("agent_id"): key_of(t, cfg).label for t in task24.succeeded}
    assert len(set(labels.values())) == 1, labels
