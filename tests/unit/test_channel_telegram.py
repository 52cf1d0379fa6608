"""Telegram Bot API adapter against a loopback server (rules.md §3.2, PW-4; SEAMS 4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Final

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.channels.errors import NOT_SENT, OUTCOME_UNKNOWN
from recoverykit.channels.telegram import (
    MAX_TEXT,
    TELEGRAM_ERRORS,
    TelegramBot,
    reply_menu,
)
from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import ChannelError, FaultScope, InvalidInputError
from recoverykit.protocols import ChannelAdapter, OutboxStatus, Receipt
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore
from recoverykit.testing.channel_contract import ChannelContract, LoopbackServer, Recorded, Reply
from recoverykit.testing.fakes import FakeClock
from recoverykit.values.model import Channel
from recoverykit.webhooks import InboundMessage, TelegramWebhooks, WebhookRequest
from tests.engine_helpers import T0, checkout, customer, grant

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHAT = "987654321"
MENU_TEXT = (
    "Northwind\n"
    "Can we help you finish your order?\n"
    "Reply 1 for delivery, 2 for payment help, 3 to change items.\n"
    "Your checkout: https://shop.example/c/chk-1"
)
#: What the Bot API says for each refusal in the table (the adapter reads the words).
DESCRIPTIONS = {
    "blocked_by_user": (403, "Forbidden: bot was blocked by the user"),
    "user_deactivated": (403, "Forbidden: user is deactivated"),
    "cannot_initiate": (403, "Forbidden: bot can't initiate conversation with a user"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "recipient_is_bot": (403, "Forbidden: bot can't send messages to bots"),
    "text_too_long": (400, "Bad Request: message is too long"),
}


def accepted(message_id: int = 42, chat: int = int(CHAT)) -> Reply:
    """The Bot API's answer to a sent message (the fields the adapter may read)."""
    return Reply(
        200,
        {
            "ok": True,
            "result": {
                "message_id": message_id,
                "from": {"id": 123456789, "is_bot": True, "first_name": "Northwind"},
                "chat": {"id": chat, "type": "private", "first_name": "Anna"},
                "date": 1772445600,
                "text": "…",
            },
        },
    )


def refused(status: int, description: str) -> Reply:
    return Reply(status, {"ok": False, "error_code": status, "description": description})


def message(text: str = "Your cart: https://shop.example/r/1", **changes: Any) -> SendMessage:
    base = SendMessage(
        idempotency_key="chk-1:touch1:0",
        checkout_id="chk-1",
        customer_id="cus-1",
        channel=Channel.TELEGRAM,
        to=CHAT,
        kind=MessageKind.TOUCH,
        key="remind",
        text=text,
        locale="en",
        touch=1,
    )
    return attrs.evolve(base, **changes)


class TestTelegramContract(ChannelContract):
    channel = Channel.TELEGRAM
    error_table = TELEGRAM_ERRORS
    address = CHAT
    carries_key = False  # sendMessage has no field for it

    def make_adapter(self, base_url: str, *, timeout: float) -> TelegramBot:
        return TelegramBot(TOKEN, base_url=base_url, timeout=timeout)

    def accepted(self, provider_id: str) -> Reply:
        # The receipt's id is "<chat id>:<message id>"; see the override below.
        return accepted(message_id=len(provider_id))

    def refused(self, code: str) -> Reply:
        status, description = DESCRIPTIONS.get(code, (400, f"Bad Request: {code}"))
        return refused(status, description)

    def key_sent(self, request: Recorded) -> str | None:
        return None

    def test_accepted_message_gives_receipt(
        self, adapter: ChannelAdapter, server: LoopbackServer
    ) -> None:
        """An accepted message returns a Receipt naming "<chat id>:<message id>" (Telegram
        numbers messages per chat) with an aware time, after exactly one request."""
        server.answer(accepted(message_id=7))
        receipt = adapter.send(self.message())
        assert isinstance(receipt, Receipt)
        assert f"{CHAT}:7" == receipt.provider_id
        assert receipt.accepted_at.tzinfo is not None
        assert len(server.requests) == 1


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def bot(server: LoopbackServer) -> Iterator[TelegramBot]:
    with TelegramBot(TOKEN, base_url=server.url, timeout=2) as made:
        yield made


