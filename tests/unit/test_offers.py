"""Words that help (issue 20, item 7): offers beyond a code, and a first touch that knows
the payment is where the customer stopped."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from recoverykit import Channel, Friction, Stage, presets
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.notes import Info
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import DefinitionError, InvalidInputError
from recoverykit.messages.packs import MessagePack
from recoverykit.policies.discounts import DiscountPolicy, OfferKind
from recoverykit.testing import EngineDriver, FakeDiscountIssuer
from tests.engine_helpers import T0, checkout, customer, grant
from tests.truthful_helpers import email_policy

LANGUAGES = ("en", "pl", "ru", "fr")
PHONES = {"en": "+447911123456", "pl": "+48601234567", "ru": "+79161234567", "fr": "+33612345678"}
GIFT = "a linen tote bag"

#: Words each pack's SMS uses for an offer, by kind and language.
SMS_WORDS = {
    OfferKind.CODE: {"en": "code", "pl": "kod", "ru": "код", "fr": "code"},
    OfferKind.FREE_SHIPPING: {
        "en": "delivery free", "pl": "darmową dostawę", "ru": "доставка бесплатна",
        "fr": "vous offre la livraison",
    },
    OfferKind.GIFT: {"en": "a gift", "pl": "prezent", "ru": "подарок", "fr": "un cadeau"},
    OfferKind.INSTALMENTS: {
        "en": "instalments", "pl": "w ratach", "ru": "в рассрочку", "fr": "en plusieurs fois",
    },
}  # fmt: skip


def offers(kind: OfferKind, **changes: object) -> DiscountPolicy:
    gift = GIFT if kind is OfferKind.GIFT else None
    return DiscountPolicy(offer=kind, gift=gift, **changes)  # type: ignore[arg-type]


def play(
    language: str, rules: DiscountPolicy, channel: Channel = Channel.SMS
) -> tuple[EngineDriver, FakeDiscountIssuer]:
    """Messenger pacing on one channel; the last touch may carry the offer."""
    sequence = presets.get("messenger-escalation")
    touches = tuple(attrs.evolve(t, channel=channel) for t in sequence.touches)
    policy = RecoveryPolicy(
        store_name="Northwind",
        sequence=attrs.evolve(sequence, touches=touches),
        discounts=rules,
        channels=(channel,),
    )
    who = customer(phone=PHONES[language], locale=language, timezone="Europe/Warsaw")
    issuer = FakeDiscountIssuer()
    driver = EngineDriver(policy, consent=[grant(who, channel)], discounts=issuer)
    # A service window keeps WhatsApp on free text, so the text itself is what goes.
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    driver.run_until(T0 + timedelta(days=8))
    return driver, issuer


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(OfferKind))
def test_every_offer_kind_is_worded_in_every_pack(language: str, kind: OfferKind) -> None:
    """The last touch says the offer in the customer's language; a code kind asks the
    issuer for a code of that kind and names it; instalments need no code."""
    driver, issuer = play(language, offers(kind))
    final = driver.touches()[-1].message
    assert 3 == final.touch
    assert f"final.{kind.pack_suffix}" == final.key
    assert SMS_WORDS[kind][language] in final.text
    sent = driver.states["chk-1"].sent[-1]
    if kind.needs_code:
        [(request, code)] = issuer.issued
        assert kind is request.offer
        assert code.code in final.text
        assert code.code == sent.discount_code
    else:
        assert [] == issuer.issued
        assert sent.discount_code is None


@pytest.mark.parametrize("channel", [Channel.WHATSAPP, Channel.EMAIL])
def test_a_gift_offer_names_the_gift(channel: Channel) -> None:
    """The store names its gift; chat and e-mail words carry the name as given."""
    driver, _ = play("en", offers(OfferKind.GIFT), channel)
    final = driver.touches()[-1].message
    assert "final.gift" == final.key
    assert GIFT in final.text


def test_an_ineligible_cart_gets_the_plain_last_touch_with_a_note() -> None:
    """Eligibility holds for every kind: under the minimum, no free delivery, and why."""
    rules = offers(OfferKind.FREE_SHIPPING, min_cart={"PLN": 500})
    driver, issuer = play("pl", rules)
    assert "final" == driver.touches()[-1].message.key
    assert [] == issuer.issued
    notes = [n.detail for n in driver.states["chk-1"].notes if isinstance(n, Info)]
    assert any("goes without free delivery: the cart is under" in n for n in notes)


def test_the_offer_is_policy_data_that_loads_and_round_trips() -> None:
    """``offer`` and ``gift`` load from a scenario's ``discounts`` and come back the same."""
    rules = DiscountPolicy.from_dict({"offer": "gift", "gift": "a mug"})
    assert (OfferKind.GIFT, "a mug") == (rules.offer, rules.gift)
    assert rules == DiscountPolicy.from_dict(rules.to_dict())
    assert "offer" not in DiscountPolicy().to_dict()
    with pytest.raises(DefinitionError, match=r"\$\.offer: unknown offer 'cashback'"):
        DiscountPolicy.from_dict({"offer": "cashback"})


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"offer": OfferKind.GIFT}, "needs the gift's name"),
        ({"offer": OfferKind.GIFT, "gift": "a mug\nand a pen"}, "one trimmed line"),
        ({"offer": OfferKind.GIFT, "gift": "x" * 61}, "at most 60"),
        ({"gift": "a mug"}, "set offer='gift'"),
        ({"offer": "cashback"}, "cashback"),
    ],
)
def test_an_offer_that_cannot_be_worded_is_refused(changes: dict[str, object], words: str) -> None:
    with pytest.raises((InvalidInputError, ValueError), match=words):
        DiscountPolicy(**changes)  # type: ignore[arg-type]


