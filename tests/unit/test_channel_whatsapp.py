"""WhatsApp Cloud API adapter against a loopback server (rules.md §3, CP-7, PW-3; SEAMS 4).

Request bodies are checked against the schemas in Meta's OpenAPI description of the
Cloud API, read from ``../shared/reference/meta/`` beside the repository; the
schema tests skip, saying why, where that folder is absent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from recoverykit.channels.errors import WHATSAPP_ERRORS
from recoverykit.channels.keys import KEY_FIELD, KEY_FIELD_MAX
from recoverykit.channels.whatsapp import WhatsAppCloud
from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.errors import ChannelError, InvalidInputError
from recoverykit.messages.whatsapp import whatsapp_template_payload
from recoverykit.protocols import ChannelAdapter
from recoverykit.testing.channel_contract import ChannelContract, LoopbackServer, Recorded, Reply
from recoverykit.testing.fakes import FakeClock
from recoverykit.values.model import Channel
from recoverykit.values.money import Money
from tests.meta_schema import meta_spec, schema_problems

TOKEN = "EAAG-test-token"
PHONE_ID = "106540352242922"
TO = "+48 601 234 567"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def accepted(wamid: str) -> Reply:
    """The Cloud API's answer to an accepted send."""
    return Reply(
        200,
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "48601234567", "wa_id": "48601234567"}],
            "messages": [{"id": wamid, "message_status": "accepted"}],
        },
    )


def refused(code: str) -> Reply:
    """The Graph API's error body for a refused send."""
    return Reply(
        400,
        {
            "error": {
                "message": f"(#{code}) refused",
                "type": "OAuthException",
                "code": int(code),
                "error_data": {"messaging_product": "whatsapp", "details": f"details of {code}"},
                "fbtrace_id": "AbCdEf123",
            }
        },
    )


def template() -> dict[str, Any]:
    """A cart template with a header, positional text and money, and a URL button suffix."""
    return whatsapp_template_payload(
        TO,
        "cart_remind_v2",
        "pl",
        body=["Anna", Money(Decimal("84.50"), "PLN")],
        header="Northwind",
        button_url_suffix="r/abc123",
    )


def message(
    key: str = "chk-1:touch1:0",
    text: str = "Your cart is waiting",
    payload: dict[str, Any] | None = None,
    to: str = TO,
) -> SendMessage:
    return SendMessage(
        idempotency_key=key,
        checkout_id="chk-1",
        customer_id="cus-1",
        channel=Channel.WHATSAPP,
        to=to,
        kind=MessageKind.TOUCH if payload is not None else MessageKind.REPLY,
        key="remind",
        text=text,
        locale="pl",
        touch=1 if payload is not None else None,
        whatsapp_payload=payload,
    )


class TestWhatsAppContract(ChannelContract):
    channel = Channel.WHATSAPP
    error_table = WHATSAPP_ERRORS
    address = TO

    def make_adapter(self, base_url: str, *, timeout: float) -> ChannelAdapter:
        return WhatsAppCloud(TOKEN, PHONE_ID, base_url=base_url, timeout=timeout)

    def accepted(self, provider_id: str) -> Reply:
        return accepted(provider_id)

    def refused(self, code: str) -> Reply:
        return refused(code)

    def key_sent(self, request: Recorded) -> str | None:
        found = request.json().get(KEY_FIELD)
        return found if isinstance(found, str) else None


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as made:
        yield made


def cloud(server: LoopbackServer) -> WhatsAppCloud:
    return WhatsAppCloud(TOKEN, PHONE_ID, base_url=server.url, timeout=2.0, clock=FakeClock(T0))


# -- what goes over the wire -------------------------------------------------------------------
def test_template_is_posted_as_built(server: LoopbackServer) -> None:
    """A touch with a template payload posts exactly that payload, plus the key (WA-1)."""
    built = template()
    server.answer(accepted("wamid.T1"))
    with cloud(server) as wa:
        receipt = wa.send(message(payload=built))
    assert ("wamid.T1", T0) == (receipt.provider_id, receipt.accepted_at)
    (request,) = server.requests
    assert ("POST", f"/v23.0/{PHONE_ID}/messages") == (request.method, request.path)
    assert f"Bearer {TOKEN}" == request.header("authorization")
    assert "application/json" == request.header("content-type")
    assert {**built, KEY_FIELD: "chk-1:touch1:0"} == request.json()
    assert KEY_FIELD not in built  # the command's payload is left as it was


def test_reply_without_template_is_free_text(server: LoopbackServer) -> None:
    """Without a template the message is a text reply, no link preview, no media (WA-2)."""
    server.answer(accepted("wamid.R1"))
    with cloud(server) as wa:
        wa.send(message(text="Napisz STOP, aby zrezygnować"))
    assert {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "48601234567",
        "type": "text",
        "text": {"preview_url": False, "body": "Napisz STOP, aby zrezygnować"},
        KEY_FIELD: "chk-1:touch1:0",
    } == server.requests[0].json()


def test_api_version_is_configurable(server: LoopbackServer) -> None:
    """The Graph API version named in the path is the one configured."""
    server.answer(accepted("wamid.V"))
    with WhatsAppCloud(TOKEN, PHONE_ID, api_version="v24.0", base_url=server.url) as wa:
        wa.send(message())
    assert f"/v24.0/{PHONE_ID}/messages" == server.requests[0].path


def test_overlong_key_is_left_out(server: LoopbackServer) -> None:
    """A key longer than the field allows is not sent at all, rather than cut short."""
    server.answer(accepted("wamid.L"))
    with cloud(server) as wa:
        wa.send(message(key="k" * (KEY_FIELD_MAX + 1)))
    assert KEY_FIELD not in server.requests[0].json()


