"""Webhook views: build a ``WebhookRequest``, let the parser verify it, hand each fact over.

Providers post without a CSRF token, so each posting view is ``csrf_exempt``; the
provider's signature takes the token's place, and the parser checks it before it
reads anything else. A refused request answers the status the error names (403 for
a bad signature, 400 for a malformed body) and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from recoverykit.webhooks import Inbound, WebhookError, WebhookRequest

from .runtime import Recovery, current

__all__ = ["shopify", "telegram", "twilio_sms", "twilio_status", "whatsapp"]

logger = logging.getLogger(__name__)

#: Twilio expects TwiML from the inbound-message webhook; an empty response sends no reply
#: (the runner sends its own answers through the API, once).
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


View = Callable[[HttpRequest], HttpResponse]


def _provider_posts(view: View) -> View:
    """POST only, and exempt from CSRF: the provider's signature takes the token's place."""
    wrapped: View = csrf_exempt(require_POST(view))
    return wrapped


class _Parser(Protocol):
    def parse(self, request: WebhookRequest, *, now: datetime) -> list[Inbound]: ...


def _public_url(request: HttpRequest) -> str:
    """The URL the provider called, exactly as it signed it.

    ``build_absolute_uri`` trusts the Host header and the connection's scheme; behind
    a proxy that terminates TLS both may differ from what the provider used, so
    ``RECOVERYKIT["PUBLIC_URL"]`` (or Django's proxy settings) must restore them.
    """
    public = str(settings.RECOVERYKIT["PUBLIC_URL"])
    if public:
        return public.rstrip("/") + str(request.get_full_path())
    return str(request.build_absolute_uri())


def _webhook(request: HttpRequest) -> WebhookRequest:
    """The request as recoverykit's parsers read it: method, public URL, headers, raw body."""
    return WebhookRequest(
        method=request.method or "POST",
        url=_public_url(request),
        headers=dict(request.headers),
        body=request.body,
    )


def _receive(
    request: HttpRequest, recovery: Recovery, parser: _Parser | None, answer: HttpResponse
) -> HttpResponse:
    """Verify and parse the request, hand every fact to the runner, answer ``answer``."""
    if parser is None:
        raise Http404("This provider is not configured")
    try:
        inbound = parser.parse(_webhook(request), now=recovery.runner.clock.now())
    except WebhookError as exc:
        logger.warning("refused a webhook to %s: %s", request.path, exc)
        return HttpResponse(status=exc.status)
    for item in inbound:
        recovery.runner.receive(item)
    return answer


@_provider_posts
def twilio_sms(request: HttpRequest) -> HttpResponse:
    """Incoming text messages (STOP, HELP, questions): the number's messaging webhook."""
    recovery = current()
    twiml = HttpResponse(_EMPTY_TWIML, content_type="text/xml")
    return _receive(request, recovery, recovery.twilio, twiml)


@_provider_posts
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Delivery reports: the status callback URL the Twilio adapter sends with each message."""
    recovery = current()
    return _receive(request, recovery, recovery.twilio, HttpResponse())


def _whatsapp(request: HttpRequest) -> HttpResponse:
    """The WhatsApp Cloud API webhook: the subscription handshake (GET) and events (POST)."""
    recovery = current()
    if request.method == "POST":
        return _receive(request, recovery, recovery.meta, HttpResponse())
    if recovery.meta is None:
        raise Http404("This provider is not configured")
    try:
        challenge = recovery.meta.handshake(request.GET.dict())
    except WebhookError as exc:
        logger.warning("refused a WhatsApp subscription handshake: %s", exc)
        return HttpResponse(status=exc.status)
    return HttpResponse(challenge, content_type="text/plain")


#: Meta calls the same URL to subscribe (GET) and to post events (POST).
whatsapp: View = csrf_exempt(require_http_methods(["GET", "POST"])(_whatsapp))


@_provider_posts
def telegram(request: HttpRequest) -> HttpResponse:
    """Telegram bot updates: the URL given to ``setWebhook`` along with the secret token."""
    recovery = current()
    return _receive(request, recovery, recovery.telegram, HttpResponse())


@_provider_posts
def shopify(request: HttpRequest) -> HttpResponse:
    """Shopify's checkout and order webhooks (``checkouts/create``, ``checkouts/update``,
    ``orders/create``, ``orders/paid``): one URL for all four topics.

    Checkout activity feeds the abandonment detector (``recoverykit_tick`` starts the
    recoveries of checkouts gone quiet); an order stops every recovery it concerns.
    """
    recovery = current()
    source, runner = recovery.shopify, recovery.runner
    if source is None:
        raise Http404("Shopify is not configured")
    try:
        facts = source.parse(_webhook(request), now=runner.clock.now())
    except WebhookError as exc:
        logger.warning("refused a Shopify webhook: %s", exc)
        return HttpResponse(status=exc.status)
    for fact in facts:
        runner.observe(fact)
    return HttpResponse()
