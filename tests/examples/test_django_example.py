"""The Django example, driven through Django's own test client and ``call_command``.

Django configures itself once per process, so the settings module is set only for
this file's tests (and restored after them) and Django's test environment is torn
down at the end; nothing else in the suite imports Django.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

django = pytest.importorskip("django", reason="the examples extra is not installed")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

from recoverykit import Channel, Purpose  # noqa: E402
from recoverykit.protocols import OutboxStatus  # noqa: E402
from recoverykit.testing import FakeChannel, FakeClock  # noqa: E402
from recoverykit.webhooks import StartLinks  # noqa: E402
from tests.examples.shop import (  # noqa: E402
    META_SECRET,
    META_VERIFY,
    PROVIDER_ENV,
    START_KEY,
    TELEGRAM_HEADER,
    TELEGRAM_SECRET,
    TWILIO_TOKEN,
    WHATSAPP_EMPTY,
    adapters,
    everything,
    examples_importable,
    fake_channels,
    form,
    meta_signature,
    open_recovery,
    opted_out_of_sms,
    start_clock,
    telegram_update,
    twilio_signature,
    twilio_sms,
    wired,
)
from tests.shop_payloads import (  # noqa: E402
    SHOPIFY_SECRET,
    shopify_checkout,
    shopify_order,
    shopify_request,
)

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def project() -> Iterator[Any]:
    """The example project, set up as ``manage.py`` would, for this module only."""
    with examples_importable(), pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_SETTINGS_MODULE", "django_store.settings")
        django.setup()
        setup_test_environment()
        try:
            from django_store.recovery import runtime

            yield runtime
        finally:
            teardown_test_environment()


def _config(db: Path, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        **settings.RECOVERYKIT,
        "DB": str(db),
        "PUBLIC_URL": "",
        "CONSOLE_CHANNELS": False,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "META_APP_SECRET": META_SECRET,
        "META_VERIFY_TOKEN": META_VERIFY,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_START_KEY": START_KEY,
        "TWILIO_ACCOUNT_SID": "",
        "WHATSAPP_ACCESS_TOKEN": "",
        "TELEGRAM_BOT_TOKEN": "",
        "SHOPIFY_SECRET": SHOPIFY_SECRET,
        "SHOPIFY_PREVIOUS_SECRET": "",
    }
    return {**config, **changes}


@attrs.frozen
class Shop:
    runtime: Any
    clock: FakeClock
    channels: dict[Channel, FakeChannel]
    #: CSRF checks on, as in production: the webhook views must be exempt on their own.
    client: Client = attrs.field(factory=lambda: Client(enforce_csrf_checks=True))

    @property
    def runner(self) -> Any:
        return self.runtime.current().runner


@pytest.fixture
def shop(project: Any, tmp_path: Path) -> Iterator[Shop]:
    """The project on a fresh SQLite file, with a fake clock and fake channels installed."""
    config = _config(tmp_path / "shop.sqlite3")
    clock = start_clock()
    channels = fake_channels(clock)
    with override_settings(RECOVERYKIT=config):
        project.install(project.build(config, clock=clock, channels=channels))
        try:
            yield Shop(project, clock, channels)
        finally:
            project.install(None)


def _post_twilio(shop: Shop, params: dict[str, str], signature: str) -> Any:
    return shop.client.post(
        "/webhooks/twilio/sms/",
        data=form(params),
        content_type=FORM,
        headers={"X-Twilio-Signature": signature},
    )


def test_signed_stop_revokes_consent_and_confirms_once(shop: Shop) -> None:
    """A STOP over a signed Twilio webhook revokes SMS consent and sends one confirmation;
    the same webhook delivered again changes nothing."""
    anna = open_recovery(shop.runner)
    params = twilio_sms("STOP")
    signature = twilio_signature("http://testserver/webhooks/twilio/sms/", params)

    response = _post_twilio(shop, params, signature)

    assert 200 == response.status_code
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response></Response>" in response.content
    assert opted_out_of_sms(shop.runner, anna)
    sent = shop.channels[Channel.SMS].sent
    assert ["optout_confirm"] == [message.key for message in sent]
    assert 1 == len(shop.runner.store.outbox(status=OutboxStatus.SENT))

    again = _post_twilio(shop, params, signature)

    assert 200 == again.status_code
    assert 1 == len(shop.channels[Channel.SMS].sent)


def test_tampered_or_unsigned_twilio_webhook_is_refused_and_changes_nothing(shop: Shop) -> None:
    """A body altered after signing, or no signature at all, gets 403 and no change."""
    anna = open_recovery(shop.runner)
    before = everything(shop.runner.store, anna.id)
    signed = twilio_sms("Where is my parcel?")
    signature = twilio_signature("http://testserver/webhooks/twilio/sms/", signed)

    tampered = _post_twilio(shop, {**signed, "Body": "STOP"}, signature)
    unsigned = shop.client.post("/webhooks/twilio/sms/", data=form(signed), content_type=FORM)

    assert (403, 403) == (tampered.status_code, unsigned.status_code)
    assert before == everything(shop.runner.store, anna.id)
    assert [] == shop.channels[Channel.SMS].attempts


def test_public_url_setting_restores_the_url_a_proxy_hid(shop: Shop, tmp_path: Path) -> None:
    """Behind a proxy the provider signs the public https URL; PUBLIC_URL makes it verify."""
    config = _config(tmp_path / "proxied.sqlite3", PUBLIC_URL="https://shop.example/")
    params = twilio_sms("Hello")
    public = twilio_signature("https://shop.example/webhooks/twilio/status/", params)
    with override_settings(RECOVERYKIT=config):
        shop.runtime.install(shop.runtime.build(config, clock=shop.clock, channels=shop.channels))
        ok = shop.client.post(
            "/webhooks/twilio/status/",
            data=form(params),
            content_type=FORM,
            headers={"X-Twilio-Signature": public},
        )
    assert 200 == ok.status_code


def test_tick_command_sends_the_due_touch_through_the_channel(shop: Shop) -> None:
    """``recoverykit_tick`` sends nothing early, then the first touch once it is due."""
    open_recovery(shop.runner)
    early = io.StringIO()
    call_command("recoverykit_tick", stdout=early)
    shop.clock.advance(timedelta(hours=2))
    due = io.StringIO()
    call_command("recoverykit_tick", stdout=due)

    assert "sent 0 message(s)" in early.getvalue()
    assert "sent 1 message(s)" in due.getvalue()
    touches = [m.touch for m in shop.channels[Channel.SMS].sent]
    assert [1] == touches


def test_whatsapp_handshake_answers_only_the_right_verify_token(shop: Shop) -> None:
    """The GET handshake echoes hub.challenge for the configured token, else 403."""
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    right = shop.client.get("/webhooks/whatsapp/", {**query, "hub.verify_token": META_VERIFY})
    wrong = shop.client.get("/webhooks/whatsapp/", {**query, "hub.verify_token": "guess"})

    assert (200, b"1158201444") == (right.status_code, right.content)
    assert 403 == wrong.status_code
    assert b"1158201444" not in wrong.content


def test_whatsapp_post_is_verified_over_the_raw_body(shop: Shop) -> None:
    """A signed WhatsApp event is accepted; the same body under another secret gets 403."""
    anna = open_recovery(shop.runner)
    before = everything(shop.runner.store, anna.id)

    def post(signature: str) -> Any:
        return shop.client.post(
            "/webhooks/whatsapp/",
            data=WHATSAPP_EMPTY,
            content_type="application/json",
            headers={"X-Hub-Signature-256": signature},
        )

    assert 403 == post(meta_signature(WHATSAPP_EMPTY, "another-app-secret-entirely")).status_code
    assert 200 == post(meta_signature(WHATSAPP_EMPTY)).status_code
    assert before == everything(shop.runner.store, anna.id)


def test_telegram_needs_the_secret_token_header(shop: Shop) -> None:
    """A Telegram update without the secret token set at ``setWebhook`` gets 403."""
    body = telegram_update("hello", at=shop.clock.now())

    def post(headers: dict[str, str]) -> Any:
        return shop.client.post(
            "/webhooks/telegram/", data=body, content_type="application/json", headers=headers
        )

    assert 403 == post({}).status_code
    assert 403 == post({TELEGRAM_HEADER: "wrong"}).status_code
    assert 200 == post({TELEGRAM_HEADER: TELEGRAM_SECRET}).status_code


def test_signed_start_link_binds_the_chat_and_records_consent(shop: Shop) -> None:
    """``/start`` with a start link the shop signed binds the chat to the customer and
    grants Telegram consent; a link signed with another key binds nothing (it reads as an
    ordinary message, answered 200 so Telegram does not retry it)."""
    anna = open_recovery(shop.runner)
    now = shop.clock.now()
    forged = StartLinks({"k": "a-key-the-shop-never-had-0123"}).payload(anna.id, now=now)
    genuine = StartLinks({"k": START_KEY}).payload(anna.id, now=now)

    def start(payload: str, chat_id: int) -> Any:
        return shop.client.post(
            "/webhooks/telegram/",
            data=telegram_update(f"/start {payload}", chat_id=chat_id, at=now),
            content_type="application/json",
            headers={TELEGRAM_HEADER: TELEGRAM_SECRET},
        )

    answers = (start(forged, 1111).status_code, start(genuine, 4242).status_code)

    assert (200, 200) == answers
    with shop.runner.store.transaction() as tx:
        assert (None, anna.id) == (
            tx.customer_for(Channel.TELEGRAM, "1111"),
            tx.customer_for(Channel.TELEGRAM, "4242"),
        )
        ledger = tx.ledger(anna.id)
    assert ledger.allows(anna.id, Channel.TELEGRAM, Purpose.RECOVERY, now, address="4242")


def test_a_provider_without_a_secret_is_switched_off(shop: Shop, tmp_path: Path) -> None:
    """With no secret configured a provider's webhook answers 404, never "accept all"."""
    config = _config(tmp_path / "off.sqlite3", TWILIO_AUTH_TOKEN="", TELEGRAM_SECRET_TOKEN="")
    with override_settings(RECOVERYKIT=config):
        twilio = shop.client.post("/webhooks/twilio/sms/", data=b"", content_type=FORM)
        telegram = shop.client.post("/webhooks/telegram/", data=b"{}", content_type=FORM)
    assert (404, 404) == (twilio.status_code, telegram.status_code)


