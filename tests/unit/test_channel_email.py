"""The SMTP e-mail adapter against a loopback aiosmtpd server that records what it gets."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from recoverykit.channels.email import (
    SMTPEmail,
    UnsubscribeLinks,
    message_id,
)
from recoverykit.channels.errors import NOT_SENT, OUTCOME_UNKNOWN
from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import ChannelError, InvalidInputError
from recoverykit.protocols import ChannelAdapter, OutboxStatus
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore
from recoverykit.testing.fakes import FakeClock
from recoverykit.values.model import Channel
from recoverykit.webhooks import OneClickUnsubscribe, WebhookRequest
from tests.engine_helpers import T0 as ENGINE_T0
from tests.engine_helpers import checkout, customer, grant

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
SECRET = b"unsubscribe-secret-0123456789abcdef"
LINKS = UnsubscribeLinks({"a": SECRET}, "https://shop.example/unsubscribe/")
TEXT = (
    "Teapot Shop: your checkout is saved\n"
    "\n"
    "Hi Sam,\n"
    "\n"
    "Your items are kept in your checkout <3 & more:\n"
    "https://shop.example/r/abc?utm_source=recoverykit&utm_medium=email.\n"
    "\n"
    "The Teapot Shop team"
)


# -- the loopback server ----------------------------------------------------------------------
@attrs.define
class Received:
    """One message as the server took it, with the client's port (one per connection)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer_port: int

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Recorder:
    """An aiosmtpd handler that records messages and answers as a test scripts it."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        #: RCPT address -> the reply to give instead of accepting it.
        self.rcpt_replies: dict[str, str] = {}
        #: The reply to the end of DATA instead of 250 (once per entry, in order).
        self.data_replies: list[str] = []
        #: Hang up, without a word, when the message body has arrived.
        self.hang_up_after_data = False
        #: Answer the next MAIL with 421 and hang up (an idle connection timed out).
        self.close_on_next_mail = False

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.close_on_next_mail:
            self.close_on_next_mail = False
            server.transport.close()
            return "421 4.4.2 Idle too long, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hang_up_after_data:
            server.transport.abort()
            return "250 never heard"
        if self.data_replies:
            return self.data_replies.pop(0)
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                     session.peer[1])
        )  # fmt: skip
        return "250 2.0.0 Queued"


class LoopbackController(Controller):
    """A Controller that listens on a free port chosen by the system."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@contextmanager
def running(recorder: Recorder, **options: Any) -> Iterator[LoopbackController]:
    """A loopback relay for the duration of the block, always stopped afterwards."""
    controller = LoopbackController(
        recorder, hostname="127.0.0.1", port=0, ready_timeout=5, **options
    )
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def relay() -> Iterator[tuple[Recorder, LoopbackController]]:
    recorder = Recorder()
    with running(recorder, enable_SMTPUTF8=True) as controller:
        yield recorder, controller


def adapter(controller: Controller, **options: Any) -> SMTPEmail:
    settings: dict[str, Any] = {
        "sender": "Teapot Shop <hello@shop.example>",
        "unsubscribe": LINKS,
        "timeout": 5,
        "local_hostname": "client.test",
        "clock": FakeClock(NOW),
    }
    settings.update(options)
    return SMTPEmail(controller.hostname, controller.port, **settings)


def local(port: int, *, timeout: float) -> SMTPEmail:
    """An adapter for a port on this machine where no test relay runs."""
    return SMTPEmail(
        "127.0.0.1", port, sender="hello@shop.example", unsubscribe=LINKS, timeout=timeout,
        local_hostname="client.test",
    )  # fmt: skip


def message(**changes: Any) -> SendMessage:
    base = SendMessage(
        idempotency_key="co-1:touch1:0",
        checkout_id="co-1",
        customer_id="cust-1",
        channel=Channel.EMAIL,
        to="sam@example.com",
        kind=MessageKind.TOUCH,
        key="remind",
        text=TEXT,
        locale="en",
        touch=1,
        subject="Your checkout at Teapot Shop is saved",
    )
    return attrs.evolve(base, **changes)