# -- the first touch after a payment that did not go through ------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", [Channel.SMS, Channel.WHATSAPP, Channel.VIBER, Channel.EMAIL])
def test_a_payment_friction_first_touch_names_the_card_and_3d_secure(
    language: str, channel: Channel
) -> None:
    """Friction ``payment_failed``: touch 1 uses ``remind.payment``, which names the card
    and the 3-D Secure check in every language and channel; touch 2 is the usual help."""
    who = attrs.evolve(
        customer(phone=PHONES[language], locale=language, timezone="Europe/Warsaw"),
        viber_id="vb-01234567",
    )
    sequence = presets.get("three-touch")
    touches = tuple(attrs.evolve(t, channel=channel) for t in sequence.touches)
    policy = RecoveryPolicy(
        store_name="Northwind", sequence=attrs.evolve(sequence, touches=touches)
    )
    driver = EngineDriver(policy, consent=[grant(who, channel)])
    driver.feed(CheckoutAbandoned(checkout(who, friction=Friction.PAYMENT_FAILED), T0))
    driver.run_until(T0 + timedelta(days=4))
    first, second = (sent.message for sent in driver.touches()[:2])
    assert "remind.payment" == first.key
    assert "3-D Secure" in first.text
    assert "help" == second.key


@pytest.mark.parametrize(
    ("friction", "stage", "key"),
    [
        (Friction.SHIPPING_COST, Stage.PAYMENT, "remind"),
        (None, Stage.PAYMENT, "remind.payment"),
        (None, Stage.SHIPPING, "remind"),
    ],
)
def test_payment_words_only_where_payment_was_the_trouble(
    friction: Friction | None, stage: Stage, key: str
) -> None:
    """A known friction decides; without one, reaching the payment step is the sign."""
    who = customer(timezone="Europe/Warsaw")
    cart = attrs.evolve(checkout(who, friction=friction), stage=stage)
    policy = RecoveryPolicy(store_name="Northwind", sequence=presets.get("sms-three-touch"))
    driver = EngineDriver(policy, consent=[grant(who, Channel.SMS)])
    driver.feed(CheckoutAbandoned(cart, T0))
    driver.run_until(T0 + timedelta(hours=3))
    [first] = driver.touches()
    assert key == first.message.key
    assert ("3-D Secure" in first.message.text) is (key == "remind.payment")


def test_a_pack_without_payment_words_sends_its_plain_reminder() -> None:
    """A store's own pack with no ``remind.payment`` keeps working: the plain ``remind``."""
    who = customer(phone=None, locale="en", timezone="Europe/London")
    policy = email_policy()
    driver = EngineDriver(policy, consent=[grant(who, Channel.EMAIL)])
    driver.feed(CheckoutAbandoned(checkout(who, friction=Friction.PAYMENT_FAILED), T0))
    driver.run_until(T0 + timedelta(hours=3))
    [first] = driver.touches()
    assert "remind" == first.message.key


def test_payment_words_that_do_not_fit_give_way_to_the_plain_reminder() -> None:
    """A ``remind.payment`` text the guard refuses (here three SMS segments) does not cost
    the customer their reminder: the plain ``remind`` goes, and a note says why."""
    long_line = "If the card or its 3-D Secure check did not go through, try again. " * 5
    stop = "{link}\nReply STOP to opt out."
    messages = {
        "remind": {"sms": "{store_name}: your checkout is saved: " + stop},
        "remind.payment": {"sms": "{store_name}: " + long_line + stop},
    }
    pack = MessagePack.load(
        {"name": "long-payment-words", "languages": {"en": {"messages": messages}}}
    )
    who = customer(locale="en", timezone="Europe/Warsaw")
    policy = RecoveryPolicy(
        store_name="Northwind", sequence=presets.get("sms-three-touch"), pack=pack
    )
    driver = EngineDriver(policy, consent=[grant(who, Channel.SMS)])
    driver.feed(CheckoutAbandoned(checkout(who, friction=Friction.PAYMENT_FAILED), T0))
    driver.run_until(T0 + timedelta(hours=3))
    [first] = driver.touches()
    assert "remind" == first.message.key
    notes = [n.detail for n in driver.states["chk-1"].notes if isinstance(n, Info)]
    assert any(n.startswith("touch 1 goes without the payment line: ") for n in notes)
