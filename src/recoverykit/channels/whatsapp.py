"""WhatsApp through Meta's Cloud API, over plain HTTP (no SDK needed).

A touch outside the customer's 24-hour service window must be an approved
template (rules.md WA-1, WA-2); the engine then puts the finished template body,
built by ``recoverykit.messages.whatsapp.whatsapp_template_payload``, in
``SendMessage.whatsapp_payload``, and this adapter posts it as it is. Without one
the message is a free-form text reply, allowed only inside the window. Nothing
here sends media.

Errors come from the shared table in ``recoverykit.channels.errors``: 131047
(free text outside the window) is permanent for that message, 131049 (WhatsApp
held back a marketing template, CP-7) is transient and asks for a day's pause,
131026 (undeliverable) is permanent. Most of these arrive later, in status
webhooks, but the API may also answer a send with them.

**Once means at most once.** The Cloud API takes no idempotency key, so the
adapter never retries by itself and reports a lost answer as ``OutcomeUnknown``.
It puts the message's idempotency key in ``biz_opaque_callback_data``, which the
API returns untouched in the status webhooks of that message: a delivery report
for a message whose id was never recorded still names its outbox entry.

Requires ``httpx`` (``pip install 'recoverykit[channels]'``).
"""

from __future__ import annotations

import re
from typing import Any, Final

from ..engine.commands import SendMessage
from ..errors import ChannelError, InvalidInputError, InvalidPhoneNumber, TemplateError
from ..messages.whatsapp import whatsapp_text_payload
from ..protocols import Clock, Receipt
from ..values.model import Channel
from ._http import Client, HttpChannel, HttpTransport, ProviderRefused
from .errors import whatsapp_error
from .keys import KEY_FIELD, KEY_FIELD_MAX

__all__ = ["API_VERSION", "GRAPH_API", "KEY_FIELD", "WhatsAppCloud"]

#: Where the Cloud API lives.
GRAPH_API: Final = "https://graph.facebook.com"
#: The Graph API version requests name unless told otherwise (the one the tests check).
API_VERSION: Final = "v23.0"

_VERSION: Final = re.compile(r"v\d+\.\d+\Z")
_PHONE_NUMBER_ID: Final = re.compile(r"\d+\Z")
_NOT_DIGIT: Final = re.compile(r"\D")


class WhatsAppCloud(HttpChannel):
    """Sends ``SendMessage`` commands through one WhatsApp Business phone number.

    ``phone_number_id`` is the id Meta gives the business number (digits, not the
    number itself); ``access_token`` a system-user token allowed to send for it.

    Connections, timeouts and closing work as for every ``HttpChannel``.
    """

    channel: Channel = Channel.WHATSAPP

    def __init__(
        self,
        access_token: str,
        phone_number_id: str,
        *,
        api_version: str = API_VERSION,
        base_url: str = GRAPH_API,
        timeout: float = 10.0,
        client: Client | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(access_token, str) or not access_token.strip():
            msg = "access_token must be a Cloud API access token (a system-user token)"
            raise InvalidInputError(msg)
        if not isinstance(phone_number_id, str) or not _PHONE_NUMBER_ID.match(phone_number_id):
            msg = (
                f"phone_number_id must be the digits Meta assigns the business number "
                f"(got {phone_number_id!r:.40}), not the phone number"
            )
            raise InvalidInputError(msg)
        if not isinstance(api_version, str) or not _VERSION.match(api_version):
            msg = f"api_version must look like 'v23.0' (got {api_version!r:.40})"
            raise InvalidInputError(msg)
        self.phone_number_id = phone_number_id
        self.api_version = api_version
        transport = HttpTransport(
            base_url,
            provider="WhatsApp",
            timeout=timeout,
            client=client,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        super().__init__(transport, clock)

    def send(self, message: SendMessage) -> Receipt:
        """Post one template or text message; one request, never retried here."""
        body = self.payload(message)
        try:
            answer = self._http.post_json(
                f"/{self.api_version}/{self.phone_number_id}/messages", body
            )
        except ProviderRefused as refused:
            raise _refusal(refused) from refused
        return self._accepted(answer, message)

    def payload(self, message: SendMessage) -> dict[str, Any]:
        """The JSON body a send posts: the template given, else a text reply.

        A message the builders refuse (no valid number, an empty or too long text)
        raises a permanent ``ChannelError``: sending it again cannot help.
        """
        try:
            if message.whatsapp_payload is not None:
                body = dict(message.whatsapp_payload)
            else:
                body = whatsapp_text_payload(message.to, message.text)
        except (TemplateError, InvalidPhoneNumber) as exc:
            raise _invalid(message, str(exc)) from exc
        if body.get("to") != _NOT_DIGIT.sub("", message.to):
            # A template built for another number must never reach this one's owner.
            raise _invalid(message, f"its template is addressed to {body.get('to')!r}")
        if len(message.idempotency_key) <= KEY_FIELD_MAX:
            body[KEY_FIELD] = message.idempotency_key
        return body

    def _accepted(self, answer: Any, message: SendMessage) -> Receipt:
        """The answer is ``{"messages": [{"id": "wamid…"}], ...}``."""
        messages = answer.get("messages") if isinstance(answer, dict) else None
        first = messages[0] if isinstance(messages, list) and messages else None
        return self._receipt(first.get("id") if isinstance(first, dict) else None, message, answer)

    def __repr__(self) -> str:
        return f"WhatsAppCloud(phone_number_id={self.phone_number_id!r}, {self.api_version})"


def _invalid(message: SendMessage, why: str) -> ChannelError:
    msg = f"WhatsApp message {message.idempotency_key!r} to {message.to!r} cannot be sent: {why}"
    return ChannelError(msg, permanent=True, code="invalid_message")


def _refusal(refused: ProviderRefused) -> ChannelError:
    """The Graph API's error body is ``{"error": {"code": 131047, "message": ...}}``."""
    body = refused.body
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if code is None:
        return refused
    assert isinstance(error, dict)
    data = error.get("error_data")
    detail = data.get("details") if isinstance(data, dict) else None
    return whatsapp_error(code).error(
        "WhatsApp", str(detail or error.get("message") or ""), retry_after=refused.retry_after
    )
