"""Telegram bot webhooks and signed start links (PW-4).

Telegram signs nothing; instead, ``setWebhook(secret_token=...)`` makes every update
carry that token in ``X-Telegram-Bot-Api-Secret-Token``, and the parser compares it
in constant time before reading a byte of the body.

A bot may write to a person only after they pressed Start, and the chat id it then
learns says nothing about which customer that is. ``StartLinks`` closes the gap: a
store puts a signed, expiring payload naming the customer in the bot's deep link
(``https://t.me/<bot>?start=<payload>``); Telegram hands it back as ``/start
<payload>``, and only a payload that verifies binds the chat to that customer.

What a verified update becomes:

* ``message`` in a private chat → ``InboundMessage`` (``address`` is the chat id);
  ``/start <payload>`` with a genuine, unexpired payload → ``ChatStarted`` instead
  (a bad or expired payload is just a message: nothing is bound);
* ``callback_query`` (an inline button tapped) → ``InboundMessage`` with ``button``
  set to its data, so a tapped "1" reads like a typed "1", and ``callback_id`` set
  to the query's id (``Runner.receive`` answers it, so the button stops spinning);
* ``my_chat_member`` turning ``kicked`` (the person blocked the bot) →
  ``UnsubscribeRequest(source="blocked")``;
* anything else (edits, group chats, channel posts) → nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Final

import attrs

from ..errors import InvalidInputError, LinkError
from ..messages.tokens import (
    EXPIRY_BYTES,
    MAC_BYTES,
    check_ttl,
    convert_keys,
    expiry_after,
    keys_repr,
    open_text,
    seal,
    utf8_id,
)
from ..values.model import Channel
from ..values.time import require_aware
from ._reading import (
    MAX_BODY_BYTES,
    body_of,
    identifier,
    instant,
    load_json,
    need,
    obj,
    optional_text,
    positive_size,
    require_method,
)
from ._signing import check_secret, require_header, same
from .types import (
    ChatStarted,
    Inbound,
    InboundMessage,
    SignatureMismatch,
    UnsubscribeRequest,
    WebhookRequest,
)

__all__ = ["START_PAYLOAD_CHARS", "StartLinks", "TelegramWebhooks"]

#: Telegram's limit for a ``start`` parameter (characters from ``A-Za-z0-9_-``).
START_PAYLOAD_CHARS: Final = 64

_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BOT_USERNAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_DOMAIN: Final = b"recoverykit/telegram-start\x00"
#: Raw bytes that fit in 64 base64url characters.
_PAYLOAD_BYTES: Final = START_PAYLOAD_CHARS * 3 // 4
_OVERHEAD: Final = 1 + EXPIRY_BYTES + MAC_BYTES
_START: Final = "/start"


# -- start links -------------------------------------------------------------------------------
@attrs.frozen
class StartLinks:
    """Makes and checks the signed ``start`` payloads of a store's Telegram bot.

    A payload is a resume-link token (same layout, same keys rule: the first key
    signs, every key verifies) under its own signing domain, so a resume token is
    never a valid start payload. It must fit Telegram's 64 characters, which leaves
    ``max_customer_id_bytes`` for the customer id: 26 bytes with a one-character
    key id (keep key ids short here). ``ttl`` bounds how long a link shown once
    (on the checkout page, in an e-mail) can still bind a chat. Example::

        starts = StartLinks({"a": secrets.token_bytes(32)})
        link = starts.url("ShopHelpBot", "cus-42", now=now)  # https://t.me/ShopHelpBot?start=...
        customer_id = starts.verify(payload, now=now)       # "cus-42"

    To rotate, put the new key first and drop the old one once ``ttl`` has passed.
    """

    #: Key id to secret, in order; the first signs. Secrets never appear in ``repr``.
    keys: Mapping[str, bytes] = attrs.field(converter=convert_keys, repr=keys_repr, hash=False)
    #: How long a payload stays good after it is made.
    ttl: timedelta = attrs.field(default=timedelta(days=30), validator=check_ttl)

    @property
    def max_customer_id_bytes(self) -> int:
        """The longest customer id (UTF-8 bytes) a payload signed now can carry."""
        return _PAYLOAD_BYTES - _OVERHEAD - len(next(iter(self.keys)))

    def payload(self, customer_id: str, *, now: datetime) -> str:
        """The ``start`` parameter naming ``customer_id``, good until ``now + ttl``.

        A customer id longer than ``max_customer_id_bytes`` is refused: Telegram
        drops start parameters over 64 characters.
        """
        require_aware(now, "now")
        raw = utf8_id(customer_id, "customer_id", self.max_customer_id_bytes)
        return seal(self.keys, expiry_after(now, self.ttl), raw, domain=_DOMAIN)

    def url(self, bot_username: str, customer_id: str, *, now: datetime) -> str:
        """The deep link ``https://t.me/<bot>?start=<payload>`` for ``customer_id``."""
        name = bot_username.removeprefix("@") if isinstance(bot_username, str) else ""
        if not _BOT_USERNAME.fullmatch(name):
            msg = (
                f"bot_username {bot_username!r} is not a Telegram username "
                "(5 to 32 characters from A-Z, a-z, 0-9 and '_', starting with a letter)"
            )
            raise InvalidInputError(msg)
        return f"https://t.me/{name}?start={self.payload(customer_id, now=now)}"

    def verify(self, payload: str, *, now: datetime) -> str:
        """The customer id in a genuine, unexpired ``payload``.

        Raises ``LinkInvalid`` for anything malformed, tampered with or signed by an
        unknown key, and ``LinkExpired`` once ``now`` reaches the expiry.
        """
        require_aware(now, "now")
        return open_text(
            self.keys,
            payload,
            now=now,
            domain=_DOMAIN,
            label="Start payload",
            payload_name="customer id",
            expired_name="Start link for customer",
            max_chars=START_PAYLOAD_CHARS,
        )


