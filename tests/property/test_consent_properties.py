"""The ledger agrees with a tiny reference model, whatever the order events arrive in."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.policies.consent import ConsentAction, ConsentEvent, ConsentLedger, Purpose
from recoverykit.testing.strategies import consent_events, consent_ledgers
from recoverykit.values.model import Channel

BASE = datetime.fromisoformat("2026-03-01T12:00:00+00:00")
QUESTIONS = st.tuples(
    st.sampled_from(["cus-1", "cus-2"]),
    st.sampled_from([Channel.SMS, Channel.WHATSAPP]),
    st.sampled_from(Purpose),
    st.integers(-1, 12).map(lambda m: BASE + timedelta(minutes=m)),
    st.sampled_from([None, "+48600100200", "+48600100201"]),
    st.booleans(),
)
Question = tuple[str, Channel, Purpose, datetime, str | None, bool]


def model(events: tuple[ConsentEvent, ...], question: Question) -> tuple[bool, bool]:
    """(allowed, pending) from the rules as written, by brute force over every event."""
    customer, channel, purpose, at, address, require_confirmed = question
    relevant = [
        e
        for e in events
        if e.customer_id == customer
        and e.at <= at
        and e.channel in {channel, None}
        and e.purpose in {purpose, None}
        # A revocation of every channel covers every address the customer has.
        and (address is None or e.address is None or e.channel is None or e.address == address)
    ]
    revoked = [e.at for e in relevant if e.action is ConsentAction.REVOKED]
    cutoff = max(revoked) if revoked else None
    after = [e for e in relevant if cutoff is None or e.at > cutoff]
    grants = [e.at for e in after if e.action is ConsentAction.GRANTED]
    confirms = [e.at for e in after if e.action is ConsentAction.CONFIRMED]
    if not require_confirmed:
        return bool(grants or confirms), False
    latest_grant = max(grants) if grants else None
    confirmed = any(latest_grant is None or c >= latest_grant for c in confirms)
    return confirmed, bool(grants) and not confirmed


def opted_out_model(
    events: tuple[ConsentEvent, ...], customer: str, channel: Channel, at: datetime
) -> bool:
    """Every purpose with history on the channel ends in a revocation that no grant outdates."""
    decided: list[bool] = []
    for purpose in Purpose:
        relevant = [
            e
            for e in events
            if e.customer_id == customer
            and e.at <= at
            and e.channel in {channel, None}
            and e.purpose in {purpose, None}
        ]
        if not relevant:
            continue
        revoked = [e.at for e in relevant if e.action is ConsentAction.REVOKED]
        granted = [e.at for e in relevant if e.action is not ConsentAction.REVOKED]
        decided.append(bool(revoked) and (not granted or max(granted) <= max(revoked)))
    return bool(decided) and all(decided)


@given(st.lists(consent_events(), max_size=25), st.lists(QUESTIONS, min_size=1, max_size=8))
def test_ledger_matches_reference_model(
    events: list[ConsentEvent], questions: list[Question]
) -> None:
    """allows/status equal the brute-force model for random events in random append order."""
    ledger = ConsentLedger(tuple(events))
    for question in questions:
        customer, channel, purpose, at, address, require_confirmed = question
        status = ledger.status(
            customer, channel, purpose, at, address=address, require_confirmed=require_confirmed
        )
        assert model(ledger.events, question) == (status.allowed, status.pending_confirmation)


@given(st.lists(consent_events(), max_size=25), st.lists(QUESTIONS, min_size=1, max_size=4))
def test_opted_out_matches_reference_model(
    events: list[ConsentEvent], questions: list[Question]
) -> None:
    """opted_out is true exactly when every purpose's latest decisive event is a revocation."""
    ledger = ConsentLedger(tuple(events))
    for customer, channel, _purpose, at, _address, _confirmed in questions:
        assert opted_out_model(ledger.events, customer, channel, at) == ledger.opted_out(
            customer, channel, at
        )


@given(st.lists(consent_events(), max_size=20), QUESTIONS)
def test_incremental_folding_equals_folding_at_once(
    events: list[ConsentEvent], question: Question
) -> None:
    """Appending one by one (asking between appends) answers as building the ledger at once."""
    customer, channel, purpose, at, address, require_confirmed = question
    ledger = ConsentLedger()
    for event in events:
        ledger.allows(customer, channel, purpose, at, address=address)  # folds, then shares
        ledger = ledger.append(event)
    whole = ConsentLedger(tuple(events))
    kwargs = {"address": address, "require_confirmed": require_confirmed}
    assert whole.status(customer, channel, purpose, at, **kwargs) == ledger.status(  # type: ignore[arg-type]
        customer,
        channel,
        purpose,
        at,
        **kwargs,  # type: ignore[arg-type]
    )


@given(consent_ledgers())
def test_round_trip(ledger: ConsentLedger) -> None:
    """Every ledger survives to_dict / from_dict unchanged."""
    assert ledger == ConsentLedger.from_dict(ledger.to_dict())


@given(consent_ledgers())
def test_audit_is_the_trail_in_time_order(ledger: ConsentLedger) -> None:
    """audit() holds exactly the customer's events, sorted by time."""
    trail = ledger.audit("cus-1")
    assert sorted(
        (e for e in ledger.events if e.customer_id == "cus-1"), key=lambda e: e.at
    ) == list(trail)
