"""Where a message's idempotency key rides along, so delivery reports name its entry.

Neither Twilio nor the WhatsApp Cloud API takes an idempotency key, but both
echo something back on status webhooks: Twilio calls the status-callback URL the
request named, and WhatsApp returns ``biz_opaque_callback_data``. The adapters put
the key there; the webhook parsers read it back (``StatusUpdate.idempotency_key``),
and the runner settles an ``uncertain`` send as ``sent`` when its report arrives.
This module is the one place both sides take the names from.
"""

from __future__ import annotations

from typing import Final

__all__ = ["KEY_FIELD", "KEY_FIELD_MAX", "KEY_PARAMETER"]

#: The status-callback query parameter that carries a message's idempotency key.
KEY_PARAMETER: Final = "recoverykit_key"
#: The WhatsApp request field that carries the idempotency key back in status webhooks.
KEY_FIELD: Final = "biz_opaque_callback_data"
#: The API refuses longer values in ``biz_opaque_callback_data``.
KEY_FIELD_MAX: Final = 512