# -- the request -------------------------------------------------------------------------------
def test_request_is_send_message_with_plain_text(server: LoopbackServer, bot: TelegramBot) -> None:
    """One POST to /bot<token>/sendMessage with the chat id as a number and the text as is,
    no parse mode (nothing in a text can break its formatting) and no keyboard without a menu."""
    server.answer(accepted())
    text = "Ваш заказ <b>сохранён</b> & ждёт: https://shop.example/r/1 🫖"
    bot.send(message(text))
    [request] = server.requests
    assert (request.method, request.path) == ("POST", f"/bot{TOKEN}/sendMessage")
    assert request.header("content-type") == "application/json"
    assert {"chat_id": int(CHAT), "text": text} == request.json()


def test_reply_menu_becomes_inline_buttons(server: LoopbackServer, bot: TelegramBot) -> None:
    """A numbered reply menu in the text becomes one inline button per choice, each
    carrying its digit as callback_data; the text itself goes out unchanged."""
    server.answer(accepted())
    bot.send(message(MENU_TEXT, key="help", touch=2))
    body = server.requests[0].json()
    assert body["text"] == MENU_TEXT
    assert body["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "1 for delivery", "callback_data": "1"}],
            [{"text": "2 for payment help", "callback_data": "2"}],
            [{"text": "3 to change items", "callback_data": "3"}],
        ]
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Odpisz 1 w sprawie dostawy, 2 w sprawie płatności, 3 aby zmienić produkty.",
            ["1 w sprawie dostawy", "2 w sprawie płatności", "3 aby zmienić produkty"],
        ),
        (
            "Помочь? Ответьте 1 о доставке, 2 об оплате, 3 чтобы изменить товары.\nЗаказ: x",
            ["1 о доставке", "2 об оплате", "3 чтобы изменить товары"],
        ),
        (
            "Répondez 1 pour la livraison, 2 pour le paiement, 3 pour modifier les articles.",
            ["1 pour la livraison", "2 pour le paiement", "3 pour modifier les articles"],
        ),
        ("Reply 1 for yes, 2 for no", ["1 for yes", "2 for no"]),
    ],
)
def test_menus_of_the_built_in_languages_are_found(text: str, expected: list[str]) -> None:
    """The built-in packs' menus (en, pl, ru, fr) give buttons labelled with their own words."""
    menu = reply_menu(text)
    assert [label for _digit, label in menu] == expected
    assert [digit for digit, _label in menu] == [str(n) for n in range(1, len(expected) + 1)]


@pytest.mark.parametrize(
    "text",
    [
        "Your cart: 1 teapot, 2 cups.",  # no reply verb: an item list, not a menu
        "Buy 1 teapot, 2 cups.",
        "Reply 1 for delivery, 3 for payment.",  # a gap
        "Reply 2 for delivery, 3 for payment.",  # does not start at 1
        "Reply 1 for delivery.",  # a single choice is no menu
        "Reply 1 for delivery or 2 for payment.",  # not the list form
        "Reply 1 for 2 cups, 2 for more.",  # a digit inside a label
        "Reply 1 for a, 2 for b. Reply 1 for c, 2 for d.",  # two menus: which one?
        "Reply 1 for a, 2 for " + "b" * 60 + ".",  # a label too long for a button
        "Reply YES to confirm, STOP to opt out.",
    ],
)
def test_no_buttons_are_invented(text: str) -> None:
    """Anything short of a clear menu gives no buttons at all."""
    assert reply_menu(text) == []


