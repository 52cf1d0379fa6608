"""SMS through SMSAPI (SMSAPI.pl, SMSAPI.com), the gateway many Polish shops use.

It shows that the adapter protocol is not shaped around Twilio: another dialect
(form fields to ``sms.do``, a bearer token, numeric error codes, delivery reports
by callback), the same contract.

**Sending.** One POST to ``/sms.do`` with ``to`` (the number's digits, no ``+``),
``message``, the sender name ``from`` when the account has one registered,
``encoding=utf-8`` and ``format=json``. The idempotency key travels as ``idx`` with
``check_idx=1``: SMSAPI refuses a second message with the same ``idx``, so a resend
after a crash cannot deliver twice. The receipt's id is SMSAPI's message id, which
its delivery reports name (``recoverykit.webhooks.SmsapiReports``).

**Errors.** SMSAPI answers ``{"error": <code>, "message": ...}``; ``SMSAPI_ERRORS`` (in
the shared table, ``recoverykit.channels.errors``) says what each code means (from
SMSAPI's published list, https://www.smsapi.pl/statusy-wiadomosci). No valid number
(13: wrong, a landline, or on the account's blacklist) and an unusable text (11)
are permanent; a bad sender name, credentials, account balance or IP filter are
the store's configuration and transient, never the recipient's fault; codes not
in the table are transient.

Requires ``httpx`` (``pip install 'recoverykit[channels]'``).
"""

from __future__ import annotations

import re
from typing import Any, Final

from ..engine.commands import SendMessage
from ..errors import ChannelError, InvalidInputError
from ..protocols import Clock, Receipt
from ..values.model import Channel
from ._http import Client, HttpChannel, HttpTransport, ProviderRefused
from .errors import SMSAPI_ERRORS, OutcomeUnknown, smsapi_error

__all__ = ["SMSAPI_API", "SMSAPI_ERRORS", "SmsapiSMS", "smsapi_error"]

#: SMSAPI's endpoint for Polish accounts (``https://api.smsapi.com`` for international ones).
SMSAPI_API: Final = "https://api.smsapi.pl"
#: Longest ``idx`` SMSAPI keeps (error 27 beyond it).
MAX_IDX: Final = 255

_INVALID: Final = "invalid_message"
_E164: Final = re.compile(r"\+[1-9]\d{6,14}")
_SENDER: Final = re.compile(r"[A-Za-z0-9 .\-]{1,11}")
_TOKEN: Final = re.compile(r"[\x21-\x7e]{10,200}")


class SmsapiSMS(HttpChannel):
    """Sends ``SendMessage`` commands as text messages through SMSAPI.

    ``token`` is an OAuth token from the SMSAPI panel; ``sender`` a sender name
    registered on the account (without one, SMSAPI's default sender is used).
    ``test=True`` makes SMSAPI check each message without sending it.
    """

    channel: Channel = Channel.SMS

    def __init__(
        self,
        token: str,
        *,
        sender: str | None = None,
        base_url: str = SMSAPI_API,
        timeout: float = 10.0,
        test: bool = False,
        client: Client | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            msg = "token must be an SMSAPI OAuth token from the panel (no spaces)"
            raise InvalidInputError(msg)
        if sender is not None and (not isinstance(sender, str) or not _SENDER.fullmatch(sender)):
            msg = (
                f"sender must be a registered sender name, 1 to 11 letters, digits, spaces, "
                f"dots or dashes (got {sender!r})"
            )
            raise InvalidInputError(msg)
        self._sender = sender
        self._test = test
        transport = HttpTransport(
            base_url,
            provider="SMSAPI",
            timeout=timeout,
            client=client,
            headers={"Authorization": f"Bearer {token}"},
        )
        super().__init__(transport, clock)

    def fields(self, message: SendMessage) -> list[tuple[str, str]]:
        """The form fields for ``message`` (public so tests and logs can show them).

        Raises a permanent ``ChannelError`` for a message SMSAPI could never take.
        """
        if message.channel is not Channel.SMS:
            msg = f"SmsapiSMS sends SMS only; {message.idempotency_key!r} is for {message.channel}"
            raise ChannelError(msg, permanent=True, code=_INVALID)
        if not isinstance(message.to, str) or not _E164.fullmatch(message.to):
            msg = f"SMSAPI needs an E.164 number such as +48601234567 (got {message.to!r:.40})"
            raise ChannelError(msg, permanent=True, code=_INVALID)
        if not message.text:
            msg = f"{message.idempotency_key!r} has no text to send"
            raise ChannelError(msg, permanent=True, code=_INVALID)
        if len(message.idempotency_key) > MAX_IDX:
            msg = f"the idempotency key is longer than SMSAPI's {MAX_IDX}-character idx"
            raise ChannelError(msg, permanent=True, code=_INVALID)
        fields = [
            ("to", message.to.removeprefix("+")),
            ("message", message.text),
            ("encoding", "utf-8"),
            ("format", "json"),
            ("idx", message.idempotency_key),
            ("check_idx", "1"),
        ]
        if self._sender is not None:
            fields.append(("from", self._sender))
        if self._test:
            fields.append(("test", "1"))
        return fields

    def send(self, message: SendMessage) -> Receipt:
        """Send one message; one request, never retried here."""
        fields = self.fields(message)
        try:
            answer = self._http.post_form("/sms.do", fields)
        except ProviderRefused as refused:
            raise _refusal(refused.body, refused) from None
        if not isinstance(answer, dict):
            msg = f"SMSAPI answered without a result: {answer!r:.200}"
            raise OutcomeUnknown(msg)
        if "error" in answer:
            raise _refusal(answer, None)
        listed = answer.get("list")
        first = listed[0] if isinstance(listed, list) and listed else None
        message_id = first.get("id") if isinstance(first, dict) else None
        if isinstance(message_id, int) and not isinstance(message_id, bool):
            message_id = str(message_id)
        return self._receipt(message_id, message, answer)

    def __repr__(self) -> str:
        return f"SmsapiSMS(sender={self._sender!r})"


def _refusal(body: Any, refused: ProviderRefused | None) -> ChannelError:
    """The ``ChannelError`` for an answer ``{"error": code, "message": ...}``."""
    if not isinstance(body, dict) or "error" not in body:
        if refused is not None:
            return refused  # a refusal without SMSAPI's error body: transient
        msg = f"SMSAPI answered with a body that is not an API answer: {body!r:.200}"
        return OutcomeUnknown(msg)
    said = body.get("message")
    return smsapi_error(body.get("error")).error(
        "SMSAPI",
        said[:200] if isinstance(said, str) else "",
        retry_after=None if refused is None else refused.retry_after,
    )
