"""Framework-free webhook parsers that verify the provider's signature first.

Each parser turns a verified ``WebhookRequest`` into provider-neutral facts
(``Inbound``); ``Runner.receive`` turns those into engine events::

    from recoverykit.webhooks import TwilioWebhooks, WebhookError, WebhookRequest

    twilio = TwilioWebhooks(auth_token=settings.TWILIO_AUTH_TOKEN)
    try:
        inbound = twilio.parse(WebhookRequest(method, public_url, headers, body), now=now)
    except WebhookError as err:
        return Response(status=err.status)  # 403 forged, 400 malformed: nothing changed
    for item in inbound:
        runner.receive(item)

A parser raises only ``WebhookError`` subclasses, whatever the request holds.
"""

from .email import OneClickUnsubscribe
from .meta import MetaWebhooks
from .smsapi import SmsapiReports
from .telegram import StartLinks, TelegramWebhooks
from .twilio import TwilioWebhooks
from .types import (
    ChatStarted,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedWebhook,
    MarketingPreference,
    SignatureMismatch,
    StatusUpdate,
    UnsubscribeRequest,
    WebhookError,
    WebhookRequest,
)
from .viber import ViberWebhooks

__all__ = [
    "ChatStarted",
    "DeliveryStatus",
    "Inbound",
    "InboundMessage",
    "MalformedWebhook",
    "MarketingPreference",
    "MetaWebhooks",
    "OneClickUnsubscribe",
    "SignatureMismatch",
    "SmsapiReports",
    "StartLinks",
    "StatusUpdate",
    "TelegramWebhooks",
    "TwilioWebhooks",
    "UnsubscribeRequest",
    "ViberWebhooks",
    "WebhookError",
    "WebhookRequest",
]
