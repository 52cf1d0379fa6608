"""What providers' error codes mean for a recovery, as data with their source.

An adapter that gets an error while sending and a webhook parser that reads a
failed status must agree on what a code means, so both read this one table.
``permanent`` says whether retrying the same message to the same address could
ever work; ``revoked`` says the recipient opted out at the provider (the runner
records a revocation: of every purpose on the channel, or of marketing and recovery
for the codes in ``policies.consent.MARKETING_STOP_CODES``, such as WhatsApp 131050);
``retry_after`` asks for a pause instead of a quick retry;
``scope`` says whom the fault concerns: this one message, its recipient (every
message to that address), or the whole channel (a revoked token, a blocked
account, a throughput limit: every message on it would fail the same way).
Codes not in a table are treated as transient faults of one message: a provider's
new or rare code should cost a retry, never a customer's consent.

Two codes belong to no provider: ``not_sent`` (the request never left, so a retry
is safe) and ``outcome_unknown`` (it left and no answer came back, so a retry may
deliver twice); every adapter reports transport failures with one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Final

import attrs

from ..errors import ChannelError, FaultScope

__all__ = [
    "ErrorMeaning",
    "FaultScope",
    "NOT_SENT",
    "OUTCOME_UNKNOWN",
    "OutcomeUnknown",
    "SMSAPI_ERRORS",
    "TWILIO_ERRORS",
    "VIBER_ERRORS",
    "WHATSAPP_ERRORS",
    "smsapi_error",
    "twilio_error",
    "viber_error",
    "retry_after_header",
    "whatsapp_error",
]

#: ``ChannelError.code`` when the request surely never reached the provider (safe to retry).
NOT_SENT: Final = "not_sent"
#: ``ChannelError.code`` when the request may have reached the provider (a retry may duplicate).
OUTCOME_UNKNOWN: Final = "outcome_unknown"


class OutcomeUnknown(ChannelError):
    """The request went out but no answer came back: the provider may have accepted it.

    Transient, because the address is not at fault; but a retry may deliver the
    message twice unless the provider honours an idempotency key or can be asked
    (``lookup``). An adapter that can settle the doubt should do so before raising.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False, code=OUTCOME_UNKNOWN)


@attrs.frozen
class ErrorMeaning:
    """One provider error code and what the runner should make of it."""

    code: str
    permanent: bool
    summary: str
    #: The rule in ``reference/rules.md`` this entry encodes.
    rule: str
    revoked: bool = False
    #: Wait at least this long before trying again within ``scope``.
    retry_after: timedelta | None = None
    #: Whom the fault concerns: this message, its recipient, or the whole channel.
    scope: FaultScope = FaultScope.MESSAGE

    def error(
        self, provider: str, detail: str = "", *, retry_after: timedelta | None = None
    ) -> ChannelError:
        """The ``ChannelError`` to raise for this code; ``detail`` is what the provider said.

        ``retry_after`` is the pause the provider asked for in this answer; the
        longer of it and the table's own hold wins, so a short header never cuts
        a prescribed hold (131049's day) short.
        """
        said = f" ({detail})" if detail else ""
        holds = [wait for wait in (self.retry_after, retry_after) if wait is not None]
        return ChannelError(
            f"{provider} error {self.code}: {self.summary}{said}",
            permanent=self.permanent,
            code=self.code,
            revoked=self.revoked,
            scope=self.scope,
            retry_after=max(holds, default=None),
        )


_MESSAGE: Final = FaultScope.MESSAGE
_RECIPIENT: Final = FaultScope.RECIPIENT
_CHANNEL: Final = FaultScope.CHANNEL


def _table(*entries: ErrorMeaning) -> Mapping[str, ErrorMeaning]:
    return MappingProxyType({entry.code: entry for entry in entries})


#: Where the codes below that ``reference/rules.md`` does not list yet are published.
TWILIO_SOURCE: Final = "https://www.twilio.com/docs/api/errors"
WHATSAPP_SOURCE: Final = (
    "https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes"
)

