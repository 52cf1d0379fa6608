"""The abandonment detector's rules, one example each (recoverykit/detector.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recoverykit.detector import (
    DetectorNote,
    DetectorPolicy,
    ShopOrder,
    WatchStatus,
    activity_from_dict,
    activity_to_dict,
    base_checkout_id,
    check,
    complete,
    observe,
    order_from_dict,
    order_to_dict,
    watch_from_dict,
    watch_to_dict,
)
from recoverykit.engine.events import CheckoutAbandoned, WakeupDue
from recoverykit.engine.machine import decide
from recoverykit.engine.policy import Context, RecoveryPolicy
from recoverykit.errors import InvalidInputError
from recoverykit.policies.consent import ConsentLedger
from recoverykit.values.model import Channel, Stage
from tests.detector_helpers import POLICY, Book, Tick, activity, shopper
from tests.engine_helpers import T0, grant

IDLE = POLICY.idle


def test_quiet_payment_checkout_is_abandoned_after_the_idle_time() -> None:
    """Rule 1: 30 minutes after the last activity at payment, one CheckoutAbandoned."""
    book = Book()
    assert [] == book.run([activity(at=T0), Tick(T0 + IDLE - timedelta(seconds=1))])
    found = book.feed(Tick(T0 + IDLE))
    assert 1 == len(found)
    event = found[0]
    assert "tok-1" == event.checkout.id
    assert T0 == event.at == event.checkout.abandoned_at
    assert Stage.PAYMENT == event.checkout.stage
    assert "https://shop.example/checkouts/tok-1/recover" == event.checkout.link


def test_new_activity_restarts_the_idle_clock() -> None:
    """The idle time counts from the last activity, not the first."""
    book = Book()
    book.run([activity(at=T0, stage=Stage.SHIPPING), activity(at=T0 + timedelta(minutes=20))])
    assert [] == book.feed(Tick(T0 + IDLE))
    assert 1 == len(book.feed(Tick(T0 + timedelta(minutes=20) + IDLE)))


def test_early_stage_is_never_abandoned() -> None:
    """Rule 1: a checkout that only reached contact is not abandoned by default."""
    book = Book()
    assert [] == book.run([activity(stage=Stage.CONTACT), Tick(T0 + timedelta(days=2))])
    detection = check(
        observe(None, activity(stage=Stage.CONTACT), policy=POLICY), now=T0 + IDLE, policy=POLICY
    )
    assert DetectorNote.EARLY_STAGE == detection.note


def test_contact_stage_counts_when_the_policy_says_so() -> None:
    """A store may count the contact stage too."""
    policy = DetectorPolicy(stages={Stage.CONTACT, Stage.SHIPPING, Stage.PAYMENT})
    book = Book(policy=policy)
    assert 1 == len(book.run([activity(stage=Stage.CONTACT), Tick(T0 + IDLE)]))


def test_empty_checkout_is_its_own_case_never_sold_out() -> None:
    """Rule 2: no items means no abandonment, noted as no_items (never "sold out")."""
    policy = DetectorPolicy(stages={Stage.CONTACT, Stage.SHIPPING, Stage.PAYMENT})
    watch = observe(None, activity(stage=Stage.CONTACT, items=False), policy=policy)
    detection = check(watch, now=T0 + IDLE, policy=policy)
    assert detection.abandoned is None
    assert DetectorNote.NO_ITEMS == detection.note


def test_stage_is_the_furthest_reached_even_out_of_order() -> None:
    """A late snapshot at an earlier stage does not lower the stage reached."""
    book = Book()
    found = book.run(
        [
            activity(at=T0 + timedelta(minutes=1), stage=Stage.PAYMENT),
            activity(at=T0, stage=Stage.CONTACT),
            Tick(T0 + timedelta(minutes=1) + IDLE),
        ]
    )
    assert [Stage.PAYMENT] == [event.checkout.stage for event in found]


def test_order_of_this_checkout_completes_it() -> None:
    """Rule 5: an order naming the checkout means it is never abandoned."""
    order = ShopOrder("ord-1", T0 + timedelta(minutes=5), checkout_id="tok-1")
    book = Book()
    assert [] == book.run([activity(), order, Tick(T0 + timedelta(days=3))])
    assert WatchStatus.COMPLETED == book.watches["tok-1"].status


def test_order_before_the_activity_still_completes() -> None:
    """Rule 5 holds when the order webhook overtakes the checkout webhook."""
    order = ShopOrder("ord-1", T0, checkout_id="tok-1")
    book = Book()
    assert [] == book.run([order, activity(at=T0 - timedelta(minutes=1)), Tick(T0 + IDLE * 4)])


def test_same_cart_is_reported_once() -> None:
    """Rule 3: coming back to the same cart and leaving again reports nothing new."""
    book = Book()
    found = book.run(
        [
            activity(at=T0),
            Tick(T0 + IDLE),
            activity(at=T0 + timedelta(hours=2)),
            Tick(T0 + timedelta(hours=3)),
        ]
    )
    assert 1 == len(found)


def test_changed_cart_after_an_abandonment_is_a_new_version() -> None:
    """Rule 3: a changed cart after an abandonment is reported once more, as version 2."""
    book = Book()
    found = book.run(
        [
            activity(at=T0),
            Tick(T0 + IDLE),
            activity(at=T0 + timedelta(hours=2), quantity=2),
            Tick(T0 + timedelta(hours=3)),
        ]
    )
    assert ["tok-1", "tok-1~v2"] == [event.checkout.id for event in found]
    assert "tok-1" == base_checkout_id(found[1].checkout.id)
    assert found[0].id != found[1].id


@pytest.mark.parametrize(
    ("order_who", "minutes_before"),
    [
        ({"customer_id": "cus-1"}, 60),
        ({"phone": "+48 601 234 567"}, 60 * 23),
        ({"email": "ANNA@example.com"}, 1),
    ],
)
def test_recent_order_by_the_same_person_suppresses(
    order_who: dict[str, str], minutes_before: int
) -> None:
    """Rule 4: an order by the same id, phone or e-mail within 24 h suppresses."""
    order = ShopOrder(
        "ord-9",
        T0 - timedelta(minutes=minutes_before),
        customer_id=order_who.get("customer_id"),
        phone=order_who.get("phone"),
        email=order_who.get("email"),
    )
    watch = observe(None, activity(at=T0), policy=POLICY)
    detection = check(watch, now=T0 + IDLE, policy=POLICY, orders=[order])
    assert detection.abandoned is None
    assert DetectorNote.ORDERED_RECENTLY == detection.note


def test_old_order_or_another_person_does_not_suppress() -> None:
    """Rule 4 names the window and the person: older orders and strangers change nothing."""
    old = ShopOrder("ord-1", T0 - timedelta(hours=25), customer_id="cus-1")
    stranger = ShopOrder("ord-2", T0, customer_id="cus-2", phone="+48600000000")
    watch = observe(None, activity(at=T0), policy=POLICY)
    detection = check(watch, now=T0 + IDLE, policy=POLICY, orders=[old, stranger])
    assert detection.abandoned is not None


def test_check_twice_emits_once() -> None:
    """The watch rests after emitting; a second check emits nothing."""
    watch = observe(None, activity(), policy=POLICY)
    first = check(watch, now=T0 + IDLE, policy=POLICY)
    second = check(first.watch, now=T0 + IDLE * 2, policy=POLICY)
    assert first.abandoned is not None
    assert second.abandoned is None
    assert DetectorNote.ALREADY_ABANDONED == second.note


def test_policy_refuses_bad_values() -> None:
    """Bad settings name themselves."""
    with pytest.raises(InvalidInputError, match="idle"):
        DetectorPolicy(idle=timedelta(0))
    with pytest.raises(InvalidInputError, match="cart"):
        DetectorPolicy(stages={Stage.CART})
    with pytest.raises(InvalidInputError, match="suppress"):
        DetectorPolicy(suppress=timedelta(hours=-1))
    with pytest.raises(InvalidInputError, match="~v"):
        activity("tok~v2")


def test_values_survive_their_dict_form() -> None:
    """Stores keep watches, activity and orders as JSON; they come back equal."""
    book = Book()
    book.run([activity(at=T0), Tick(T0 + IDLE), activity(at=T0 + IDLE * 2, quantity=3)])
    watch = book.watches["tok-1"]
    assert watch == watch_from_dict(watch_to_dict(watch))
    one = activity(started=True, who=shopper(phone=None))
    assert one == activity_from_dict(activity_to_dict(one))
    order = ShopOrder("o", T0, checkout_id="t", customer_id="c", phone="+48601234567")
    assert order == order_from_dict(order_to_dict(order))


def test_activity_after_completion_keeps_it_completed() -> None:
    """A late checkout webhook after the order neither re-arms nor reopens the watch."""
    order = ShopOrder("ord-1", T0, checkout_id="tok-1")
    watch = observe(complete(None, order), activity(at=T0 + IDLE), policy=POLICY)
    assert WatchStatus.COMPLETED == watch.status
    assert watch.due_at is None
    assert DetectorNote.COMPLETED == check(watch, now=T0 + IDLE * 3, policy=POLICY).note


def test_an_empty_checkout_given_to_the_engine_is_never_called_sold_out() -> None:
    """A shop that reports an empty checkout itself still gets no "sold out" note: the
    engine says the checkout holds no items, and finishes."""
    empty = activity(stage=Stage.CONTACT, items=False).as_checkout(checkout_id="c", abandoned_at=T0)
    ledger = ConsentLedger([grant(empty.customer, Channel.SMS)])
    policy = RecoveryPolicy(store_name="Northwind")
    first = decide(None, CheckoutAbandoned(empty, T0), now=T0, policy=policy,
                   context=Context(consent=ledger))  # fmt: skip
    assert first.state.wakeup_at is not None
    due = first.state.wakeup_at
    second = decide(first.state, WakeupDue("c", at=due), now=due, policy=policy,
                    context=Context(consent=ledger))  # fmt: skip
    said = " ".join(str(note) for note in (*first.notes, *second.notes))
    assert "sold out" not in said
    assert "no items" in said
    assert "unavailable" == str(second.state.finish_reason)
