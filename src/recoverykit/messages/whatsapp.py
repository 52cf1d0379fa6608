"""Request bodies for the WhatsApp Cloud API: template sends and free-form text replies.

A business may open a conversation only with an approved template; inside the 24 h
after the customer's last message, plain text is allowed (rules.md WA-1, WA-2). The
builders check what Meta would reject late and vaguely: parameter names
(``[a-z_][a-z0-9_]*``), positional numbering from 1 without gaps, text limits
(body 1 024, header 60, free-form 4 096; WA-13, WA-14) and line breaks inside a
parameter. The payload shape follows rules.md §3.1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final, TypeAlias

from ..errors import InvalidPhoneNumber, TemplateError
from ..values.money import Money

__all__ = ["Param", "whatsapp_template_payload", "whatsapp_text_payload"]

#: A body parameter: plain text, or an amount sent as a ``currency`` parameter.
Param: TypeAlias = str | Money

TEMPLATE_BODY_MAX: Final = 1024
HEADER_MAX: Final = 60
TEXT_MAX: Final = 4096
TEMPLATE_NAME_MAX: Final = 512

_PARAM_NAME: Final = re.compile(r"[a-z_][a-z0-9_]*\Z")
_TEMPLATE_NAME: Final = re.compile(r"[a-z0-9_]+\Z")
_LANGUAGE: Final = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?\Z")
_PHONE_NOISE: Final = re.compile(r"[\s().\-]")


def _digits(to: str) -> str:
    """``+48 601-234-567`` -> ``48601234567``; the API wants digits only."""
    digits = _PHONE_NOISE.sub("", to).removeprefix("+")
    if not digits.isdigit() or not digits.isascii() or not 7 <= len(digits) <= 15:
        raise InvalidPhoneNumber(to, reason="WhatsApp needs an international number, 7-15 digits")
    return digits


def _text(value: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"{what} must be a non-empty string (got {value!r:.60})"
        raise TemplateError(msg)
    if "\n" in value or "\t" in value or "    " in value:
        msg = (
            f"{what} may not contain line breaks, tabs or four spaces in a row (got {value!r:.60})"
        )
        raise TemplateError(msg)
    if len(value) > limit:
        msg = f"{what} is {len(value)} characters; the limit is {limit}"
        raise TemplateError(msg)
    return value


def _param(value: Param, what: str, language: str) -> tuple[dict[str, Any], int]:
    if isinstance(value, Money):
        amount_1000 = int((value.amount * 1000).quantize(Decimal(1), ROUND_HALF_EVEN))
        fallback = value.format(language.replace("-", "_"))
        return (
            {
                "type": "currency",
                "currency": {
                    "fallback_value": fallback,
                    "code": value.currency,
                    "amount_1000": amount_1000,
                },
            },
            len(fallback),
        )
    text = _text(value, what, TEMPLATE_BODY_MAX)
    return {"type": "text", "text": text}, len(text)


def _body_parameters(
    body: Sequence[Param] | Mapping[str, Param], language: str
) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    total = 0
    if isinstance(body, Mapping):
        names = list(body)
        if names and all(isinstance(n, str) and n.isdigit() for n in names):
            numbers = sorted(int(n) for n in names)
            if numbers != list(range(1, len(numbers) + 1)):
                msg = (
                    f"positional parameters must be numbered 1..{len(numbers)} "
                    f"without gaps (got {names})"
                )
                raise TemplateError(msg)
            ordered: Sequence[Param] = [body[str(n)] for n in numbers]
            return _body_parameters(ordered, language)
        for name in names:
            if not isinstance(name, str) or not _PARAM_NAME.match(name):
                msg = f"parameter name {name!r} must match [a-z_][a-z0-9_]* (e.g. 'first_name')"
                raise TemplateError(msg)
            param, size = _param(body[name], f"body parameter {name!r}", language)
            params.append({**param, "parameter_name": name})
            total += size
    else:
        if isinstance(body, str):
            msg = "body parameters must be a list or a mapping, not a single string"
            raise TemplateError(msg)
        for index, value in enumerate(body, start=1):
            param, size = _param(value, f"body parameter {{{{{index}}}}}", language)
            params.append(param)
            total += size
    if total > TEMPLATE_BODY_MAX:
        msg = (
            f"body parameters add up to {total} characters; "
            f"a template body holds {TEMPLATE_BODY_MAX}"
        )
        raise TemplateError(msg)
    return params


def whatsapp_template_payload(
    to: str,
    name: str,
    language: str,
    *,
    body: Sequence[Param] | Mapping[str, Param] = (),
    header: str | None = None,
    button_url_suffix: str | None = None,
    quick_replies: Sequence[str] = (),
    language_policy: str = "deterministic",
) -> dict[str, Any]:
    """The JSON body of a Cloud API template send (``POST /{phone-number-id}/messages``).

    ``body`` is a list for positional parameters (``{{1}}``, ``{{2}}``, ...) or a mapping
    for named ones (``{{first_name}}``); a ``Money`` value becomes a currency parameter.
    ``quick_replies`` are the payloads of the template's quick-reply buttons, in button
    order after the URL button if there is one: a tap comes back as that payload.

    >>> whatsapp_template_payload("+48 601 234 567", "cart_remind", "pl", body=["Anna"])["to"]
    '48601234567'
    """
    if not isinstance(name, str) or not _TEMPLATE_NAME.match(name) or len(name) > TEMPLATE_NAME_MAX:
        msg = (
            f"template name {name!r} must be lower-case letters, digits and '_' "
            "(e.g. 'cart_remind')"
        )
        raise TemplateError(msg)
    if not isinstance(language, str) or not _LANGUAGE.match(language.replace("-", "_")):
        msg = f"template language {language!r} must be a code such as 'en' or 'en_US'"
        raise TemplateError(msg)
    if language_policy != "deterministic":
        msg = f"language policy {language_policy!r} is not supported; the API knows 'deterministic'"
        raise TemplateError(msg)
    components: list[dict[str, Any]] = []
    if header is not None:
        text = _text(header, "header parameter", HEADER_MAX)
        components.append({"type": "header", "parameters": [{"type": "text", "text": text}]})
    params = _body_parameters(body, language)
    if params:
        components.append({"type": "body", "parameters": params})
    if button_url_suffix is not None:
        suffix = _text(button_url_suffix, "URL button suffix", 2000)
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": suffix}],
            }
        )
    components.extend(_quick_replies(quick_replies, first=0 if button_url_suffix is None else 1))
    template: dict[str, Any] = {
        "name": name,
        "language": {"policy": language_policy, "code": language.replace("-", "_")},
    }
    if components:
        template["components"] = components
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": _digits(to),
        "type": "template",
        "template": template,
    }


#: A quick-reply button's payload comes back in the reply webhook; Meta caps it at 1 000
#: characters, far more than a menu digit or a STOP keyword needs.
QUICK_REPLY_PAYLOAD_MAX: Final = 1000


def _quick_replies(payloads: Sequence[str], *, first: int) -> list[dict[str, Any]]:
    if isinstance(payloads, str):
        msg = "quick_replies must be a list of payloads, not a single string"
        raise TemplateError(msg)
    return [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(index),
            "parameters": [
                {
                    "type": "payload",
                    "payload": _text(payload, "quick-reply payload", QUICK_REPLY_PAYLOAD_MAX),
                }
            ],
        }
        for index, payload in enumerate(payloads, start=first)
    ]


def whatsapp_text_payload(to: str, text: str, *, preview_url: bool = False) -> dict[str, Any]:
    """The JSON body of a free-form text reply, allowed inside the 24 h service window."""
    if not isinstance(text, str) or not text.strip():
        msg = f"a WhatsApp text must be a non-empty string (got {text!r:.60})"
        raise TemplateError(msg)
    if len(text) > TEXT_MAX:
        msg = f"a WhatsApp text is {len(text)} characters; the limit is {TEXT_MAX}"
        raise TemplateError(msg)
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": _digits(to),
        "type": "text",
        "text": {"preview_url": preview_url, "body": text},
    }
