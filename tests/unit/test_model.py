"""Values: validated when built, loaded with every problem reported at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recoverykit import (
    Channel,
    Checkout,
    Customer,
    LineItem,
    Money,
    Stage,
    ZoneSource,
    get_zone,
    resolve_zones,
)
from recoverykit.errors import (
    CurrencyMismatch,
    DefinitionError,
    InvalidInputError,
    InvalidLocale,
    NaiveDatetimeError,
    UnknownTimeZone,
)

LEFT = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)


def checkout_data() -> dict[str, Any]:
    return {
        "id": "chk-1",
        "customer": {"id": "c-1", "first_name": "Anna", "phone": "+48 601 234 567", "locale": "pl"},
        "items": [
            {
                "sku": "s1",
                "name": "Kettle",
                "quantity": 1,
                "unit_price": {"amount": "84.00", "currency": "PLN"},
            }
        ],
        "total": {"amount": "84.00", "currency": "PLN"},
        "stage": "shipping",
        "abandoned_at": "2026-03-02T19:30:00+01:00",
        "link": "https://shop.example/c/abc",
    }  # fmt: skip


def test_checkout_round_trips() -> None:
    """A checkout survives to_dict/from_dict unchanged, phone normalised to E.164."""
    checkout = Checkout.from_dict(checkout_data())
    assert "+48601234567" == checkout.customer.phone
    assert Stage.SHIPPING == checkout.stage
    assert checkout == Checkout.from_dict(checkout.to_dict())


def test_every_problem_is_reported_with_its_path() -> None:
    """Loading a broken checkout lists all problems at once, each with its JSON path."""
    data = checkout_data()
    data["items"][0]["unit_price"]["currency"] = "QQQ"
    data["items"][0]["quantity"] = 0
    data["abandoned_at"] = "2026-03-02T19:30:00"
    data["customer"]["phone"] = "+1 555"
    data["stage"] = "basket"
    data["colour"] = "red"
    with pytest.raises(DefinitionError) as info:
        Checkout.from_dict(data)
    paths = {problem.path for problem in info.value.problems}
    assert {
        "$.items[0].unit_price.currency",
        "$.abandoned_at",
        "$.customer.phone",
        "$.stage",
        "$.colour",
    } <= paths


def test_naive_datetimes_are_refused() -> None:
    """A datetime without a zone is never guessed."""
    customer = Customer(id="c")
    with pytest.raises(NaiveDatetimeError, match="abandoned_at"):
        Checkout(
            id="x",
            customer=customer,
            items=(),
            total=Money("1", "USD"),
            stage=Stage.CART,
            abandoned_at=datetime(2026, 1, 1),
            link="https://s.example/c",
        )


def test_one_checkout_one_currency() -> None:
    """Items priced in another currency than the total are refused."""
    item = LineItem("s", "Mug", 1, Money("5", "EUR"))
    with pytest.raises(CurrencyMismatch):
        Checkout(
            id="x",
            customer=Customer(id="c"),
            items=(item,),
            total=Money("5", "USD"),
            stage=Stage.CART,
            abandoned_at=LEFT,
            link="https://s.example/c",
        )


def test_hold_must_be_after_abandonment() -> None:
    """A hold that ends before the customer left is not a real deadline."""
    with pytest.raises(InvalidInputError, match="hold_until"):
        Checkout(
            id="x",
            customer=Customer(id="c"),
            items=(),
            total=Money("5", "USD"),
            stage=Stage.CART,
            abandoned_at=LEFT,
            link="https://s.example/c",
            hold_until=LEFT - timedelta(minutes=1),
        )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"id": ""}, InvalidInputError),
        ({"id": "c", "locale": "xx_NOPE"}, InvalidLocale),
        ({"id": "c", "timezone": "Mars/Olympus"}, UnknownTimeZone),
        ({"id": "c", "email": "not-an-address"}, InvalidInputError),
        ({"id": "c", "country": "Poland"}, InvalidInputError),
        ({"id": "c", "orders_count": -1}, InvalidInputError),
    ],
)
def test_customer_validation(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """Each bad customer field is its own specific error."""
    with pytest.raises(error):
        Customer(**kwargs)


def test_zone_resolution_prefers_explicit_then_country_then_phone() -> None:
    """Explicit zone > a single-zone country > the phone's candidates; the source is said."""
    explicit = Customer(id="a", timezone="Europe/Paris", phone="+48601234567")
    assert ZoneSource.EXPLICIT == resolve_zones(explicit).source
    country = Customer(id="b", country="FR", phone="+79161234567")
    assert (("Europe/Paris",), ZoneSource.COUNTRY) == (
        resolve_zones(country).zones,
        resolve_zones(country).source,
    )
    phone = Customer(id="c", phone="+79161234567")
    assert ZoneSource.PHONE == resolve_zones(phone).source
    assert len(resolve_zones(phone).zones) > 5
    nothing = Customer(id="d")
    assert ((), ZoneSource.UNKNOWN) == (resolve_zones(nothing).zones, resolve_zones(nothing).source)


def test_multi_zone_country_narrows_phone_candidates() -> None:
    """A US country plus an Idaho number keeps the number's two US zones."""
    customer = Customer(id="e", country="US", phone="+12085551234")
    assert ("America/Boise", "America/Los_Angeles") == resolve_zones(customer).zones


def test_us_number_keeps_its_area_code_zones_beside_the_stores() -> None:
    """A US area code's zones stay candidates next to an explicit or country zone (the
    store's first), so US and state hours are judged on the number's own clock too; a
    toll-free number names no area, and other countries' numbers defer to the store."""
    miami = Customer(id="f", timezone="Europe/London", phone="+13055550123")
    assert (("Europe/London", "America/New_York"), ZoneSource.EXPLICIT) == (
        resolve_zones(miami).zones,
        resolve_zones(miami).source,
    )
    by_country = Customer(id="g", country="GB", phone="+12085551234")
    assert ("Europe/London", "America/Boise", "America/Los_Angeles") == (
        resolve_zones(by_country).zones
    )
    same = Customer(id="h", timezone="America/New_York", phone="+13055550123")
    assert ("America/New_York",) == resolve_zones(same).zones
    toll_free = Customer(id="i", timezone="Europe/London", phone="+18005550123")
    assert ("Europe/London",) == resolve_zones(toll_free).zones
    polish = Customer(id="j", timezone="Europe/London", phone="+48601234567")
    assert ("Europe/London",) == resolve_zones(polish).zones


def test_zones_load_from_tzdata_with_kazakhstan_2024() -> None:
    """Zones come from the pinned tzdata: Almaty is UTC+5 after 2024-03-01."""
    zone = get_zone("Asia/Almaty")
    assert timedelta(hours=5) == datetime(2025, 6, 1, tzinfo=zone).utcoffset()
    with pytest.raises(UnknownTimeZone, match="Nowhere/Land"):
        get_zone("Nowhere/Land")
    with pytest.raises(UnknownTimeZone):
        get_zone("../../etc/passwd")


def test_channel_personal_flag() -> None:
    """E-mail is the only channel that is not a personal chat."""
    assert [Channel.EMAIL] == [c for c in Channel if not c.personal]


@pytest.mark.parametrize("bad", ["a@b.co\n", "a@b.co\nBcc: x@y.z", " a@b.co", "a@b"])
def test_an_email_with_a_trailing_newline_or_header_is_refused(bad: str) -> None:
    """A newline after the address would let it smuggle a header into a message."""
    with pytest.raises(InvalidInputError, match="Invalid e-mail address"):
        Customer(id="c1", email=bad)