# -- webhooks ----------------------------------------------------------------------------------
def _check_token(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    hint = "pass the secret_token given to setWebhook (1-256 characters of A-Za-z0-9_-)"
    check_secret(value, "secret_token", hint=hint)
    if not _SECRET_TOKEN.fullmatch(value):
        msg = f"secret_token uses characters Telegram does not allow; {hint}"
        raise InvalidInputError(msg)


@attrs.frozen
class TelegramWebhooks:
    """Verifies and reads a Telegram bot's webhook updates.

    >>> TelegramWebhooks(secret_token="s3cret-token")
    TelegramWebhooks(start_links=None, max_body_bytes=1048576)

    Without ``start_links`` a ``/start`` is read as an ordinary message.
    """

    #: The ``secret_token`` given to ``setWebhook`` (never shown in ``repr``).
    secret_token: str = attrs.field(validator=_check_token, repr=False)
    #: Verifies the payload of ``/start`` deep links.
    start_links: StartLinks | None = None
    #: Bodies larger than this are refused before anything is read.
    max_body_bytes: int = attrs.field(default=MAX_BODY_BYTES, kw_only=True, validator=positive_size)

    def parse(self, request: WebhookRequest, *, now: datetime) -> list[Inbound]:
        """Verify an update ``request`` and return what it reports (empty or one item).

        Raises ``SignatureMismatch`` (403) unless the request carries this bot's
        secret token, and ``MalformedWebhook`` (400) for a body that is too large, a
        method other than POST, or a verified body that is not a Telegram update.
        Never raises anything else.
        """
        require_aware(now, "now")
        body = body_of(request, self.max_body_bytes)
        require_method(request, "POST", "Telegram posts every update")
        if not same(self.secret_token, require_header(request, _HEADER, "Telegram")):
            msg = f"{_HEADER} does not match the secret_token this bot's webhook was set with"
            raise SignatureMismatch(msg)
        update = obj(load_json(body, "Telegram"), "$")
        update_id = need(update, "update_id", "$", identifier)
        if "message" in update:
            return self._message(obj(update["message"], "$.message"), update_id, now)
        if "callback_query" in update:
            return _callback(obj(update["callback_query"], "$.callback_query"), update_id, now)
        if "my_chat_member" in update:
            return _membership(obj(update["my_chat_member"], "$.my_chat_member"), update_id, now)
        return []

    def _message(self, message: Mapping[str, Any], update_id: str, now: datetime) -> list[Inbound]:
        chat = _private_chat(message, "$.message")
        if chat is None:
            return []
        at = need(message, "date", "$.message", partial(instant, now=now))
        words = optional_text(message, "text", "$.message")
        if words is None:
            words = optional_text(message, "caption", "$.message") or ""
        customer_id = self._started_by(words, now)
        if customer_id is not None:
            return [ChatStarted(Channel.TELEGRAM, chat, customer_id, update_id, at)]
        return [InboundMessage(Channel.TELEGRAM, chat, words, update_id, at)]

    def _started_by(self, words: str, now: datetime) -> str | None:
        """The customer a ``/start <payload>`` names, when the payload verifies."""
        command, _, payload = words.strip().partition(" ")
        if self.start_links is None or not payload:
            return None
        if command != _START and not command.startswith(_START + "@"):
            return None
        try:
            return self.start_links.verify(payload.strip(), now=now)
        except LinkError:
            return None


def _private_chat(container: Mapping[str, Any], path: str) -> str | None:
    """The id of the chat ``container`` belongs to, ``None`` unless it is a private chat."""
    chat = need(container, "chat", path, obj)
    if chat.get("type", "private") != "private":
        return None
    return need(chat, "id", f"{path}.chat", identifier)


def _callback(query: Mapping[str, Any], update_id: str, now: datetime) -> list[Inbound]:
    data = optional_text(query, "data", "$.callback_query")
    if not data:
        return []  # a game button: no choice to read
    message = query.get("message")
    if isinstance(message, Mapping) and "chat" in message:
        chat = _private_chat(message, "$.callback_query.message")
    else:
        sender = need(query, "from", "$.callback_query", obj)
        chat = need(sender, "id", "$.callback_query.from", identifier)
    if chat is None:
        return []
    label = _button_label(message, data) if isinstance(message, Mapping) else None
    answer = need(query, "id", "$.callback_query", identifier)
    return [
        InboundMessage(
            Channel.TELEGRAM, chat, label or data, update_id, now, button=data, callback_id=answer
        )
    ]


def _button_label(message: Mapping[str, Any], data: str) -> str | None:
    """The label of the inline button whose data is ``data``, when the message still shows it."""
    markup = message.get("reply_markup")
    rows = markup.get("inline_keyboard") if isinstance(markup, Mapping) else None
    for row in rows if isinstance(rows, list) else []:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, Mapping) and button.get("callback_data") == data:
                label = button.get("text")
                return label if isinstance(label, str) else None
    return None


def _membership(change: Mapping[str, Any], update_id: str, now: datetime) -> list[Inbound]:
    chat = _private_chat(change, "$.my_chat_member")
    new = need(change, "new_chat_member", "$.my_chat_member", obj)
    if chat is None or new.get("status") != "kicked":
        return []
    at = need(change, "date", "$.my_chat_member", partial(instant, now=now))
    return [UnsubscribeRequest(Channel.TELEGRAM, chat, update_id, at, source="blocked")]
