"""What a provider answers itself, the runner does not answer again (issue 23, item 4).

* Telegram keeps a spinner on an inline button until the bot answers its callback
  query: ``Runner.receive`` answers every tap through the adapter's
  ``answer_callback`` (I/O stays in the adapter), whatever became of the tap.
* Twilio's Advanced Opt-Out confirms STOP, START and HELP itself and says so in the
  inbound webhook's ``OptOutType`` field: the runner records the opt-out but sends no
  second confirmation (FCC-4 allows one).

Payloads use the fields of Telegram's ``callback_query`` update and Twilio's inbound
message webhook (``MessageSid``, ``From``, ``To``, ``Body``, ``OptOutType``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.errors import ChannelError
from recoverykit.protocols import Store
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.fakes import FakeChannel
from recoverykit.values.model import Channel, Customer
from recoverykit.webhooks import InboundMessage
from tests.unit.test_runner_receive import (
    PHONE,
    TELEGRAM,
    TWILIO,
    Shop,
    telegram_request,
    twilio_request,
)


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    made: Store = SQLiteStore(":memory:") if request.param == "sqlite" else MemoryStore()
    yield made
    made.close()


# -- Telegram --------------------------------------------------------------------------------
class AnsweringBot(FakeChannel):
    """A fake Telegram adapter that records the callback queries it answers."""

    def __init__(self, *, refuse: bool = False, **kwargs: Any) -> None:
        super().__init__(Channel.TELEGRAM, **kwargs)
        self.answered: list[str] = []
        self._refuse = refuse

    def answer_callback(self, callback_id: str) -> None:
        self.answered.append(callback_id)
        if self._refuse:
            raise ChannelError("Telegram refused: query is too old", permanent=True, code="400")


def tap(data: str, *, query_id: str = "4382bfdwdsb323b2d9", update_id: int = 901) -> dict[str, Any]:
    """A ``callback_query`` update: the person tapped the inline button carrying ``data``."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id,
            "from": {"id": 777, "is_bot": False, "first_name": "Ada"},
            "chat_instance": "-4129300491231",
            "data": data,
            "message": {
                "message_id": 11,
                "date": 1772445600,
                "chat": {"id": 777, "type": "private"},
                "text": "Need help? Reply 1 for delivery, 2 for payment help.",
                "reply_markup": {
                    "inline_keyboard": [
                        [{"text": "1 for delivery", "callback_data": "1"}],
                        [{"text": "2 for payment help", "callback_data": "2"}],
                    ]
                },
            },
        },
    }


def telegram_shop(store: Store, bot: AnsweringBot) -> Shop:
    shop = Shop(store, Customer(id="cus-1", first_name="Ada", telegram_chat_id="777"))
    shop.runner.channels[Channel.TELEGRAM] = bot
    return shop


def test_a_tapped_button_is_answered_once_through_the_adapter(store: Store) -> None:
    """The parser hands on the callback query's id; ``receive`` reads the tap and answers
    the query through the Telegram adapter, once per tap."""
    bot = AnsweringBot()
    shop = telegram_shop(store, bot)
    (fact,) = TELEGRAM.parse(telegram_request(tap("1")), now=shop.clock.now())
    assert isinstance(fact, InboundMessage)
    assert (fact.button, fact.callback_id) == ("1", "4382bfdwdsb323b2d9")
    shop.runner.receive(fact)
    assert bot.answered == ["4382bfdwdsb323b2d9"]


def test_a_tap_from_an_unknown_chat_is_still_answered(store: Store) -> None:
    """Even a tap the store cannot place (no customer uses the chat) stops spinning."""
    bot = AnsweringBot()
    shop = telegram_shop(store, bot)
    (fact,) = TELEGRAM.parse(telegram_request(tap("2", query_id="q-2")), now=shop.clock.now())
    shop.runner.receive(fact)
    assert bot.answered == ["q-2"]
    assert [r.data["reason"] for r in shop.log("ignored")] == ["unknown"]