#: Twilio Messages API error codes (rules.md §10, PW-2; 20003 from ``TWILIO_SOURCE``).
TWILIO_ERRORS: Final = _table(
    ErrorMeaning(
        "20003",
        False,
        "Twilio refused the account's credentials; check the auth token or API key",
        TWILIO_SOURCE,
        scope=_CHANNEL,
    ),
    ErrorMeaning(
        "21610",
        True,
        "the recipient replied STOP to this sender",
        "PW-2",
        revoked=True,
        scope=_RECIPIENT,
    ),
    ErrorMeaning(
        "21614", True, "the number cannot receive text messages", "PW-2", scope=_RECIPIENT
    ),
    ErrorMeaning("30003", True, "the handset is unreachable", "PW-2", scope=_RECIPIENT),
    ErrorMeaning(
        "30005", True, "the number is unknown or no longer exists", "PW-2", scope=_RECIPIENT
    ),
    ErrorMeaning(
        "30006",
        True,
        "a landline or a carrier that cannot be reached",
        "PW-2",
        scope=_RECIPIENT,
    ),
    ErrorMeaning("30007", True, "the carrier filtered the text; never resend it as it is", "PW-2"),
)

#: WhatsApp Cloud API error codes (rules.md §3 WA-2, WA-9 and §9 CP-7, §10 PW-3; the
#: account, token and rate codes from ``WHATSAPP_SOURCE``).
WHATSAPP_ERRORS: Final = _table(
    ErrorMeaning(
        "190",
        False,
        "the access token expired or was revoked; issue a new system-user token",
        WHATSAPP_SOURCE,
        scope=_CHANNEL,
    ),
    ErrorMeaning(
        "130429",
        False,
        "the phone number's throughput limit was reached; slow down",
        WHATSAPP_SOURCE,
        scope=_CHANNEL,
    ),
    ErrorMeaning(
        "131031",
        False,
        "the business account is locked or restricted; see WhatsApp Manager",
        WHATSAPP_SOURCE,
        scope=_CHANNEL,
    ),
    ErrorMeaning(
        "131047",
        True,
        "free text outside the 24-hour service window; only a template can reach them now",
        "WA-2",
    ),
    ErrorMeaning(
        "131048",
        False,
        "WhatsApp limits this number for spam (too many blocks or reports); sending paused",
        WHATSAPP_SOURCE,
        scope=_CHANNEL,
    ),
    ErrorMeaning(
        "131049",
        False,
        "WhatsApp held back a marketing template to protect the recipient's inbox",
        "CP-7",
        retry_after=timedelta(hours=24),
        scope=_RECIPIENT,
    ),
    ErrorMeaning(
        "131050",
        True,
        "the recipient stopped marketing messages from this business; cart reminders "
        "are marketing templates, so they stop too",
        "CP-6",
        revoked=True,
        scope=_RECIPIENT,
    ),
    ErrorMeaning(
        "131056",
        False,
        "too many messages to this one number in a short time; slow down for it",
        WHATSAPP_SOURCE,
        scope=_RECIPIENT,
    ),
    ErrorMeaning(
        "131026", True, "the message cannot be delivered to this number", "PW-3", scope=_RECIPIENT
    ),
)