def parts(parsed: EmailMessage) -> tuple[str, str]:
    plain = parsed.get_body(preferencelist=("plain",))
    rich = parsed.get_body(preferencelist=("html",))
    assert plain is not None
    assert rich is not None
    # On the wire every line ends in CRLF; compare with the text as written.
    return (
        plain.get_content().replace("\r\n", "\n"),
        rich.get_content().replace("\r\n", "\n"),
    )


# -- what arrives ----------------------------------------------------------------------------
def test_delivers_multipart_text_and_html(relay: tuple[Recorder, Controller]) -> None:
    """The relay gets one multipart/alternative e-mail: the text as written and escaped HTML."""
    recorder, controller = relay
    with adapter(controller) as smtp:
        receipt = smtp.send(message())
    assert [got.rcpt_tos for got in recorder.received] == [["sam@example.com"]]
    got = recorder.received[0]
    assert got.mail_from == "hello@shop.example"
    parsed = got.message
    assert parsed.get_content_type() == "multipart/alternative"
    plain, rich = parts(parsed)
    assert plain.startswith(TEXT)
    assert "&lt;3 &amp; more:" in rich
    assert "<3 & more" not in rich
    assert (
        '<a href="https://shop.example/r/abc?utm_source=recoverykit&amp;utm_medium=email">' in rich
    )
    assert "utm_medium=email</a>." in rich
    assert receipt.accepted_at == NOW
    assert receipt.provider_id == message_id("co-1:touch1:0", "shop.example")


def test_headers_carry_the_one_click_unsubscribe(relay: tuple[Recorder, Controller]) -> None:
    """List-Unsubscribe holds the signed https link (and the mailto), unencoded; the Post
    header says List-Unsubscribe=One-Click (RFC 8058, PW-5)."""
    recorder, controller = relay
    with adapter(controller, unsubscribe_mailto="unsubscribe@shop.example") as smtp:
        smtp.send(message())
    raw = recorder.received[0].data
    parsed = recorder.received[0].message
    url = LINKS.url("cust-1", "sam@example.com", now=NOW)
    assert parsed["List-Unsubscribe"] == (
        f"<{url}>, <mailto:unsubscribe@shop.example?subject=unsubscribe>"
    )
    assert f"List-Unsubscribe: <{url}>,".encode() in raw
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["From"] == "Teapot Shop <hello@shop.example>"
    assert parsed["To"] == "sam@example.com"
    assert parsed["Subject"] == "Your checkout at Teapot Shop is saved"
    assert parsed["Date"].datetime == NOW
    assert LINKS.verify(url.rsplit("/", 1)[1], now=NOW) == ("cust-1", "sam@example.com")


def test_body_shows_the_unsubscribe_link_and_footer(relay: tuple[Recorder, Controller]) -> None:
    """Both parts end with the same link as the header, the language's label, and the footer."""
    recorder, controller = relay
    with adapter(controller, footer="Teapot Shop Ltd\n1 Kettle Lane, Leeds") as smtp:
        smtp.send(message(locale="pl_PL"))
    plain, rich = parts(recorder.received[0].message)
    url = LINKS.url("cust-1", "sam@example.com", now=NOW)
    assert plain.endswith(
        "\n-- \nAby nie dostawać więcej takich wiadomości, wypisz się tutaj:\n"
        f"{url}\nTeapot Shop Ltd\n1 Kettle Lane, Leeds\n"
    )
    assert f'<a href="{url}">' in rich
    assert '<html lang="pl">' in rich
    assert "1 Kettle Lane, Leeds" in rich


def test_message_id_is_stable_per_idempotency_key(relay: tuple[Recorder, Controller]) -> None:
    """A resend of the same key carries the same Message-ID; another attempt gets another."""
    recorder, controller = relay
    with adapter(controller) as smtp:
        smtp.send(message())
        smtp.send(message())
        smtp.send(message(idempotency_key="co-1:touch1:1", attempt=1))
    ids = [got.message["Message-ID"] for got in recorder.received]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0] == "<" + message_id("co-1:touch1:0", "shop.example") + ">"
    assert ids[0].endswith("@shop.example>")


