"""The compiled plan and its companions answer exactly as the code they replaced.

``engine/plan.py`` keeps, per policy object, what a decision needs from the policy
alone; the guard's memo is keyed on plain strings; a first name's verdict is
remembered per name; ``loud_word`` reads letters through a table. The frozen copies in
``_plan_reference.py`` are the code as it stood before. Each piece is compared with its
copy over generated inputs, and whole stories are run through the real runtime twice,
once as the code is and once with every replaced piece swapped back for its copy: the
decisions must be the same, commands, notes and states alike.
"""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from recoverykit.engine import compose, machine
from recoverykit.engine import plan as plan_module
from recoverykit.engine.plan import compiled
from recoverykit.engine.policy import Context, RecoveryPolicy
from recoverykit.errors import InvalidPolicy, RecoveryKitError
from recoverykit.jurisdictions import ContactRules
from recoverykit.messages import lint, packs
from recoverykit.messages.templates import render
from recoverykit.messages.tone import loud_word
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.runtime.driver import EngineDriver
from recoverykit.testing.strategies import (
    checkouts,
    consent_events,
    consent_ledgers,
    customers,
    event_streams,
    money,
    multi_zone_phone_numbers,
    phone_numbers,
    policies,
    variants,
    zone_names,
)
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money
from recoverykit.values.text import usable_first_name

from ._plan_reference import (
    check_channel_reference,
    contact_rules_reference,
    guard_errors_reference,
    loud_word_reference,
    planned_at_reference,
    usable_first_name_reference,
)

T0 = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
_PRICE = Money("84.00", "PLN")
_CART = Checkout(
    id="chk-1",
    customer=Customer(id="c1", first_name="Anna", phone="+48601234567", locale="en"),
    items=(LineItem("s1", "Kettle", 1, _PRICE),),
    total=_PRICE,
    stage=Stage.SHIPPING,
    abandoned_at=T0,
    link="https://shop.example/c/1",
)
CHECKOUT_IDS = st.one_of(st.sampled_from(["chk-1", "ąść-7", "x"]), st.text(max_size=12))


class _ReferencePlan:
    """The policy asked the way the engine asked it before it was compiled."""

    def __init__(self, policy: RecoveryPolicy) -> None:
        self.policy = policy

    def sequence(self, variant: str | None) -> Any:
        return self.policy.sequence_for(variant)

    def pack(self, variant: str | None) -> Any:
        return self.policy.pack_for(variant)

    def planned_at(self, variant: str | None, index: int, *args: Any) -> datetime:
        return planned_at_reference(self.policy, variant, index, *args)

    def contact_rules(
        self, phone: str | None, zones: tuple[str, ...], country: str | None
    ) -> ContactRules:
        return contact_rules_reference(self.policy, phone, zones, country)


@st.composite
def _with_variants(draw: st.DrawFn) -> RecoveryPolicy:
    """Policies whose experiment arms may bring their own sequences."""
    policy = draw(policies())
    arms = draw(st.lists(variants(), max_size=3, unique_by=lambda v: v.name))
    try:
        return attrs.evolve(policy, variants=tuple(arms))
    except InvalidPolicy:  # a timing scale that folds an arm's touches together
        return attrs.evolve(policy, variants=tuple(arms), timing=None)


@given(
    policy=_with_variants(),
    data=st.data(),
    checkout_id=CHECKOUT_IDS,
    total=money(),
)
def test_planned_at_is_the_sequence_planned_at(
    policy: RecoveryPolicy, data: st.DataObject, checkout_id: str, total: Any
) -> None:
    arms = [variant.name for variant in policy.variants]
    variant = data.draw(st.sampled_from([None, "none-such", *arms, *arms]))
    plan = compiled(policy)
    touches = policy.sequence_for(variant).touches
    index = data.draw(st.integers(0, len(touches) - 1))
    assert plan.sequence(variant) is policy.sequence_for(variant)
    assert plan.pack(variant) is policy.pack_for(variant)
    assert plan.planned_at(variant, index, T0, checkout_id, total) == planned_at_reference(
        policy, variant, index, T0, checkout_id, total
    )


@given(
    policy=policies(),
    customer=customers(phones=multi_zone_phone_numbers()) | customers(),
    zones=st.lists(zone_names(), max_size=3).map(tuple),
)
def test_contact_rules_are_the_rules_for_the_recipient(
    policy: RecoveryPolicy, customer: Any, zones: tuple[str, ...]
) -> None:
    plan = compiled(policy)
    expected = contact_rules_reference(policy, customer.phone, zones, customer.country)
    assert plan.contact_rules(customer.phone, zones, customer.country) == expected
    # asked again, from the plan's memo
    assert plan.contact_rules(customer.phone, zones, customer.country) == expected


def test_a_plan_belongs_to_one_policy_object() -> None:
    """Equal policies are told apart by identity (a frozen policy's identity is its
    version); the plan never keeps its policy alive and goes when the policy goes, so
    a new policy at a recycled address never finds it."""
    first = RecoveryPolicy(store_name="Sklep Ola")
    plan = compiled(first)
    assert compiled(first) is plan
    assert compiled(RecoveryPolicy(store_name="Sklep Ola")) is not plan
    key = id(first)
    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is None, "the plan kept its policy alive"
    assert key not in plan_module._PLANS
    # A stale entry under a recycled id (its policy gone) is never handed out.
    later = RecoveryPolicy(store_name="Kettle & Co")
    stale = RecoveryPolicy(store_name="Sklep Ola")
    plan_module._PLANS[id(later)] = (weakref.ref(stale), compiled(stale))
    assert compiled(later) is not compiled(stale)
    assert compiled(later).sequence(None) is later.sequence
    night = RecoveryPolicy(store_name="Maison Lune", jurisdiction="off")
    rules = compiled(night).contact_rules("+48601234567", ("Europe/Warsaw",), None)
    assert rules.hours == night.contact_hours
    assert rules.applied == ("policy",)