@given(st.text(max_size=300))
def test_menu_labels_always_come_from_the_text(text: str) -> None:
    """Whatever the text, every button label is a piece of it and the digits run 1, 2, ..."""
    menu = reply_menu(text)
    assert [digit for digit, _label in menu] == [str(n) for n in range(1, len(menu) + 1)]
    for digit, label in menu:
        assert label.startswith(f"{digit} ")
        assert label[len(digit) + 1 :] in text


# -- what Telegram answers ---------------------------------------------------------------------
def test_blocked_bot_is_a_revocation(server: LoopbackServer, bot: TelegramBot) -> None:
    """403 "bot was blocked by the user": permanent and revoked, so consent is withdrawn."""
    server.answer(refused(403, "Forbidden: bot was blocked by the user"))
    with pytest.raises(ChannelError) as failed:
        bot.send(message())
    assert (failed.value.permanent, failed.value.revoked) == (True, True)
    assert failed.value.code == "blocked_by_user"


def test_never_started_is_permanent_but_not_a_revocation(
    server: LoopbackServer, bot: TelegramBot
) -> None:
    """403 "can't initiate conversation": the person never pressed Start. Permanent, but
    there was no consent on Telegram to withdraw."""
    server.answer(refused(403, "Forbidden: bot can't initiate conversation with a user"))
    with pytest.raises(ChannelError) as failed:
        bot.send(message())
    assert (failed.value.permanent, failed.value.revoked) == (True, False)
    assert failed.value.code == "cannot_initiate"


#: Telegram's flood-control answer, as the Bot API documents it.
FLOOD: Final = Reply(
    429,
    {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 17",
        "parameters": {"retry_after": 17},
    },
)


def test_flood_control_is_transient(server: LoopbackServer, bot: TelegramBot) -> None:
    """429 with retry_after: transient, a fault of the whole bot (scope channel), and the
    wait Telegram asks for in ``parameters.retry_after`` travels on the error."""
    server.answer(FLOOD)
    with pytest.raises(ChannelError) as failed:
        bot.send(message())
    assert not failed.value.permanent
    assert not failed.value.revoked
    assert "retry after 17" in str(failed.value)
    assert FaultScope.CHANNEL is failed.value.scope
    assert timedelta(seconds=17) == failed.value.retry_after


@pytest.mark.parametrize("status", [401, 404])
def test_wrong_token_is_transient_and_named(
    server: LoopbackServer, bot: TelegramBot, status: int
) -> None:
    """401/404 mean the bot token is wrong: the recipient is not at fault (transient)."""
    server.answer(refused(status, "Unauthorized" if status == 401 else "Not Found"))
    with pytest.raises(ChannelError) as failed:
        bot.send(message())
    assert not failed.value.permanent
    assert failed.value.code == "unauthorized"
    assert "token" in str(failed.value)


@pytest.mark.parametrize(
    "answer",
    [
        Reply(200, {"ok": True, "result": {"chat": {"id": 1}}}),
        Reply(200, {"ok": True}),
        Reply(200, raw=b"<html>proxy</html>"),
        Reply(200, {"ok": False}),
    ],
)
def test_accepting_answer_without_a_message_id_is_outcome_unknown(
    server: LoopbackServer, bot: TelegramBot, answer: Reply
) -> None:
    """A 200 that names no message may still have delivered one: transient, outcome unknown."""
    server.answer(answer)
    with pytest.raises(ChannelError) as failed:
        bot.send(message())
    assert not failed.value.permanent
    assert failed.value.code == OUTCOME_UNKNOWN