def test_connection_is_reused_between_sends(relay: tuple[Recorder, Controller]) -> None:
    """Several sends share one SMTP connection (one client port on the server's side)."""
    recorder, controller = relay
    with adapter(controller) as smtp:
        for number in range(3):
            smtp.send(message(idempotency_key=f"co-{number}:touch1:0"))
    assert len({got.peer_port for got in recorder.received}) == 1
    assert len(recorder.received) == 3


def test_non_ascii_text_and_subject_survive(relay: tuple[Recorder, Controller]) -> None:
    """Cyrillic text and subject arrive intact through 7-bit transfer encodings."""
    recorder, controller = relay
    text = "Чайная лавка: ваш заказ сохранён\n\nЗдравствуйте!\nhttps://shop.example/r/1"
    with adapter(controller) as smtp:
        smtp.send(message(text=text, subject=None, locale="ru"))
    raw = recorder.received[0].data
    assert raw.isascii()
    parsed = recorder.received[0].message
    assert parsed["Subject"] == "Чайная лавка: ваш заказ сохранён"
    plain, _rich = parts(parsed)
    assert plain.startswith(text)
    assert "Чтобы больше не получать такие письма" in plain


def test_international_address_uses_smtputf8(relay: tuple[Recorder, Controller]) -> None:
    """A non-ASCII local part travels with SMTPUTF8; a non-ASCII domain in its IDNA form."""
    recorder, controller = relay
    with adapter(controller) as smtp:
        smtp.send(message(to="анна@пример.рф"))
    assert recorder.received[0].rcpt_tos == ["анна@xn--e1afmkfd.xn--p1ai"]


def test_login_over_loopback() -> None:
    """Credentials are sent (AUTH) when given; the relay here is local, so no TLS is needed.
    A refused login is transient (code ``auth``): the recipient is not at fault."""
    recorder = Recorder()
    seen: list[tuple[str, str]] = []

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        seen.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"right", handled=False)

    with running(recorder, authenticator=check, auth_require_tls=False) as secured:
        with adapter(secured, username="shop", password="right") as smtp:
            smtp.send(message())
        with (
            adapter(secured, username="shop", password="wrong") as smtp,
            pytest.raises(ChannelError) as refused,
        ):
            smtp.send(message())
    # smtplib tries each mechanism the relay offers before it gives up.
    assert seen[0] == ("shop", "right")
    assert set(seen[1:]) == {("shop", "wrong")}
    assert len(recorder.received) == 1
    assert refused.value.code == "auth"
    assert not refused.value.permanent


# -- what goes wrong -------------------------------------------------------------------------
def test_mailbox_unavailable_is_permanent(relay: tuple[Recorder, Controller]) -> None:
    """550 to RCPT: the address can never receive it (permanent, not a revocation)."""
    recorder, controller = relay
    recorder.rcpt_replies["gone@example.com"] = "550 5.1.1 Mailbox unavailable"
    with adapter(controller) as smtp:
        with pytest.raises(ChannelError) as failed:
            smtp.send(message(to="gone@example.com"))
        smtp.send(message())
    assert failed.value.permanent
    assert not failed.value.revoked
    assert failed.value.code == "550"
    assert "Mailbox unavailable" in str(failed.value)
    # The refused transaction was reset: the next message on the same connection arrives.
    assert [got.rcpt_tos for got in recorder.received] == [["sam@example.com"]]


def test_greylisting_is_transient(relay: tuple[Recorder, Controller]) -> None:
    """A 4xx answer (greylisting, a full queue) is transient."""
    recorder, controller = relay
    recorder.rcpt_replies["sam@example.com"] = "451 4.7.1 Greylisted, try again later"
    with adapter(controller) as smtp, pytest.raises(ChannelError) as failed:
        smtp.send(message())
    assert not failed.value.permanent
    assert failed.value.code == "451"