_NAMES = (
    st.none() | st.text(max_size=30) | st.sampled_from([" Ola ", "OLA", "ola", "Zoë", "Zoe\u0308"])
)


@given(st.lists(_NAMES, max_size=8))
def test_usable_first_name_is_unchanged(names: list[str | None]) -> None:
    for name in [*names, *names]:  # the second time from the memo
        assert usable_first_name(name) == usable_first_name_reference(name)


_WORDS = st.sampled_from(
    [
        "HURRY",
        "STOP",
        "MAINTENANT",
        "ok",
        "ĄĘŚĆŻ",
        "H-U-R-R-Y",
        "ǅemal",
        "ϒϒϒϒϒ",
        "ABCD1",
        "2FAST4U",
    ]
)


@given(st.lists(_WORDS | st.text(max_size=12), max_size=6).map(" ".join))
def test_loud_word_is_unchanged(text: str) -> None:
    keywords = frozenset({"STOP", "HELP"})
    assert loud_word(text, keywords) == loud_word_reference(text, keywords)


@given(
    checkout=checkouts(), store=st.sampled_from(["Sklep Ola", "Maison Lune"]), hold=st.booleans()
)
def test_guard_memo_answers_as_the_guard(checkout: Checkout, store: str, hold: bool) -> None:
    pack = packs.default_pack()
    for key in ("remind", "final"):
        for channel in (Channel.SMS, Channel.WHATSAPP, Channel.EMAIL):
            try:
                template = pack.find(key, channel, checkout.customer.locale)
                values = packs.message_context(
                    checkout, store_name=store, channel=channel, zone="Europe/Warsaw"
                )
                rendered = render(template, values)
            except RecoveryKitError:  # a cart the pack cannot speak of is not the point
                continue
            assert compose._guard_errors(rendered, store, hold) == guard_errors_reference(
                rendered, store, hold
            )


def test_guard_memo_keys_on_the_store_name() -> None:
    """The same text guarded for another store is judged again (RK102 names the store)."""
    template = packs.default_pack().find("remind", Channel.SMS, "en")
    checkout = _CART
    values = packs.message_context(
        checkout, store_name="Sklep Ola", channel=Channel.SMS, zone="Europe/Warsaw"
    )
    rendered = render(template, values)
    assert compose._guard_errors(rendered, "Sklep Ola", False) is None
    found = compose._guard_errors(rendered, "Maison Lune", False)
    assert found == guard_errors_reference(rendered, "Maison Lune", False)
    assert found is not None
    assert "RK102" in found


@given(
    policy=policies(),
    customer=customers(phones=multi_zone_phone_numbers()) | customers(phones=phone_numbers()),
    data=st.data(),
    sends=st.dictionaries(st.sampled_from(Channel), st.integers(0, 3), max_size=3),
    hours=st.integers(0, 200),
)
def test_check_channel_refuses_as_before(
    policy: RecoveryPolicy,
    customer: Customer,
    data: st.DataObject,
    sends: dict[Channel, int],
    hours: int,
) -> None:
    addresses = [customer.address_for(channel) for channel in Channel]
    events = consent_events(
        customer_ids=st.just(customer.id),
        channels=st.sampled_from(Channel),
        addresses=st.sampled_from([None, *(a for a in addresses if a is not None)]),
    )
    context = Context(consent=data.draw(consent_ledgers(events=events, max_size=8)))
    at = T0 + timedelta(hours=hours)
    for channel in Channel:
        for _ in range(2):  # the second time from the memo
            assert compose.check_channel(
                customer, channel, policy, context, at, sends=sends, abandoned_at=T0
            ) == check_channel_reference(
                customer, channel, policy, context, at, sends=sends, abandoned_at=T0
            )


def _grants(stream: list[Any]) -> list[ConsentEvent]:
    people = {item.checkout.customer for item in stream if hasattr(item, "checkout")}
    return [
        ConsentEvent(
            customer_id=who.id,
            channel=channel,
            purpose=Purpose.RECOVERY,
            action=ConsentAction.GRANTED,
            at=datetime(2020, 1, 1, tzinfo=UTC),
            source="checkout_checkbox",
            address=who.address_for(channel),
        )
        for who in sorted(people, key=lambda c: c.id)
        for channel in Channel
        if who.address_for(channel) is not None
    ]


def _story(policy: RecoveryPolicy, stream: list[Any]) -> list[Any]:
    driver = EngineDriver(policy, consent=_grants(stream))
    for event in stream:
        driver.feed(event)
    last = max(item.at for item in stream)
    driver.run_until(last + timedelta(days=35))
    return [
        (at, event, decision, [getattr(c, "whatsapp_payload", None) for c in decision.commands])
        for at, event, decision in driver.decisions
    ]


@settings(max_examples=40, deadline=None)
@given(policy=policies(holdout=0.0), stream=event_streams(clock_jumps=False, max_events=6))
def test_whole_stories_decide_as_before(policy: RecoveryPolicy, stream: list[Any]) -> None:
    """Every decision of a story, with the compiled plan and with the code it replaced."""
    live = _story(policy, stream)
    with (
        mock.patch.object(machine, "compiled", _ReferencePlan),
        mock.patch.object(compose, "_guard_errors", guard_errors_reference),
        mock.patch.object(compose, "check_channel", check_channel_reference),
        mock.patch.object(machine, "check_channel", check_channel_reference),
        mock.patch.object(packs, "usable_first_name", usable_first_name_reference),
        mock.patch.object(lint, "loud_word", loud_word_reference),
    ):
        before = _story(policy, stream)
    assert live == before
