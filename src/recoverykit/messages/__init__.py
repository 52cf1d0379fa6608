"""Messages: templates, fields, lint and guard, SMS segments, WhatsApp payloads and packs.

``lint`` (the template linter) is read as ``recoverykit.messages.lint.lint``: the
package's ``lint`` is its module. Every name below is loaded on first use
(``recoverykit._lazy``), so importing the package costs nothing until a name is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .._lazy import exports

if TYPE_CHECKING:
    from .fields import FIELDS, OPTIONAL_FIELDS, Reveals
    from .lint import (
        CODES,
        PAYMENT_BY_REPLY,
        GuardPolicy,
        Violation,
        guard,
        lint_discounts,
        phrases,
    )
    from .packs import (
        BUILTIN_LANGUAGES,
        CART_TIERS,
        MessagePack,
        Segment,
        Tier,
        WhatsAppTemplateRef,
        cart_tier,
        default_pack,
        format_hold_until,
        message_context,
    )
    from .sms import (
        GSM7_BASIC,
        GSM7_EXTENSION,
        SMART_ENCODING,
        SegmentInfo,
        is_gsm7,
        smart_encode,
        sms_segments,
    )
    from .templates import Field, Rendered, Template, compile, render
    from .whatsapp import Param, whatsapp_template_payload, whatsapp_text_payload
    from .whatsapp_templates import (
        TEMPLATE_RULES,
        WhatsAppTemplate,
        derive_template,
        pack_templates,
        template_for_send,
    )

#: Submodule -> the names this package exports from it.
_EXPORTS: Final = {
    "fields": ("FIELDS", "OPTIONAL_FIELDS", "Reveals"),
    "lint": (
        "CODES",
        "GuardPolicy",
        "PAYMENT_BY_REPLY",
        "Violation",
        "guard",
        "lint_discounts",
        "phrases",
    ),
    "packs": (
        "BUILTIN_LANGUAGES",
        "CART_TIERS",
        "MessagePack",
        "Segment",
        "Tier",
        "WhatsAppTemplateRef",
        "cart_tier",
        "default_pack",
        "format_hold_until",
        "message_context",
    ),
    "sms": (
        "GSM7_BASIC",
        "GSM7_EXTENSION",
        "SMART_ENCODING",
        "SegmentInfo",
        "is_gsm7",
        "smart_encode",
        "sms_segments",
    ),
    "templates": ("Field", "Rendered", "Template", "compile", "render"),
    "whatsapp": ("Param", "whatsapp_template_payload", "whatsapp_text_payload"),
    "whatsapp_templates": (
        "TEMPLATE_RULES",
        "WhatsAppTemplate",
        "derive_template",
        "pack_templates",
        "template_for_send",
    ),
}

__all__ = [
    "BUILTIN_LANGUAGES",
    "CART_TIERS",
    "CODES",
    "FIELDS",
    "Field",
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "GuardPolicy",
    "MessagePack",
    "OPTIONAL_FIELDS",
    "PAYMENT_BY_REPLY",
    "Param",
    "Rendered",
    "Reveals",
    "SMART_ENCODING",
    "Segment",
    "SegmentInfo",
    "TEMPLATE_RULES",
    "Template",
    "Tier",
    "Violation",
    "WhatsAppTemplate",
    "WhatsAppTemplateRef",
    "cart_tier",
    "compile",
    "default_pack",
    "derive_template",
    "format_hold_until",
    "guard",
    "is_gsm7",
    "lint_discounts",
    "message_context",
    "pack_templates",
    "phrases",
    "render",
    "smart_encode",
    "sms_segments",
    "template_for_send",
    "whatsapp_template_payload",
    "whatsapp_text_payload",
]

# Hidden from type checkers, which see the TYPE_CHECKING imports and flag any other name.
if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS)
