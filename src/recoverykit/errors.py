"""Every exception recoverykit raises, and the warnings it emits.

The tree, so a caller can catch as broadly or narrowly as it needs::

    RecoveryKitError(Exception)
    ├── InvalidInputError(ValueError)         a value from outside failed validation
    │   ├── InvalidPhoneNumber                the number cannot be parsed or verified
    │   ├── UnknownTimeZone                   not an IANA zone name that zoneinfo loads
    │   ├── NaiveDatetimeError                a datetime without tzinfo
    │   ├── InvalidMoney                      negative, NaN or unknown currency
    │   ├── CurrencyMismatch                  arithmetic across two currencies
    │   ├── InvalidLocale                     babel does not know the locale
    │   ├── InvalidPolicy                     a policy value no store could really run
    │   └── InvalidVocabulary                 a store's reply word no reader can use
    ├── DefinitionError(ValueError)           a document (sequence, scenario, pack) with
    │                                         one or more problems, each with its JSON path
    ├── TemplateError(ValueError)             a template that cannot be compiled or rendered
    ├── PersonalizationError(ValueError)      a template asks for a field it must never use
    ├── TransitionError                       the engine was driven in a way it cannot be
    ├── MessageNotFound(KeyError)             a message pack has no wording for a lookup
    ├── ChannelError                          a channel failed to send; says if permanent
    ├── StoreError                            a store could not keep its promise
    │   ├── ConflictError                     optimistic concurrency: someone wrote first
    │   └── ForeignDatabase                   the file or schema is not a recoverykit store
    ├── LinkError(ValueError)                 a resume-link token was refused
    │   ├── LinkExpired
    │   └── LinkInvalid
    └── ExperimentError(ValueError)           policy variants differ in more than one variable

    RecoveryKitWarning(UserWarning)           footguns that are allowed but worth a look
    └── RecoveryKitDeprecationWarning(FutureWarning)  an old name; the message names the new

Messages name the offending value and, where one exists, the fix.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import timedelta

import attrs

__all__ = [
    "ChannelError",
    "ConflictError",
    "CurrencyMismatch",
    "DefinitionError",
    "ExperimentError",
    "FaultScope",
    "ForeignDatabase",
    "InvalidInputError",
    "InvalidLocale",
    "InvalidMoney",
    "InvalidPhoneNumber",
    "InvalidPolicy",
    "InvalidVocabulary",
    "LinkError",
    "LinkExpired",
    "LinkInvalid",
    "MessageNotFound",
    "NaiveDatetimeError",
    "PersonalizationError",
    "Problem",
    "RecoveryKitDeprecationWarning",
    "RecoveryKitError",
    "RecoveryKitWarning",
    "StoreError",
    "TemplateError",
    "TemplateMismatch",
    "TransitionError",
    "UnknownTimeZone",
]


class RecoveryKitError(Exception):
    """Root of every exception raised by recoverykit."""


class RecoveryKitWarning(UserWarning):
    """Something allowed but probably not meant (an empty contact-hours week, say)."""


class RecoveryKitDeprecationWarning(RecoveryKitWarning, FutureWarning):
    """A name or argument that will go away; the message names what replaces it.

    A ``FutureWarning``, so end users of an application see it too, not only tests.
    """


class InvalidInputError(RecoveryKitError, ValueError):
    """A value handed to recoverykit from outside did not pass validation."""


class InvalidPhoneNumber(InvalidInputError):
    """The phone number cannot be parsed, or parses but is not a number in service.

    >>> raise InvalidPhoneNumber("+1 555", region="US")
    Traceback (most recent call last):
    recoverykit.errors.InvalidPhoneNumber: Invalid phone number: '+1 555' (region='US'): ...
    """

    #: What the caller passed, unchanged.
    raw: str
    #: The default region the caller passed, if any.
    region: str | None

    def __init__(self, raw: str, *, region: str | None = None, reason: str = "") -> None:
        self.raw = raw
        self.region = region
        why = reason or "not a valid number; pass it in international form (+48 601 234 567)"
        super().__init__(f"Invalid phone number: {raw!r} (region={region!r}): {why}")


class UnknownTimeZone(InvalidInputError):
    """A time-zone name that is not in the IANA database shipped with ``tzdata``."""

    #: The name that failed to load.
    name: str

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"Unknown time zone: {name!r}; use an IANA name such as 'Europe/Warsaw'")


class NaiveDatetimeError(InvalidInputError):
    """A datetime without ``tzinfo``: recoverykit never guesses a zone."""

    def __init__(self, what: str, value: object) -> None:
        super().__init__(
            f"{what} must be timezone-aware (got {value!r}); "
            "attach a zone, e.g. datetime(..., tzinfo=timezone.utc)"
        )


class InvalidMoney(InvalidInputError):
    """A money amount that is negative, not finite, or in an unknown currency."""


class CurrencyMismatch(InvalidInputError):
    """Two amounts in different currencies were combined."""


class InvalidLocale(InvalidInputError):
    """A locale identifier that babel does not know."""


class InvalidPolicy(InvalidInputError):
    """A policy value that no store could really run: a negative or NaN factor, a limit
    below one, an empty window, a cap or a retention that makes a touch impossible.

    Raised when the value is built, so a policy that exists is one that works.

    >>> raise InvalidPolicy("TimingScale.low_factor must be a finite number above 0 (got -1)")
    Traceback (most recent call last):
    recoverykit.errors.InvalidPolicy: TimingScale.low_factor must be a finite number above 0 ...
    """


class InvalidVocabulary(InvalidInputError):
    """A store's reply word no reader can use: an intent no words can give (a menu
    digit, "unknown", a misspelt name), a phrase with nothing to match, a malformed
    locale. The message names the entry and the fix.

    >>> raise InvalidVocabulary("Vocabulary.of['pl']: unknown intent 'questoin' (choose ...)")
    Traceback (most recent call last):
    recoverykit.errors.InvalidVocabulary: Vocabulary.of['pl']: unknown intent 'questoin' ...
    """


@attrs.frozen
class Problem:
    """One problem found while loading a document, with the JSON path where it was found."""

    #: JSON path of the offending value, e.g. ``$.items[1].unit_price.currency``.
    path: str
    #: What is wrong and, where possible, how to fix it.
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DefinitionError(RecoveryKitError, ValueError):
    """A document failed to load; every problem found is reported at once.

    ``problems`` lists each with its path, so a user fixes the whole file in one pass.
    """

    #: Every problem found, in document order.
    problems: tuple[Problem, ...]

    def __init__(self, what: str, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{what}: {count} {noun}\n{lines}")


class TemplateError(RecoveryKitError, ValueError):
    """A template that cannot be compiled, or a render that lacks a value."""


class TemplateMismatch(TemplateError):
    """The WhatsApp template the store had approved is not the pack's text: not sent.

    Sending it would deliver words the guard never checked; ``template`` names the
    approved template and ``fix`` says how to bring the two together.
    """

    def __init__(self, problem: str, *, fix: str, template: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        self.template = template
        super().__init__(f"{problem}; {fix}")


class PersonalizationError(RecoveryKitError, ValueError):
    """A template asks for data a recovery message must never reveal."""


class TransitionError(RecoveryKitError):
    """The engine was asked to do something its state does not allow."""


class FaultScope(enum.StrEnum):
    """Whom a send failure concerns, so the runtime knows what to hold back.

    A fault in one message (a text the carrier filtered) says nothing about the
    next one; a fault of one recipient (unreachable, opted out, over their
    marketing limit) concerns every message to that address; a fault of the
    channel (a revoked token, a blocked sender account, a throughput limit)
    concerns every message on it, and retrying each one burns every recovery's
    retries for nothing.
    """

    MESSAGE = "message"
    RECIPIENT = "recipient"
    CHANNEL = "channel"


class ChannelError(RecoveryKitError):
    """A channel could not send a message.

    ``permanent`` tells the runner whether trying again could ever help
    (an unreachable number) or may (a timeout, a rate limit); ``scope`` says
    whether the fault is this message's, the recipient's or the whole channel's;
    ``retry_after`` is the pause the provider asked for (an HTTP ``Retry-After``,
    Telegram's ``parameters.retry_after``, a hold the error table prescribes).
    """

    #: True when retrying the same message to the same address cannot succeed.
    permanent: bool
    #: The provider's own error code, if it gave one.
    code: str | None
    #: True when the provider reports that the recipient opted out.
    revoked: bool
    #: Whom the fault concerns: this message, its recipient, or the whole channel.
    scope: FaultScope
    #: Wait at least this long before trying again (within ``scope``), if the provider said so.
    retry_after: timedelta | None

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: str | None = None,
        revoked: bool = False,
        scope: FaultScope = FaultScope.MESSAGE,
        retry_after: timedelta | None = None,
    ) -> None:
        if retry_after is not None and (
            not isinstance(retry_after, timedelta) or retry_after < timedelta(0)
        ):
            msg = f"retry_after must be a timedelta of zero or more (got {retry_after!r})"
            raise InvalidInputError(msg)
        self.permanent = permanent
        self.code = code
        self.revoked = revoked
        self.scope = FaultScope(scope)
        self.retry_after = retry_after
        super().__init__(message)


class StoreError(RecoveryKitError):
    """A store could not keep one of the promises its protocol makes."""


class ConflictError(StoreError):
    """Someone else saved a newer version of the same record first."""


class ForeignDatabase(StoreError):
    """The database named is not a recoverykit store, so it was left exactly as it was.

    A store refuses a file or schema another application owns (a Django
    ``db.sqlite3``, a JSON file) instead of adding its tables to it, and a read-only
    open refuses anything without the recoverykit schema marker.
    """


class LinkError(RecoveryKitError, ValueError):
    """A resume-link token was refused."""


class LinkExpired(LinkError):
    """The token was genuine but its time is up."""


class LinkInvalid(LinkError):
    """The token is malformed, signed with an unknown key, or tampered with."""


class MessageNotFound(RecoveryKitError, KeyError):
    """A message pack has no wording for a lookup, even after every fallback.

    >>> raise MessageNotFound("default", "remind", "sms", "de")
    Traceback (most recent call last):
    recoverykit.errors.MessageNotFound: Message pack 'default' has no 'remind' for sms in 'de'...
    """

    #: The lookup that failed.
    key: str
    channel: str
    locale: str

    def __init__(
        self,
        pack: str,
        key: str,
        channel: str,
        locale: str,
        *,
        segment: object = None,
        tier: object = None,
    ) -> None:
        self.key = key
        self.channel = channel
        self.locale = locale
        qualifiers = f" (segment={segment!s}, tier={tier!s})" if segment or tier else ""
        self._text = (
            f"Message pack {pack!r} has no {key!r} for {channel} in {locale!r}{qualifiers}, "
            "nor in its language or 'en'; add the entry to the pack"
        )
        super().__init__(self._text)

    def __str__(self) -> str:
        return self._text


class ExperimentError(RecoveryKitError, ValueError):
    """Two policy variants differ in more than one variable, so no result could be read.

    ``variables`` names every difference found between the pair, in a stable order.
    """

    #: The variants compared and every variable in which they differ.
    variants: tuple[str, str]
    variables: tuple[str, ...]

    def __init__(self, variants: tuple[str, str], variables: Iterable[str]) -> None:
        self.variants = variants
        self.variables = tuple(variables)
        named = " and ".join(repr(v) for v in self.variables)
        super().__init__(
            f"Variants {variants[0]!r} and {variants[1]!r} differ in {named}; "
            "an experiment changes one variable at a time, so split it into separate experiments"
        )
