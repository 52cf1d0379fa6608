"""Strict templates: parsed once, refused loudly, rendered literally."""

from __future__ import annotations

import pytest

from recoverykit.errors import PersonalizationError, TemplateError
from recoverykit.messages.templates import Field, Template, compile, render
from recoverykit.values.model import Channel


def _sms(body: str, fallback: str | None = None) -> Template:
    return Template("remind", Channel.SMS, "en", body, fallback)


def test_compile_splits_literals_and_fields() -> None:
    """A body becomes literal text and Field parts; doubled braces are literal."""
    assert ("Hi ", Field("first_name"), " {x}") == compile("Hi {first_name} {{x}}")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("Hi {first_name.__class__}", "attribute access"),
        ("Hi {items[0]}", "index access"),
        ("Hi {first_name!r}", "a conversion"),
        ("Total {total:>10}", "format spec"),
        ("Hi {first_name", "never closed"),
        ("Hi first_name}", "closes nothing"),
        ("Hi {fist_name}", "unknown field {fist_name}"),
        ("Hi {First}", "not a field name"),
    ],
)
def test_bad_bodies_are_refused(body: str, fragment: str) -> None:
    """Anything but a plain known field name is a TemplateError naming the problem."""
    with pytest.raises(TemplateError, match="column") as info:
        _sms(body)
    assert fragment in str(info.value)


def test_error_points_at_line_and_column() -> None:
    """The position is reported so a pack author finds the bad brace at once."""
    with pytest.raises(TemplateError) as info:
        _sms("{store_name}\nabc {nope}")
    assert "line 2, column 5" in str(info.value)


@pytest.mark.parametrize("name", ["browsing_history", "city", "ip", "last_seen", "device"])
def test_forbidden_fields_are_personalization_errors(name: str) -> None:
    """Surveillance fields are refused when the template is built."""
    with pytest.raises(PersonalizationError, match=name):
        _sms(f"Hi {{{name}}}")


def test_values_are_inserted_literally() -> None:
    """A value that looks like a placeholder stays text; nothing is formatted twice."""
    rendered = render(
        _sms("Hi {first_name} from {store_name}"),
        {
            "first_name": "{store_name}",
            "store_name": "Nor{0}wind",
        },
    )
    assert rendered.text == "Hi {store_name} from Nor{0}wind"


def test_missing_value_is_an_error_not_a_gap() -> None:
    """No 'Hi ,': a missing or blank value raises and names the field."""
    template = _sms("Hi {first_name}, {store_name}")
    with pytest.raises(TemplateError, match="first_name"):
        render(template, {"store_name": "Northwind"})
    with pytest.raises(TemplateError, match="first_name"):
        render(template, {"store_name": "Northwind", "first_name": "  "})


def test_fallback_used_only_for_optional_fields() -> None:
    """The fallback covers a missing first name, never a missing link."""
    template = _sms("Hi {first_name}: {link}", fallback="Hello: {link}")
    assert render(template, {"link": "https://x.example"}).text == "Hello: https://x.example"
    with pytest.raises(TemplateError, match="link"):
        render(template, {"first_name": "Ada"})


def test_fallback_may_not_use_optional_fields() -> None:
    """A fallback that needs the first name could never be used."""
    with pytest.raises(TemplateError, match="fallback"):
        _sms("Hi {first_name}", fallback="Hey {first_name}")


def test_rendered_reports_details_and_segments() -> None:
    """Personal fields are listed once, in order; SMS carries segment info."""
    rendered = render(
        _sms("{first_name} {total} {first_name} {store_name}"),
        {"first_name": "Ada", "total": "$5.00", "store_name": "N"},
    )
    assert rendered.details == ("first_name", "total")
    assert rendered.segments is not None
    assert rendered.segments.segments == 1
    email = Template("remind", Channel.EMAIL, "en", "{store_name}")
    assert render(email, {"store_name": "N"}).segments is None


def test_fields_property_covers_body_and_fallback() -> None:
    """``fields`` lists every field either body names."""
    template = _sms("Hi {first_name} {link}", fallback="Hello {store_name}")
    assert frozenset({"first_name", "link", "store_name"}) == template.fields
