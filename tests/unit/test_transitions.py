"""Every status × every event: no crash, only the outcomes TRANSITIONS documents."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from recoverykit import Channel, classify_reply
from recoverykit.engine.events import (
    CartEmptied,
    CartUpdated,
    CheckoutAbandoned,
    ConsentChanged,
    Event,
    LinkClicked,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    RecoveryResumed,
    ReplyReceived,
    WakeupDue,
)
from recoverykit.engine.machine import decide
from recoverykit.engine.notes import Ignored
from recoverykit.engine.policy import Context, RecoveryPolicy
from recoverykit.engine.state import TRANSITIONS, RecoveryState, RecoveryStatus, state_diagram
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.testing import EngineDriver
from tests.engine_helpers import T0, checkout, customer, grant

POLICY = RecoveryPolicy(store_name="Sklep Ola")
WHO = customer()
GRANTS = [grant(WHO, Channel.SMS), grant(WHO, Channel.EMAIL)]
LATER = T0 + timedelta(hours=3)


def state_in(status: RecoveryStatus) -> RecoveryState:
    """A realistic state in ``status``: one touch sent, then moved to the status."""
    driver = EngineDriver(POLICY, consent=GRANTS)
    driver.feed(CheckoutAbandoned(checkout(WHO), T0))
    driver.run_until(T0 + timedelta(hours=2))
    state = driver.states["chk-1"]
    if status is RecoveryStatus.NEW:
        return RecoveryState(checkout_id="chk-1", customer_id="c1")
    return attrs.evolve(state, status=status)


def events() -> list[Event]:
    revoke = ConsentEvent(
        customer_id="c1",
        channel=Channel.SMS,
        purpose=None,
        action=ConsentAction.REVOKED,
        at=LATER,
        source="api",
    )
    return [
        CheckoutAbandoned(checkout(WHO), T0),
        OrderPlaced("chk-1", LATER, customer_id="c1"),
        CartEmptied("chk-1", LATER),
        CartUpdated("chk-1", LATER, items=checkout(WHO).items),
        ReplyReceived("c1", Channel.SMS, classify_reply("STOP"), LATER),
        ReplyReceived("c1", Channel.SMS, classify_reply("where is my parcel?"), LATER),
        ReplyReceived("c1", Channel.SMS, classify_reply("1"), LATER),
        MessageDelivered("chk-1", 1, Channel.SMS, LATER),
        MessageRead("chk-1", 1, Channel.SMS, LATER),
        MessageFailed("chk-1", 1, Channel.SMS, LATER, permanent=True),
        MessageFailed("chk-1", 1, Channel.SMS, LATER),
        LinkClicked("chk-1", LATER),
        ConsentChanged(revoke),
        ConsentChanged(
            attrs.evolve(revoke, action=ConsentAction.GRANTED, purpose=Purpose.RECOVERY)
        ),
        WakeupDue("chk-1", T0 + timedelta(days=40)),
        RecoveryResumed("chk-1", LATER),
    ]


@pytest.mark.parametrize("status", list(RecoveryStatus))
@pytest.mark.parametrize("event", events(), ids=lambda e: type(e).__name__)
def test_every_status_and_event(status: RecoveryStatus, event: Event) -> None:
    """A pair in TRANSITIONS lands in one of its listed statuses; any other pair is Ignored."""
    state = state_in(status)
    ledger_events = GRANTS
    from recoverykit import ConsentLedger

    context = Context(consent=ConsentLedger().extend(ledger_events))
    decision = decide(state, event, now=LATER, policy=POLICY, context=context)
    allowed = TRANSITIONS.get((status, type(event)))
    if allowed is None:
        assert isinstance(decision.notes[-1], Ignored)
        assert [] == list(decision.commands)
        assert status == decision.state.status
    else:
        assert decision.state.status in allowed


def test_state_diagram_page_is_generated_from_the_table() -> None:
    """docs/reference/state-diagram.md shows exactly what TRANSITIONS says."""
    page = Path(__file__).parents[2] / "docs" / "reference" / "state-diagram.md"
    assert state_diagram() in page.read_text("utf-8")
