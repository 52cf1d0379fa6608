"""Operators can see what the library did, through ``logging``, without personal data.

The rule (issue 19): the runner and the stores log through the standard ``logging``
module, one logger per layer, facts as ``extra`` fields; at INFO and above no record
carries a name, an address or a message text.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from recoverykit import Channel, Runner
from recoverykit.errors import ChannelError
from recoverykit.protocols import Receipt
from recoverykit.runtime.playback import run_scenario
from recoverykit.runtime.scenario import Scenario
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing import FakeClock
from tests.engine_helpers import T0, checkout, customer, grant

DEMO = Path(__file__).parents[2] / "examples" / "demo" / "scenario.json"
#: LogRecord attributes every record has; anything else came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("n", 0, "p", 0, "m", None, None))) | {"message"}


def _text_of(record: logging.LogRecord) -> str:
    extras = {key: value for key, value in vars(record).items() if key not in _STANDARD}
    return record.getMessage() + " " + repr(extras)


def _personal(scenario: Scenario) -> set[str]:
    found: set[str] = set()
    for who in scenario.customers:
        for value in (who.first_name, who.phone, who.email, who.telegram_chat_id, who.viber_id):
            if value:
                found.add(value)
        if who.phone:
            found.add(who.phone.lstrip("+"))
    return found


def test_the_demo_logs_ticks_at_info_and_no_personal_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The whole demo at DEBUG: INFO+ records name no customer field and no message text."""
    scenario = Scenario.load(DEMO)
    with caplog.at_level(logging.DEBUG, logger="recoverykit"):
        store = SQLiteStore(tmp_path / "demo.db")
        try:
            run_scenario(scenario, store)
            texts = {str(r.data["text"]) for r in store.events() if r.data.get("text")}
        finally:
            store.close()
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    ticks = [r for r in loud if r.name == "recoverykit.runtime" and hasattr(r, "claimed")]
    assert ticks
    assert all(isinstance(r.sent, int) for r in ticks)  # type: ignore[attr-defined]
    assert any(r.name == "recoverykit.stores" and hasattr(r, "to_version") for r in loud)
    secrets = {s for s in _personal(scenario) | {text[:30] for text in texts} if len(s) >= 4}
    for record in loud:
        shown = _text_of(record)
        assert not [secret for secret in secrets if secret in shown], shown


class _Refusing:
    """An SMS adapter whose provider refuses the number and quotes it back."""

    channel = Channel.SMS

    def send(self, message: object) -> Receipt:
        msg = "Provider: '+48601234567' is not a mobile number"
        raise ChannelError(msg, permanent=True, code="21614")


def test_a_failed_send_is_a_warning_with_codes_and_the_providers_words_only_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """WARNING names the checkout, channel and code; the provider's text (which quotes
    the number) is at DEBUG only."""
    from recoverykit.engine.events import CheckoutAbandoned
    from recoverykit.engine.policy import RecoveryPolicy

    who = customer()
    store = MemoryStore()
    with store.transaction() as tx:
        tx.append_consent(grant(who, Channel.SMS))
    clock = FakeClock(T0)
    runner = Runner(RecoveryPolicy(store_name="Sklep"), store, {Channel.SMS: _Refusing()}, clock)
    with caplog.at_level(logging.DEBUG, logger="recoverykit"):
        runner.handle(CheckoutAbandoned(checkout(who), T0))
        clock.set(T0 + timedelta(hours=2))
        runner.run_due()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings
    facts = warnings[0]
    assert (facts.checkout_id, facts.channel, facts.code) == ("chk-1", "sms", "21614")  # type: ignore[attr-defined]
    assert all("601234567" not in _text_of(r) for r in caplog.records if r.levelno >= logging.INFO)
    assert any("601234567" in _text_of(r) for r in caplog.records if r.levelno == logging.DEBUG)


def test_an_erasure_is_logged_without_the_customers_id(caplog: pytest.LogCaptureFixture) -> None:
    """The log line of an erasure counts rows; it never names who was erased."""
    store = MemoryStore()
    with store.transaction() as tx:
        tx.save_customer(customer("cus-secret-77"))
    with caplog.at_level(logging.INFO, logger="recoverykit"):
        store.erase_customer("cus-secret-77")
    erased = [r for r in caplog.records if r.name == "recoverykit.stores"]
    assert [r.rows for r in erased] == [4]  # type: ignore[attr-defined]  # record + 3 addresses
    assert all("secret" not in _text_of(r) for r in erased)


def test_the_library_adds_only_a_null_handler() -> None:
    """Nothing is printed unless the application configures logging."""
    handlers = logging.getLogger("recoverykit").handlers
    assert [type(h) for h in handlers] == [logging.NullHandler]
