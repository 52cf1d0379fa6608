"""What providers' error codes mean for a recovery, as data with their source.

An adapter that gets an error while sending and a webhook parser that reads a
failed status must agree on what a code means, so both read this one table.
``permanent`` says whether retrying the same message to the same address could
ever work; ``revoked`` says the recipient opted out at the provider (the runner
records a revocation); ``retry_after`` asks for a pause instead of a quick retry.
Codes not in a table are treated as transient: a provider's new or rare code
should cost a retry, never a customer's consent.

Two codes belong to no provider: ``not_sent`` (the request never left, so a retry
is safe) and ``outcome_unknown`` (it left and no answer came back, so a retry may
deliver twice); every adapter reports transport failures with one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Final

import attrs

from ..errors import ChannelError

__all__ = [
    "ErrorMeaning",
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
    #: Wait at least this long before trying this recipient again on this channel.
    retry_after: timedelta | None = None

    def error(self, provider: str, detail: str = "") -> ChannelError:
        """The ``ChannelError`` to raise for this code; ``detail`` is what the provider said."""
        said = f" ({detail})" if detail else ""
        return ChannelError(
            f"{provider} error {self.code}: {self.summary}{said}",
            permanent=self.permanent,
            code=self.code,
            revoked=self.revoked,
        )


def _table(*entries: ErrorMeaning) -> Mapping[str, ErrorMeaning]:
    return MappingProxyType({entry.code: entry for entry in entries})


#: Twilio Messages API error codes (rules.md §10, PW-2).
TWILIO_ERRORS: Final = _table(
    ErrorMeaning("21610", True, "the recipient replied STOP to this sender", "PW-2", revoked=True),
    ErrorMeaning("21614", True, "the number cannot receive text messages", "PW-2"),
    ErrorMeaning("30003", True, "the handset is unreachable", "PW-2"),
    ErrorMeaning("30005", True, "the number is unknown or no longer exists", "PW-2"),
    ErrorMeaning("30006", True, "a landline or a carrier that cannot be reached", "PW-2"),
    ErrorMeaning("30007", True, "the carrier filtered the text; never resend it as it is", "PW-2"),
)

#: WhatsApp Cloud API error codes (rules.md §3 WA-2, WA-9 and §9 CP-7, §10 PW-3).
WHATSAPP_ERRORS: Final = _table(
    ErrorMeaning(
        "131047",
        True,
        "free text outside the 24-hour service window; only a template can reach them now",
        "WA-2",
    ),
    ErrorMeaning(
        "131049",
        False,
        "WhatsApp held back a marketing template to protect the recipient's inbox",
        "CP-7",
        retry_after=timedelta(hours=24),
    ),
    ErrorMeaning("131026", True, "the message cannot be delivered to this number", "PW-3"),
)


#: Viber REST bot API ``status`` values (rules.md §3.2, PW-7). A receiver who unsubscribed
#: opted out; a wrong token, a blocked or suspended bot and rate limits are the sender's
#: trouble, never the recipient's.
VIBER_ERRORS: Final = _table(
    ErrorMeaning("2", False, "the auth token is wrong or revoked; check it", "PW-7"),
    ErrorMeaning("3", True, "Viber could not read the message (bad data)", "PW-7"),
    ErrorMeaning("4", True, "the message lacks a field Viber requires", "PW-7"),
    ErrorMeaning("5", True, "the receiver is not a registered Viber user", "PW-7"),
    ErrorMeaning(
        "6", True, "the receiver unsubscribed from the bot: an opt-out", "PW-7", revoked=True
    ),
    ErrorMeaning("7", False, "the bot account is blocked", "PW-7"),
    ErrorMeaning("8", False, "the bot account was not found", "PW-7"),
    ErrorMeaning("9", False, "the bot account is suspended", "PW-7"),
    ErrorMeaning("10", False, "no webhook is set for the bot, so Viber will not send yet", "PW-7"),
    ErrorMeaning("11", True, "the receiver has no device that can show the message", "PW-7"),
    ErrorMeaning("12", False, "too many requests; slow down", "PW-7"),
)

#: SMSAPI (SMSAPI.pl) error codes, from its published list of error codes and message
#: statuses (https://www.smsapi.pl/statusy-wiadomosci). No valid number and an unusable
#: text are permanent; sender name, credentials, balance and IP filter are the store's
#: configuration, never the recipient's fault.
SMSAPI_ERRORS: Final = _table(
    ErrorMeaning("11", True, "the text is empty, too long, or not sendable as it is", "SMSAPI"),
    ErrorMeaning("13", True, "no valid number: wrong, a landline, or on the blacklist", "SMSAPI"),
    ErrorMeaning("14", False, "the sender name is not registered for this account", "SMSAPI"),
    ErrorMeaning("101", False, "the credentials are wrong; check the token", "SMSAPI"),
    ErrorMeaning("103", False, "the account has no points left to send", "SMSAPI"),
    ErrorMeaning("105", False, "the request came from an IP address the account refuses", "SMSAPI"),
    ErrorMeaning("201", False, "SMSAPI had an internal error", "SMSAPI"),
    ErrorMeaning("203", False, "too many requests; slow down", "SMSAPI"),
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