def test_message_refused_at_end_of_data(relay: tuple[Recorder, Controller]) -> None:
    """A 5xx after the body (content refused) is permanent; a 4xx there is transient."""
    recorder, controller = relay
    recorder.data_replies = ["554 5.7.1 Message refused", "452 4.3.1 Queue full"]
    with adapter(controller) as smtp:
        with pytest.raises(ChannelError) as refused:
            smtp.send(message())
        with pytest.raises(ChannelError) as full:
            smtp.send(message())
    assert (refused.value.permanent, refused.value.code) == (True, "554")
    assert (full.value.permanent, full.value.code) == (False, "452")


def test_hang_up_after_the_body_is_outcome_unknown(relay: tuple[Recorder, Controller]) -> None:
    """A connection lost after the body went out may have delivered it: transient, and
    marked ``outcome_unknown`` so nobody mistakes it for "not sent"."""
    recorder, controller = relay
    recorder.hang_up_after_data = True
    with adapter(controller) as smtp, pytest.raises(ChannelError) as lost:
        smtp.send(message())
    assert not lost.value.permanent
    assert lost.value.code == OUTCOME_UNKNOWN


def test_idle_connection_closed_by_the_relay_is_reopened(
    relay: tuple[Recorder, Controller],
) -> None:
    """A kept connection the relay closed (421 at MAIL) is replaced once; nothing is lost."""
    recorder, controller = relay
    with adapter(controller) as smtp:
        smtp.send(message(idempotency_key="co-1:touch1:0"))
        recorder.close_on_next_mail = True
        smtp.send(message(idempotency_key="co-2:touch1:0"))
    assert len(recorder.received) == 2
    assert recorder.received[0].peer_port != recorder.received[1].peer_port


def test_refused_connection_is_not_sent() -> None:
    """Nobody listening: transient, code ``not_sent`` (safe to retry)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = local(port, timeout=2)
    with pytest.raises(ChannelError) as failed:
        smtp.send(message())
    assert not failed.value.permanent
    assert failed.value.code == NOT_SENT


def test_silent_relay_times_out_as_not_sent() -> None:
    """A relay that never greets: the timeout applies and nothing was sent."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        smtp = local(port, timeout=0.3)
        with pytest.raises(ChannelError) as failed:
            smtp.send(message())
    assert failed.value.code == NOT_SENT
    assert not failed.value.permanent


# -- what never leaves -----------------------------------------------------------------------
def test_subject_falls_back_to_the_headline() -> None:
    """Without ``subject`` the text's first line, when a blank line follows it, is the subject."""
    smtp = SMTPEmail("127.0.0.1", 25, sender="hello@shop.example", unsubscribe=LINKS)
    built = smtp.build(message(subject=None), now=NOW)
    assert built["Subject"] == "Teapot Shop: your checkout is saved"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"subject": None, "text": "No headline here, just one paragraph."}, "no subject"),
        ({"subject": None, "text": "Line one\nline two\n\nbody"}, "no subject"),
        ({"subject": "Two\nlines"}, "multi-line subject"),
        ({"subject": "   "}, "empty"),
        ({"to": "sam@example.com\r\nBcc: all@example.com"}, "cannot go to"),
        ({"to": "not-an-address"}, "cannot go to"),
        ({"channel": Channel.SMS, "to": "+447400123451"}, "e-mail only"),
    ],
)
def test_unsendable_messages_fail_permanently_before_any_connection(
    changes: dict[str, Any], fragment: str
) -> None:
    """A message that cannot become a sound e-mail is a permanent ChannelError, raised
    before connecting (the port here has no server)."""
    smtp = SMTPEmail("127.0.0.1", 9, sender="hello@shop.example", unsubscribe=LINKS)
    with pytest.raises(ChannelError, match=fragment) as failed:
        smtp.send(message(**changes))
    assert failed.value.permanent
    assert failed.value.code == "invalid_message"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"sender": "nobody"}, "sender"),
        ({"port": 0}, "port"),
        ({"timeout": 0}, "timeout"),
        ({"starttls": True, "implicit_tls": True}, "not both"),
        ({"username": "shop"}, "both username and password"),
        ({"host": "smtp.example.net", "username": "u", "password": "p"}, "clear text"),
        ({"unsubscribe": "https://shop.example/u/"}, "UnsubscribeLinks"),
        ({"unsubscribe_mailto": "désabonner@shop.example"}, "ASCII"),
        (
            {"unsubscribe": UnsubscribeLinks({"a": SECRET}, "https://bütik.example/u/")},
            "IDNA",
        ),
    ],
)
def test_configuration_mistakes_are_named(options: dict[str, Any], fragment: str) -> None:
    """Bad settings raise InvalidInputError naming the setting and the fix."""
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 25,
        "sender": "hello@shop.example",
        "unsubscribe": LINKS,
    }
    settings.update(options)
    host, port = settings.pop("host"), settings.pop("port")
    with pytest.raises(InvalidInputError, match=fragment):
        SMTPEmail(host, port, **settings)