def test_settings_wire_providers_and_console_only_when_allowed(
    project: Any, tmp_path: Path
) -> None:
    """Built from settings alone: a provider adapter wherever credentials are set, console
    stand-ins for the rest only with CONSOLE_CHANNELS (production must never count a
    printed message as sent)."""
    for console in (True, False):
        config = _config(tmp_path / f"{console}.sqlite3", CONSOLE_CHANNELS=console, **PROVIDER_ENV)
        expected = wired(console=bool(console))
        with override_settings(RECOVERYKIT=config):
            assert expected == adapters(project.current().runner)
            assert Path(config["DB"]).exists()
    project.install(None)


# -- Shopify webhooks, end to end (issue 21) ----------------------------------------------------
def _post_shopify(shop: Shop, topic: str, payload: dict[str, Any], **kw: Any) -> Any:
    request = shopify_request(
        topic, payload, webhook_id=f"{topic}-{shop.clock.now().timestamp()}", **kw
    )
    return shop.client.post(
        "/webhooks/shopify/",
        data=request.body,
        content_type="application/json",
        headers={name: value for name, value in request.headers.items() if name.startswith("x-")},
    )


def test_shopify_checkout_abandoned_at_payment_then_ordered(shop: Shop) -> None:
    """Signed Shopify webhooks through Django: the checkout left at payment gets touch 1
    after the idle time (detector, runner, channel); the order a minute later stops the rest."""
    left_at = shop.clock.now()
    created = _post_shopify(
        shop, "checkouts/create", shopify_checkout(updated_at=left_at.isoformat())
    )
    assert 200 == created.status_code

    shop.clock.advance(timedelta(minutes=29))
    call_command("recoverykit_tick", stdout=io.StringIO())
    assert [] == list(shop.runner.store.states())
    shop.clock.set(left_at + timedelta(minutes=30))
    call_command("recoverykit_tick", stdout=io.StringIO())
    shop.clock.set(left_at + timedelta(minutes=61))
    out = io.StringIO()
    call_command("recoverykit_tick", stdout=out)

    assert "sent 1 message(s)" in out.getvalue()
    assert [("remind", 1)] == [(m.key, m.touch) for m in shop.channels[Channel.SMS].sent]

    shop.clock.advance(timedelta(minutes=1))
    ordered = _post_shopify(shop, "orders/create", shopify_order(at=shop.clock.now().isoformat()))
    assert 200 == ordered.status_code
    for _ in range(6):
        shop.clock.advance(timedelta(hours=12))
        call_command("recoverykit_tick", stdout=io.StringIO())
    assert 1 == len(shop.channels[Channel.SMS].sent)


def test_forged_shopify_webhook_is_refused_and_changes_nothing(shop: Shop) -> None:
    """A webhook signed with another secret gets 403; nothing is watched or started."""
    forged = _post_shopify(shop, "checkouts/create", shopify_checkout(), secret="not-the-secret")
    assert 403 == forged.status_code
    shop.clock.advance(timedelta(hours=2))
    call_command("recoverykit_tick", stdout=io.StringIO())
    assert [] == list(shop.runner.store.states())
    assert [] == shop.channels[Channel.SMS].attempts
