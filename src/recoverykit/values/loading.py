"""Loading JSON-shaped documents into values, collecting every problem with its path.

Each loader takes ``(data, path, problems)`` and returns the value or ``None`` after
appending what went wrong; the public ``from_dict`` raises one ``DefinitionError``
with all of them, so a user fixes a whole file in one pass.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from ..errors import DefinitionError, Problem, RecoveryKitError
from .text import lone_surrogate_at

T = TypeVar("T")
E = TypeVar("E", bound=enum.StrEnum)

MISSING: Final = object()
#: Loaded instants fall in [EARLIEST_YEAR, LATEST_YEAR): far from the present is a mistake.
EARLIEST_YEAR: Final = 1970
LATEST_YEAR: Final = 2200


class Problems:
    """An ordered collection of problems found while loading one document."""

    __slots__ = ("failed", "items")

    def __init__(self) -> None:
        self.items: list[Problem] = []
        #: ``(kind, id)`` of values that failed to load: a reference to one of them is
        #: not reported again (one bad phone is one problem, not four).
        self.failed: set[tuple[str, str]] = set()

    def add(self, path: str, message: str) -> None:
        self.items.append(Problem(path, message))

    def add_unknown(self, path: str, kind: str, name: str) -> None:
        """Report a reference to an unknown ``kind`` id, unless that one failed to load."""
        if (kind, name) not in self.failed:
            self.add(path, f"no {kind} with id {name!r}")

    def fail(self, kind: str, data: object) -> None:
        """Remember that the ``kind`` object ``data`` (its ``id``, if readable) did not load."""
        name = data.get("id") if isinstance(data, Mapping) else None
        if isinstance(name, str):
            self.failed.add((kind, name))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, what: str) -> None:
        if self.items:
            raise DefinitionError(what, self.items)


def load_or_raise(loader: Callable[[Any, str, Problems], T | None], data: Any, what: str) -> T:
    """Run a ``(data, path, problems)`` loader at ``$``; raise every problem at once."""
    problems = Problems()
    value = loader(data, "$", problems)
    problems.raise_if_any(what)
    assert value is not None
    return value


def expect_mapping(data: object, path: str, problems: Problems) -> Mapping[str, Any] | None:
    if isinstance(data, Mapping):
        return data
    problems.add(path, f"expected an object, got {type(data).__name__} {data!r:.60}")
    return None


def expect_list(data: object, path: str, problems: Problems) -> list[Any] | None:
    if isinstance(data, list | tuple):
        return list(data)
    problems.add(path, f"expected a list, got {type(data).__name__} {data!r:.60}")
    return None


def unknown_keys(
    data: Mapping[str, Any], allowed: frozenset[str], path: str, problems: Problems
) -> None:
    """Report keys a loader does not know: a typo must not be silently ignored."""
    for key in data:
        if key not in allowed:
            choices = ", ".join(sorted(allowed))
            problems.add(f"{path}.{key}", f"unknown key {key!r} (known keys: {choices})")


def field(
    data: Mapping[str, Any],
    key: str,
    path: str,
    problems: Problems,
    convert: Callable[[Any], T],
    *,
    default: Any = MISSING,
) -> T | None:
    """Read ``data[key]`` through ``convert``; record a problem instead of raising."""
    here = f"{path}.{key}"
    if key not in data or data[key] is None:
        if default is MISSING:
            problems.add(here, "is required")
            return None
        return default  # type: ignore[no-any-return]
    try:
        return convert(data[key])
    except (RecoveryKitError, ValueError, TypeError, ArithmeticError) as exc:
        problems.add(here, str(exc))
        return None


def read_json_file(path: str | Path, what: str) -> Any:
    """The JSON document in the file ``path``; one ``DefinitionError`` naming the file
    for anything that stops it being read (missing, a directory, not UTF-8, not JSON,
    nested too deeply). A UTF-8 byte order mark is accepted."""
    where = Path(path)
    try:
        text = where.read_bytes().decode("utf-8-sig")
        return json.loads(text)
    except IsADirectoryError:
        reason = "is a directory; name a JSON file"
    except FileNotFoundError:
        reason = "no such file"
    except OSError as exc:
        reason = f"cannot be read: {exc.strerror or exc}"
    except UnicodeDecodeError as exc:
        reason = f"is not UTF-8 text (byte {exc.start}); save it as UTF-8"
    except json.JSONDecodeError as exc:
        reason = f"is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    except RecursionError:
        reason = "is nested too deeply to be a document recoverykit reads"
    raise DefinitionError(f"{what} {str(where)!r}", [Problem("$", reason)])


def to_str(value: Any) -> str:
    """A JSON string that is valid Unicode (no lone surrogate such as ``"\\ud800"``)."""
    if not isinstance(value, str):
        msg = f"expected a string, got {type(value).__name__} {value!r:.60}"
        raise TypeError(msg)
    at = lone_surrogate_at(value)
    if at is not None:
        msg = (
            f"holds a lone surrogate at index {at} ({value[:40]!r}), which is not valid "
            "Unicode; write the character itself or a complete surrogate pair"
        )
        raise ValueError(msg)
    return value


def checked(cls: type, name: str, read: Callable[[Any], Any] = lambda value: value) -> Any:
    """A converter that reads a JSON value with ``read``, then applies the attrs
    converter and validator of ``cls.name``: a field's own problem is reported at its
    own path, and alongside the problems of its siblings."""
    attribute = attrs.fields_dict(cls)[name]

    def convert(value: Any) -> Any:
        value = read(value)
        if attribute.converter is not None:
            value = attribute.converter(value)  # type: ignore[operator]
        if attribute.validator is not None:
            attribute.validator(None, attribute, value)
        return value

    return convert


def to_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"expected a whole number, got {value!r:.60}"
        raise TypeError(msg)
    return value


def to_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        msg = f"expected true or false, got {value!r:.60}"
        raise TypeError(msg)
    return value


def to_enum(cls: type[E]) -> Callable[[Any], E]:
    """A converter to the string enum ``cls`` whose error lists the choices."""

    def convert(value: Any) -> E:
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(repr(member.value) for member in cls)
            noun = re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).lower()
            msg = f"unknown {noun} {value!r} (choose one of {choices})"
            raise ValueError(msg) from None

    return convert


def to_datetime(value: Any) -> datetime:
    """Parse an ISO 8601 instant; an offset (or ``Z``) is required.

    Instants before ``EARLIEST_YEAR`` or from ``LATEST_YEAR`` on are refused: no
    checkout, order or consent is dated there, and the engine's arithmetic (a week
    of touches, a month of history) must not step outside what ``datetime`` holds.
    """
    from .time import require_aware  # noqa: PLC0415 - keeps this module import-light

    text = to_str(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        msg = f"not an ISO 8601 date-time: {text!r:.60} (use e.g. '2026-03-01T18:30:00+01:00')"
        raise ValueError(msg) from None
    if parsed.tzinfo is None:
        # Text, not a datetime: the advice is about what to write, not Python's tzinfo.
        msg = (
            f"{text!r} has no UTC offset; add one, e.g. '{text}Z' for UTC or "
            f"'{text}+01:00' for the zone's offset"
        )
        raise ValueError(msg)
    moment = require_aware(parsed, "date-time")
    if not EARLIEST_YEAR <= moment.year < LATEST_YEAR:
        msg = (
            f"date-time {text!r:.60} is too far from the present; "
            f"use an instant from {EARLIEST_YEAR} up to {LATEST_YEAR - 1}"
        )
        raise ValueError(msg)
    return moment