def test_token_never_appears_in_errors(server: LoopbackServer) -> None:
    """The bot token is part of the URL; no error message (nor repr) shows it."""
    with TelegramBot(TOKEN, base_url=server.url, timeout=0.2) as bot:
        server.answer(Reply(503, {"ok": False}), Reply(200, {}, delay=2), refused(400, "x"))
        errors = []
        for _ in range(3):
            with pytest.raises(ChannelError) as failed:
                bot.send(message())
            errors.append(str(failed.value))
        assert TOKEN not in repr(bot)
    closed = TelegramBot(TOKEN, base_url="http://127.0.0.1:9", timeout=0.2)
    with pytest.raises(ChannelError) as unreachable:
        closed.send(message())
    closed.close()
    assert unreachable.value.code == NOT_SENT
    errors.append(str(unreachable.value))
    secret = TOKEN.partition(":")[2]
    assert all(secret not in text for text in errors), errors
    assert all("<bot-token>" in text for text in errors[:2] + errors[3:]), errors


# -- what never leaves -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"to": "@northwind_fans"}, "whole number"),
        ({"to": "98765 4321"}, "whole number"),
        ({"text": "x" * (MAX_TEXT + 1)}, "has 4097"),
        ({"text": "🫖" * (MAX_TEXT // 2 + 1)}, "has 4098"),  # two UTF-16 units each
        ({"channel": Channel.SMS}, "Telegram only"),
    ],
)
def test_unsendable_messages_fail_before_any_request(
    server: LoopbackServer, bot: TelegramBot, changes: dict[str, Any], fragment: str
) -> None:
    """A message Telegram could never take fails permanently without a request."""
    with pytest.raises(ChannelError, match=fragment) as failed:
        bot.send(message(**changes))
    assert (failed.value.permanent, failed.value.code) == (True, "invalid_message")
    assert server.requests == []


def test_longest_text_is_accepted(server: LoopbackServer, bot: TelegramBot) -> None:
    """Exactly MAX_TEXT characters go out."""
    server.answer(accepted())
    bot.send(message("x" * MAX_TEXT))
    assert len(server.requests[0].json()["text"]) == MAX_TEXT


@pytest.mark.parametrize("token", ["", "123456", "abc:" + "x" * 30, "123:short", None])
def test_bad_token_is_refused(token: object) -> None:
    """A token not shaped like BotFather's is refused when the adapter is made."""
    with pytest.raises(InvalidInputError, match="BotFather"):
        TelegramBot(token)  # type: ignore[arg-type]


# -- with the runner and the webhook parser ------------------------------------------------------
SECRET = "webhook-secret-0123456789"


def run_until_requests(
    server: LoopbackServer, count: int
) -> tuple[MemoryStore, Runner, FakeClock, TelegramBot]:
    """An English customer with a Telegram chat and consent abandons a checkout; the runner
    sends due touches until the bot has made ``count`` requests."""
    who = attrs.evolve(
        customer(email=None, phone=None, locale="en", timezone="Europe/Warsaw"),
        telegram_chat_id=CHAT,
    )
    clock = FakeClock(T0)
    store = MemoryStore()
    bot = TelegramBot(TOKEN, base_url=server.url, clock=clock)
    policy = RecoveryPolicy(store_name="Northwind", channels=(Channel.TELEGRAM,))
    runner = Runner(policy, store, {Channel.TELEGRAM: bot}, clock)
    with store.transaction() as tx:
        tx.append_consent(grant(who, Channel.TELEGRAM))
    runner.handle(CheckoutAbandoned(checkout(who), T0))
    for _ in range(10):
        if len(server.requests) >= count:
            break
        due = store.next_due()
        assert due is not None
        clock.set(max(due, clock.now()))
        runner.run_due()
    return store, runner, clock, bot


def test_runner_records_chat_and_message_id(server: LoopbackServer) -> None:
    """Through the runner, an accepted touch is marked sent as "<chat id>:<message id>"."""
    server.answer(accepted(message_id=501))
    store, _runner, _clock, bot = run_until_requests(server, 1)
    with bot:
        sent = store.outbox(status=OutboxStatus.SENT)
    assert [f"{CHAT}:501"] == [entry.provider_id for entry in sent]
    assert int(CHAT) == server.requests[0].json()["chat_id"]


def test_runner_turns_a_blocked_bot_into_an_opt_out(server: LoopbackServer) -> None:
    """Through the runner, "bot was blocked by the user" revokes Telegram consent and ends
    the recovery (rules.md §3.2)."""
    server.answer(refused(403, "Forbidden: bot was blocked by the user"))
    store, _runner, _clock, bot = run_until_requests(server, 1)
    with bot, store.transaction() as tx:
        claimed = tx.load("chk-1")
        ledger = tx.ledger("c1")
    assert claimed is not None
    assert "opted_out" == claimed.state.finish_reason
    assert ledger.opted_out("c1", Channel.TELEGRAM, T0 + timedelta(days=1))


def test_tapped_button_gets_the_menu_answer(server: LoopbackServer) -> None:
    """End to end: the help touch carries the menu as buttons; a tap on "1" comes back
    through the webhook parser as button "1", and the runner answers with the delivery
    reply on Telegram, as if the customer had typed 1."""
    server.default = accepted(message_id=77)
    store, runner, clock, bot = run_until_requests(server, 2)
    keyboard = server.requests[1].json()["reply_markup"]["inline_keyboard"]
    first = keyboard[0][0]
    assert first["callback_data"] == "1"
    update = {
        "update_id": 9001,
        "callback_query": {
            "id": "cb-1",
            "from": {"id": int(CHAT), "is_bot": False, "first_name": "Anna"},
            "chat_instance": "-1",
            "data": first["callback_data"],
            "message": {
                "message_id": 77,
                "date": 1772445600,
                "chat": {"id": int(CHAT), "type": "private"},
                "text": server.requests[1].json()["text"],
                "reply_markup": {"inline_keyboard": keyboard},
            },
        },
    }
    request = WebhookRequest(
        "POST",
        "https://shop.example/hooks/telegram",
        {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
        json.dumps(update).encode(),
    )
    [inbound] = TelegramWebhooks(secret_token=SECRET).parse(request, now=clock.now())
    assert isinstance(inbound, InboundMessage)
    assert inbound.button == "1"
    runner.receive(inbound)
    with bot:
        answer = server.requests[2].json()
    assert answer["chat_id"] == int(CHAT)
    assert "Delivery" in answer["text"]
    assert "reply_markup" not in answer
    assert len(store.outbox(status=OutboxStatus.SENT)) == 3
    # The tap itself is acknowledged, so the button stops spinning.
    acknowledged = server.requests[3]
    assert acknowledged.path == f"/bot{TOKEN}/answerCallbackQuery"
    assert acknowledged.json() == {"callback_query_id": "cb-1"}


# -- answering button taps -------------------------------------------------------------------
def test_answer_callback_posts_answer_callback_query(
    server: LoopbackServer, bot: TelegramBot
) -> None:
    """``answer_callback`` makes one POST to /bot<token>/answerCallbackQuery naming the
    query, with no notice text (the answer comes as a message)."""
    server.answer(Reply(200, {"ok": True, "result": True}))
    bot.answer_callback("4382bfdwdsb323b2d9")
    [request] = server.requests
    assert (request.method, request.path) == ("POST", f"/bot{TOKEN}/answerCallbackQuery")
    assert {"callback_query_id": "4382bfdwdsb323b2d9"} == request.json()


def test_a_refused_callback_answer_raises_without_the_token(
    server: LoopbackServer, bot: TelegramBot
) -> None:
    """A query too old to answer is refused as a ``ChannelError`` whose message never shows
    the bot token; an empty id is refused before any request."""
    server.answer(refused(400, "Bad Request: query is too old and response timeout expired"))
    with pytest.raises(ChannelError) as caught:
        bot.answer_callback("old-query")
    assert TOKEN not in str(caught.value)
    with pytest.raises(InvalidInputError, match="callback_id"):
        bot.answer_callback(" ")
    assert len(server.requests) == 1
