"""Invariant 9: a message says only what is true when it is sent.

For random carts, random fresh stock and prices, random histories of abandonments
and random issuer failures: no sold-out item is named, the total is the current
one, every code shown was issued, unexpired and far enough from its deadline, and
the discount guard holds across all of a customer's checkouts.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from recoverykit import Channel, Checkout, Money
from recoverykit.engine.commands import FinishReason
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.policies.discounts import DiscountPolicy
from recoverykit.policies.stock import StockInfo
from recoverykit.testing import EngineDriver, FakeDiscountIssuer
from tests.engine_helpers import T0, customer, grant
from tests.truthful_helpers import cart, email_policy

WHO = customer(phone=None, locale="en", timezone="Europe/London")
CONSENT = [grant(WHO, Channel.EMAIL, at=T0 - timedelta(days=400))]
NAMES = ("Teapot", "Kettle", "Whisk", "Ladle")

prices = st.decimals(min_value=Decimal("0.50"), max_value=Decimal(500), places=2)


class FixedStock:
    """Answers with the same fresh facts, stamped a minute before each ask."""

    def __init__(self, facts: Mapping[str, tuple[bool, Decimal | None]]) -> None:
        self.facts = facts

    def stock(self, checkout: Checkout, *, now: datetime) -> dict[str, StockInfo]:
        return {
            sku: StockInfo(
                ok,
                now - timedelta(minutes=1),
                unit_price=None if price is None else Money(price, "USD"),
            )
            for sku, (ok, price) in self.facts.items()
        }


@given(
    lines=st.lists(st.tuples(prices, st.booleans()), min_size=1, max_size=len(NAMES)),
    fresh=st.dictionaries(
        st.integers(0, len(NAMES) - 1), st.tuples(st.booleans(), st.none() | prices)
    ),
)
def test_no_sold_out_item_is_named_and_the_total_is_current(
    lines: list[tuple[Decimal, bool]], fresh: dict[int, tuple[bool, Decimal | None]]
) -> None:
    """Every touch names only items in stock and shows their current total."""
    items = [(NAMES[n], str(price), ok) for n, (price, ok) in enumerate(lines)]
    stock = FixedStock({f"sku-{n}": fact for n, fact in fresh.items() if n < len(lines)})
    driver = EngineDriver(email_policy(discounts=None), consent=CONSENT, stock=stock)
    driver.feed(CheckoutAbandoned(cart(WHO, items, at=T0), T0))
    driver.run_until(T0 + timedelta(days=8))
    current = []
    for n, (price, ok) in enumerate(lines):
        fresh_ok, fresh_price = stock.facts.get(f"sku-{n}", (ok, None))
        current.append((NAMES[n], price if fresh_price is None else fresh_price, fresh_ok))
    available = [(name, price) for name, price, ok in current if ok]
    state = driver.states["chk-1"]
    if not available:
        assert [] == driver.sent
        assert FinishReason.UNAVAILABLE == state.finish_reason
        return
    total = Money(sum((price for _, price in available), Decimal(0)), "USD").format("en")
    assert 3 == len(driver.touches())
    for sent in driver.touches():
        text = sent.message.text
        for name, _price, ok in current:
            if not ok:
                assert name not in text
        assert total in text


@given(
    starts=st.lists(st.integers(0, 200), min_size=1, max_size=6, unique=True),
    failures=st.lists(st.booleans(), min_size=6, max_size=6),
    once_per=st.sampled_from([30, 90]),
)
def test_codes_are_real_and_the_guard_holds_over_random_histories(
    starts: list[int], failures: list[bool], once_per: int
) -> None:
    """Each code shown was issued for that send, outlives it by the minimum validity,
    and no customer gets two within ``once_per`` days or one after 3 abandonments in 30."""
    rules = DiscountPolicy(once_per=timedelta(days=once_per))
    issuer = FakeDiscountIssuer()
    driver = EngineDriver(email_policy(discounts=rules), consent=CONSENT, discounts=issuer)
    abandoned: list[datetime] = []
    for n, day in enumerate(sorted(starts)):
        at = T0 + timedelta(days=day)
        if failures[n]:
            issuer.fail_next()
        driver.feed(CheckoutAbandoned(cart(WHO, [("Kettle", "40.00", True)], cid=f"k{n}",
                                           at=at), at))  # fmt: skip
        abandoned.append(at)
    driver.run_until(T0 + timedelta(days=215))
    issued = {code.code: (request, code) for request, code in issuer.issued}
    given_at: list[datetime] = []
    for sent in driver.touches():
        message = sent.message
        code = message.discount_code
        if code is None:
            assert not any(known in message.text for known in issued)
            continue
        request, real = issued[code]
        assert (request.checkout_id, request.touch) == (message.checkout_id, message.touch)
        assert code in message.text
        assert real.expires_at >= sent.at + rules.min_validity
        recent = [a for a in abandoned if sent.at - rules.abandon_window < a <= sent.at]
        assert len(recent) < rules.abandon_limit
        given_at.append(sent.at)
    for earlier, later in itertools.pairwise(given_at):
        assert later - earlier >= rules.once_per
