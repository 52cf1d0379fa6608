"""SMS through Twilio's Messages API, over plain HTTP (no Twilio SDK needed).

``TwilioSMS`` posts one form request per message and answers with a ``Receipt``
carrying the message SID, or raises a ``ChannelError`` whose meaning comes from
the shared table in ``recoverykit.channels.errors`` (rules.md §10, PW-2): 21610
is the recipient's STOP (a revocation), 21614 and 30003/30005/30006 are
permanent for the number, 30007 is permanent for the text.

**Once means at most once.** Twilio's Messages API takes no idempotency key on
the request that creates a message (its ``I-Twilio-Idempotency-Token`` header is
one Twilio *sends* on webhooks), so a request Twilio accepted but whose answer
was lost cannot be recognised on a second try. The adapter therefore never
retries by itself, reports a lost answer as ``OutcomeUnknown`` (code
``"outcome_unknown"``), and adds the message's idempotency key to the status
callback URL as ``recoverykit_key``, so the delivery report of a message whose
SID was never recorded still names its outbox entry.

Requires ``httpx`` (``pip install 'recoverykit[channels]'``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..engine.commands import SendMessage
from ..errors import ChannelError, InvalidInputError
from ..protocols import Clock, Receipt
from ..values.model import Channel
from ._http import Client, HttpChannel, HttpTransport, ProviderRefused
from .errors import twilio_error
from .keys import KEY_PARAMETER

__all__ = ["KEY_PARAMETER", "TWILIO_API", "TwilioSMS", "with_key"]

#: Where Twilio's REST API lives (version 2010-04-01 is the Messages API's current one).
TWILIO_API: Final = "https://api.twilio.com/2010-04-01"

_ACCOUNT_SID: Final = re.compile(r"AC[0-9a-fA-F]{32}\Z")
_SERVICE_SID: Final = re.compile(r"MG[0-9a-fA-F]{32}\Z")
_API_KEY_SID: Final = re.compile(r"SK[0-9a-fA-F]{32}\Z")
#: Twilio keeps an unsent message queued at most this long (its own limit).
_LONGEST_VALIDITY: Final = timedelta(hours=10)
#: Statuses a create request can come back with when Twilio refused at once.
_FAILED: Final = frozenset({"failed", "undelivered"})


class TwilioSMS(HttpChannel):
    """Sends ``SendMessage`` commands as SMS through one Twilio account.

    Give exactly one sender: ``from_number`` (an E.164 number, short code or
    alphanumeric sender id) or ``messaging_service_sid`` (``MG…``, which picks the
    number for you). ``api_key`` (``SK…``) authenticates with an API key whose
    secret is then ``auth_token``; without it the account SID and auth token are
    used. ``status_callback`` is the URL Twilio reports delivery to.

    ``validity_period`` tells Twilio to drop a message still queued after that
    long (at most 10 hours, Twilio's own limit): a reminder that waited in a queue
    for hours could otherwise land inside the recipient's quiet hours.

    Connections, timeouts and closing work as for every ``HttpChannel``.
    """

    channel: Channel = Channel.SMS

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        api_key: str | None = None,
        validity_period: timedelta | None = None,
        base_url: str = TWILIO_API,
        timeout: float = 10.0,
        client: Client | None = None,
        clock: Clock | None = None,
    ) -> None:
        _check(_ACCOUNT_SID, account_sid, "account_sid", "AC followed by 32 hex digits")
        if not isinstance(auth_token, str) or not auth_token:
            msg = "auth_token must be the account's auth token (or the API key's secret)"
            raise InvalidInputError(msg)
        if (from_number is None) == (messaging_service_sid is None):
            msg = (
                "give exactly one sender: from_number='+15551234567' or messaging_service_sid='MG…'"
            )
            raise InvalidInputError(msg)
        if messaging_service_sid is not None:
            _check(_SERVICE_SID, messaging_service_sid, "messaging_service_sid", "MG + 32 hex")
        if from_number is not None and (not isinstance(from_number, str) or not from_number):
            msg = f"from_number must be a number or sender id (got {from_number!r})"
            raise InvalidInputError(msg)
        if api_key is not None:
            _check(_API_KEY_SID, api_key, "api_key", "SK followed by 32 hex digits")
        if status_callback is not None and not (
            isinstance(status_callback, str) and status_callback.startswith(("https://", "http://"))
        ):
            msg = f"status_callback must be an http(s) URL (got {status_callback!r})"
            raise InvalidInputError(msg)
        if validity_period is not None and not (
            timedelta(seconds=1) <= validity_period <= _LONGEST_VALIDITY
        ):
            msg = f"validity_period must be between 1 second and 10 hours (got {validity_period})"
            raise InvalidInputError(msg)
        self.account_sid = account_sid
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback
        self.validity_period = validity_period
        transport = HttpTransport(
            base_url,
            provider="Twilio",
            timeout=timeout,
            client=client,
            auth=(api_key or account_sid, auth_token),
        )
        super().__init__(transport, clock)

    def send(self, message: SendMessage) -> Receipt:
        """Create one outbound message; one request, never retried here."""
        path = f"/Accounts/{self.account_sid}/Messages.json"
        try:
            answer = self._http.post_form(path, self.form(message))
        except ProviderRefused as refused:
            raise _refusal(refused) from refused
        return self._accepted(answer, message)

    def form(self, message: SendMessage) -> list[tuple[str, str]]:
        """The form fields a send posts (public so tests and logs can show them)."""
        fields = [("To", message.to), ("Body", message.text)]
        if self.messaging_service_sid is not None:
            fields.append(("MessagingServiceSid", self.messaging_service_sid))
        else:
            assert self.from_number is not None
            fields.append(("From", self.from_number))
        if self.status_callback is not None:
            fields.append(
                ("StatusCallback", with_key(self.status_callback, message.idempotency_key))
            )
        if self.validity_period is not None:
            fields.append(("ValidityPeriod", str(int(self.validity_period.total_seconds()))))
        return fields

    def _accepted(self, answer: Any, message: SendMessage) -> Receipt:
        status = answer.get("status") if isinstance(answer, dict) else None
        if isinstance(status, str) and status in _FAILED:
            code = answer.get("error_code")
            if code is not None:
                raise twilio_error(code).error("Twilio", str(answer.get("error_message") or ""))
        sid = answer.get("sid") if isinstance(answer, dict) else None
        return self._receipt(sid, message, answer)

    def __repr__(self) -> str:
        sender = self.from_number or self.messaging_service_sid
        return f"TwilioSMS({self.account_sid[:6]}…, sender={sender!r})"


def with_key(url: str, key: str) -> str:
    """``url`` with ``recoverykit_key=<key>`` in its query (replacing any earlier one).

    >>> with_key("https://shop.example/hooks/twilio?site=pl", "c1:touch1:0")
    'https://shop.example/hooks/twilio?site=pl&recoverykit_key=c1%3Atouch1%3A0'
    """
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != KEY_PARAMETER
    ]
    query.append((KEY_PARAMETER, key))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _refusal(refused: ProviderRefused) -> ChannelError:
    """Twilio's error body is ``{"code": 21610, "message": "...", ...}``."""
    body = refused.body
    code = body.get("code") if isinstance(body, dict) else None
    if code is None:
        return refused
    return twilio_error(code).error(
        "Twilio", str(body.get("message") or ""), retry_after=refused.retry_after
    )


def _check(pattern: re.Pattern[str], value: object, name: str, shape: str) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        msg = f"{name} must be {shape} (got {value!r:.40})"
        raise InvalidInputError(msg)
