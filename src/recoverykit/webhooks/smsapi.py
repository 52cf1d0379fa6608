"""SMSAPI delivery reports (the callback an SMSAPI account calls for each status).

SMSAPI does not sign its callbacks. The store therefore registers a callback URL
that carries a long random secret (``https://shop.example/hooks/smsapi?key=<secret>``),
and this parser compares that ``key`` in constant time before reading anything
else; restricting the endpoint to SMSAPI's addresses at the proxy adds a second
lock. The endpoint must answer ``OK`` (SMSAPI repeats reports until it does).

A report names one or more messages: ``MsgId``, ``status`` and ``donedate`` (Unix
seconds) hold one value each, or comma-separated values in the same order. Each
becomes a ``StatusUpdate`` on the SMS channel (statuses from SMSAPI's published
list, https://www.smsapi.pl/statusy-wiadomosci):

* 404 delivered → ``delivered``;
* 403 sent and 410 accepted by the operator → ``sent``;
* 405 undelivered (a wrong or unreachable number) → ``failed``, permanent;
* 402 expired (the phone stayed off too long) and 406 failed (SMSAPI's own
  failure) → ``failed``, transient;
* 401 not found, 408 unknown, 409 queued, 411 retrying → nothing yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import attrs

from ..errors import InvalidInputError
from ..values.model import Channel
from ..values.time import require_aware
from ._reading import MAX_BODY_BYTES, body_of, identifier, instant, positive_size
from ._signing import check_secret, same
from .types import (
    DeliveryStatus,
    Inbound,
    MalformedWebhook,
    SignatureMismatch,
    StatusUpdate,
    WebhookRequest,
)

__all__ = ["SMSAPI_REPORTS", "SmsapiReports"]

#: SMSAPI's report statuses: (what happened, permanent) or ``None`` for "nothing yet".
SMSAPI_REPORTS: Final[Mapping[str, tuple[DeliveryStatus, bool] | None]] = {
    "401": None,
    "402": (DeliveryStatus.FAILED, False),
    "403": (DeliveryStatus.SENT, False),
    "404": (DeliveryStatus.DELIVERED, False),
    "405": (DeliveryStatus.FAILED, True),
    "406": (DeliveryStatus.FAILED, False),
    "408": None,
    "409": None,
    "410": (DeliveryStatus.SENT, False),
    "411": None,
}
#: Reports in one request beyond this are refused (SMSAPI batches far fewer).
_MAX_REPORTS: Final = 1000
_HINT: Final = "pass the random secret put in the callback URL registered at SMSAPI"


@attrs.frozen
class SmsapiReports:
    """Verifies and reads SMSAPI's delivery-report callbacks.

    ``secret`` is the value of the ``key`` query parameter in the callback URL
    registered at SMSAPI (at least 16 characters; generate it, never reuse the
    API token).
    """

    secret: str = attrs.field(repr=False)
    #: The query parameter that carries the secret.
    parameter: str = "key"
    max_body_bytes: int = attrs.field(default=MAX_BODY_BYTES, kw_only=True, validator=positive_size)

    @secret.validator
    def _check(self, _attribute: attrs.Attribute[str], value: str) -> None:
        check_secret(value, "secret", hint=_HINT)
        if len(value) < 16:
            msg = f"secret is {len(value)} characters long; use at least 16 random ones"
            raise InvalidInputError(msg)

    def parse(self, request: WebhookRequest, *, now: datetime) -> list[Inbound]:
        """Verify one report ``request`` and return a ``StatusUpdate`` per message it names.

        Raises ``SignatureMismatch`` (403) unless the URL carries this secret, and
        ``MalformedWebhook`` (400) for a report that is not what SMSAPI sends.
        Never raises anything else.
        """
        require_aware(now, "now")
        body = body_of(request, self.max_body_bytes)
        url = request.url if isinstance(request.url, str) else ""
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        if not same(self.secret, query.get(self.parameter, "")):
            msg = (
                f"The callback URL's {self.parameter!r} does not match this endpoint's secret; "
                "the request did not come through the URL registered at SMSAPI"
            )
            raise SignatureMismatch(msg)
        fields = dict(query)
        if body:
            try:
                fields.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except (UnicodeDecodeError, ValueError):
                msg = "The SMSAPI report body is not form fields"
                raise MalformedWebhook(msg) from None
        ids = _split(fields, "MsgId")
        statuses = _split(fields, "status")
        times = _split(fields, "donedate", required=False) or [""] * len(ids)
        if not len(ids) == len(statuses) == len(times):
            msg = (
                f"MsgId, status and donedate list different numbers of messages "
                f"({len(ids)}, {len(statuses)}, {len(times)})"
            )
            raise MalformedWebhook(msg)
        out: list[Inbound] = []
        for index, (raw_id, code, when) in enumerate(zip(ids, statuses, times, strict=True)):
            path = f"$.MsgId[{index}]"
            message_id = identifier(raw_id, path)
            if code not in SMSAPI_REPORTS:
                msg = f"$.status[{index}] is not an SMSAPI status (got {code[:20]!r})"
                raise MalformedWebhook(msg)
            meaning = SMSAPI_REPORTS[code]
            if meaning is None:
                continue
            at = now if not when else partial(instant, now=now)(when, f"$.donedate[{index}]")
            status, permanent = meaning
            out.append(
                StatusUpdate(
                    Channel.SMS,
                    message_id,
                    status,
                    at,
                    code=code if status is DeliveryStatus.FAILED else None,
                    permanent=permanent,
                    provider_id=f"{message_id}:{code}",
                )
            )
        return out


def _split(fields: Mapping[str, str], name: str, *, required: bool = True) -> list[str]:
    raw = fields.get(name)
    if raw is None or not raw.strip():
        if required:
            msg = f"$.{name} is missing"
            raise MalformedWebhook(msg)
        return []
    values = [value.strip() for value in raw.split(",")]
    if len(values) > _MAX_REPORTS:
        msg = f"$.{name} lists {len(values)} messages; at most {_MAX_REPORTS} are read"
        raise MalformedWebhook(msg)
    return values