# -- errors --------------------------------------------------------------------------------------
def test_outside_window_is_permanent_for_the_message(server: LoopbackServer) -> None:
    """131047: free text outside the service window is permanent, not a revocation (WA-2)."""
    server.answer(refused("131047"))
    with cloud(server) as wa, pytest.raises(ChannelError) as caught:
        wa.send(message())
    error = caught.value
    assert (True, False, "131047") == (error.permanent, error.revoked, error.code)
    assert "details of 131047" in str(error)


def test_marketing_limit_is_transient_with_a_pause(server: LoopbackServer) -> None:
    """131049: transient (the number stays good) and the table asks for >= 24 h (CP-7)."""
    server.answer(refused("131049"))
    with cloud(server) as wa, pytest.raises(ChannelError) as caught:
        wa.send(message(payload=template()))
    assert (False, "131049") == (caught.value.permanent, caught.value.code)
    retry_after = WHATSAPP_ERRORS["131049"].retry_after
    assert retry_after is not None
    assert retry_after >= timedelta(hours=24)


def test_template_for_another_number_is_refused(server: LoopbackServer) -> None:
    """A template addressed to a different number never leaves: permanent, no request."""
    with cloud(server) as wa, pytest.raises(ChannelError) as caught:
        wa.send(message(payload=template(), to="+48 600 000 000"))
    assert (True, "invalid_message") == (caught.value.permanent, caught.value.code)
    assert [] == server.requests


@pytest.mark.parametrize(
    ("text", "to"),
    [("x" * 4097, TO), ("   ", TO), ("hello", "+48 12")],
)
def test_unsendable_text_is_permanent(server: LoopbackServer, text: str, to: str) -> None:
    """Text the builder refuses (too long, blank, bad number) fails for good, no request."""
    with cloud(server) as wa, pytest.raises(ChannelError) as caught:
        wa.send(message(text=text, to=to))
    assert (True, "invalid_message") == (caught.value.permanent, caught.value.code)
    assert [] == server.requests


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"access_token": ""}, "access_token"),
        ({"access_token": "EAAG\nsecret"}, "Authorization must be printable"),
        ({"phone_number_id": "+48601234567"}, "phone_number_id"),
        ({"api_version": "23"}, "api_version"),
        ({"timeout": -1}, "timeout"),
        ({"base_url": "graph.facebook.com"}, "base_url"),
    ],
)
def test_bad_settings_are_refused(options: Mapping[str, object], fragment: str) -> None:
    """Each bad setting raises InvalidInputError naming it."""
    settings: dict[str, object] = {"access_token": TOKEN, "phone_number_id": PHONE_ID, **options}
    with pytest.raises(InvalidInputError, match=fragment) as caught:
        WhatsAppCloud(**settings)  # type: ignore[arg-type]
    assert "secret" not in str(caught.value)  # a credential is never echoed


# -- Meta's schemas --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def meta_schemas() -> dict[str, Any]:
    """``components.schemas`` of Meta's OpenAPI file (skips when the file is not there)."""
    schemas: dict[str, Any] = meta_spec()["components"]["schemas"]
    return schemas


def test_template_requests_match_metas_schema(
    server: LoopbackServer, meta_schemas: dict[str, Any]
) -> None:
    """What the adapter posts for templates (positional, named, money, URL button) is a
    valid ``TemplateMessage`` (rules.md §3.1)."""
    named = whatsapp_template_payload(
        TO, "cart_remind_named", "en_US", body={"first_name": "Anna", "total": "€ 12"}
    )
    server.answer(accepted("wamid.1"), accepted("wamid.2"))
    with cloud(server) as wa:
        wa.send(message(payload=template()))
        wa.send(message(key="chk-1:touch2:0", payload=named))
    for request in server.requests:
        assert [] == schema_problems(meta_schemas, "TemplateMessage", request.json())


def test_text_requests_match_metas_schema(
    server: LoopbackServer, meta_schemas: dict[str, Any]
) -> None:
    """A free-form reply has the common message properties and a valid text object.

    Meta's ``TextMessage`` forbids every property but ``type`` and ``text`` inside an
    ``allOf``, so it refuses all real messages, its own examples included; the check
    uses ``BaseMessageProperties`` for the envelope and ``TextMessage_1`` for ``text``.
    """
    server.answer(accepted("wamid.3"))
    with cloud(server) as wa:
        wa.send(message(text="Tak, koszyk nadal czeka: https://shop.example/r/1"))
    body = server.requests[0].json()
    assert [] == schema_problems(meta_schemas, "BaseMessageProperties", body)
    assert [] == schema_problems(meta_schemas, "TextMessage_1", body["text"])


def test_scripted_answers_match_metas_schema(meta_schemas: dict[str, Any]) -> None:
    """The fake answers these tests rely on have the shapes Meta documents."""
    assert [] == schema_problems(meta_schemas, "MessageResponse", accepted("wamid.X").body)
    assert [] == schema_problems(meta_schemas, "ErrorResponse", refused("131026").body)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda p: p["template"]["language"].pop("policy"), "template/language"),
        (lambda p: p["template"]["components"][1]["parameters"][1].pop("currency"), "currency"),
        (lambda p: p["template"]["components"][2].update(index="x"), "index"),
        (lambda p: p.update(to=48601234567), "to"),
    ],
)
def test_schema_check_catches_broken_payloads(
    meta_schemas: dict[str, Any], change: Any, where: str
) -> None:
    """The check is not a formality: each breakage is reported where it is."""
    broken = template()
    change(broken)
    problems = schema_problems(meta_schemas, "TemplateMessage", broken)
    assert any(where in problem for problem in problems), problems
