"""The field registry: every value a message template may name, and what it reveals.

A recovery message may use only what the customer knowingly gave at checkout and
what helps them finish (DOMAIN.md, "Personalization without creepiness"). Each field
is therefore declared once, here, as *safe* (the store speaking about itself),
*personal* (one detail about this customer; an SMS carries at most one), or
*forbidden* (surveillance data that never goes into a message, whatever the store
holds). A template naming a forbidden field is refused when it is built.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["FIELDS", "OPTIONAL_FIELDS", "Reveals"]


class Reveals(enum.StrEnum):
    """What a field tells the reader about the customer."""

    #: The store speaking about itself or the way back: name, link, a real hold time.
    SAFE = "safe"
    #: One detail the customer gave at checkout; an SMS carries at most one.
    PERSONAL = "personal"
    #: Data that reads like being watched; never allowed in a template.
    FORBIDDEN = "forbidden"


FIELDS: Final[Mapping[str, Reveals]] = MappingProxyType(
    {
        # safe: the store and the way back
        "store_name": Reveals.SAFE,
        "link": Reveals.SAFE,
        "hold_until": Reveals.SAFE,
        "help_line": Reveals.SAFE,
        "help_contact": Reveals.SAFE,
        "discount_code": Reveals.SAFE,
        "discount_expiry": Reveals.SAFE,
        # units left of ``top_item``, only when the level is real and fresh
        "stock_left": Reveals.SAFE,
        # the gift a gift offer names (``DiscountPolicy.gift``): the store's own words
        "gift": Reveals.SAFE,
        # personal: one detail the customer knowingly gave
        "first_name": Reveals.PERSONAL,
        "top_item": Reveals.PERSONAL,
        "item_category": Reveals.PERSONAL,
        "item_count": Reveals.PERSONAL,
        "approx_total": Reveals.PERSONAL,
        "total": Reveals.PERSONAL,
        # forbidden: surveillance, inference, or someone else's data
        "browsing_history": Reveals.FORBIDDEN,
        "viewed_products": Reveals.FORBIDDEN,
        "view_count": Reveals.FORBIDDEN,
        "time_on_page": Reveals.FORBIDDEN,
        "session_length": Reveals.FORBIDDEN,
        "clicks": Reveals.FORBIDDEN,
        "device": Reveals.FORBIDDEN,
        "browser": Reveals.FORBIDDEN,
        "operating_system": Reveals.FORBIDDEN,
        "location": Reveals.FORBIDDEN,
        "city": Reveals.FORBIDDEN,
        "address": Reveals.FORBIDDEN,
        "ip": Reveals.FORBIDDEN,
        "last_seen": Reveals.FORBIDDEN,
        "age": Reveals.FORBIDDEN,
        "birthday": Reveals.FORBIDDEN,
        "gender": Reveals.FORBIDDEN,
        "inferred_traits": Reveals.FORBIDDEN,
        "income": Reveals.FORBIDDEN,
        "other_stores": Reveals.FORBIDDEN,
    }
)

#: Fields a context may lack; a template naming one needs a ``fallback`` body
#: for that case, so a message never reads "Hi ,".
OPTIONAL_FIELDS: Final = frozenset({"first_name", "help_line", "help_contact", "stock_left"})
