"""What the framework examples' tests share: a shop with one open recovery, and signing.

The signatures are computed here the way each provider computes them (``hmac`` and
``hashlib`` directly), never through recoverykit's parsers, so a parser that checks
the wrong bytes cannot agree with itself and pass.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from recoverykit import Channel, CheckoutAbandoned, ConsentChanged, Customer, Runner
from recoverykit.protocols import OutboxStatus, Store
from recoverykit.testing import FakeChannel, FakeClock
from tests.engine_helpers import T0, checkout, customer, grant

EXAMPLES: Final = Path(__file__).parents[2] / "examples"

TWILIO_TOKEN: Final = "twilio-auth-token-used-only-by-these-tests"
META_SECRET: Final = "meta-app-secret-used-only-by-these-tests"
META_VERIFY: Final = "meta-verify-token-used-only-by-these-tests"
TELEGRAM_SECRET: Final = "telegram-secret-token-only-for-tests"
TELEGRAM_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
START_KEY: Final = "start-link-key-used-only-by-these-tests"
#: Where the customer's number texts from, as Twilio reports it (E.164).
PHONE: Final = "+48601234567"


#: Credentials shaped like real ones, valid nowhere: enough to build every provider adapter.
PROVIDER_ENV: Final = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_FROM": "+48500000000",
    "WHATSAPP_ACCESS_TOKEN": "whatsapp-access-token-valid-nowhere",
    "WHATSAPP_PHONE_NUMBER_ID": "123456789012345",
    "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
}
#: The adapter each channel gets from ``PROVIDER_ENV``.
PROVIDER_ADAPTERS: Final = {
    Channel.SMS: "TwilioSMS",
    Channel.WHATSAPP: "WhatsAppCloud",
    Channel.TELEGRAM: "TelegramBot",
}


def wired(*, console: bool) -> dict[Channel, str]:
    """What ``PROVIDER_ENV`` should give: its adapters, and console stand-ins if allowed."""
    stand_ins = {c: "ConsoleChannel" for c in Channel if c not in PROVIDER_ADAPTERS}
    return {**PROVIDER_ADAPTERS, **(stand_ins if console else {})}


def adapters(runner: Runner) -> dict[Channel, str]:
    """Which adapter class serves each channel of ``runner``."""
    return {channel: type(adapter).__name__ for channel, adapter in runner.channels.items()}


@contextmanager
def examples_importable() -> Iterator[None]:
    """Put ``examples/`` on ``sys.path`` for the block, as running from there would."""
    where = str(EXAMPLES)
    sys.path.insert(0, where)
    try:
        yield
    finally:
        sys.path.remove(where)


def start_clock() -> FakeClock:
    """Monday 2 March 2026, 11:00 in Warsaw: inside every contact window."""
    return FakeClock(T0)


def fake_channels(clock: FakeClock) -> dict[Channel, FakeChannel]:
    return {channel: FakeChannel(channel, clock=clock) for channel in Channel}


def open_recovery(runner: Runner) -> Customer:
    """What the shop's own code does: record SMS consent, report an abandoned checkout."""
    anna = customer(phone=PHONE, email=None)
    now = runner.clock.now()
    runner.handle(ConsentChanged(grant(anna, Channel.SMS, at=now - timedelta(minutes=5))))
    runner.handle(CheckoutAbandoned(checkout(anna, at=now), now))
    return anna


def twilio_signature(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    """``X-Twilio-Signature``: HMAC-SHA1 of the URL and the sorted name-value pairs."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_sms(text: str, sid: str = "SM0123456789abcdef0123456789abcdef") -> dict[str, str]:
    """The form fields of an inbound text, as Twilio posts them."""
    return {
        "MessageSid": sid,
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": PHONE,
        "To": "+48500000000",
        "Body": text,
        "NumMedia": "0",
    }


def form(params: dict[str, str]) -> bytes:
    return urlencode(params).encode()


def meta_signature(body: bytes, secret: str = META_SECRET) -> str:
    """``X-Hub-Signature-256``: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def telegram_update(text: str, *, chat_id: int = 4242, at: datetime = T0) -> bytes:
    """A Telegram ``message`` update from a private chat, as the Bot API posts it."""
    who = {"id": chat_id, "is_bot": False, "first_name": "Anna"}
    message = {
        "message_id": 7,
        "date": int(at.timestamp()),
        "chat": {"id": chat_id, "type": "private"},
        "from": who,
        "text": text,
    }
    return json.dumps({"update_id": 1, "message": message}).encode()


#: A WhatsApp event batch with nothing in it: verifies, parses, changes nothing.
WHATSAPP_EMPTY: Final = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()


def opted_out_of_sms(runner: Runner, who: Customer) -> bool:
    """Whether the store's consent ledger has the customer opted out of texts, now."""
    with runner.store.transaction() as tx:
        return tx.ledger(who.id).opted_out(who.id, Channel.SMS, runner.clock.now())


def everything(store: Store, customer_id: str) -> tuple[Any, ...]:
    """All a webhook could change: the log, the outbox in every status, the consent ledger."""
    with store.transaction() as tx:
        ledger = tx.ledger(customer_id)
    outbox = [store.outbox(status=status) for status in OutboxStatus]
    return list(store.events()), outbox, ledger
