"""Viber through the REST bot API's ``send_message``, over plain HTTP.

A Viber bot may write to a person who subscribed to it, or who opened a chat with
it (rules.md §3.2: a user-initiated session through the Viber link is the opt-in,
and the proof is kept). The store's checkout page links to the bot with a signed
``context`` (``viber://pa?chatURI=<bot>&context=<payload>``, payloads made by
``recoverykit.webhooks.StartLinks``); the webhook parser turns the verified
``conversation_started`` into ``ChatStarted``, and the runner binds the Viber user
id to the customer and records the consent. This adapter is the sending half: it
needs that user id as ``SendMessage.to``.

**Reply menus as a keyboard.** When the text offers numbered choices (see
``recoverykit.channels.telegram.reply_menu``), each becomes a keyboard button that
sends its digit back as the reply, so a tap reads exactly like the typed digit.

**Errors.** Viber answers HTTP 200 with ``{"status": <n>, "status_message": ...}``;
``VIBER_ERRORS`` (in the shared table, ``recoverykit.channels.errors``) says what each
status means. A receiver who unsubscribed (6) is
permanent and a revocation; an unregistered receiver (5) or one without a suitable
device (11) is permanent; bad or missing data (3, 4) is permanent for that message.
A wrong token, a blocked or suspended bot account, a missing webhook and rate
limits are transient: the recipient is not at fault.

**Once means at most once.** ``send_message`` takes no idempotency key; the key
travels as ``tracking_data`` (Viber hands it back with the person's reply) and the
adapter never retries by itself.

The auth token travels in the ``X-Viber-Auth-Token`` header, never in a URL or an
error message. Requires ``httpx`` (``pip install 'recoverykit[channels]'``).
"""

from __future__ import annotations

import re
from typing import Any, Final

from ..engine.commands import SendMessage
from ..errors import ChannelError, InvalidInputError
from ..protocols import Clock, Receipt
from ..values.model import Channel
from ._http import Client, HttpChannel, HttpTransport, ProviderRefused
from .errors import VIBER_ERRORS, OutcomeUnknown, viber_error
from .telegram import reply_menu

__all__ = ["MAX_TEXT", "VIBER_API", "VIBER_ERRORS", "ViberBot", "viber_error"]

#: Where the REST bot API lives.
VIBER_API: Final = "https://chatapi.viber.com/pa"
#: Longest text ``send_message`` takes, in characters.
MAX_TEXT: Final = 7000
#: Longest sender name Viber shows.
MAX_SENDER_NAME: Final = 28

_INVALID: Final = "invalid_message"
_RECEIVER: Final = re.compile(r"[\x21-\x7e]{1,100}")
_TOKEN: Final = re.compile(r"[\x21-\x7e]{10,200}")


class ViberBot(HttpChannel):
    """Sends ``SendMessage`` commands as Viber bot messages.

    ``auth_token`` is the bot's token from the Viber admin panel; ``sender_name``
    is the name the message shows (the store's brand, at most 28 characters).
    Plain text, with a keyboard when the text offers a reply menu. Connections,
    timeouts and closing work as for every ``HttpChannel``.
    """

    channel: Channel = Channel.VIBER

    def __init__(
        self,
        auth_token: str,
        *,
        sender_name: str,
        sender_avatar: str | None = None,
        base_url: str = VIBER_API,
        timeout: float = 10.0,
        client: Client | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(auth_token, str) or not _TOKEN.fullmatch(auth_token):
            msg = "auth_token must be the bot's token from the Viber admin panel (no spaces)"
            raise InvalidInputError(msg)
        if not isinstance(sender_name, str) or not 0 < len(sender_name.strip()) <= MAX_SENDER_NAME:
            msg = (
                f"sender_name must be the store's name, 1 to {MAX_SENDER_NAME} characters "
                f"(got {sender_name!r})"
            )
            raise InvalidInputError(msg)
        self._sender: dict[str, str] = {"name": sender_name.strip()}
        if sender_avatar is not None:
            self._sender["avatar"] = sender_avatar
        transport = HttpTransport(
            base_url,
            provider="Viber",
            timeout=timeout,
            client=client,
            headers={"X-Viber-Auth-Token": auth_token},
        )
        super().__init__(transport, clock)

    def payload(self, message: SendMessage) -> dict[str, Any]:
        """The JSON ``send_message`` body for ``message`` (public so tests and logs can show it).

        Raises a permanent ``ChannelError`` for a message Viber could never take:
        another channel, a receiver that is not a Viber user id, a text too long.
        """
        if message.channel is not Channel.VIBER:
            msg = f"ViberBot sends Viber only; {message.idempotency_key!r} is for {message.channel}"
            raise ChannelError(msg, permanent=True, code=_INVALID)
        if not isinstance(message.to, str) or not _RECEIVER.fullmatch(message.to):
            msg = f"Viber receiver must be a Viber user id (got {message.to!r:.40})"
            raise ChannelError(msg, permanent=True, code=_INVALID)
        if not 0 < len(message.text) <= MAX_TEXT:
            msg = (
                f"Viber takes 1 to {MAX_TEXT} characters per message; "
                f"{message.idempotency_key!r} has {len(message.text)}"
            )
            raise ChannelError(msg, permanent=True, code=_INVALID)
        body: dict[str, Any] = {
            "receiver": message.to,
            "sender": dict(self._sender),
            "type": "text",
            "text": message.text,
            "tracking_data": message.idempotency_key,
        }
        menu = reply_menu(message.text)
        if menu:
            body["keyboard"] = {
                "Type": "keyboard",
                "DefaultHeight": False,
                "Buttons": [
                    {"ActionType": "reply", "ActionBody": digit, "Text": label, "Columns": 6}
                    for digit, label in menu
                ],
            }
        return body

    def send(self, message: SendMessage) -> Receipt:
        """Send one message; one request, never retried here.

        The receipt's id is Viber's ``message_token``, which its delivered, seen and
        failed callbacks name.
        """
        body = self.payload(message)
        try:
            answer = self._http.post_json("/send_message", body)
        except ProviderRefused as refused:
            raise _refusal(refused.body, refused.status, refused) from None
        if not isinstance(answer, dict):
            msg = f"Viber answered without a status: {answer!r:.200}"
            raise OutcomeUnknown(msg)
        status = answer.get("status")
        if status != 0 or isinstance(status, bool):
            raise _refusal(answer, 200, None)
        token = answer.get("message_token")
        if isinstance(token, bool) or not isinstance(token, int | str):
            return self._receipt(None, message, answer)
        return self._receipt(str(token), message, answer)

    def __repr__(self) -> str:
        return f"ViberBot({self._sender['name']!r})"


def _refusal(body: Any, http_status: int, refused: ProviderRefused | None) -> ChannelError:
    """The ``ChannelError`` for an answer ``{"status": n, "status_message": ...}``."""
    if not isinstance(body, dict) or "status" not in body:
        if refused is not None:
            return refused  # a refusal without Viber's answer body: transient
        msg = f"Viber answered {http_status} with a body that is not an API answer: {body!r:.200}"
        return OutcomeUnknown(msg)
    said = body.get("status_message")
    return viber_error(body.get("status")).error(
        "Viber",
        said[:200] if isinstance(said, str) else "",
        retry_after=None if refused is None else refused.retry_after,
    )
