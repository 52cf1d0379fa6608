"""Truthful messages, told as stories: a changed cart, sold-out items, honest discounts."""

from __future__ import annotations

from datetime import datetime, timedelta

from recoverykit import Channel, Checkout, Money
from recoverykit.engine.commands import FinishReason
from recoverykit.engine.events import CartUpdated, CheckoutAbandoned
from recoverykit.engine.machine import explain
from recoverykit.policies.discounts import DiscountPolicy
from recoverykit.policies.stock import StockInfo
from recoverykit.runtime.runner import Runner
from recoverykit.testing import (
    EngineDriver,
    FakeChannel,
    FakeClock,
    FakeDiscountIssuer,
    MemoryStore,
)
from recoverykit.values.model import LineItem
from tests.engine_helpers import T0, customer, grant
from tests.truthful_helpers import DictStock, cart, email_policy

WHO = customer(phone=None, locale="en", timezone="Europe/London")
CONSENT = [grant(WHO, Channel.EMAIL)]


def test_a_cart_changed_between_touches_is_the_one_later_touches_speak_of() -> None:
    """CartUpdated replaces the cart: touch 2 names the new total, never the old one."""
    driver = EngineDriver(email_policy(), consent=CONSENT, discounts=FakeDiscountIssuer())
    driver.feed(CheckoutAbandoned(cart(WHO, [("Kettle", "40.00", True)], at=T0), T0))
    driver.run_until(T0 + timedelta(hours=3))
    assert "$40.00" in driver.touches()[0].message.text
    new_items = (
        LineItem("sku-0", "Kettle", 2, Money("40.00", "USD"), "kitchen"),
        LineItem("sku-9", "Teapot", 1, Money("25.00", "USD"), "kitchen"),
    )
    driver.feed(CartUpdated("chk-1", T0 + timedelta(hours=4), new_items))
    driver.run_until(T0 + timedelta(days=2))
    second = driver.touches()[1].message.text
    assert "$105.00" in second
    assert "$40.00" not in second


def test_a_sold_out_item_is_never_named_and_leaves_the_total() -> None:
    """Fresh stock says the teapot sold out: the kettle is named, the total drops the teapot."""
    items = [("Teapot", "90.00", True), ("Kettle", "40.00", True)]
    stock = DictStock({"sku-0": StockInfo(False, T0 + timedelta(minutes=50))})
    driver = EngineDriver(email_policy(), consent=CONSENT, stock=stock)
    driver.feed(CheckoutAbandoned(cart(WHO, items, at=T0), T0))
    driver.run_until(T0 + timedelta(hours=3))
    text = driver.touches()[0].message.text
    assert "Teapot" not in text
    assert "Kettle is waiting, $40.00 in all" in text
    assert 1 <= stock.calls
    kept = driver.states["chk-1"].checkout
    assert kept is not None
    assert [False, True] == [item.in_stock for item in kept.items]


def test_everything_sold_out_skips_the_touch_and_finishes_unavailable() -> None:
    """No "come back" message for things that cannot be bought."""
    items = [("Teapot", "90.00", True), ("Kettle", "40.00", True)]
    gone = StockInfo(False, T0 + timedelta(minutes=30))
    stock = DictStock({"sku-0": gone, "sku-1": gone})
    driver = EngineDriver(email_policy(), consent=CONSENT, stock=stock)
    driver.feed(CheckoutAbandoned(cart(WHO, items, at=T0), T0))
    driver.run_until(T0 + timedelta(days=8))
    state = driver.states["chk-1"]
    assert [] == driver.sent
    assert FinishReason.UNAVAILABLE == state.finish_reason
    assert any("sold out" in line for line in explain(state))


def test_low_stock_line_only_when_allowed_real_and_fresh() -> None:
    """ "Only 2 left" needs the policy's leave, a real level, and data under an hour old."""
    items = [("Teapot", "90.00", True)]

    class Counted:
        def __init__(self, age: timedelta) -> None:
            self.age = age

        def stock(self, checkout: Checkout, *, now: datetime) -> dict[str, StockInfo]:
            return {"sku-0": StockInfo(True, now - self.age, level=2)}

    def first_text(policy_lines: bool, age: timedelta) -> str:
        stock = Counted(age)
        policy = email_policy(stock_lines=policy_lines)
        driver = EngineDriver(policy, consent=CONSENT, stock=stock)
        driver.feed(CheckoutAbandoned(cart(WHO, items, at=T0), T0))
        driver.run_until(T0 + timedelta(hours=2))
        return driver.touches()[0].message.text

    assert "Only 2 left." in first_text(True, timedelta(minutes=1))
    assert "left" not in first_text(False, timedelta(minutes=1))
    assert "left" not in first_text(True, timedelta(hours=3))


