"""Telegram through the Bot API's ``sendMessage``, over plain HTTP (no bot framework needed).

A bot may write only to people who pressed Start in its chat (rules.md §3.2, PW-4).
The store's checkout page links to the bot with a signed start payload
(``recoverykit.webhooks.telegram.StartLinks``); when the person presses Start, the
webhook parser turns ``/start <payload>`` into ``ChatStarted``, and the runner binds
the chat id to the customer and records the consent. This adapter is the sending
half: it needs the chat id as ``SendMessage.to``.

**Reply menus as buttons.** When the text offers numbered choices ("Reply 1 for
delivery, 2 for payment help, 3 to change items."), each choice also becomes an
inline button whose ``callback_data`` is its digit, so a tap reads exactly like the
typed digit (the webhook parser hands it on as ``InboundMessage.button``). The text
is sent unchanged: typing still works. See `reply_menu` for how choices are found;
when in doubt it finds none rather than invent a button.

**Errors** (the Bot API answers ``{"ok": false, "error_code": 403, "description":
"Forbidden: bot was blocked by the user"}``) are read from the description; the
codes in ``TELEGRAM_ERRORS`` are this module's names for them, since Telegram's own
``error_code`` is only the HTTP status. Blocked or deactivated: permanent and a
revocation. Never started, or chat not found: permanent, but consent stands (there
was never a chat to withdraw from). Flood control (429), server errors and
descriptions not in the table: transient. A bad bot token (401/404) is transient
too: the recipient is not at fault.

**Once means at most once.** ``sendMessage`` takes no idempotency key; the adapter
never retries by itself and reports a lost answer as ``OutcomeUnknown``.

The bot token is part of every request URL; it is cut out of every error message.
Requires ``httpx`` (``pip install 'recoverykit[channels]'``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Final

from ..engine.commands import SendMessage
from ..errors import ChannelError, FaultScope, InvalidInputError
from ..protocols import Clock, Receipt
from ..values.model import Channel
from ._http import Client, HttpChannel, HttpTransport, ProviderRefused
from .errors import ErrorMeaning, OutcomeUnknown

__all__ = [
    "MAX_TEXT",
    "TELEGRAM_API",
    "TELEGRAM_ERRORS",
    "TelegramBot",
    "reply_menu",
    "telegram_error",
]

#: ``ChannelError.code`` for a message that cannot be sent as it is (as the other adapters).
_INVALID: Final = "invalid_message"

#: Where the Bot API lives.
TELEGRAM_API: Final = "https://api.telegram.org"
#: Longest text ``sendMessage`` takes, counted in UTF-16 code units.
MAX_TEXT: Final = 4096

_TOKEN: Final = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{20,100}")
_CHAT_ID: Final = re.compile(r"-?\d{1,20}")
_REDACTED: Final = "<bot-token>"
_TOO_MANY: Final = 429


def _meaning(
    code: str,
    permanent: bool,
    summary: str,
    *,
    revoked: bool = False,
    scope: FaultScope = FaultScope.RECIPIENT,
) -> ErrorMeaning:
    return ErrorMeaning(code, permanent, summary, "PW-4", revoked=revoked, scope=scope)


#: What the Bot API's refusals mean, keyed by this module's code for each (rules.md §3.2, PW-4).
TELEGRAM_ERRORS: Final[Mapping[str, ErrorMeaning]] = MappingProxyType(
    {
        entry.code: entry
        for entry in (
            _meaning(
                "blocked_by_user", True, "the person blocked the bot: an opt-out", revoked=True
            ),
            _meaning("user_deactivated", True, "the Telegram account was deleted", revoked=True),
            _meaning(
                "cannot_initiate",
                True,
                "the person never pressed Start, so the bot may not write first",
            ),
            _meaning("chat_not_found", True, "no chat with this id is open to the bot"),
            _meaning("recipient_is_bot", True, "the chat id belongs to another bot"),
            _meaning(
                "text_too_long",
                True,
                "the text is longer than Telegram takes",
                scope=FaultScope.MESSAGE,
            ),
        )
    }
)
#: Fragments of the Bot API's ``description`` (lower case) and the code each means.
_DESCRIPTIONS: Final = (
    ("blocked by the user", "blocked_by_user"),
    ("user is deactivated", "user_deactivated"),
    ("can't initiate conversation", "cannot_initiate"),
    ("chat not found", "chat_not_found"),
    ("can't send messages to bots", "recipient_is_bot"),
    ("message is too long", "text_too_long"),
)


def telegram_error(status: int, description: str) -> ErrorMeaning:
    """The meaning of a Bot API refusal; descriptions not in the table are transient."""
    said = description.lower() if isinstance(description, str) else ""
    for fragment, code in _DESCRIPTIONS:
        if fragment in said:
            return TELEGRAM_ERRORS[code]
    if status in {401, 404}:
        return ErrorMeaning(
            "unauthorized",
            False,
            "the bot token is wrong or revoked; check it",
            "PW-4",
            scope=FaultScope.CHANNEL,
        )
    if status == _TOO_MANY:
        # Flood control: the bot as a whole sends too fast; the answer says how long to wait.
        return ErrorMeaning(
            "flood", False, "the bot sends too fast; Telegram asks it to wait", "PW-4",
            scope=FaultScope.CHANNEL,
        )  # fmt: skip
    return ErrorMeaning(
        str(status), False, f"Telegram refusal {status} (not in the table: retried)", ""
    )


# -- reply menus -----------------------------------------------------------------------------
#: Words that introduce a numbered reply menu, lower case, in the built-in packs' languages.
_MENU_VERBS: Final = frozenset(
    {
        "reply", "text", "answer", "send", "type",
        "odpisz", "odpowiedz", "napisz", "wyślij",
        "ответьте", "ответь", "напишите", "напиши", "отправьте",
        "répondez", "réponds", "envoyez", "tapez",
    }
)  # fmt: skip
_MENU_START: Final = re.compile(r"(?<![\w-])(?P<verb>\w+)\s+(?=1\s)")
_CHOICE: Final = re.compile(r"\s*(?P<digit>[1-9])\s+(?P<label>[^\W\d_][^\d,.;:!?\n]{0,39}?)\s*")
_SENTENCE_END: Final = re.compile(r"[.!?;\n]|$")


def reply_menu(text: str) -> list[tuple[str, str]]:
    """The numbered choices ``text`` offers, as ``(digit, label)`` pairs, or none.

    A menu is one sentence in which a reply verb ("Reply", "Odpisz", "Ответьте",
    "Répondez", ...) is followed by ``1 <words>, 2 <words>[, 3 <words> ...]``: the
    digits run from 1 without a gap, each label starts with a letter and holds no
    digit, and the list ends the sentence. The label is the text's own words with
    the digit ("1 for delivery"). Anything less clear (no verb, a gap, two menus)
    gives an empty list: a missing button costs a tap, an invented one misleads.

    >>> reply_menu("Can we help? Reply 1 for delivery, 2 for payment help.")
    [('1', '1 for delivery'), ('2', '2 for payment help')]
    """
    menus: list[list[tuple[str, str]]] = []
    for start in _MENU_START.finditer(text):
        if start.group("verb").lower() not in _MENU_VERBS:
            continue
        end = _SENTENCE_END.search(text, start.end())
        assert end is not None  # "$" always matches
        choices = _choices(text[start.end() : end.start()])
        if choices:
            menus.append(choices)
    return menus[0] if len(menus) == 1 else []


def _choices(run: str) -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = []
    for number, piece in enumerate(run.split(","), start=1):
        found = _CHOICE.fullmatch(piece)
        if found is None or found.group("digit") != str(number):
            return []
        choices.append((found.group("digit"), f"{number} {found.group('label').strip()}"))
    return choices if len(choices) >= 2 else []


# -- the adapter -----------------------------------------------------------------------------
class TelegramBot(HttpChannel):
    """Sends ``SendMessage`` commands as Telegram messages from one bot.

    ``token`` is the bot's token from @BotFather (``123456:ABC-…``). Plain text only
    (no Markdown or HTML parse mode, so nothing in a message can break its
    formatting), with an inline keyboard when the text offers a reply menu.
    Connections, timeouts and closing work as for every ``HttpChannel``.
    """

    channel: Channel = Channel.TELEGRAM

    def __init__(
        self,
        token: str,
        *,
        base_url: str = TELEGRAM_API,
        timeout: float = 10.0,
        client: Client | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            msg = "token must be the bot's token from @BotFather, shaped like '123456:ABC-def…'"
            raise InvalidInputError(msg)
        if not isinstance(base_url, str):
            msg = f"base_url must be an http(s) URL (got {base_url!r})"
            raise InvalidInputError(msg)
        self._token = token
        transport = HttpTransport(
            f"{base_url.rstrip('/')}/bot{token}",
            provider="Telegram",
            timeout=timeout,
            client=client,
        )
        super().__init__(transport, clock)

    def payload(self, message: SendMessage) -> dict[str, Any]:
        """The JSON ``sendMessage`` body for ``message`` (public so tests and logs can show it).

        Raises a permanent ``ChannelError`` for a message Telegram could never take:
        another channel, a chat id that is not a number, a text too long.
        """
        if message.channel is not Channel.TELEGRAM:
            msg = (
                f"TelegramBot sends Telegram only; {message.idempotency_key!r} is for "
                f"{message.channel}"
            )
            raise ChannelError(msg, permanent=True, code=_INVALID)
        if not isinstance(message.to, str) or not _CHAT_ID.fullmatch(message.to):
            msg = f"Telegram chat id must be a whole number (got {message.to!r:.40})"
            raise ChannelError(msg, permanent=True, code=_INVALID)
        length = len(message.text.encode("utf-16-le", "surrogatepass")) // 2
        if not 0 < length <= MAX_TEXT:
            msg = (
                f"Telegram takes 1 to {MAX_TEXT} characters per message; "
                f"{message.idempotency_key!r} has {length}"
            )
            raise ChannelError(msg, permanent=True, code=_INVALID)
        body: dict[str, Any] = {"chat_id": int(message.to), "text": message.text}
        menu = reply_menu(message.text)
        if menu:
            body["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": label, "callback_data": digit}] for digit, label in menu
                ]
            }
        return body

    def send(self, message: SendMessage) -> Receipt:
        """Send one message; one request, never retried here.

        The receipt's id is ``"<chat id>:<message id>"``: Telegram numbers messages
        per chat, so the message id alone names nothing.
        """
        body = self.payload(message)
        try:
            answer = self._http.post_json("/sendMessage", body)
        except ProviderRefused as refused:
            raise self._clean(_refusal(refused)) from None
        except ChannelError as failed:
            raise self._clean(failed) from failed.__cause__
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise self._clean(_refusal_in(answer, 200)) from None
        message_id = result.get("message_id") if isinstance(result, dict) else None
        chat = result.get("chat") if isinstance(result, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            return self._receipt(None, message, answer)
        if isinstance(chat_id, bool) or not isinstance(chat_id, int | str):
            chat_id = body["chat_id"]
        return self._receipt(f"{chat_id}:{message_id}", message, answer)

    def answer_callback(self, callback_id: str) -> None:
        """Acknowledge a tapped inline button (``answerCallbackQuery``), with no notice.

        Until a callback query is answered, Telegram keeps a progress indicator on the
        button. ``Runner.receive`` calls this for every ``InboundMessage`` carrying a
        ``callback_id``; a refusal raises ``ChannelError`` (the runner logs it and goes
        on: the tap itself was already read).
        """
        if not isinstance(callback_id, str) or not callback_id.strip():
            msg = f"callback_id must be the callback query's id (got {callback_id!r:.40})"
            raise InvalidInputError(msg)
        try:
            answer = self._http.post_json(
                "/answerCallbackQuery", {"callback_query_id": callback_id}
            )
        except ProviderRefused as refused:
            raise self._clean(_refusal(refused)) from None
        except ChannelError as failed:
            raise self._clean(failed) from failed.__cause__
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise self._clean(_refusal_in(answer, 200)) from None

    def _clean(self, error: ChannelError) -> ChannelError:
        """``error`` with the bot token cut out of its message (URLs carry it)."""
        text = str(error).replace(self._token, _REDACTED)
        if isinstance(error, OutcomeUnknown):
            return OutcomeUnknown(text)
        return ChannelError(
            text,
            permanent=error.permanent,
            code=error.code,
            revoked=error.revoked,
            scope=error.scope,
            retry_after=error.retry_after,
        )

    def __repr__(self) -> str:
        bot_id = self._token.partition(":")[0]
        return f"TelegramBot(bot {bot_id})"


def _refusal(refused: ProviderRefused) -> ChannelError:
    """A refusal whose body names what went wrong, else the transport's own error."""
    body = refused.body
    if not isinstance(body, dict) or not isinstance(body.get("description"), str):
        if refused.status in {401, 404}:
            return telegram_error(refused.status, "").error("Telegram", str(refused))
        return refused
    return _refusal_in(body, refused.status)


def _refusal_in(body: Any, status: int) -> ChannelError:
    """The ``ChannelError`` for an answer ``{"ok": false, "error_code": …, "description": …}``."""
    if not isinstance(body, dict):
        msg = f"Telegram answered {status} with a body that is not an API answer: {body!r:.200}"
        return OutcomeUnknown(msg)
    description = body.get("description")
    said = description if isinstance(description, str) else ""
    code = body.get("error_code")
    if isinstance(code, int) and not isinstance(code, bool):
        status = code
    if status < 400:
        msg = f"Telegram answered without ok=true and without an error: {body!r:.200}"
        return OutcomeUnknown(msg)
    return telegram_error(status, said).error(
        "Telegram", said[:200], retry_after=_retry_after(body.get("parameters"))
    )


def _retry_after(parameters: Any) -> timedelta | None:
    """``parameters.retry_after`` (whole seconds) of a flood-control answer, if any."""
    wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(wait, bool) or not isinstance(wait, int) or wait < 0:
        return None
    return timedelta(seconds=wait)
