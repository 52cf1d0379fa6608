"""Twilio SMS adapter against a loopback server (rules.md §10 PW-2; SEAMS 4, at most once)."""

from __future__ import annotations

import base64
import importlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from recoverykit.channels.errors import OUTCOME_UNKNOWN, TWILIO_ERRORS
from recoverykit.channels.twilio import KEY_PARAMETER, TwilioSMS, with_key
from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import ChannelError, InvalidInputError
from recoverykit.protocols import ChannelAdapter, OutboxStatus
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore
from recoverykit.testing.channel_contract import ChannelContract, LoopbackServer, Recorded, Reply
from recoverykit.testing.fakes import FakeClock
from recoverykit.values.model import Channel
from tests.engine_helpers import T0 as ENGINE_T0
from tests.engine_helpers import checkout, customer, grant

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "auth-token-0123"
SERVICE = "MG" + "fedcba9876543210" * 2
API_KEY = "SK" + "00112233445566778899aabbccddeeff"
CALLBACK = "https://shop.example/hooks/twilio"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def accepted(sid: str) -> Reply:
    """Twilio's 201 for a created message (the fields the adapter may read)."""
    return Reply(
        201,
        {"sid": sid, "status": "queued", "error_code": None, "error_message": None, "to": "+1"},
    )


def refused(code: str) -> Reply:
    """Twilio's error body for a refused create request."""
    return Reply(
        400,
        {
            "code": int(code),
            "message": f"refused with {code}",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": 400,
        },
    )


LINK_TEXT = "Your cart: https://shop.example/r/1"


def message(key: str = "chk-1:touch1:0", text: str = LINK_TEXT) -> SendMessage:
    return SendMessage(
        idempotency_key=key,
        checkout_id="chk-1",
        customer_id="cus-1",
        channel=Channel.SMS,
        to="+14155550123",
        kind=MessageKind.TOUCH,
        key="remind",
        text=text,
        locale="en",
        touch=1,
    )


class TestTwilioContract(ChannelContract):
    channel = Channel.SMS
    error_table = TWILIO_ERRORS
    address = "+14155550123"

    def make_adapter(self, base_url: str, *, timeout: float) -> ChannelAdapter:
        return TwilioSMS(
            SID,
            TOKEN,
            from_number="+14155550100",
            status_callback=CALLBACK,
            base_url=base_url,
            timeout=timeout,
        )

    def accepted(self, provider_id: str) -> Reply:
        return accepted(provider_id)

    def refused(self, code: str) -> Reply:
        return refused(code)

    def key_sent(self, request: Recorded) -> str | None:
        query = parse_qs(urlsplit(request.form()["StatusCallback"]).query)
        return query.get(KEY_PARAMETER, [None])[0]


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as made:
        yield made


def twilio(server: LoopbackServer, *, status_callback: str | None = None) -> TwilioSMS:
    return TwilioSMS(
        SID,
        TOKEN,
        from_number="+14155550100",
        status_callback=status_callback,
        base_url=server.url,
        timeout=2.0,
        clock=FakeClock(T0),
    )


def test_request_is_the_messages_api_form(server: LoopbackServer) -> None:
    """One form POST to /Accounts/{sid}/Messages.json, basic auth, To/From/Body and the key."""
    server.answer(accepted("SM1"))
    with twilio(server, status_callback=CALLBACK + "?site=us") as sms:
        receipt = sms.send(message())
    assert "SM1" == receipt.provider_id
    assert T0 == receipt.accepted_at
    (request,) = server.requests
    assert ("POST", f"/Accounts/{SID}/Messages.json") == (request.method, request.path)
    assert "application/x-www-form-urlencoded" == request.header("content-type")
    expected_auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert expected_auth == request.header("authorization")
    assert {
        "To": "+14155550123",
        "From": "+14155550100",
        "Body": LINK_TEXT,
        "StatusCallback": f"{CALLBACK}?site=us&{KEY_PARAMETER}=chk-1%3Atouch1%3A0",
    } == request.form()


def test_messaging_service_api_key_and_validity(server: LoopbackServer) -> None:
    """A messaging service replaces From; an API key authenticates; the validity period is sent."""
    server.answer(accepted("SM2"))
    sms = TwilioSMS(
        SID,
        "key-secret",
        messaging_service_sid=SERVICE,
        api_key=API_KEY,
        validity_period=timedelta(hours=1),
        base_url=server.url,
    )
    with sms:
        sms.send(message())
    (request,) = server.requests
    form = request.form()
    assert SERVICE == form["MessagingServiceSid"]
    assert "From" not in form
    assert "StatusCallback" not in form
    assert "3600" == form["ValidityPeriod"]
    expected_auth = "Basic " + base64.b64encode(f"{API_KEY}:key-secret".encode()).decode()
    assert expected_auth == request.header("authorization")


def test_unicode_text_arrives_unchanged(server: LoopbackServer) -> None:
    """The body is form-encoded as UTF-8: Polish, Cyrillic and '&' survive the trip."""
    server.answer(accepted("SM3"))
    text = "Koszyk czeka — zażółć gęślą jaźń & корзина"
    with twilio(server) as sms:
        sms.send(message(text=text))
    assert text == server.requests[0].form()["Body"]


def test_stop_is_a_revocation(server: LoopbackServer) -> None:
    """21610 (the recipient texted STOP) is permanent and revokes consent (PW-2)."""
    server.answer(refused("21610"))
    with twilio(server) as sms, pytest.raises(ChannelError) as caught:
        sms.send(message())
    error = caught.value
    assert (True, True, "21610") == (error.permanent, error.revoked, error.code)
    assert "refused with 21610" in str(error)


