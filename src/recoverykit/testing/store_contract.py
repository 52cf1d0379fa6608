"""A pytest suite that checks a ``Store`` keeps every promise of ``recoverykit.protocols``.

Subclass ``StoreContract`` in your own tests, name the subclass ``Test...`` and say
how to build a fresh, empty store; pytest then runs every check against it::

    from recoverykit.testing.store_contract import StoreContract

    class TestRedisStore(StoreContract):
        def make_store(self, tmp_path):
            return RedisStore(url=..., namespace=tmp_path.name)

``MemoryStore`` and ``SQLiteStore`` pass this suite; the runner's crash-safety
relies on nothing beyond it. Requires pytest and Hypothesis (test dependencies).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..detector import CheckoutUpdated, DetectorPolicy, ShopOrder, complete, observe
from ..engine.commands import MessageKind, SendMessage
from ..engine.state import RecoveryState, RecoveryStatus
from ..errors import ConflictError, StoreError
from ..policies.caps import ContactRecord, SendKind
from ..policies.consent import ConsentAction, ConsentEvent, Purpose
from ..protocols import (
    BatchTransaction,
    Claimed,
    DetectorTransaction,
    LogRecord,
    OutboxEntry,
    OutboxMark,
    OutboxStatus,
    Store,
    Transaction,
    batched,
)
from ..values.model import Channel, Checkout, Customer, LineItem, Stage
from ..values.money import Money
from .health_contract import HealthContract

__all__ = ["StoreContract", "assert_every_field_set", "every_field_samples"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
LEASE = timedelta(minutes=5)


def active(
    checkout_id: str, customer_id: str = "cus-1", *, wakeup_at: datetime | None = T0
) -> RecoveryState:
    """A waiting recovery, due at ``wakeup_at``."""
    return RecoveryState(
        checkout_id=checkout_id,
        customer_id=customer_id,
        status=RecoveryStatus.ACTIVE,
        wakeup_at=wakeup_at,
    )


def finished(checkout_id: str, customer_id: str = "cus-1", *, at: datetime = T0) -> RecoveryState:
    """A recovery that ended at ``at`` (its old wake-up must no longer count)."""
    return RecoveryState(
        checkout_id=checkout_id,
        customer_id=customer_id,
        status=RecoveryStatus.FINISHED,
        wakeup_at=at - HOUR,
        finished_at=at,
        updated_at=at,
    )


def with_checkout(state: RecoveryState, abandoned_at: datetime) -> RecoveryState:
    """``state`` carrying a small checkout abandoned at ``abandoned_at``."""
    price = Money(Decimal("42.00"), "EUR")
    checkout = Checkout(
        id=state.checkout_id,
        customer=Customer(id=state.customer_id, email="ada@example.com"),
        items=(LineItem(sku="sku-1", name="Kettle", quantity=1, unit_price=price),),
        total=price,
        stage=Stage.PAYMENT,
        abandoned_at=abandoned_at,
        link="https://shop.example/c/1",
    )
    return attrs.evolve(state, checkout=checkout)


def message(key: str, checkout_id: str = "chk-1", customer_id: str = "cus-1") -> SendMessage:
    """A first-touch SMS with idempotency key ``key``."""
    return SendMessage(
        idempotency_key=key,
        checkout_id=checkout_id,
        customer_id=customer_id,
        channel=Channel.SMS,
        to="+48601234567",
        kind=MessageKind.TOUCH,
        key="remind",
        text="Shop: your cart is waiting. STOP to opt out",
        locale="en",
        touch=1,
    )


def outbox_entry(key: str, created_at: datetime = T0) -> OutboxEntry:
    return OutboxEntry(key=key, message=message(key), created_at=created_at)


def grant(customer_id: str, at: datetime, channel: Channel = Channel.SMS) -> ConsentEvent:
    return ConsentEvent(
        customer_id=customer_id,
        channel=channel,
        purpose=Purpose.RECOVERY,
        action=ConsentAction.GRANTED,
        at=at,
        source="checkout_checkbox",
        text="Text me about my cart",
        version="v3",
        address="+48601234567",
    )


def revoke_all(customer_id: str, at: datetime) -> ConsentEvent:
    return ConsentEvent.revocation(customer_id, None, at, source="keyword", text="STOP")


def assert_every_field_set(value: Any) -> None:
    """Fail unless each attrs field of ``value`` holds something other than its default
    (and other than ``None``): a round trip of such a value checks every field, and a
    field added later fails here until the sample sets it."""
    for item in attrs.fields(type(value)):
        held = getattr(value, item.name)
        default = item.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        assert held is not None, f"{type(value).__name__}.{item.name} is None"
        assert held != default, f"{type(value).__name__}.{item.name} keeps its default {held!r}"
        if default is attrs.NOTHING and isinstance(held, tuple | frozenset):
            assert held, f"{type(value).__name__}.{item.name} is empty"


def every_field_samples() -> dict[str, Any]:
    """One value of each type a store keeps, every field set (``assert_every_field_set``)."""
    from ..engine.commands import FinishReason  # noqa: PLC0415
    from ..engine.conversation import ConversationLine, Direction  # noqa: PLC0415
    from ..engine.notes import DeferReason, Deferred  # noqa: PLC0415 - only this sample
    from ..engine.state import SentTouch  # noqa: PLC0415
    from ..messages.sms import sms_segments  # noqa: PLC0415
    from ..values.model import Friction  # noqa: PLC0415

    price = Money(Decimal("42.00"), "EUR")
    customer = Customer(
        id="cus-1",
        first_name="Ada",
        phone="+48601234567",
        email="ada@example.com",
        locale="pl",
        timezone="Europe/Warsaw",
        country="PL",
        orders_count=2,
        telegram_chat_id="777",
        viber_id="vb-1",
    )
    checkout = Checkout(
        id="chk-1",
        customer=customer,
        items=(
            LineItem(
                sku="sku-1",
                name="Kettle",
                quantity=2,
                unit_price=price,
                category="home",
                in_stock=False,
                stock_level=3,
                stock_as_of=T0 - HOUR,
            ),
        ),
        total=Money(Decimal("84.00"), "EUR"),
        stage=Stage.PAYMENT,
        abandoned_at=T0,
        link="https://shop.example/c/1",
        friction=Friction.SHIPPING_COST,
        hold_until=T0 + 24 * HOUR,
    )
    sent = SentTouch(
        touch=1,
        channel=Channel.SMS,
        at=T0 + HOUR,
        key="remind",
        attempt=1,
        delivered=True,
        read=True,
        failed=True,
        discount_code="SAVE10",
    )
    state = RecoveryState(
        checkout_id="chk-1",
        customer_id="cus-1",
        status=RecoveryStatus.FINISHED,
        checkout=checkout,
        sequence="default",
        sequence_version="3",
        variant="b",
        zones=("Europe/Warsaw",),
        zone_source="customer",
        channel=Channel.SMS,
        failed_channels=frozenset({Channel.WHATSAPP}),
        next_touch=1,
        attempt=2,
        wakeup_at=T0 + 2 * HOUR,
        optin_due=T0 + HOUR,
        optin_sent_at=T0 + 2 * HOUR,
        sent=(sent,),
        window_closed_at=T0 + HOUR,
        replies_sent=1,
        paused_at=T0 + 2 * HOUR,
        conversation=(
            ConversationLine(T0 + HOUR, Channel.SMS, Direction.OUT, "Shop: saved", "remind", 1),
        ),
        clicked=True,
        finish_reason=FinishReason.SEQUENCE_DONE,
        finished_at=T0 + 3 * HOUR,
        seen=("evt-1",),
        notes=(Deferred(1, DeferReason.CONTACT_HOURS, "polite", T0, T0 + HOUR, "Europe/Warsaw"),),
        updated_at=T0 + 3 * HOUR,
    )
    text = "Shop: use SAVE10 at https://shop.example/c/1 STOP to opt out"
    message = SendMessage(
        idempotency_key="chk-1:1:1",
        checkout_id="chk-1",
        customer_id="cus-1",
        channel=Channel.EMAIL,
        to="ada@example.com",
        kind=MessageKind.REPLY,
        key="final",
        text=text,
        locale="pl",
        touch=3,
        attempt=1,
        segments=sms_segments(text + " ż"),
        whatsapp_payload={"name": "cart_final", "language": {"code": "pl"}},
        subject="Your cart",
        discount_code="SAVE10",
    )
    entry = OutboxEntry(
        key=message.idempotency_key,
        message=message,
        created_at=T0,
        status=OutboxStatus.UNCERTAIN,
        provider_id="SM1",
        detail="timed out",
        attempted_at=T0 + timedelta(seconds=1),
    )
    return {
        "customer": customer,
        "checkout": checkout,
        "line item": checkout.items[0],
        "sent touch": sent,
        "state": state,
        "message": message,
        "segments": message.segments,
        "outbox entry": entry,
        "consent": ConsentEvent(
            customer_id="cus-1",
            channel=Channel.SMS,
            purpose=Purpose.MARKETING,
            action=ConsentAction.CONFIRMED,
            at=T0,
            source="keyword",
            text="YES",
            version="v3",
            address="+48601234567",
        ),
        "contact": ContactRecord(T0, Channel.EMAIL, "chk-1", SendKind.REPLY),
        "log record": LogRecord(T0, "send", "chk-1", "cus-1", {"touch": 1, "ok": [None]}),
    }


#: Property tests build a fresh store per example, so they run fewer examples than the
#: profile's default; the same test runs once per subclass, hence differing executors.
_PER_STORE: Final = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


class _Boom(Exception):
    """Raised inside a transaction to make it roll back."""


#: The methods ``BatchTransaction`` adds to ``Transaction``.
_BATCH_ONLY: Final = frozenset(
    {"ledgers", "histories", "service_windows", "add_contacts", "log_many"}
)


class _SingleOnly:
    """A transaction seen through ``Transaction`` alone, as a store written before the
    batch methods existed would offer it: ``batched`` must fill them in."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        if name in _BATCH_ONLY:
            raise AttributeError(name)
        return getattr(self._tx, name)