def test_the_discount_goes_on_the_last_touch_with_a_real_code_and_deadline() -> None:
    """The code is issued at send time, shown with its expiry, and kept in the state."""
    issuer = FakeDiscountIssuer()
    driver = EngineDriver(email_policy(), consent=CONSENT, discounts=issuer)
    driver.feed(CheckoutAbandoned(cart(WHO, [("Kettle", "40.00", True)], at=T0), T0))
    driver.run_until(T0 + timedelta(days=8))
    touches = driver.touches()
    assert [None, None, "SIM-0001"] == [t.message.discount_code for t in touches]
    request, issued = issuer.issued[0]
    assert touches[2].at == request.at
    assert "SIM-0001" in touches[2].message.text
    assert issued.expires_at >= touches[2].at + timedelta(hours=24)
    assert "SIM-0001" == driver.states["chk-1"].sent[2].discount_code


def test_an_issuer_failure_sends_the_touch_without_a_discount_and_says_why() -> None:
    """Never a broken or made-up code: the plain wording goes, with a note."""
    issuer = FakeDiscountIssuer()
    issuer.fail_next()
    driver = EngineDriver(email_policy(), consent=CONSENT, discounts=issuer)
    driver.feed(CheckoutAbandoned(cart(WHO, [("Kettle", "40.00", True)], at=T0), T0))
    driver.run_until(T0 + timedelta(days=8))
    last = driver.touches()[2].message
    assert last.discount_code is None
    assert "code" not in last.text
    assert any("without a discount" in line for line in explain(driver.states["chk-1"]))


def test_a_second_abandonment_within_90_days_gets_no_discount() -> None:
    """Through the real runner and store: the guard reads the customer's earlier recoveries."""
    clock = FakeClock(T0)
    store = MemoryStore()
    issuer = FakeDiscountIssuer()
    email = FakeChannel(Channel.EMAIL, clock=clock)
    runner = Runner(email_policy(), store, {Channel.EMAIL: email}, clock, discounts=issuer)
    with store.transaction() as tx:
        tx.save_customer(WHO)
        for event in CONSENT:
            tx.append_consent(event)

    def play(cid: str, start: timedelta) -> None:
        clock.set(T0 + start)
        runner.handle(CheckoutAbandoned(cart(WHO, [("Kettle", "40.00", True)], cid=cid,
                                             at=T0 + start), T0 + start))  # fmt: skip
        for _ in range(200):
            due = store.next_due()
            if due is None or due > T0 + start + timedelta(days=8):
                break
            clock.set(max(due, clock.now()))
            runner.run_due()

    play("chk-a", timedelta(0))
    play("chk-b", timedelta(days=40))
    play("chk-c", timedelta(days=100))
    codes = {m.checkout_id: m.discount_code for m in email.sent if m.touch == 3}
    assert {"chk-a": "SIM-0001", "chk-b": None, "chk-c": "SIM-0002"} == codes
    notes = [r.data for r in store.events() if r.kind == "info" and r.checkout_id == "chk-b"]
    assert any("day(s) ago" in str(data) for data in notes)


def test_three_abandonments_in_30_days_get_no_discount_at_all() -> None:
    """Abandoning must never pay: the third recent abandonment is refused a code."""
    issuer = FakeDiscountIssuer()
    policy = email_policy(discounts=DiscountPolicy(once_per=timedelta(days=1)))
    driver = EngineDriver(policy, consent=CONSENT, discounts=issuer)
    for n in range(3):
        start = T0 + timedelta(days=9 * n)
        driver.feed(CheckoutAbandoned(cart(WHO, [("Kettle", "40.00", True)], cid=f"k{n}",
                                           at=start), start))  # fmt: skip
        driver.run_until(start + timedelta(days=8, hours=12))
    codes = [t.message.discount_code for t in driver.touches() if t.message.touch == 3]
    assert ["SIM-0001", "SIM-0002", None] == codes
