"""τ-bench / τ²-bench airline: its tools, and its policy's rules on each state change.

Every rule is checked only against what the rollout itself saw before the change (the reservation,
user and flight records the tools returned, the current time the policy states); a rule whose
conditions the rollout never looked up is not checked. The rules, from the airline policy:

* **cancel**: allowed only if booked within the last 24 hours, a flight was cancelled by the
  airline, the cabin is business, or the reservation has travel insurance; never once a segment
  has been flown.
* **modify flights**: basic economy flights cannot be modified (the cabin may change; a call that
  moves out of basic economy while changing flights is not flagged).
* **baggage**: bags can be added, not removed; non-free bags are those above the membership's
  allowance for the cabin (regular 0/1/2, silver 1/2/3, gold 2/3/4 per passenger for basic
  economy / economy / business).
* **passengers**: their number cannot change.
* **book**: at most five passengers; at most one certificate, one credit card and three gift
  cards, all in the user's profile; the payments add up to the shown fares of every passenger,
  50 per non-free bag and 30 per passenger for insurance.
* **certificates** (compensation): only for silver or gold members, insured or business
  reservations; 100 (cancelled flight) or 50 (delayed flight) times the number of passengers.
* **payment**: every payment method must already be in the user's profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from memex_audit.reading._calls import call_results, failed_calls
from memex_audit.reading._packs import FindingKind, PolicyFinding, claim_by_tools, register_pack
from memex_audit.trajectory import Step, ToolCall, Trajectory

READ_ONLY = frozenset(
    {
        "get_user_details",
        "get_reservation_details",
        "get_flight_status",
        "search_direct_flight",
        "search_onestop_flight",
        "list_all_airports",
        "calculate",
        "think",
        "transfer_to_human_agents",
    }
)
STATE_CHANGING = frozenset(
    {
        "book_reservation",
        "cancel_reservation",
        "update_reservation_flights",
        "update_reservation_baggages",
        "update_reservation_passengers",
        "send_certificate",
    }
)
_SIGNATURE = frozenset({"get_reservation_details", "update_reservation_flights", "search_direct_flight"})

FREE_BAGS: dict[str, dict[str, int]] = {
    "regular": {"basic_economy": 0, "economy": 1, "business": 2},
    "silver": {"basic_economy": 1, "economy": 2, "business": 3},
    "gold": {"basic_economy": 2, "economy": 3, "business": 4},
}
BAG_FEE = 50
INSURANCE_FEE = 30
MAX_PASSENGERS = 5
MAX_PAYMENTS = {"certificate": 1, "credit_card": 1, "gift_card": 3}

_NOW = re.compile(r"current time is (\d{4}-\d{2}-\d{2})[ t](\d{2}:\d{2}(?::\d{2})?)", re.IGNORECASE)


@dataclass
class _Seen:
    """The records the rollout had seen, as of one step."""

    reservations: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    fares: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    statuses: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)


class TauAirlinePack:
    """The airline domain of τ-bench and τ²-bench."""

    name = "tau_airline"
    read_only = READ_ONLY
    state_changing = STATE_CHANGING

    def claims(self, trajectory: Trajectory) -> float:
        called = {c.name for s in trajectory.steps for c in s.tool_calls}
        if not called & _SIGNATURE:
            return 0.0
        return claim_by_tools(trajectory, READ_ONLY | STATE_CHANGING)

    def check_state_changes(self, trajectory: Trajectory) -> list[PolicyFinding]:
        now = current_time(trajectory)
        results = call_results(trajectory)
        failed = failed_calls(trajectory)
        seen = _Seen()
        findings: list[PolicyFinding] = []
        for step in trajectory.steps:
            for pos, call in enumerate(step.tool_calls):
                result = results.get((step.index, pos))
                if call.name in STATE_CHANGING and (step.index, pos) not in failed:
                    findings += _check(call, step, seen, now)
                if result is not None and (step.index, pos) not in failed:
                    _remember(call, result, seen)
        return findings


def current_time(trajectory: Trajectory) -> datetime | None:
    """The current time the policy states (``The current time is 2024-05-15 15:00:00 EST``)."""
    texts: list[str] = []
    policy = trajectory.metadata.get("policy")
    if isinstance(policy, str):
        texts.append(policy)
    texts += [s.text or "" for s in trajectory.steps[:2] if s.role == "system"]
    for text in texts:
        match = _NOW.search(text)
        if match:
            clock = match.group(2) if match.group(2).count(":") == 2 else match.group(2) + ":00"
            try:
                return datetime.fromisoformat(f"{match.group(1)}T{clock}")
            except ValueError:
                return None
    return None


def _args(call: ToolCall) -> dict[str, Any]:
    return call.arguments


def _json(text: str | None) -> Any:
    if not text or text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _remember(call: ToolCall, result: Step, seen: _Seen) -> None:
    data = _json(result.output)
    if call.name == "get_flight_status" and result.output:
        number, date = _args(call).get("flight_number"), _args(call).get("date")
        if isinstance(number, str) and isinstance(date, str):
            seen.statuses[(number.upper(), date)] = (result.index, result.output.strip().strip('"').lower())
        return
    if isinstance(data, dict) and isinstance(data.get("reservation_id"), str):
        seen.reservations[data["reservation_id"].upper()] = (result.index, data)
    if isinstance(data, dict) and "payment_methods" in data and "membership" in data:
        # τ-bench's user records leave out the id they were looked up by
        user_id = data.get("user_id") or _args(call).get("user_id")
        if isinstance(user_id, str):
            seen.users[user_id] = (result.index, data)
    if call.name.startswith("search_") and isinstance(data, list):
        date_asked = _args(call).get("date")
        flights: list[Any] = []
        for item in data:
            flights += item if isinstance(item, list) else [item]
        for flight in flights:
            if not isinstance(flight, dict) or not isinstance(flight.get("flight_number"), str):
                continue
            date = flight.get("date") or date_asked
            if isinstance(date, str):
                seen.fares[(flight["flight_number"].upper(), date)] = (result.index, flight)


def _check(call: ToolCall, step: Step, seen: _Seen, now: datetime | None) -> list[PolicyFinding]:
    args = _args(call)
    reservation_id = args.get("reservation_id")
    reservation = seen.reservations.get(reservation_id.upper()) if isinstance(reservation_id, str) else None
    if call.name == "cancel_reservation" and reservation is not None:
        return _check_cancel(call, step, reservation, seen, now)
    if call.name == "update_reservation_flights" and reservation is not None:
        return _check_modify(call, step, reservation, seen)
    if call.name == "update_reservation_baggages" and reservation is not None:
        return _check_bags(call, step, reservation, seen)
    if call.name == "update_reservation_passengers" and reservation is not None:
        return _check_passengers(call, step, reservation)
    if call.name == "book_reservation":
        return _check_book(call, step, seen)
    if call.name == "send_certificate":
        return _check_certificate(call, step, seen)
    return []


def _finding(
    call: ToolCall,
    step: Step,
    rule: str,
    detail: str,
    *,
    kind: FindingKind = "policy_violation",
    value: object = None,
    evidence: tuple[int, str] | None = None,
) -> PolicyFinding:
    quote = call.name
    if value is not None:
        text = value if isinstance(value, str) else str(value)
        if text and step.contains(text):
            quote = text
    return PolicyFinding(
        step=step.index,
        tool=call.name,
        rule=rule,
        kind=kind,
        detail=detail,
        quote=quote,
        evidence_step=evidence[0] if evidence else None,
        evidence_quote=evidence[1] if evidence else None,
    )


def _flights(record: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for flight in record.get("flights") or []:
        if isinstance(flight, dict) and isinstance(flight.get("flight_number"), str):
            out.append((flight["flight_number"].upper(), str(flight.get("date") or "")))
    return out


def _check_cancel(
    call: ToolCall,
    step: Step,
    reservation: tuple[int, dict[str, Any]],
    seen: _Seen,
    now: datetime | None,
) -> list[PolicyFinding]:
    at, record = reservation
    rid = record.get("reservation_id")
    flights = _flights(record)
    statuses = [seen.statuses.get(f) for f in flights]
    flown = [
        f for f, s in zip(flights, statuses, strict=True) if s is not None and s[1] in ("landed", "flying")
    ]
    if flown:
        return [
            _finding(
                call,
                step,
                "cancel_after_flown",
                f"cancelled {rid} though flight {flown[0][0]} on {flown[0][1]} had already flown "
                "(the policy calls for a transfer)",
                value=rid,
                evidence=(at, str(rid)),
            )
        ]
    created = _parse_time(record.get("created_at"))
    recent = created is not None and now is not None and timedelta(0) <= now - created <= timedelta(hours=24)
    airline_cancelled = any(s is not None and s[1] == "cancelled" for s in statuses) or any(
        isinstance(f, dict) and str(f.get("status", "")).lower() == "cancelled"
        for f in record.get("flights") or []
    )
    business = str(record.get("cabin", "")).lower() == "business"
    insured = str(record.get("insurance", "")).lower() == "yes"
    if recent or airline_cancelled or business or insured:
        return []
    if created is None or now is None:
        return []  # the 24-hour rule cannot be checked
    return [
        _finding(
            call,
            step,
            "cancel_not_allowed",
            f"cancelled {rid}: booked {record.get('created_at')} (over 24 hours before {now:%Y-%m-%d %H:%M}), "
            f"{record.get('cabin')} cabin, no insurance, and no flight seen cancelled by the airline",
            value=rid,
            evidence=(at, str(record.get("created_at"))),
        )
    ]


def _check_modify(
    call: ToolCall, step: Step, reservation: tuple[int, dict[str, Any]], seen: _Seen
) -> list[PolicyFinding]:
    at, record = reservation
    out: list[PolicyFinding] = []
    new = [
        (str(f.get("flight_number", "")).upper(), str(f.get("date", "")))
        for f in _args(call).get("flights") or []
        if isinstance(f, dict)
    ]
    old = _flights(record)
    new_cabin = str(_args(call).get("cabin") or record.get("cabin", "")).lower()
    if (
        str(record.get("cabin", "")).lower() == "basic_economy"
        and new_cabin == "basic_economy"  # an upgrade out of basic economy with it is read as allowed
        and new
        and sorted(new) != sorted(old)
    ):
        out.append(
            _finding(
                call,
                step,
                "basic_economy_modified",
                f"changed the flights of basic economy reservation {record.get('reservation_id')} "
                "(basic economy flights cannot be modified)",
                value=_args(call).get("reservation_id"),
                evidence=(at, "basic_economy"),
            )
        )
    out += _payment_in_profile(call, step, record.get("user_id"), seen)
    return out


def _check_bags(
    call: ToolCall, step: Step, reservation: tuple[int, dict[str, Any]], seen: _Seen
) -> list[PolicyFinding]:
    at, record = reservation
    out: list[PolicyFinding] = []
    total = _int(_args(call).get("total_baggages"))
    nonfree = _int(_args(call).get("nonfree_baggages"))
    before = _int(record.get("total_baggages"))
    if total is not None and before is not None and total < before:
        out.append(
            _finding(
                call,
                step,
                "bags_removed",
                f"set {total} checked bags on a reservation that had {before} (bags can be added, not removed)",
                value=total,
                evidence=(at, f'"total_baggages": {before}'),
            )
        )
    out += _nonfree_miscounted(
        call, step, record, total, nonfree, seen, (at, str(record.get("reservation_id")))
    )
    out += _payment_in_profile(call, step, record.get("user_id"), seen)
    return out


def _check_passengers(
    call: ToolCall, step: Step, reservation: tuple[int, dict[str, Any]]
) -> list[PolicyFinding]:
    at, record = reservation
    new = _args(call).get("passengers")
    old = record.get("passengers")
    if isinstance(new, list) and isinstance(old, list) and len(new) != len(old):
        return [
            _finding(
                call,
                step,
                "passenger_count_changed",
                f"{len(new)} passengers on a reservation with {len(old)} (their number cannot change)",
                evidence=(at, str(record.get("reservation_id"))),
            )
        ]
    return []


def _check_book(call: ToolCall, step: Step, seen: _Seen) -> list[PolicyFinding]:
    args = _args(call)
    out: list[PolicyFinding] = []
    passengers = args.get("passengers")
    n = len(passengers) if isinstance(passengers, list) else None
    if n is not None and n > MAX_PASSENGERS:
        out.append(
            _finding(call, step, "too_many_passengers", f"booked {n} passengers (at most {MAX_PASSENGERS})")
        )
    payments = [p for p in args.get("payment_methods") or [] if isinstance(p, dict)]
    kinds: dict[str, int] = {}
    for p in payments:
        pid = str(p.get("payment_id", ""))
        kind = next((k for k in MAX_PAYMENTS if pid.startswith(k)), None)
        if kind:
            kinds[kind] = kinds.get(kind, 0) + 1
    for kind, count in kinds.items():
        if count > MAX_PAYMENTS[kind]:
            out.append(
                _finding(
                    call,
                    step,
                    "too_many_payment_methods",
                    f"paid with {count} {kind.replace('_', ' ')}s (at most {MAX_PAYMENTS[kind]})",
                )
            )
    user_id = args.get("user_id")
    out += _payment_in_profile(call, step, user_id, seen)
    cabin = str(args.get("cabin", "")).lower()
    record = {"cabin": cabin, "passengers": passengers or [], "user_id": user_id}
    total = _int(args.get("total_baggages"))
    nonfree = _int(args.get("nonfree_baggages"))
    out += _nonfree_miscounted(call, step, record, total, nonfree, seen)
    fares = []
    for f in args.get("flights") or []:
        if not isinstance(f, dict):
            continue
        hit = seen.fares.get((str(f.get("flight_number", "")).upper(), str(f.get("date", ""))))
        price = (
            hit[1].get("prices", {}).get(cabin) if hit and isinstance(hit[1].get("prices"), dict) else None
        )
        fares.append(price if isinstance(price, int | float) else None)
    paid_raw = [p.get("amount") for p in payments]
    shown = [float(x) for x in fares if x is not None]
    paid = [float(x) for x in paid_raw if isinstance(x, int | float) and not isinstance(x, bool)]
    if (
        n
        and fares
        and len(shown) == len(fares)
        and paid
        and len(paid) == len(paid_raw)
        and nonfree is not None
    ):
        insured = str(args.get("insurance", "")).lower() == "yes"
        due = sum(shown) * n + BAG_FEE * nonfree + (INSURANCE_FEE * n if insured else 0)
        total_paid = sum(paid)
        if abs(total_paid - due) > 0.5:
            out.append(
                _finding(
                    call,
                    step,
                    "payment_total_mismatch",
                    f"payments add up to {total_paid:g}, but the shown fares ({' + '.join(f'{x:g}' for x in shown)})"
                    f" for {n} passengers, {nonfree} non-free bags"
                    + (" and insurance" if insured else "")
                    + f" come to {due:g}",
                    kind="computed_mismatch",
                    value=paid_raw[0],
                )
            )
    return out


def _check_certificate(call: ToolCall, step: Step, seen: _Seen) -> list[PolicyFinding]:
    user_id = _args(call).get("user_id")
    amount = _args(call).get("amount")
    user = seen.users.get(user_id) if isinstance(user_id, str) else None
    if user is None or not isinstance(amount, int | float):
        return []
    at, profile = user
    membership = str(profile.get("membership", "")).lower()
    own = [r for _, r in seen.reservations.values() if r.get("user_id") == user_id]
    if not own:
        return []
    eligible = membership in ("silver", "gold") or any(
        str(r.get("insurance", "")).lower() == "yes" or str(r.get("cabin", "")).lower() == "business"
        for r in own
    )
    if not eligible:
        return [
            _finding(
                call,
                step,
                "compensation_not_allowed",
                f"sent a {amount:g} certificate to a regular member whose reservations seen have no "
                "insurance and no business cabin",
                value=amount,
                evidence=(at, f'"membership": "{membership}"'),
            )
        ]
    counts = {len(r.get("passengers") or []) for r in own}
    allowed = {unit * c for unit in (50, 100) for c in counts if c}
    if allowed and amount not in allowed:
        return [
            _finding(
                call,
                step,
                "compensation_amount",
                f"certificate of {amount:g}, but 50 or 100 per passenger of the user's reservations gives "
                + ", ".join(f"{a:g}" for a in sorted(allowed)),
                kind="computed_mismatch",
                value=amount,
            )
        ]
    return []


def _payment_in_profile(call: ToolCall, step: Step, user_id: object, seen: _Seen) -> list[PolicyFinding]:
    user = seen.users.get(user_id) if isinstance(user_id, str) else None
    if user is None:
        return []
    at, profile = user
    methods = profile.get("payment_methods")
    if not isinstance(methods, dict):
        return []
    used: list[str] = []
    if isinstance(_args(call).get("payment_id"), str):
        used.append(_args(call)["payment_id"])
    for p in _args(call).get("payment_methods") or []:
        if isinstance(p, dict) and isinstance(p.get("payment_id"), str):
            used.append(p["payment_id"])
    out = []
    for pid in used:
        if pid not in methods:
            out.append(
                _finding(
                    call,
                    step,
                    "payment_not_in_profile",
                    f"payment method {pid} is not in the profile of {user_id}",
                    value=pid,
                    evidence=(at, str(user_id)),
                )
            )
            continue
        balance = methods[pid].get("amount") if isinstance(methods[pid], dict) else None
        for p in _args(call).get("payment_methods") or []:
            if (
                isinstance(p, dict)
                and p.get("payment_id") == pid
                and isinstance(balance, int | float)
                and isinstance(p.get("amount"), int | float)
                and p["amount"] > balance + 1e-6
            ):
                out.append(
                    _finding(
                        call,
                        step,
                        "payment_over_balance",
                        f"charged {p['amount']:g} to {pid}, whose balance is {balance:g}",
                        kind="computed_mismatch",
                        value=pid,
                        evidence=(at, pid),
                    )
                )
    return out


def _nonfree(record: dict[str, Any], total: int | None, seen: _Seen) -> tuple[int, int, str] | None:
    user_id = record.get("user_id")
    user = seen.users.get(user_id) if isinstance(user_id, str) else None
    passengers = record.get("passengers")
    cabin = str(record.get("cabin", "")).lower()
    if user is None or total is None or not isinstance(passengers, list) or not passengers:
        return None
    membership = str(user[1].get("membership", "")).lower()
    per = FREE_BAGS.get(membership, {}).get(cabin)
    if per is None:
        return None
    free = per * len(passengers)
    how = f"{membership} member, {cabin}, {len(passengers)} passengers x {per}"
    return max(0, total - free), free, how


def _nonfree_miscounted(
    call: ToolCall,
    step: Step,
    record: dict[str, Any],
    total: int | None,
    nonfree: int | None,
    seen: _Seen,
    evidence: tuple[int, str] | None = None,
) -> list[PolicyFinding]:
    """A finding when ``nonfree`` of ``total`` bags is not what the membership's free allowance leaves."""
    expected = _nonfree(record, total, seen)
    if expected is None or nonfree is None or nonfree == expected[0]:
        return []
    return [
        _finding(
            call,
            step,
            "nonfree_bags_miscounted",
            f"{nonfree} non-free bags, but {total} bags with {expected[1]} free ({expected[2]}) leave "
            f"{expected[0]}",
            kind="computed_mismatch",
            value=nonfree,
            evidence=evidence,
        )
    ]


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "")).replace(tzinfo=None)
    except ValueError:
        return None


PACK = TauAirlinePack()
register_pack(PACK, replace=True)