def _defaults(tx: Transaction) -> BatchTransaction:
    return batched(_SingleOnly(tx))


#: The two ways the runner reaches batch methods: the store's own, and the defaults.
_BATCH_WAYS: Final[dict[str, Callable[[Transaction], BatchTransaction]]] = {
    "own": batched,
    "defaults": _defaults,
}

#: (customer, contact time in hours from T0, channel) for the batch-read property test.
_CUSTOMER_IDS: Final = ("cus-1", "cus-2", "cus-3")
_contact_writes = st.lists(
    st.tuples(
        st.sampled_from(_CUSTOMER_IDS),
        st.integers(min_value=-4, max_value=4),
        st.sampled_from([Channel.SMS, Channel.EMAIL, Channel.WHATSAPP]),
    ),
    max_size=8,
)
_consent_writes = st.lists(
    st.tuples(st.sampled_from(_CUSTOMER_IDS), st.integers(-3, 3), st.booleans()), max_size=6
)
_window_writes = st.lists(
    st.tuples(
        st.sampled_from(_CUSTOMER_IDS),
        st.sampled_from([Channel.WHATSAPP, Channel.TELEGRAM, Channel.VIBER]),
        st.integers(min_value=1, max_value=48),
    ),
    max_size=5,
)


class StoreContract(HealthContract):
    """Every promise of the ``Store`` and ``Transaction`` protocols, as pytest tests.

    Override ``make_store``; everything else is inherited. Each test gets a fresh,
    empty store and closes it afterwards.
    """

    def make_store(self, tmp_path: Path) -> Store:
        """Return a new, empty store (``tmp_path`` is a fresh directory for its files)."""
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        made = self.make_store(tmp_path)
        try:
            yield made
        finally:
            made.close()

    # -- shape -----------------------------------------------------------------------------
    def test_implements_the_protocol(self, store: Store) -> None:
        """The store has every method of ``Store``, and its transactions every method of
        ``Transaction``."""
        from ..protocols import Transaction  # noqa: PLC0415 - only this test needs it

        assert isinstance(store, Store)
        with store.transaction() as tx:
            assert isinstance(tx, Transaction)

    def test_transaction_cannot_be_used_after_its_block(self, store: Store) -> None:
        """A transaction object is dead once its block ends: using it raises StoreError."""
        with store.transaction() as tx:
            pass
        with pytest.raises(StoreError):
            tx.load("chk-1")

    # -- recoveries and optimistic concurrency -------------------------------------------------
    def test_insert_then_load_returns_the_state_at_version_1(self, store: Store) -> None:
        """A new recovery is stored at version 1 and loads back equal."""
        state = active("chk-1")
        with store.transaction() as tx:
            assert tx.save(state, expected_version=None) == 1
        with store.transaction() as tx:
            assert Claimed(state, 1) == tx.load("chk-1")
            assert tx.load("chk-missing") is None

    def test_inserting_an_existing_recovery_conflicts(self, store: Store) -> None:
        """``expected_version=None`` means "new": an existing id raises ConflictError."""
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
        with pytest.raises(ConflictError), store.transaction() as tx:
            tx.save(active("chk-1", wakeup_at=T0 + HOUR), expected_version=None)
        with store.transaction() as tx:
            assert Claimed(active("chk-1"), 1) == tx.load("chk-1")

    def test_a_stale_version_conflicts_and_changes_nothing(self, store: Store) -> None:
        """A save expecting an old version raises ConflictError; the newer state stays."""
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
        newer = active("chk-1", wakeup_at=T0 + HOUR)
        with store.transaction() as tx:
            assert tx.save(newer, expected_version=1) == 2
        with pytest.raises(ConflictError), store.transaction() as tx:
            tx.save(active("chk-1", wakeup_at=T0 + 2 * HOUR), expected_version=1)
        with store.transaction() as tx:
            assert Claimed(newer, 2) == tx.load("chk-1")

    def test_updating_a_missing_recovery_conflicts(self, store: Store) -> None:
        """A save with an expected version for an id that was never stored raises ConflictError."""
        with pytest.raises(ConflictError), store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=3)
        with store.transaction() as tx:
            assert tx.load("chk-1") is None

    @_PER_STORE
    @given(st.data())
    def test_full_states_round_trip(
        self, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
    ) -> None:
        """Any state, checkout included, loads back equal to what was saved."""
        from .strategies import checkouts  # noqa: PLC0415 - Hypothesis is a test dependency

        checkout = data.draw(checkouts())
        state = RecoveryState(
            checkout_id=checkout.id,
            customer_id=checkout.customer.id,
            status=RecoveryStatus.ACTIVE,
            checkout=checkout,
            zones=("Europe/Warsaw",),
            channel=Channel.SMS,
            wakeup_at=checkout.abandoned_at + HOUR,
            updated_at=checkout.abandoned_at,
        )
        store = self.make_store(tmp_path_factory.mktemp("round-trip"))
        try:
            with store.transaction() as tx:
                tx.save(state, expected_version=None)
            with store.transaction() as tx:
                assert Claimed(state, 1) == tx.load(checkout.id)
        finally:
            store.close()

    def test_open_recoveries_are_the_unfinished_ones_newest_first(self, store: Store) -> None:
        """open_recoveries lists a customer's unfinished recoveries, newest abandonment first;
        other customers' and finished ones are left out."""
        with store.transaction() as tx:
            tx.save(with_checkout(active("chk-old"), T0 - 3 * HOUR), expected_version=None)
            tx.save(with_checkout(active("chk-new"), T0 - HOUR), expected_version=None)
            tx.save(with_checkout(active("chk-mid"), T0 - 2 * HOUR), expected_version=None)
            tx.save(finished("chk-done"), expected_version=None)
            tx.save(active("chk-other", "cus-2"), expected_version=None)
        with store.transaction() as tx:
            ids = [claimed.state.checkout_id for claimed in tx.open_recoveries("cus-1")]
            assert ids == ["chk-new", "chk-mid", "chk-old"]
            assert tx.open_recoveries("cus-3") == []

    def test_open_recoveries_without_checkout_are_newest_saved_first(self, store: Store) -> None:
        """Without a checkout to date them, recoveries are listed in reverse order of insertion."""
        with store.transaction() as tx:
            for name in ("chk-a", "chk-b", "chk-c"):
                tx.save(active(name), expected_version=None)
        with store.transaction() as tx:
            ids = [claimed.state.checkout_id for claimed in tx.open_recoveries("cus-1")]
            assert ids == ["chk-c", "chk-b", "chk-a"]

    def test_finishing_drops_a_recovery_from_the_open_list(self, store: Store) -> None:
        """Once saved as finished, a recovery is no longer open and no longer due."""
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
        with store.transaction() as tx:
            tx.save(finished("chk-1"), expected_version=1)
            assert tx.open_recoveries("cus-1") == []
        assert store.next_due() is None
        assert store.claim_due(T0 + HOUR, limit=10, lease=LEASE, worker="w1") == []

    def test_states_lists_every_recovery(self, store: Store) -> None:
        """states() yields every stored recovery, finished ones included."""
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
            tx.save(finished("chk-2"), expected_version=None)
        assert {"chk-1", "chk-2"} == {state.checkout_id for state in store.states()}

    def test_customer_recoveries_are_this_customers_since_a_time(self, store: Store) -> None:
        """Abandoned at or after ``since`` (finished or not), or with the cart already
        dropped; never another customer's."""
        old = with_checkout(finished("old"), T0 - 40 * 24 * HOUR)
        done = with_checkout(finished("done"), T0 - 2 * HOUR)
        open_ = with_checkout(active("open"), T0)
        dropped = finished("dropped")
        other = with_checkout(active("other", "cus-2"), T0)
        with store.transaction() as tx:
            for state in (old, done, open_, dropped, other):
                tx.save(state, expected_version=None)
        with store.transaction() as tx:
            found = tx.customer_recoveries("cus-1", since=T0 - 24 * HOUR)
            assert not tx.customer_recoveries("cus-3", since=T0 - 24 * HOUR)
        assert {"done", "open", "dropped"} == {state.checkout_id for state in found}
        assert done in found

    # -- all or nothing --------------------------------------------------------------------
    def test_an_exception_rolls_back_everything(self, store: Store) -> None:
        """If the block raises, nothing it did is kept: state, customer, consent, contacts,
        service window, outbox, seen ids and log."""

        def write_everything_then_fail() -> None:
            with store.transaction() as tx:
                tx.save(active("chk-1"), expected_version=None)
                tx.save_customer(Customer(id="cus-1", phone="+48601234567"))
                tx.append_consent(grant("cus-1", T0))
                tx.add_contact("cus-1", ContactRecord(T0, Channel.SMS, "chk-1"))
                tx.open_service_window("cus-1", Channel.WHATSAPP, T0 + 24 * HOUR)
                assert tx.add_outbox(outbox_entry("k1"))
                assert tx.mark_seen("evt-1")
                tx.log(LogRecord(T0, "send", "chk-1", "cus-1", {"touch": 1}))
                raise _Boom

        with pytest.raises(_Boom):
            write_everything_then_fail()
        with store.transaction() as tx:
            assert tx.load("chk-1") is None
            assert tx.customer_for(Channel.SMS, "+48601234567") is None
            assert tx.ledger("cus-1").events == ()
            assert tx.history("cus-1", since=T0 - HOUR).records == ()
            assert tx.service_window("cus-1", Channel.WHATSAPP) is None
            assert tx.mark_seen("evt-1")
        assert store.outbox() == []
        assert list(store.events()) == []
        assert store.next_due() is None

    def test_a_conflict_undoes_earlier_writes_of_its_transaction(self, store: Store) -> None:
        """A ConflictError raised midway leaves the transaction's earlier writes unapplied."""
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)

        def write_then_conflict() -> None:
            with store.transaction() as tx:
                tx.add_outbox(outbox_entry("k1"))
                tx.save(active("chk-2"), expected_version=None)
                tx.save(active("chk-1"), expected_version=7)

        with pytest.raises(ConflictError):
            write_then_conflict()
        with store.transaction() as tx:
            assert tx.load("chk-2") is None
        assert store.outbox() == []

    def test_a_committed_transaction_is_visible_afterwards(self, store: Store) -> None:
        """What a transaction wrote is there for the next one once its block ends normally."""
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
            tx.add_outbox(outbox_entry("k1"))
        with store.transaction() as tx:
            assert tx.load("chk-1") is not None
        assert [entry.key for entry in store.outbox()] == ["k1"]

    # -- claims and due times ------------------------------------------------------------------
    def test_claim_due_returns_due_recoveries_earliest_first(self, store: Store) -> None:
        """Only recoveries whose wake-up is at or before now are claimed, earliest first,
        at most ``limit`` of them, each with its current version."""
        with store.transaction() as tx:
            tx.save(active("chk-late", wakeup_at=T0 + 2 * HOUR), expected_version=None)
            tx.save(active("chk-b", wakeup_at=T0 - HOUR), expected_version=None)
            tx.save(active("chk-a", wakeup_at=T0 - 2 * HOUR), expected_version=None)
            tx.save(active("chk-now", wakeup_at=T0), expected_version=None)
            tx.save(active("chk-never", wakeup_at=None), expected_version=None)
        claimed = store.claim_due(T0, limit=2, lease=LEASE, worker="w1")
        assert [(c.state.checkout_id, c.version) for c in claimed] == [("chk-a", 1), ("chk-b", 1)]
        rest = store.claim_due(T0, limit=10, lease=LEASE, worker="w1")
        assert [c.state.checkout_id for c in rest] == ["chk-now"]

    def test_a_claim_is_exclusive_until_its_lease_runs_out(self, store: Store) -> None:
        """Another worker cannot claim a leased recovery; after the lease it can."""
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
        assert len(store.claim_due(T0, limit=10, lease=LEASE, worker="w1")) == 1
        assert store.claim_due(T0, limit=10, lease=LEASE, worker="w2") == []
        just_before = T0 + LEASE - timedelta(microseconds=1)
        assert store.claim_due(just_before, limit=10, lease=LEASE, worker="w2") == []
        again = store.claim_due(T0 + LEASE, limit=10, lease=LEASE, worker="w2")
        assert [c.state.checkout_id for c in again] == ["chk-1"]

    def test_saving_releases_the_claim(self, store: Store) -> None:
        """A save clears the claim: a recovery still due is claimable again at once."""
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
        (claimed,) = store.claim_due(T0, limit=10, lease=LEASE, worker="w1")
        with store.transaction() as tx:
            tx.save(claimed.state, expected_version=claimed.version)
        again = store.claim_due(T0, limit=10, lease=LEASE, worker="w2")
        assert [(c.state.checkout_id, c.version) for c in again] == [("chk-1", 2)]

    def test_a_worker_whose_lease_ran_out_cannot_save(self, store: Store) -> None:
        """When a lease expires and another worker saves first, the first worker's save
        conflicts: no decision is applied twice."""
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
        (first,) = store.claim_due(T0, limit=1, lease=LEASE, worker="w1")
        (second,) = store.claim_due(T0 + LEASE, limit=1, lease=LEASE, worker="w2")
        with store.transaction() as tx:
            tx.save(active("chk-1", wakeup_at=T0 + HOUR), expected_version=second.version)
        with pytest.raises(ConflictError), store.transaction() as tx:
            tx.save(active("chk-1", wakeup_at=T0 + HOUR), expected_version=first.version)

    def test_next_due_is_the_earliest_open_wakeup(self, store: Store) -> None:
        """next_due is None for an empty store, else the earliest unfinished wake-up."""
        assert store.next_due() is None
        with store.transaction() as tx:
            tx.save(active("chk-1", wakeup_at=T0 + HOUR), expected_version=None)
            tx.save(active("chk-2", wakeup_at=T0 + 2 * HOUR), expected_version=None)
            tx.save(finished("chk-3", at=T0), expected_version=None)
        assert store.next_due() == T0 + HOUR

    @_PER_STORE
    @given(
        wakeups=st.lists(st.none() | st.integers(-600, 600), min_size=1, max_size=15),
        leased=st.sets(st.integers(0, 14)),
        now=st.integers(-600, 600),
        limit=st.integers(1, 20),
    )
    def test_claim_due_matches_a_model(
        self,
        tmp_path_factory: pytest.TempPathFactory,
        wakeups: list[int | None],
        leased: set[int],
        now: int,
        limit: int,
    ) -> None:
        """Whatever the wake-ups and earlier claims, claim_due returns exactly the due,
        unleased recoveries, earliest first, cut at ``limit``."""
        store = self.make_store(tmp_path_factory.mktemp("claims"))
        try:
            with store.transaction() as tx:
                for index, minutes in enumerate(wakeups):
                    when = None if minutes is None else T0 + timedelta(minutes=minutes)
                    tx.save(active(f"chk-{index:02d}", wakeup_at=when), expected_version=None)
            # Lease some of them first, by claiming everything due at the latest moment
            # and saving back the ones that should stay free.
            first = store.claim_due(
                T0 + timedelta(minutes=600), limit=100, lease=HOUR * 100, worker="w0"
            )
            with store.transaction() as tx:
                for claimed in first:
                    if int(claimed.state.checkout_id[4:]) not in leased:
                        tx.save(claimed.state, expected_version=claimed.version)
            moment = T0 + timedelta(minutes=now)
            expected = sorted(
                (minutes, f"chk-{index:02d}")
                for index, minutes in enumerate(wakeups)
                if minutes is not None and minutes <= now and index not in leased
            )
            got = store.claim_due(moment, limit=limit, lease=LEASE, worker="w1")
            assert [name for _m, name in expected[:limit]] == [c.state.checkout_id for c in got]
        finally:
            store.close()

    # -- customers ------------------------------------------------------------------------
    def test_customer_for_finds_each_address(self, store: Store) -> None:
        """After save_customer, each address finds the customer on its channel; e-mail
        ignores case; an unknown address finds nobody."""
        customer = Customer(
            id="cus-1",
            phone="+48601234567",
            email="Ada@Example.com",
            telegram_chat_id="777",
            viber_id="vb-1",
        )
        with store.transaction() as tx:
            tx.save_customer(customer)
        with store.transaction() as tx:
            assert tx.customer_for(Channel.SMS, "+48601234567") == "cus-1"
            assert tx.customer_for(Channel.WHATSAPP, "+48601234567") == "cus-1"
            assert tx.customer_for(Channel.EMAIL, "ada@example.com") == "cus-1"
            assert tx.customer_for(Channel.TELEGRAM, "777") == "cus-1"
            assert tx.customer_for(Channel.VIBER, "vb-1") == "cus-1"
            assert tx.customer_for(Channel.SMS, "+48600000000") is None
            assert tx.customer_for(Channel.TELEGRAM, "+48601234567") is None

    def test_a_changed_address_replaces_the_old_one(self, store: Store) -> None:
        """Saving a customer again with a new phone forgets the old number."""
        with store.transaction() as tx:
            tx.save_customer(Customer(id="cus-1", phone="+48601234567"))
        with store.transaction() as tx:
            tx.save_customer(Customer(id="cus-1", phone="+48601234568"))
        with store.transaction() as tx:
            assert tx.customer_for(Channel.SMS, "+48601234567") is None
            assert tx.customer_for(Channel.SMS, "+48601234568") == "cus-1"

    def test_customer_returns_the_last_saved_record(self, store: Store) -> None:
        """customer(id) is the customer as last saved, every field equal; an id never
        saved is None."""
        first = Customer(id="cus-1", first_name="Ada", phone="+48601234567", locale="pl")
        second = attrs.evolve(first, telegram_chat_id="777", email="ada@example.com")
        with store.transaction() as tx:
            assert tx.customer("cus-1") is None
            tx.save_customer(first)
            assert first == tx.customer("cus-1")
        with store.transaction() as tx:
            tx.save_customer(second)
        with store.transaction() as tx:
            assert second == tx.customer("cus-1")
            assert tx.customer("cus-2") is None

    # -- consent ----------------------------------------------------------------------------
    def test_the_ledger_round_trips_in_order(self, store: Store) -> None:
        """Appended consent events come back equal, in the order appended, per customer."""
        events = [grant("cus-1", T0), revoke_all("cus-1", T0 + HOUR), grant("cus-1", T0 - HOUR)]
        with store.transaction() as tx:
            tx.append_consent(events[0])
            tx.append_consent(grant("cus-2", T0, Channel.EMAIL))
        with store.transaction() as tx:
            tx.append_consent(events[1])
            tx.append_consent(events[2])
        with store.transaction() as tx:
            assert tuple(events) == tx.ledger("cus-1").events
            assert not tx.ledger("cus-1").allows("cus-1", Channel.SMS, Purpose.RECOVERY, T0 + HOUR)
            assert tx.ledger("cus-9").events == ()

    # -- contact history ----------------------------------------------------------------------
    def test_history_keeps_sends_at_or_after_since(self, store: Store) -> None:
        """history(since=...) returns the customer's records at or after ``since``, across
        checkouts, oldest first, and nobody else's."""
        records = [
            ContactRecord(T0 - 2 * HOUR, Channel.SMS, "chk-1"),
            ContactRecord(T0, Channel.EMAIL, "chk-2"),
            ContactRecord(T0 + HOUR, Channel.SMS, "chk-1", SendKind.REPLY),
        ]
        with store.transaction() as tx:
            for record in reversed(records):
                tx.add_contact("cus-1", record)
            tx.add_contact("cus-2", ContactRecord(T0, Channel.SMS, "chk-9"))
        with store.transaction() as tx:
            assert tuple(records[1:]) == tx.history("cus-1", since=T0).records
            assert tuple(records) == tx.history("cus-1", since=T0 - 3 * HOUR).records
            assert tx.history("cus-1", since=T0 + 2 * HOUR).records == ()

    # -- service windows ----------------------------------------------------------------------
    def test_a_service_window_only_grows(self, store: Store) -> None:
        """The window is None until opened, then open until the latest ``until`` given."""
        with store.transaction() as tx:
            assert tx.service_window("cus-1", Channel.WHATSAPP) is None
            tx.open_service_window("cus-1", Channel.WHATSAPP, T0 + 24 * HOUR)
            tx.open_service_window("cus-1", Channel.WHATSAPP, T0 + 2 * HOUR)
        with store.transaction() as tx:
            assert tx.service_window("cus-1", Channel.WHATSAPP) == T0 + 24 * HOUR
            assert tx.service_window("cus-1", Channel.TELEGRAM) is None

    # -- outbox ----------------------------------------------------------------------------
    def test_the_outbox_is_keyed_by_idempotency_key(self, store: Store) -> None:
        """A second entry with the same key is refused and changes nothing."""
        first = outbox_entry("k1", T0)
        with store.transaction() as tx:
            assert tx.add_outbox(first)
        with store.transaction() as tx:
            assert not tx.add_outbox(outbox_entry("k1", T0 + HOUR))
        assert [first] == store.outbox()

    def test_outbox_lists_one_status_oldest_first(self, store: Store) -> None:
        """outbox(status=...) lists entries in that status, oldest first, at most ``limit``."""
        with store.transaction() as tx:
            tx.add_outbox(outbox_entry("k3", T0 + 2 * HOUR))
            tx.add_outbox(outbox_entry("k1", T0))
            tx.add_outbox(outbox_entry("k2", T0 + HOUR))
        assert [entry.key for entry in store.outbox()] == ["k1", "k2", "k3"]
        assert [entry.key for entry in store.outbox(limit=2)] == ["k1", "k2"]
        store.mark_outbox("k2", OutboxStatus.SENT, at=T0 + HOUR, provider_id="SM1")
        assert [entry.key for entry in store.outbox()] == ["k1", "k3"]
        (sent,) = store.outbox(status=OutboxStatus.SENT)
        assert (sent.key, sent.provider_id) == ("k2", "SM1")

    def test_marks_record_the_outcome(self, store: Store) -> None:
        """mark_attempted stamps the hand-over; mark_outbox sets status and detail; an
        unknown key is a StoreError."""
        with store.transaction() as tx:
            tx.add_outbox(outbox_entry("k1"))
        store.mark_attempted(["k1", "k-unknown"], at=T0 + timedelta(seconds=1))
        (pending,) = store.outbox()
        assert T0 + timedelta(seconds=1) == pending.attempted_at
        store.mark_outbox("k1", OutboxStatus.FAILED, at=T0, detail="21610 unsubscribed")
        (failed,) = store.outbox(status=OutboxStatus.FAILED)
        expected = attrs.evolve(pending, status=OutboxStatus.FAILED, detail="21610 unsubscribed")
        assert expected == failed
        with pytest.raises(StoreError):
            store.mark_outbox("k-unknown", OutboxStatus.SENT, at=T0)

    def test_mark_attempted_claims_each_entry_once(self, store: Store) -> None:
        """Only a pending entry whose hand-over stamp is still what the caller read is
        claimed: a second claimer (a racing reconcile) gets nothing, a resend after a
        lookup claims with the stamp it read, settled and unknown keys never."""
        with store.transaction() as tx:
            for key in ("k1", "k2"):
                tx.add_outbox(outbox_entry(key))
        first = T0 + timedelta(seconds=1)
        assert store.mark_attempted(["k1", "k2", "k-x"], at=first) == ["k1", "k2"]
        assert store.mark_attempted(["k1"], at=T0 + timedelta(seconds=2)) == []
        again = T0 + timedelta(seconds=3)
        assert store.mark_attempted(["k1"], at=again, previous={"k1": first}) == ["k1"]
        assert store.mark_attempted(["k1"], at=again, previous={"k1": first}) == []
        store.mark_outbox("k2", OutboxStatus.SENT, at=again)
        assert store.mark_attempted(["k2"], at=again, previous={"k2": first}) == []
        (pending,) = store.outbox()
        assert again == pending.attempted_at

    def test_many_marks_commit_together_or_not_at_all(self, store: Store) -> None:
        """mark_outbox_many records every outcome at once; with an unknown key among
        them it raises StoreError and records none."""
        with store.transaction() as tx:
            for key in ("k1", "k2", "k3"):
                tx.add_outbox(outbox_entry(key))
        bad = [OutboxMark("k1", OutboxStatus.SENT, "SM1"), OutboxMark("k-x", OutboxStatus.SENT)]
        with pytest.raises(StoreError):
            store.mark_outbox_many(bad, at=T0)
        assert [entry.key for entry in store.outbox()] == ["k1", "k2", "k3"]
        marks = [
            OutboxMark("k1", OutboxStatus.SENT, "SM1"),
            OutboxMark("k2", OutboxStatus.UNCERTAIN, detail="crashed mid-send"),
        ]
        store.mark_outbox_many(marks, at=T0)
        assert [entry.key for entry in store.outbox()] == ["k3"]
        (sent,) = store.outbox(status=OutboxStatus.SENT)
        (uncertain,) = store.outbox(status=OutboxStatus.UNCERTAIN)
        assert (sent.key, sent.provider_id) == ("k1", "SM1")
        assert (uncertain.key, uncertain.detail) == ("k2", "crashed mid-send")

    def test_sent_message_finds_an_entry_by_its_provider_id(self, store: Store) -> None:
        """sent_message(channel, provider_id) finds the entry marked (or added) with that
        provider id on that channel, as currently stored; another channel, an unknown
        id or an entry never marked with it finds nothing."""
        on_whatsapp = attrs.evolve(
            outbox_entry("k3"), message=attrs.evolve(message("k3"), channel=Channel.WHATSAPP)
        )
        added_with_id = attrs.evolve(outbox_entry("k4"), provider_id="SM4")
        with store.transaction() as tx:
            for entry in (outbox_entry("k1"), outbox_entry("k2"), on_whatsapp, added_with_id):
                tx.add_outbox(entry)
            assert tx.sent_message(Channel.SMS, "SM4") == added_with_id
        store.mark_outbox_many(
            [
                OutboxMark("k1", OutboxStatus.SENT, "SM1"),
                OutboxMark("k3", OutboxStatus.SENT, "wamid.3"),
            ],
            at=T0,
        )
        store.mark_outbox("k1", OutboxStatus.FAILED, at=T0 + HOUR, detail="30005 unknown")
        with store.transaction() as tx:
            found = tx.sent_message(Channel.SMS, "SM1")
            assert found is not None
            assert (found.key, found.status, found.detail) == (
                "k1",
                OutboxStatus.FAILED,
                "30005 unknown",
            )
            assert found.message == message("k1")
            whatsapp = tx.sent_message(Channel.WHATSAPP, "wamid.3")
            assert whatsapp is not None
            assert whatsapp.key == "k3"
            assert tx.sent_message(Channel.SMS, "wamid.3") is None
            assert tx.sent_message(Channel.WHATSAPP, "SM1") is None
            assert tx.sent_message(Channel.SMS, "SM-unknown") is None

    def test_outbox_entry_finds_an_entry_by_its_key_as_stored_now(self, store: Store) -> None:
        """outbox_entry(key) returns the entry with that idempotency key as it stands
        (status, provider id, attempt mark); an unknown key finds nothing."""
        with store.transaction() as tx:
            tx.add_outbox(outbox_entry("k1"))
            assert tx.outbox_entry("k1") == outbox_entry("k1")
            assert tx.outbox_entry("nope") is None
        assert store.mark_attempted(["k1"], at=T0) == ["k1"]
        store.mark_outbox("k1", OutboxStatus.UNCERTAIN, at=T0, detail="killed mid-send")
        with store.transaction() as tx:
            found = tx.outbox_entry("k1")
        assert found is not None
        assert (found.status, found.attempted_at, found.detail) == (
            OutboxStatus.UNCERTAIN,
            T0,
            "killed mid-send",
        )

    def test_sent_message_follows_a_new_provider_id(self, store: Store) -> None:
        """An entry marked again with another provider id is found by the new id only."""
        with store.transaction() as tx:
            tx.add_outbox(outbox_entry("k1"))
        store.mark_outbox("k1", OutboxStatus.SENT, at=T0, provider_id="SM-old")
        store.mark_outbox("k1", OutboxStatus.SENT, at=T0, provider_id="SM-new")
        with store.transaction() as tx:
            assert tx.sent_message(Channel.SMS, "SM-old") is None
            found = tx.sent_message(Channel.SMS, "SM-new")
            assert found is not None
            assert found.key == "k1"

    def test_sent_message_forgets_rolled_back_and_purged_entries(self, store: Store) -> None:
        """An entry added in a transaction that rolled back, or purged once settled, is
        not found by its provider id."""

        def add_then_fail() -> None:
            with store.transaction() as tx:
                tx.add_outbox(attrs.evolve(outbox_entry("k1"), provider_id="SM1"))
                raise _Boom

        with pytest.raises(_Boom):
            add_then_fail()
        with store.transaction() as tx:
            assert tx.sent_message(Channel.SMS, "SM1") is None
            tx.add_outbox(outbox_entry("k2", T0 - 48 * HOUR))
        store.mark_outbox("k2", OutboxStatus.SENT, at=T0, provider_id="SM2")
        while store.purge(T0, limit=10):
            pass
        with store.transaction() as tx:
            assert tx.sent_message(Channel.SMS, "SM2") is None

    # -- inbound dedup ----------------------------------------------------------------------
    def test_seen_event_ids_are_remembered(self, store: Store) -> None:
        """mark_seen is True the first time an id is seen and False ever after."""
        with store.transaction() as tx:
            assert tx.mark_seen("evt-1")
            assert not tx.mark_seen("evt-1")
        with store.transaction() as tx:
            assert not tx.mark_seen("evt-1")
            assert tx.mark_seen("evt-2")

    # -- the event log ----------------------------------------------------------------------
    def test_events_come_in_time_order_within_since_and_until(self, store: Store) -> None:
        """events() is in time order whatever the order written; ``since`` is inclusive,
        ``until`` exclusive; equal times keep the order written."""
        times = [3, 1, 2, 1, 0]
        with store.transaction() as tx:
            for index, hours in enumerate(times):
                tx.log(LogRecord(T0 + hours * HOUR, "event", f"chk-{index}", "cus-1", {"i": index}))
        order = [record.data["i"] for record in store.events()]
        assert order == [4, 1, 3, 2, 0]
        window = store.events(since=T0 + HOUR, until=T0 + 3 * HOUR)
        assert [record.data["i"] for record in window] == [1, 3, 2]
        first = next(iter(store.events()))
        assert LogRecord(T0, "event", "chk-4", "cus-1", {"i": 4}) == first

    def test_events_stream_a_long_log(self, store: Store) -> None:
        """events() returns an iterator (not a list) that yields a long log whole, in order."""
        count = 1_234
        with store.transaction() as tx:
            for index in range(count):
                at = T0 + timedelta(seconds=index // 3)
                tx.log(LogRecord(at, "send", None, None, {"i": index}))
        stream = store.events()
        assert stream is iter(stream)
        assert list(range(count)) == [record.data["i"] for record in stream]

    # -- batch methods (BatchTransaction) ------------------------------------------------------
    @pytest.mark.parametrize("way", sorted(_BATCH_WAYS))
    def test_batch_reads_answer_as_the_single_reads_do(self, store: Store, way: str) -> None:
        """ledgers, histories and service_windows give every customer asked about what
        ledger, history and service_window give (unknown customers included, records
        at equal times in the order added), and see the transaction's own writes."""
        asked = ["cus-1", "cus-2", "cus-9"]
        with store.transaction() as tx:
            tx.append_consent(grant("cus-1", T0))
            tx.append_consent(grant("cus-2", T0, Channel.EMAIL))
            tx.append_consent(revoke_all("cus-1", T0 + HOUR))
            tx.add_contact("cus-1", ContactRecord(T0 - 3 * HOUR, Channel.SMS, "chk-1"))
            tx.add_contact("cus-2", ContactRecord(T0, Channel.EMAIL, "chk-2"))
            tx.add_contact("cus-1", ContactRecord(T0, Channel.WHATSAPP, "chk-3"))
            tx.add_contact("cus-1", ContactRecord(T0, Channel.SMS, "chk-1", SendKind.REPLY))
            tx.open_service_window("cus-1", Channel.WHATSAPP, T0 + 24 * HOUR)
            tx.open_service_window("cus-1", Channel.TELEGRAM, T0 + 2 * HOUR)
            tx.open_service_window("cus-2", Channel.VIBER, T0 + HOUR)
        with store.transaction() as tx:
            tx.append_consent(grant("cus-9", T0 + HOUR))
            tx.add_contact("cus-2", ContactRecord(T0 + 2 * HOUR, Channel.SMS, "chk-2"))
            batch = _BATCH_WAYS[way](tx)
            since = T0 - HOUR
            assert {c: tx.ledger(c) for c in asked} == batch.ledgers(asked)
            assert {c: tx.history(c, since=since) for c in asked} == batch.histories(
                asked, since=since
            )
            windows = {
                c: {ch: until for ch in Channel if (until := tx.service_window(c, ch)) is not None}
                for c in asked
            }
            assert {c: found for c, found in windows.items() if found} == batch.service_windows(
                asked
            )
            assert batch.ledgers([]) == {}
            assert batch.service_windows([]) == {}

    @pytest.mark.parametrize("way", sorted(_BATCH_WAYS))
    def test_batch_saves_and_outbox_writes_are_the_single_ones(
        self, store: Store, way: str
    ) -> None:
        """versions and version read what load reads; save_many writes every state at the
        next version (a status change included) and refuses a stale version with
        ConflictError, keeping nothing; add_outbox_many answers the keys add_outbox
        would have added (an old key and a repeat are left alone)."""
        later = active("chk-2", wakeup_at=T0 + HOUR)
        with store.transaction() as tx:
            tx.save(active("chk-1"), expected_version=None)
            tx.save(active("chk-2"), expected_version=None)
            tx.save(later, expected_version=1)
            tx.add_outbox(outbox_entry("key-old"))
        with store.transaction() as tx:
            batch = _BATCH_WAYS[way](tx)
            assert batch.versions(["chk-1", "chk-2", "chk-9"]) == {"chk-1": 1, "chk-2": 2}
            assert batch.versions([]) == {}
            assert (batch.version("chk-2"), batch.version("chk-9")) == (2, None)
            batch.save_many([(finished("chk-1"), 1), (attrs.evolve(later, next_touch=1), 2)])
            batch.save_many([])
            assert batch.versions(["chk-1", "chk-2"]) == {"chk-1": 2, "chk-2": 3}
            fresh = [outbox_entry("key-old"), outbox_entry("key-new"), outbox_entry("key-new")]
            assert batch.add_outbox_many(fresh) == {"key-new"}
            assert batch.add_outbox_many([]) == set()
        with store.transaction() as tx:
            first, second = tx.load("chk-1"), tx.load("chk-2")
            assert first == Claimed(finished("chk-1"), 2)
            assert second == Claimed(attrs.evolve(later, next_touch=1), 3)
            assert tx.outbox_entry("key-new") == outbox_entry("key-new")
        assert store.next_due() == T0 + HOUR
        with pytest.raises(ConflictError), store.transaction() as tx:
            _BATCH_WAYS[way](tx).save_many([(active("chk-3"), 1)])
        with pytest.raises(ConflictError), store.transaction() as tx:
            _BATCH_WAYS[way](tx).save_many([(active("chk-2"), 3), (active("chk-1"), 1)])
        with store.transaction() as tx:
            assert tx.load("chk-2") == Claimed(attrs.evolve(later, next_touch=1), 3)

    def test_attempt_in_a_transaction_claims_like_mark_attempted(self, store: Store) -> None:
        """Where a transaction offers attempt(key, at=, previous=) (the last look marks
        its entry with it), it stamps a pending entry only while attempted_at is still
        ``previous``, and only if the transaction commits."""
        with store.transaction() as tx:
            if not callable(getattr(tx, "attempt", None)):
                pytest.skip("this store's transactions leave the mark to mark_attempted")
            tx.add_outbox(outbox_entry("k1"))
        attempt = "attempt"

        def mark_then_fail() -> None:
            with store.transaction() as tx:
                assert getattr(tx, attempt)("k1", at=T0)
                raise _Boom

        with pytest.raises(_Boom):
            mark_then_fail()
        assert [entry.attempted_at for entry in store.outbox()] == [None]
        with store.transaction() as tx:
            assert getattr(tx, attempt)("k1", at=T0)
            assert not getattr(tx, attempt)("k1", at=T0 + HOUR)
            assert not getattr(tx, attempt)("missing", at=T0)
        assert [entry.attempted_at for entry in store.outbox()] == [T0]
        with store.transaction() as tx:
            assert getattr(tx, attempt)("k1", at=T0 + HOUR, previous=T0)
        store.mark_outbox("k1", OutboxStatus.SENT, at=T0 + HOUR)
        with store.transaction() as tx:
            assert not getattr(tx, attempt)("k1", at=T0 + 2 * HOUR, previous=T0 + HOUR)

    @_PER_STORE
    @given(contacts=_contact_writes, consents=_consent_writes, windows=_window_writes)
    def test_batch_reads_match_the_single_reads_for_any_data(
        self,
        tmp_path_factory: pytest.TempPathFactory,
        contacts: list[tuple[str, int, Channel]],
        consents: list[tuple[str, int, bool]],
        windows: list[tuple[str, Channel, int]],
    ) -> None:
        """Whatever consent, contacts and windows were stored, the store's own batch reads
        equal the single reads for every customer."""
        store = self.make_store(tmp_path_factory.mktemp("batch-reads"))
        try:
            with store.transaction() as tx:
                for customer_id, hours, granted in consents:
                    at = T0 + hours * HOUR
                    tx.append_consent(
                        grant(customer_id, at) if granted else revoke_all(customer_id, at)
                    )
                for customer_id, hours, channel in contacts:
                    tx.add_contact(customer_id, ContactRecord(T0 + hours * HOUR, channel, "chk-1"))
                for customer_id, channel, hours in windows:
                    tx.open_service_window(customer_id, channel, T0 + hours * HOUR)
            with store.transaction() as tx:
                batch = batched(tx)
                asked = [*_CUSTOMER_IDS, "cus-none"]
                assert {c: tx.ledger(c) for c in asked} == batch.ledgers(asked)
                assert {c: tx.history(c, since=T0) for c in asked} == batch.histories(
                    asked, since=T0
                )
                stored = batch.service_windows(asked)
                for customer_id in asked:
                    for channel in Channel:
                        expected = tx.service_window(customer_id, channel)
                        assert expected == stored.get(customer_id, {}).get(channel)
        finally:
            store.close()

    @pytest.mark.parametrize("way", sorted(_BATCH_WAYS))
    def test_batch_writes_are_the_single_writes_in_order(self, store: Store, way: str) -> None:
        """add_contacts and log_many write what add_contact and log would, in the order
        given (equal times included); a rolled-back transaction keeps none of them."""
        contacts = [
            ("cus-1", ContactRecord(T0, Channel.SMS, "chk-1")),
            ("cus-2", ContactRecord(T0, Channel.SMS, "chk-2")),
            ("cus-1", ContactRecord(T0, Channel.EMAIL, "chk-3", SendKind.REPLY)),
            ("cus-1", ContactRecord(T0 - HOUR, Channel.SMS, "chk-1")),
        ]
        lines = [
            LogRecord(T0, "send", "chk-1", "cus-1", {"i": 0}),
            LogRecord(T0, "finish", "chk-2", "cus-2", {"i": 1}),
            LogRecord(T0 - HOUR, "defer", None, None, {"i": 2, "to": "später"}),
        ]

        def write_then_fail() -> None:
            with store.transaction() as tx:
                batch = _BATCH_WAYS[way](tx)
                batch.add_contacts(contacts)
                batch.log_many(lines)
                raise _Boom

        with pytest.raises(_Boom):
            write_then_fail()
        assert list(store.events()) == []
        with store.transaction() as tx:
            assert tx.history("cus-1", since=T0 - 2 * HOUR).records == ()
        with store.transaction() as tx:
            batch = _BATCH_WAYS[way](tx)
            batch.add_contacts(contacts)
            batch.log_many(lines)
            batch.add_contacts([])
            batch.log_many([])
        with store.transaction() as tx:
            mine = (contacts[3][1], contacts[0][1], contacts[2][1])
            assert mine == tx.history("cus-1", since=T0 - 2 * HOUR).records
            assert (contacts[1][1],) == tx.history("cus-2", since=T0).records
        assert [lines[2], lines[0], lines[1]] == list(store.events())

    def test_marks_take_repeated_and_empty_key_lists(self, store: Store) -> None:
        """mark_attempted claims a key named twice once (a caller sending what it got back
        must not send twice), and empty lists change nothing."""
        with store.transaction() as tx:
            for key in ("k1", "k2"):
                tx.add_outbox(outbox_entry(key))
        assert store.mark_attempted([], at=T0) == []
        store.mark_outbox_many([], at=T0)
        assert [entry.attempted_at for entry in store.outbox()] == [None, None]
        assert store.mark_attempted(["k2", "k1", "k2"], at=T0 + HOUR) == ["k2", "k1"]
        assert [entry.attempted_at for entry in store.outbox()] == [T0 + HOUR, T0 + HOUR]

    # -- every field of every stored type ------------------------------------------------------
    def test_every_field_of_every_stored_type_round_trips(self, store: Store) -> None:
        """A customer, a state (checkout, sent touches and notes inside), a consent event,
        a contact record, an outbox entry (its message with segments, WhatsApp payload,
        subject and discount code) and a log line, each with every field set, come back
        equal: no store may drop a field."""
        samples = every_field_samples()
        for value in samples.values():
            assert_every_field_set(value)
        entry: OutboxEntry = samples["outbox entry"]
        with store.transaction() as tx:
            tx.save_customer(samples["customer"])
            tx.save(samples["state"], expected_version=None)
            tx.append_consent(samples["consent"])
            tx.add_contact("cus-1", samples["contact"])
            tx.open_service_window("cus-1", Channel.WHATSAPP, T0 + 24 * HOUR)
            assert tx.add_outbox(entry)
            tx.log(samples["log record"])
        with store.transaction() as tx:
            assert samples["customer"] == tx.customer("cus-1")
            assert Claimed(samples["state"], 1) == tx.load("chk-1")
            assert (samples["consent"],) == tx.ledger("cus-1").events
            assert (samples["contact"],) == tx.history("cus-1", since=T0).records
            assert tx.service_window("cus-1", Channel.WHATSAPP) == T0 + 24 * HOUR
            found = tx.sent_message(Channel.EMAIL, "SM1")
        (listed,) = store.outbox(status=OutboxStatus.UNCERTAIN)
        for loaded in (listed, found):
            assert entry == loaded
            assert loaded is not None
            assert entry.message.whatsapp_payload == loaded.message.whatsapp_payload
        assert [samples["log record"]] == list(store.events())

    # -- retention ---------------------------------------------------------------------------
    def test_purge_is_bounded_and_never_touches_consent(self, store: Store) -> None:
        """purge removes old finished recoveries, log lines, contact records and settled
        outbox entries, at most ``limit`` per call; open recoveries, recent rows and every
        consent event stay."""
        cutoff = T0 + 10 * HOUR
        with store.transaction() as tx:
            for index in range(5):
                tx.save(finished(f"chk-old-{index}", at=T0), expected_version=None)
                tx.log(LogRecord(T0, "finish", f"chk-old-{index}", "cus-1", {}))
                tx.add_contact("cus-1", ContactRecord(T0, Channel.SMS, f"chk-old-{index}"))
            tx.save(finished("chk-recent", at=cutoff + HOUR), expected_version=None)
            tx.save(active("chk-open", wakeup_at=T0), expected_version=None)
            tx.log(LogRecord(cutoff, "send", "chk-open", "cus-1", {}))
            tx.add_contact("cus-1", ContactRecord(cutoff, Channel.SMS, "chk-open"))
            tx.append_consent(grant("cus-1", T0 - HOUR))
            tx.add_outbox(outbox_entry("k-sent", T0))
            tx.add_outbox(outbox_entry("k-pending", T0))
        store.mark_outbox("k-sent", OutboxStatus.SENT, at=T0)
        old_rows = 5 + 5 + 5 + 1
        removed = [store.purge(cutoff, limit=4) for _ in range(6)]
        assert all(count <= 4 for count in removed)
        assert old_rows == sum(removed)
        assert removed[-1] == 0
        assert {"chk-recent", "chk-open"} == {state.checkout_id for state in store.states()}
        assert [cutoff] == [record.at for record in store.events()]
        assert [entry.key for entry in store.outbox()] == ["k-pending"]
        assert store.outbox(status=OutboxStatus.SENT) == []
        with store.transaction() as tx:
            assert (grant("cus-1", T0 - HOUR),) == tx.ledger("cus-1").events
            assert len(tx.history("cus-1", since=T0 - HOUR).records) == 1

    def test_purge_takes_uncertain_rows_and_customers_left_without_recoveries(
        self, store: Store
    ) -> None:
        """Old uncertain outbox entries go; a customer whose last recovery expired goes
        with its addresses, unless something is still pending for them."""
        cutoff = T0 + 10 * HOUR
        gone = Customer(id="cus-1", first_name="Ada", phone="+48601234567")
        waiting = Customer(id="cus-2", email="bo@example.com")
        kept = Customer(id="cus-3", email="cy@example.com")
        with store.transaction() as tx:
            for customer in (gone, waiting, kept):
                tx.save_customer(customer)
                tx.open_service_window(customer.id, Channel.WHATSAPP, T0)
            tx.save(finished("chk-1", "cus-1", at=T0), expected_version=None)
            tx.save(finished("chk-2", "cus-2", at=T0), expected_version=None)
            tx.save(active("chk-3", "cus-3"), expected_version=None)
            tx.add_outbox(OutboxEntry("k-uncertain", message("k-uncertain"), T0))
            tx.add_outbox(OutboxEntry("k-pending", message("k-pending", "chk-2", "cus-2"), T0))
        store.mark_outbox("k-uncertain", OutboxStatus.UNCERTAIN, at=T0)
        while store.purge(cutoff, limit=2):
            pass
        assert store.outbox(status=OutboxStatus.UNCERTAIN) == []
        with store.transaction() as tx:
            assert tx.customer("cus-1") is None
            assert tx.customer_for(Channel.SMS, "+48601234567") is None
            assert tx.service_window("cus-1", Channel.WHATSAPP) is None
            assert waiting == tx.customer("cus-2")
            assert kept == tx.customer("cus-3")
            assert tx.customer_for(Channel.EMAIL, "cy@example.com") == "cus-3"

    def test_a_lone_surrogate_is_stored_as_a_replacement_character(self, store: Store) -> None:
        """Text that is not valid Unicode never fails a write: a lone surrogate in log
        data or a message is kept as U+FFFD, and the rest of the transaction commits."""
        sent = attrs.evolve(message("k-odd"), text="Shop: hi \ud800 STOP to opt out")
        with store.transaction() as tx:
            tx.log(LogRecord(T0, "event", "chk-1", "cus-1", {"text": "STOP \udc00"}))
            tx.add_outbox(OutboxEntry("k-odd", sent, T0))
        assert [record.data["text"] for record in store.events()] == ["STOP \ufffd"]
        assert [entry.message.text for entry in store.outbox()] == [
            "Shop: hi \ufffd STOP to opt out"
        ]

    # -- one customer's data (GDPR articles 15 and 17) -------------------------------------
    def _customer_everywhere(self, store: Store, customer_id: str, checkout_id: str) -> Customer:
        """A customer with a row in every table a store keeps."""
        customer = Customer(
            id=customer_id,
            first_name="Ada",
            phone="+48601234567" if customer_id == "cus-1" else "+48601234568",
            email=f"ada-{customer_id}@example.com",
        )
        with store.transaction() as tx:
            tx.save_customer(customer)
            tx.append_consent(grant(customer_id, T0 - HOUR))
            tx.append_consent(revoke_all(customer_id, T0 + HOUR))
            tx.save(
                with_checkout(active(checkout_id, customer_id), T0 - HOUR), expected_version=None
            )
            tx.add_contact(customer_id, ContactRecord(T0, Channel.SMS, checkout_id))
            tx.open_service_window(customer_id, Channel.WHATSAPP, T0 + HOUR)
            tx.add_outbox(
                OutboxEntry(f"{checkout_id}:t1", message(f"{checkout_id}:t1", checkout_id,
                                                         customer_id), T0)
            )  # fmt: skip
            tx.log(LogRecord(T0, "send", checkout_id, customer_id, {"to": "+48601234567"}))
            tx.log(LogRecord(T0, "event", checkout_id, None, {"text": "STOP"}))
        return customer

    def test_export_customer_holds_everything_stored_about_them(self, store: Store) -> None:
        """export_customer returns the record, addresses, consent, recoveries, contacts,
        windows, outbox and log of that customer, and nothing of another."""
        ada = self._customer_everywhere(store, "cus-1", "chk-1")
        self._customer_everywhere(store, "cus-2", "chk-2")
        exported = store.export_customer("cus-1")
        assert ada.to_dict() == exported["customer"]
        assert {"channel": "email", "address": "ada-cus-1@example.com"} in exported["addresses"]
        assert [grant("cus-1", T0 - HOUR).to_dict(), revoke_all("cus-1", T0 + HOUR).to_dict()] == (
            exported["consent"]
        )
        assert [state["checkout_id"] for state in exported["recoveries"]] == ["chk-1"]
        assert [contact["checkout_id"] for contact in exported["contacts"]] == ["chk-1"]
        assert [{"channel": "whatsapp", "until": (T0 + HOUR).isoformat()}] == (
            exported["service_windows"]
        )
        assert [entry["key"] for entry in exported["outbox"]] == ["chk-1:t1"]
        assert [(line["kind"], line["customer_id"]) for line in exported["log"]] == [
            ("send", "cus-1"),
            ("event", None),
        ]
        json.dumps(exported)  # JSON-safe as promised
        empty = store.export_customer("nobody")
        assert empty["customer"] is None
        assert all(empty[key] == [] for key in empty if key not in ("customer", "customer_id"))
        assert {"watches", "orders"} <= set(empty)

    def test_erase_customer_leaves_only_pseudonymised_consent(self, store: Store) -> None:
        """After erase_customer nothing personal of that customer is left; consent stays
        under a pseudonym with hashed addresses; another customer is untouched."""
        from ..stores.erasure import pseudonym  # noqa: PLC0415 - only these tests need it

        self._customer_everywhere(store, "cus-1", "chk-1")
        other = self._customer_everywhere(store, "cus-2", "chk-2")
        before_other = store.export_customer("cus-2")
        assert store.erase_customer("cus-1") > 0
        exported = store.export_customer("cus-1")
        assert exported["customer"] is None
        assert all(
            exported[key] == [] for key in exported if key not in ("customer", "customer_id")
        )
        assert "cus-1" not in {state.customer_id for state in store.states()}
        assert all(r.checkout_id != "chk-1" and r.customer_id != "cus-1" for r in store.events())
        assert all(entry.message.customer_id != "cus-1" for entry in store.outbox())
        with store.transaction() as tx:
            kept = tx.ledger(pseudonym("cus-1")).events
            assert tx.customer_for(Channel.EMAIL, "ada-cus-1@example.com") is None
            assert tx.customer_for(Channel.SMS, "+48601234567") is None
            assert other == tx.customer("cus-2")
        assert [e.action for e in kept] == [ConsentAction.GRANTED, ConsentAction.REVOKED]
        assert all(e.customer_id == pseudonym("cus-1") for e in kept)
        assert kept[0].address is not None
        assert "601234567" not in kept[0].address
        evidence = (kept[0].text, kept[0].version, kept[0].at)
        assert evidence == ("Text me about my cart", "v3", T0 - HOUR)
        assert before_other == store.export_customer("cus-2")
        assert store.erase_customer("cus-1") == 0

    def test_erasure_covers_the_detectors_watches_and_orders(self, store: Store) -> None:
        """Watches of the customer's checkouts and orders naming them (by id, phone or
        e-mail) are exported and erased with the rest; another person's order stays."""
        anna = Customer(id="cus-9", phone="+48601234567", email="anna@example.com")
        watch = observe(None, _activity("tok-1", T0), policy=DetectorPolicy())
        orders = [
            ShopOrder("o-1", T0, customer_id="cus-9"),
            ShopOrder("o-2", T0 + HOUR, phone="+48 601 234 567"),
            ShopOrder("o-3", T0 + HOUR, email="Anna@Example.com"),
            ShopOrder("o-4", T0, customer_id="cus-other", phone="+48600000000"),
        ]
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            tx.save_customer(anna)
            detector.save_watch(watch)
            for order in orders:
                detector.add_order(order)
        exported = store.export_customer("cus-9")
        assert [w["checkout_id"] for w in exported["watches"]] == ["tok-1"]
        assert [o["order_id"] for o in exported["orders"]] == ["o-1", "o-2", "o-3"]
        store.erase_customer("cus-9")
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            assert detector.watch("tok-1") is None
            left = detector.orders_for(
                checkout_id="none", customer_id="cus-other", phone=None, email=None, since=T0
            )
        assert [order.order_id for order in left] == ["o-4"]
        assert store.export_customer("cus-9")["orders"] == []

    # -- the abandonment detector (DetectorTransaction) ---------------------------------------
    def _detector_tx(self, tx: Transaction) -> DetectorTransaction:
        if not isinstance(tx, DetectorTransaction):
            pytest.skip(f"{type(tx).__name__} keeps no detector state (DetectorTransaction)")
        return tx

    def test_a_watch_round_trips_and_is_replaced(self, store: Store) -> None:
        """save_watch stores the watch as given and replaces it on the next save."""
        first = observe(None, _activity("tok-1", T0), policy=DetectorPolicy())
        later = observe(first, _activity("tok-1", T0 + HOUR, quantity=2), policy=DetectorPolicy())
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            assert detector.watch("tok-1") is None
            detector.save_watch(first)
            assert first == detector.watch("tok-1")
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            detector.save_watch(later)
        with store.transaction() as tx:
            assert later == self._detector_tx(tx).watch("tok-1")

    def test_due_watches_are_due_ones_earliest_first(self, store: Store) -> None:
        """due_watches lists watches due at ``now``, earliest first, at most ``limit``;
        resting and completed watches are never due."""
        policy = DetectorPolicy()
        watches = [
            observe(None, _activity(f"tok-{index}", T0 + index * HOUR), policy=policy)
            for index in (2, 0, 1, 5)
        ]
        done = complete(watches[0], ShopOrder("ord-1", T0, checkout_id="tok-2"))
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            for watch in (*watches[1:], done):
                detector.save_watch(watch)
        now = T0 + 2 * HOUR
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            due = detector.due_watches(now, limit=10)
            assert [watch.checkout_id for watch in due] == ["tok-0", "tok-1"]
            assert [w.checkout_id for w in detector.due_watches(now, limit=1)] == ["tok-0"]
            assert detector.due_watches(T0, limit=10) == []

    def test_orders_are_kept_once_and_found_by_checkout_or_person(self, store: Store) -> None:
        """add_order keeps each order id once; orders_for finds the checkout's orders at any
        time and the same person's (id, phone or e-mail) from ``since`` on."""
        orders = [
            ShopOrder("o-1", T0, checkout_id="tok-1"),
            ShopOrder("o-2", T0 + HOUR, customer_id="cus-9"),
            ShopOrder("o-3", T0 + 2 * HOUR, phone="+48 601 234 567"),
            ShopOrder("o-4", T0 + 3 * HOUR, email="Anna@Example.com"),
            ShopOrder("o-5", T0 - 30 * HOUR, customer_id="cus-9"),
            ShopOrder("o-6", T0 + HOUR, customer_id="cus-other", phone="+48600000000"),
        ]
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            assert all(detector.add_order(order) for order in orders)
            assert not detector.add_order(attrs.evolve(orders[1], at=T0 + 9 * HOUR))
        with store.transaction() as tx:
            found = self._detector_tx(tx).orders_for(
                checkout_id="tok-1",
                customer_id="cus-9",
                phone="+48601234567",
                email="anna@example.com",
                since=T0 - 24 * HOUR,
            )
        assert [order.order_id for order in found] == ["o-1", "o-2", "o-3", "o-4"]
        assert orders[1] == found[1]

    def test_customers_with_finds_every_record_of_a_phone_or_email(self, store: Store) -> None:
        """customers_with names each customer whose watched checkout carries the phone or
        the e-mail, once, sorted; a changed snapshot replaces the old contact details."""
        policy = DetectorPolicy()
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            detector.save_watch(observe(None, _activity("tok-1", T0, who="cus-a"), policy=policy))
            detector.save_watch(observe(None, _activity("tok-2", T0, who="cus-b"), policy=policy))
            detector.save_watch(observe(None, _activity("tok-3", T0, who="cus-a"), policy=policy))
            moved = _activity("tok-4", T0, who="cus-c", phone="+48609999999")
            detector.save_watch(observe(None, moved, policy=policy))
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            assert detector.customers_with(phone="+48601234567", email=None) == ["cus-a", "cus-b"]
            assert detector.customers_with(phone=None, email="anna@example.com") == [
                "cus-a",
                "cus-b",
                "cus-c",
            ]
            assert detector.customers_with(phone="+48609999999", email=None) == ["cus-c"]
            assert detector.customers_with(phone=None, email=None) == []

    def test_detector_rows_roll_back_with_their_transaction(self, store: Store) -> None:
        """Watches and orders written in a transaction that fails are not kept."""
        watch = observe(None, _activity("tok-1", T0), policy=DetectorPolicy())

        def write_then_fail() -> None:
            with store.transaction() as tx:
                detector = self._detector_tx(tx)
                detector.save_watch(watch)
                detector.add_order(ShopOrder("o-1", T0, checkout_id="tok-1"))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            write_then_fail()
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            assert detector.watch("tok-1") is None
            assert (
                detector.orders_for(
                    checkout_id="tok-1", customer_id=None, phone=None, email=None, since=T0
                )
                == []
            )

    def test_purge_removes_old_resting_watches_and_orders(self, store: Store) -> None:
        """Watches with nothing due and orders older than the cut-off go; due ones stay."""
        policy = DetectorPolicy()
        waiting = observe(None, _activity("tok-wait", T0), policy=policy)
        done = complete(
            observe(None, _activity("tok-done", T0), policy=policy),
            ShopOrder("o-1", T0, checkout_id="tok-done"),
        )
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            detector.save_watch(waiting)
            detector.save_watch(done)
            detector.add_order(ShopOrder("o-1", T0, checkout_id="tok-done"))
        while store.purge(T0 + 48 * HOUR, limit=1):
            pass
        with store.transaction() as tx:
            detector = self._detector_tx(tx)
            assert detector.watch("tok-done") is None
            assert waiting == detector.watch("tok-wait")
            assert (
                detector.orders_for(
                    checkout_id="tok-done", customer_id=None, phone=None, email=None, since=T0
                )
                == []
            )


def _activity(
    checkout_id: str,
    at: datetime,
    *,
    quantity: int = 1,
    who: str = "cus-9",
    phone: str = "+48601234567",
) -> CheckoutUpdated:
    """A payment-stage snapshot of a one-line cart."""
    price = Money("42.00", "PLN")
    return CheckoutUpdated(
        checkout_id=checkout_id,
        customer=Customer(id=who, phone=phone, email="anna@example.com"),
        stage=Stage.PAYMENT,
        items=(LineItem("sku-1", "Kettle", quantity, price),),
        total=price * quantity,
        link=f"https://shop.example/c/{checkout_id}",
        at=at,
    )