#: Viber REST bot API ``status`` values (rules.md §3.2, PW-7). A receiver who unsubscribed
#: opted out; a wrong token, a blocked or suspended bot and rate limits are the sender's
#: trouble, never the recipient's.
VIBER_ERRORS: Final = _table(
    ErrorMeaning(
        "2", False, "the auth token is wrong or revoked; check it", "PW-7", scope=_CHANNEL
    ),
    ErrorMeaning("3", True, "Viber could not read the message (bad data)", "PW-7"),
    ErrorMeaning("4", True, "the message lacks a field Viber requires", "PW-7"),
    ErrorMeaning(
        "5", True, "the receiver is not a registered Viber user", "PW-7", scope=_RECIPIENT
    ),
    ErrorMeaning(
        "6",
        True,
        "the receiver unsubscribed from the bot: an opt-out",
        "PW-7",
        revoked=True,
        scope=_RECIPIENT,
    ),
    ErrorMeaning("7", False, "the bot account is blocked", "PW-7", scope=_CHANNEL),
    ErrorMeaning("8", False, "the bot account was not found", "PW-7", scope=_CHANNEL),
    ErrorMeaning("9", False, "the bot account is suspended", "PW-7", scope=_CHANNEL),
    ErrorMeaning(
        "10",
        False,
        "no webhook is set for the bot, so Viber will not send yet",
        "PW-7",
        scope=_CHANNEL,
    ),
    ErrorMeaning(
        "11", True, "the receiver has no device that can show the message", "PW-7", scope=_RECIPIENT
    ),
    ErrorMeaning("12", False, "too many requests; slow down", "PW-7", scope=_CHANNEL),
)

#: SMSAPI (SMSAPI.pl) error codes, from its published list of error codes and message
#: statuses (https://www.smsapi.pl/statusy-wiadomosci). No valid number and an unusable
#: text are permanent; sender name, credentials, balance and IP filter are the store's
#: configuration, never the recipient's fault.
SMSAPI_ERRORS: Final = _table(
    ErrorMeaning("11", True, "the text is empty, too long, or not sendable as it is", "SMSAPI"),
    ErrorMeaning(
        "13",
        True,
        "no valid number: wrong, a landline, or on the blacklist",
        "SMSAPI",
        scope=_RECIPIENT,
    ),
    ErrorMeaning(
        "14", False, "the sender name is not registered for this account", "SMSAPI", scope=_CHANNEL
    ),
    ErrorMeaning(
        "101", False, "the credentials are wrong; check the token", "SMSAPI", scope=_CHANNEL
    ),
    ErrorMeaning("103", False, "the account has no points left to send", "SMSAPI", scope=_CHANNEL),
    ErrorMeaning(
        "105",
        False,
        "the request came from an IP address the account refuses",
        "SMSAPI",
        scope=_CHANNEL,
    ),
    ErrorMeaning("201", False, "SMSAPI had an internal error", "SMSAPI"),
    ErrorMeaning("203", False, "too many requests; slow down", "SMSAPI", scope=_CHANNEL),
)


def _lookup(table: Mapping[str, ErrorMeaning], code: object, provider: str) -> ErrorMeaning:
    key = str(code).strip()
    found = table.get(key)
    if found is not None:
        return found
    return ErrorMeaning(key, False, f"{provider} error {key!r} (not in the table: retried)", "")


def twilio_error(code: object) -> ErrorMeaning:
    """The meaning of a Twilio error code; unknown codes are transient."""
    return _lookup(TWILIO_ERRORS, code, "Twilio")


def whatsapp_error(code: object) -> ErrorMeaning:
    """The meaning of a WhatsApp Cloud API error code; unknown codes are transient."""
    return _lookup(WHATSAPP_ERRORS, code, "WhatsApp")


def viber_error(code: object) -> ErrorMeaning:
    """The meaning of a Viber ``status``; values not in the table are transient."""
    return _lookup(VIBER_ERRORS, code, "Viber")


def smsapi_error(code: object) -> ErrorMeaning:
    """The meaning of an SMSAPI error code; codes not in the table are transient."""
    return _lookup(SMSAPI_ERRORS, code, "SMSAPI")


def retry_after_header(value: str | None, *, now: datetime) -> timedelta | None:
    """An HTTP ``Retry-After`` value (seconds, or an HTTP date) as a pause from ``now``.

    A value that is neither gives ``None`` (the provider's wish is unreadable, so
    the runner's own backoff applies); a date in the past gives no pause.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))