def test_failed_status_in_accepted_answer_is_mapped(server: LoopbackServer) -> None:
    """A create answer already marked failed with 30007 raises that code's meaning."""
    server.answer(
        Reply(201, {"sid": "SM9", "status": "failed", "error_code": 30007, "error_message": "x"})
    )
    with twilio(server) as sms, pytest.raises(ChannelError) as caught:
        sms.send(message())
    assert (True, False, "30007") == (
        caught.value.permanent,
        caught.value.revoked,
        caught.value.code,
    )


def test_refusal_without_a_code_is_transient(server: LoopbackServer) -> None:
    """A 4xx whose body names no Twilio code is retried, never taken as permanent."""
    server.answer(Reply(404, raw=b"<html>not found</html>", headers={"Content-Type": "text/html"}))
    with twilio(server) as sms, pytest.raises(ChannelError) as caught:
        sms.send(message())
    assert (False, "http_404") == (caught.value.permanent, caught.value.code)
    assert "not found" in str(caught.value)


def test_accepted_without_a_sid_is_outcome_unknown(server: LoopbackServer) -> None:
    """A 2xx that names no SID may still have queued the message: outcome_unknown, not a
    plain failure and not a receipt."""
    server.answer(Reply(201, raw=b""))
    with twilio(server) as sms, pytest.raises(ChannelError) as caught:
        sms.send(message())
    assert (False, OUTCOME_UNKNOWN) == (caught.value.permanent, caught.value.code)


def test_with_key_replaces_an_earlier_key() -> None:
    """The key parameter appears once, after the URL's own query, fragment kept."""
    url = with_key(f"https://h.example/t?a=1&{KEY_PARAMETER}=old#rc=2", "new")
    assert f"https://h.example/t?a=1&{KEY_PARAMETER}=new#rc=2" == url


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"account_sid": "AC123"}, "account_sid"),
        ({"auth_token": ""}, "auth_token"),
        ({"auth_token": "tok3n\n"}, "secret must be printable"),
        ({"from_number": None}, "exactly one sender"),
        ({"messaging_service_sid": SERVICE}, "exactly one sender"),
        ({"from_number": None, "messaging_service_sid": "MG1"}, "messaging_service_sid"),
        ({"api_key": "SK1"}, "api_key"),
        ({"status_callback": "ftp://x"}, "status_callback"),
        ({"validity_period": timedelta(hours=11)}, "validity_period"),
        ({"validity_period": timedelta(0)}, "validity_period"),
        ({"timeout": 0}, "timeout"),
        ({"base_url": "api.twilio.com"}, "base_url"),
    ],
)
def test_bad_settings_are_refused(options: dict[str, object], fragment: str) -> None:
    """Each bad setting raises InvalidInputError naming the setting; nothing is built."""
    settings: dict[str, object] = {
        "account_sid": SID,
        "auth_token": TOKEN,
        "from_number": "+14155550100",
        **options,
    }
    with pytest.raises(InvalidInputError, match=fragment):
        TwilioSMS(**settings)  # type: ignore[arg-type]


def test_import_without_httpx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without httpx, importing an adapter says which extra to install."""
    monkeypatch.setitem(sys.modules, "httpx", None)
    for name in ("recoverykit.channels._http", "recoverykit.channels.twilio"):
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'recoverykit\[channels\]'"):
        importlib.import_module("recoverykit.channels.twilio")


# -- with the runner -------------------------------------------------------------------------------
def run_first_touch(server: LoopbackServer) -> tuple[MemoryStore, TwilioSMS]:
    """A Polish customer with SMS consent abandons a checkout; the runner sends touch 1."""
    who = customer()
    clock = FakeClock(ENGINE_T0)
    store = MemoryStore()
    sms = TwilioSMS(SID, TOKEN, from_number="+48500100200", base_url=server.url, clock=clock)
    runner = Runner(RecoveryPolicy(store_name="Northwind"), store, {Channel.SMS: sms}, clock)
    with store.transaction() as tx:
        tx.append_consent(grant(who, Channel.SMS))
    runner.handle(CheckoutAbandoned(checkout(who), ENGINE_T0))
    due = store.next_due()
    assert due is not None
    clock.set(due)
    runner.run_due()
    return store, sms


def test_runner_records_the_sid_of_an_accepted_touch(server: LoopbackServer) -> None:
    """Through the runner, an accepted touch is marked sent with Twilio's SID."""
    server.answer(accepted("SM-runner"))
    store, sms = run_first_touch(server)
    with sms:
        sent = store.outbox(status=OutboxStatus.SENT)
    assert ["SM-runner"] == [entry.provider_id for entry in sent]
    assert "+48601234567" == server.requests[0].form()["To"]


def test_runner_turns_21610_into_an_opt_out(server: LoopbackServer) -> None:
    """Through the runner, Twilio's 21610 revokes SMS consent and ends the recovery (PW-2)."""
    server.answer(refused("21610"))
    store, sms = run_first_touch(server)
    with sms, store.transaction() as tx:
        claimed = tx.load("chk-1")
        ledger = tx.ledger("c1")
    assert claimed is not None
    assert "opted_out" == claimed.state.finish_reason
    assert ledger.opted_out("c1", Channel.SMS, ENGINE_T0 + timedelta(days=1))
