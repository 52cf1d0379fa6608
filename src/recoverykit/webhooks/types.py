"""What every webhook parser takes and gives: a request in, provider-neutral facts out.

Parsers are framework-free: an adapter for Django, FastAPI or anything else builds
a ``WebhookRequest`` from its own request object and hands the parser's results to
``Runner.receive``. A parser verifies the provider's signature before it reads a
single field, and raises only ``WebhookError`` subclasses, whatever arrives.

The results name addresses and provider message ids, not customers or checkouts:
turning "+48 600 100 200 wrote STOP" into a ``ReplyReceived`` for customer
``cus-42`` needs the store, so that step belongs to the runner.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import TypeAlias

import attrs

from ..errors import RecoveryKitError
from ..values.model import Channel
from ..values.time import require_aware

__all__ = [
    "ChatStarted",
    "DeliveryStatus",
    "Inbound",
    "InboundMessage",
    "MalformedWebhook",
    "MarketingPreference",
    "SignatureMismatch",
    "StatusUpdate",
    "UnsubscribeRequest",
    "WebhookError",
    "WebhookRequest",
]


# -- errors ----------------------------------------------------------------------------------
class WebhookError(RecoveryKitError, ValueError):
    """A webhook request was refused; nothing was changed.

    ``status`` is the HTTP status an endpoint should answer with, so framework glue
    needs no table of its own.
    """

    status: int = 400


class SignatureMismatch(WebhookError):
    """The request is unsigned, signed with another secret, or altered on the way."""

    status = 403


class MalformedWebhook(WebhookError):
    """The request verified but its body is not what the provider sends."""

    status = 400


# -- the request -----------------------------------------------------------------------------
def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


@attrs.frozen
class WebhookRequest:
    """An HTTP request as the provider sent it.

    ``url`` is the full URL the provider called, scheme, host, path and query, exactly
    as configured at the provider (Twilio signs it); behind a proxy, rebuild it from
    the public address. ``headers`` keys are matched case-insensitively. ``body`` is
    the raw bytes: a signature covers bytes, never a re-encoded form.
    """

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(converter=_lower_keys, factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name, ``None`` when absent."""
        return self.headers.get(name.lower())


# -- what a request says -----------------------------------------------------------------------
def _aware(_inst: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    require_aware(value, attribute.name)


@attrs.frozen
class InboundMessage:
    """A customer wrote to the store, or tapped a reply button.

    ``address`` is who wrote, in the form the store keeps for that channel: E.164 for
    SMS and WhatsApp, the chat id for Telegram, the e-mail address for e-mail.
    ``button`` is the payload of a tapped quick-reply or inline button, when there was
    one; ``text`` is then the button's label. ``provider_id`` makes the runner's event
    id, so a provider's retry of the same webhook is recognised and ignored.
    """

    channel: Channel
    address: str
    text: str
    provider_id: str
    at: datetime = attrs.field(validator=_aware)
    button: str | None = None
    #: The id of the tap to acknowledge (a Telegram ``callback_query``): the runner
    #: answers it through the channel's adapter, so the button stops spinning.
    callback_id: str | None = None
    #: The provider already answered this message itself (Twilio's Advanced Opt-Out
    #: confirms STOP, START and HELP and says so in ``OptOutType``): the runner records
    #: what it means but sends no answer of its own, so nobody is confirmed twice.
    answered_by_provider: bool = False


class DeliveryStatus(enum.StrEnum):
    """What a provider reports about a message it accepted earlier."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@attrs.frozen
class StatusUpdate:
    """A provider reports on a message it accepted (matched by ``provider_message_id``).

    For ``FAILED``, ``code`` is the provider's error code and ``permanent`` and
    ``revoked`` say what it means (the same mapping the adapter uses for errors it
    gets while sending).
    """

    channel: Channel
    provider_message_id: str
    status: DeliveryStatus
    at: datetime = attrs.field(validator=_aware)
    code: str | None = None
    permanent: bool = False
    revoked: bool = False
    #: Distinguishes two reports of the same status (providers repeat webhooks).
    provider_id: str = ""
    #: The idempotency key the message was sent with, when the provider echoed it
    #: (``recoverykit.channels.keys``): it names the outbox entry even when the
    #: provider's id was never recorded, so a report settles an ``uncertain`` send.
    idempotency_key: str | None = None


@attrs.frozen
class ChatStarted:
    """A customer opened a chat with the store's bot through a signed start link.

    ``customer_id`` comes from the verified start payload, never from the chat
    itself; the runner binds ``address`` (the chat id) to that customer and records
    the consent the start link stood for.
    """

    channel: Channel
    address: str
    customer_id: str
    provider_id: str
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class UnsubscribeRequest:
    """The recipient asked, through the provider or a one-click link, to hear no more.

    It withdraws consent on ``channel`` for ``address``; ``customer_id`` is set when
    a signed link named the customer, otherwise the runner looks the address up.
    """

    channel: Channel
    address: str
    provider_id: str
    at: datetime = attrs.field(validator=_aware)
    customer_id: str | None = None
    #: How the request arrived (``"one-click"``, ``"blocked"``), kept as evidence.
    source: str = "webhook"


@attrs.frozen
class MarketingPreference:
    """The recipient stopped or resumed marketing messages in the messenger's own settings.

    WhatsApp reports it in the ``user_preferences`` webhook. A stop withdraws marketing
    on ``channel`` for ``address`` and, since cart reminders go out as marketing
    templates, recovery messages too; a resume grants marketing again. ``text`` is the
    provider's own value (kept as evidence), ``source`` how it arrived.
    """

    channel: Channel
    address: str
    #: ``True`` for a stop, ``False`` for a resume.
    stopped: bool
    provider_id: str
    at: datetime = attrs.field(validator=_aware)
    text: str = ""
    source: str = "webhook"


Inbound: TypeAlias = (
    InboundMessage | StatusUpdate | ChatStarted | UnsubscribeRequest | MarketingPreference
)
