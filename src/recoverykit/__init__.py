"""recoverykit: win back abandoned checkouts over SMS, WhatsApp, Telegram, Viber and e-mail.

The core is pure: it decides whether, when, on which channel and with which
words to contact a customer, and never opens a socket. Everything a user needs
is importable from here; ``recoverykit.errors``, ``recoverykit.testing`` and
``recoverykit.testing.strategies`` are the purpose-named public modules.
"""

from __future__ import annotations

import contextlib

from ._model import Channel, Checkout, Customer, Friction, LineItem, Stage
from ._money import Money
from ._phone import PhoneNumber
from ._resolve import ZoneResolution, ZoneSource, resolve_zones
from ._version import __version__
from ._zones import get_zone
from .errors import RecoveryKitError

__all__ = [
    "Channel",
    "Checkout",
    "Customer",
    "Friction",
    "LineItem",
    "Money",
    "PhoneNumber",
    "RecoveryKitError",
    "Stage",
    "ZoneResolution",
    "ZoneSource",
    "__version__",
    "get_zone",
    "resolve_zones",
]

# Exported names report the public module, so reprs and docs show recoverykit.Checkout.
for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and getattr(_obj, "__module__", "").startswith("recoverykit._"):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "recoverykit"
del _name, _obj
