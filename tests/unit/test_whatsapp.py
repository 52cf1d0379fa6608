"""WhatsApp Cloud API payloads (reference/rules.md §3.1, WA-13..WA-15)."""

from __future__ import annotations

from typing import Any

import pytest

from recoverykit.errors import InvalidPhoneNumber, TemplateError
from recoverykit.messages.whatsapp import whatsapp_template_payload, whatsapp_text_payload
from recoverykit.values.money import Money


def test_positional_template_payload() -> None:
    """Positional parameters keep their order; money becomes a currency parameter."""
    expected: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "48601234567",
        "type": "template",
        "template": {
            "name": "cart_remind_v1",
            "language": {"policy": "deterministic", "code": "pl"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Northwind"},
                        {
                            "type": "currency",
                            "currency": {
                                "fallback_value": "84,50\xa0zł",
                                "code": "PLN",
                                "amount_1000": 84500,
                            },
                        },
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "r/abc123"}],
                },
            ],
        },
    }
    actual = whatsapp_template_payload(
        "+48 601 234 567",
        "cart_remind_v1",
        "pl",
        body=["Northwind", Money("84.50", "PLN")],
        button_url_suffix="r/abc123",
    )
    assert expected == actual


def test_named_parameters_carry_their_names() -> None:
    """A mapping sends named parameters with `parameter_name`."""
    payload = whatsapp_template_payload(
        "+15555550100", "cart_help", "en_US", body={"store_name": "N"}, header="Your cart"
    )
    components = payload["template"]["components"]
    assert components[0] == {
        "type": "header",
        "parameters": [{"type": "text", "text": "Your cart"}],
    }
    assert components[1]["parameters"] == [
        {"type": "text", "text": "N", "parameter_name": "store_name"}
    ]


def test_numbered_mapping_is_positional_without_gaps() -> None:
    """Keys "1".."n" are positional and sorted; a gap is refused."""
    payload = whatsapp_template_payload("+15555550100", "t", "en", body={"2": "b", "1": "a"})
    texts = [p["text"] for p in payload["template"]["components"][0]["parameters"]]
    assert texts == ["a", "b"]
    with pytest.raises(TemplateError, match="without gaps"):
        whatsapp_template_payload("+15555550100", "t", "en", body={"1": "a", "3": "c"})


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "Cart Reminder"}, "template name"),
        ({"body": {"First": "x"}}, "parameter name"),
        ({"body": ["line\nbreak"]}, "line breaks"),
        ({"body": [""]}, "non-empty"),
        ({"body": ["x" * 1025]}, "limit is 1024"),
        ({"body": ["x" * 600, "y" * 600]}, "add up to 1200"),
        ({"header": "h" * 61}, "limit is 60"),
        ({"language": "English"}, "template language"),
        ({"language_policy": "fallback"}, "language policy"),
    ],
)
def test_template_payload_validation(kwargs: dict[str, Any], fragment: str) -> None:
    """What Meta would reject later is refused here with a clear message."""
    args: dict[str, Any] = {"name": "cart_remind", "language": "en", **kwargs}
    with pytest.raises(TemplateError, match=fragment):
        whatsapp_template_payload("+15555550100", **args)


def test_recipient_must_be_an_international_number() -> None:
    """`to` is sent as digits; anything else is an InvalidPhoneNumber."""
    with pytest.raises(InvalidPhoneNumber):
        whatsapp_text_payload("call me", "hi")


def test_text_payload() -> None:
    """Free-form replies inside the service window are plain text bodies up to 4 096."""
    expected = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "33612345678",
        "type": "text",
        "text": {"preview_url": True, "body": "Bonjour"},
    }
    assert expected == whatsapp_text_payload("+33 6 12 34 56 78", "Bonjour", preview_url=True)
    with pytest.raises(TemplateError, match="4096"):
        whatsapp_text_payload("+33612345678", "x" * 4097)
