"""Values: money, customers and checkouts, phone numbers, zones and aware time.

Every name below is loaded on first use (``recoverykit._lazy``), so importing the
package costs nothing until a name is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .._lazy import exports

if TYPE_CHECKING:
    from .model import (
        ADDRESS_FIELDS,
        READ_SIGNALS,
        Channel,
        Checkout,
        Customer,
        Friction,
        LineItem,
        ReadSignal,
        Stage,
        address_key,
    )
    from .money import Money, get_locale
    from .phone import PhoneNumber
    from .text import (
        MAX_FIRST_NAME,
        first_name_problem,
        item_name_problem,
        lone_surrogate_at,
        replace_surrogates,
        single_line,
        strip_controls,
        usable_first_name,
    )
    from .time import require_aware, to_utc
    from .zones import country_zones, get_zone, is_zone, zone_table

#: Submodule -> the names this package exports from it.
_EXPORTS: Final = {
    "model": (
        "ADDRESS_FIELDS",
        "Channel",
        "Checkout",
        "Customer",
        "Friction",
        "LineItem",
        "READ_SIGNALS",
        "ReadSignal",
        "Stage",
        "address_key",
    ),
    "money": ("Money", "get_locale"),
    "phone": ("PhoneNumber",),
    "text": (
        "MAX_FIRST_NAME",
        "first_name_problem",
        "item_name_problem",
        "lone_surrogate_at",
        "replace_surrogates",
        "single_line",
        "strip_controls",
        "usable_first_name",
    ),
    "time": ("require_aware", "to_utc"),
    "zones": ("country_zones", "get_zone", "is_zone", "zone_table"),
}

__all__ = [
    "ADDRESS_FIELDS",
    "Channel",
    "Checkout",
    "Customer",
    "Friction",
    "LineItem",
    "MAX_FIRST_NAME",
    "Money",
    "PhoneNumber",
    "READ_SIGNALS",
    "ReadSignal",
    "Stage",
    "address_key",
    "country_zones",
    "first_name_problem",
    "get_locale",
    "get_zone",
    "is_zone",
    "item_name_problem",
    "lone_surrogate_at",
    "replace_surrogates",
    "require_aware",
    "single_line",
    "strip_controls",
    "to_utc",
    "usable_first_name",
    "zone_table",
]

# Hidden from type checkers, which see the TYPE_CHECKING imports and flag any other name.
if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS)