def test_a_refused_answer_is_logged_and_changes_nothing_else(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A callback the provider will not take (too old) is the spinner's problem only: it is
    logged at WARNING and ``receive`` returns as usual."""
    bot = AnsweringBot(refuse=True)
    shop = telegram_shop(store, bot)
    (fact,) = TELEGRAM.parse(telegram_request(tap("1", query_id="q-3")), now=shop.clock.now())
    with caplog.at_level(logging.WARNING, logger="recoverykit.runtime"):
        assert shop.runner.receive(fact) == []
    assert bot.answered == ["q-3"]
    assert "could not answer a telegram button tap" in caplog.text
    assert "777" not in caplog.text  # no chat id at WARNING


def test_an_adapter_without_answer_callback_is_left_alone(store: Store) -> None:
    """Adapters need not implement ``answer_callback``: a plain one is simply not asked."""
    shop = telegram_shop(store, AnsweringBot())
    plain = FakeChannel(Channel.TELEGRAM)
    shop.runner.channels[Channel.TELEGRAM] = plain
    (fact,) = TELEGRAM.parse(telegram_request(tap("1")), now=shop.clock.now())
    shop.runner.receive(fact)
    assert plain.attempts == []


# -- Twilio Advanced Opt-Out ------------------------------------------------------------------
def inbound(body: str, *, opt_out_type: str | None, sid: str = "SM-in-1") -> dict[str, str]:
    """Twilio's inbound-message webhook fields; ``OptOutType`` only with Advanced Opt-Out."""
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "MessagingServiceSid": "MG0123456789abcdef0123456789abcdef",
        "From": PHONE,
        "To": "+447400000000",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
    }
    if opt_out_type is not None:
        params["OptOutType"] = opt_out_type
    return params


def replies(shop: Shop) -> list[SendMessage]:
    return [m for m in shop.sms.attempts if m.kind is MessageKind.REPLY]


def test_opt_out_type_marks_a_message_answered_by_twilio() -> None:
    """``OptOutType`` STOP, START or HELP (any case) means Twilio answered; without the
    field, or with a value Twilio does not send, the library answers as usual."""
    from tests.unit.test_runner_receive import T0

    for value, answered in (("STOP", True), ("start", True), ("HELP", True), (None, False),
                            ("", False), ("OTHER", False)):  # fmt: skip
        (fact,) = TWILIO.parse(twilio_request(inbound("STOP", opt_out_type=value)), now=T0)
        assert isinstance(fact, InboundMessage)
        assert fact.answered_by_provider is answered, value


@pytest.mark.parametrize("open_recovery", [True, False])
def test_a_stop_twilio_confirmed_is_recorded_without_a_second_confirmation(
    store: Store, open_recovery: bool
) -> None:
    """With Advanced Opt-Out, a STOP is recorded (SMS revoked, the recovery ends opted
    out) and no confirmation of the library's own is sent: Twilio sent one."""
    shop = Shop(store)
    if open_recovery:
        shop.abandon_and_send_first_touch()
    else:
        shop.grant()
    request = twilio_request(inbound("STOP", opt_out_type="STOP"))
    assert shop.endpoint(TWILIO.parse, request) == 200
    with store.transaction() as tx:
        assert tx.ledger("cus-1").opted_out("cus-1", Channel.SMS, shop.clock.now())
    assert replies(shop) == []
    if open_recovery:
        assert [state.finish_reason for state in store.states()] == ["opted_out"]


def test_without_opt_out_type_the_library_confirms_once(store: Store) -> None:
    """The same STOP without ``OptOutType`` (Advanced Opt-Out off) gets the library's one
    confirmation, as before."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    shop.endpoint(TWILIO.parse, twilio_request(inbound("STOP", opt_out_type=None)))
    assert [m.key for m in replies(shop)] == ["optout_confirm"]


def test_help_twilio_answered_gets_no_second_answer(store: Store) -> None:
    """HELP answered by Twilio's Advanced Opt-Out is not answered again by the pack."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    shop.endpoint(TWILIO.parse, twilio_request(inbound("HELP", opt_out_type="HELP")))
    assert replies(shop) == []


def test_a_stop_from_an_unknown_number_twilio_confirmed_is_kept_quietly(store: Store) -> None:
    """A confirmed STOP from a number no customer uses is filed under the number, with no
    confirmation of the library's own."""
    shop = Shop(store)
    shop.endpoint(TWILIO.parse, twilio_request(inbound("STOP", opt_out_type="STOP")))
    from recoverykit.runtime.addresses import address_ledger_id

    with store.transaction() as tx:
        held = tx.ledger(address_ledger_id(Channel.SMS, PHONE)).events
    assert [e.action.value for e in held] == ["revoked"]
    assert replies(shop) == []
