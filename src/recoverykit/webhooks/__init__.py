"""Framework-free webhook parsers that verify the provider's signature first.

Each parser turns a verified ``WebhookRequest`` into provider-neutral facts
(``Inbound``); ``Runner.receive`` turns those into engine events.
"""

from ._types import (
    ChatStarted,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MalformedWebhook,
    SignatureMismatch,
    StatusUpdate,
    UnsubscribeRequest,
    WebhookError,
    WebhookRequest,
)

__all__ = [
    "ChatStarted",
    "DeliveryStatus",
    "Inbound",
    "InboundMessage",
    "MalformedWebhook",
    "SignatureMismatch",
    "StatusUpdate",
    "UnsubscribeRequest",
    "WebhookError",
    "WebhookRequest",
]