def test_is_a_channel_adapter_that_hides_its_password() -> None:
    """SMTPEmail satisfies the ChannelAdapter protocol and keeps the password out of repr."""
    smtp = SMTPEmail(
        "127.0.0.1", 25, sender="hello@shop.example", unsubscribe=LINKS,
        username="shop", password="hunter2-secret",
    )  # fmt: skip
    assert isinstance(smtp, ChannelAdapter)
    assert smtp.channel is Channel.EMAIL
    assert "hunter2" not in repr(smtp)
    assert "hunter2" not in repr(LINKS)
    assert SECRET.decode() not in repr(LINKS)


def test_date_header_is_the_clock_time_in_utc() -> None:
    """Date comes from the adapter's clock (never the machine's), written in UTC."""
    smtp = SMTPEmail("127.0.0.1", 25, sender="hello@shop.example", unsubscribe=LINKS)
    later = NOW + timedelta(hours=5, minutes=3)
    built = smtp.build(message(), now=later)
    assert built["Date"].datetime == later
    assert str(built["Date"]).endswith("+0000")


# -- with the runner and the one-click endpoint ----------------------------------------------
def test_runner_mails_a_touch_and_one_click_revokes_it(
    relay: tuple[Recorder, Controller],
) -> None:
    """End to end: the runner e-mails touch 1 (subject from the pack's headline, marked
    sent under its Message-ID); the one-click POST to the link in its header withdraws
    e-mail consent and ends the recovery (PW-5)."""
    recorder, controller = relay
    who = customer(phone=None, locale="en", timezone="Europe/Warsaw")
    clock = FakeClock(ENGINE_T0)
    store = MemoryStore()
    policy = RecoveryPolicy(store_name="Northwind", channels=(Channel.EMAIL,))
    with adapter(controller, clock=clock) as smtp:
        runner = Runner(policy, store, {Channel.EMAIL: smtp}, clock)
        with store.transaction() as tx:
            tx.append_consent(grant(who, Channel.EMAIL))
        runner.handle(CheckoutAbandoned(checkout(who), ENGINE_T0))
        due = store.next_due()
        assert due is not None
        clock.set(due)
        runner.run_due()
    [got] = recorder.received
    parsed = got.message
    assert parsed["Subject"] == "Northwind: your checkout is saved"
    [sent] = store.outbox(status=OutboxStatus.SENT)
    assert f"<{sent.provider_id}>" == parsed["Message-ID"]

    link = parsed["List-Unsubscribe"].split(">")[0].lstrip("<")
    post = WebhookRequest(
        "POST", link, {"Content-Type": "application/x-www-form-urlencoded"},
        b"List-Unsubscribe=One-Click",
    )  # fmt: skip
    clock.advance(timedelta(hours=2))
    [request] = OneClickUnsubscribe(LINKS).parse(post, now=clock.now())
    runner.receive(request)
    with store.transaction() as tx:
        claimed = tx.load("chk-1")
        ledger = tx.ledger("c1")
    assert ledger.opted_out("c1", Channel.EMAIL, clock.now())
    assert claimed is not None
    assert "opted_out" == claimed.state.finish_reason
