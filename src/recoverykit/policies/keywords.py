"""The words and phrases replies are read by, kept as data with where each one came from.

Every entry says whether it is *sourced* (a regulator, carrier or platform names it; see
``reference/rules.md`` §2) or *heuristic* (our own reading of how people write). The
FCC and platform keywords are universal: they apply whatever the customer's language.
Phrases are written here as people type them; the reply normaliser folds them the same
way it folds replies, so accents, case and apostrophes do not matter.
"""

from __future__ import annotations

import enum
from typing import Final, Literal

import attrs

__all__ = ["KEYWORDS", "Intent", "Keyword", "KeywordKind", "KeywordStatus"]


class Intent(enum.StrEnum):
    """What a customer's reply most likely means."""

    #: Stop messaging on this channel (STOP and its kin).
    OPT_OUT = "opt_out"
    #: Stop messaging on every channel (STOPALL, "stop all").
    OPT_OUT_ALL = "opt_out_all"
    #: Resume after an opt-out (START, UNSTOP); the only words that re-grant.
    OPT_IN = "opt_in"
    #: Asks for the help text (HELP, INFO).
    HELP = "help"
    #: A menu digit; ``Reply.choice`` holds the number.
    MENU_CHOICE = "menu_choice"
    #: The customer already bought, here or elsewhere.
    ALREADY_PURCHASED = "already_purchased"
    #: A refusal: not interested, no thanks.
    NOT_INTERESTED = "not_interested"
    #: A hesitation worth one calm answer: too expensive, still thinking.
    OBJECTION = "objection"
    #: An affirmative ("yes", "tak", "да", "oui"); the engine reads it by state.
    POSITIVE = "positive"
    #: A question for a person or the help text.
    QUESTION = "question"
    #: Nothing recognised.
    UNKNOWN = "unknown"


KeywordStatus = Literal["sourced", "heuristic"]

#: ``keyword``: the whole reply is the word (or, in ``contains`` mode, opt-out words anywhere);
#: ``phrase``: found anywhere in the reply; ``lead``: the reply starts with it.
KeywordKind = Literal["keyword", "phrase", "lead"]


@attrs.frozen
class Keyword:
    """One entry of the reply tables."""

    phrase: str
    intent: Intent
    status: KeywordStatus
    #: Where a sourced entry comes from, or why a heuristic one is here.
    source: str
    #: Language of the entry; ``"*"`` for the universal keywords.
    locale: str = "*"
    kind: KeywordKind = "keyword"
    #: The match probably means what ``intent`` says, but a person should confirm.
    review: bool = False


# -- sources -----------------------------------------------------------------------------
FCC_2: Final = "FCC-2: FCC 24-24, 89 FR 15756 (per se reasonable revocation words)"
TWILIO: Final = "Twilio default opt-out/opt-in keywords (rules.md §2.2)"
TELNYX: Final = "Telnyx opt-out keywords incl. 'STOP ALL' (rules.md §2.2)"
AWS: Final = "AWS End User Messaging required keywords (rules.md §2.2)"
TWILIO_PROXY: Final = "Twilio Proxy French opt-out keywords (rules.md §2.2)"
CTIA: Final = "CTIA short-code practice: HELP, INFO (rules.md §2.2)"
AWS_FR: Final = "AWS Canadian French keywords ARRET, AIDE (rules.md §2.3)"
RULES_2_3: Final = "rules.md §2.3 recommendation: add as heuristic"
FCC_1: Final = "FCC-1 'any reasonable means': natural-language request, needs review"
OWN: Final = "recoverykit heuristic: common wording in replies to cart reminders"
CP_6: Final = "CP-6: WhatsApp marketing opt-out quick reply 'Stop promotions' (rules.md §9)"
CP_6_LOCAL: Final = "CP-6: our rendering of the 'Stop promotions' button in this language"
RU_1: Final = "RU-1: 38-FZ art. 18, a request in any form stops the messages (rules.md §2.3)"
PLAIN_STOP: Final = "DOMAIN.md Consent: opt-outs by any reasonable means, plain words included"
PAYMENT: Final = "DOMAIN.md: a card, 3-D Secure or bank-app failure is friction a person helps with"


def _entries(
    intent: Intent,
    status: KeywordStatus,
    source: str,
    phrases: tuple[str, ...],
    *,
    locale: str = "*",
    kind: KeywordKind = "keyword",
    review: bool = False,
) -> tuple[Keyword, ...]:
    return tuple(
        Keyword(p, intent, status, source, locale=locale, kind=kind, review=review) for p in phrases
    )


_O = Intent.OPT_OUT
_ALL = Intent.OPT_OUT_ALL
_IN = Intent.OPT_IN
_H = Intent.HELP
_P = Intent.ALREADY_PURCHASED
_N = Intent.NOT_INTERESTED
_OBJ = Intent.OBJECTION
_Y = Intent.POSITIVE
_Q = Intent.QUESTION

_UNIVERSAL: Final = (
    *_entries(_O, "sourced", FCC_2, (
        "stop", "quit", "end", "revoke", "opt out", "cancel", "unsubscribe",
    )),
    *_entries(_O, "sourced", TWILIO, ("optout",)),
    *_entries(_O, "sourced", AWS, ("opt-out", "remove", "arret", "td")),
    *_entries(_O, "sourced", TWILIO_PROXY, ("arrete", "arrett")),
    *_entries(_ALL, "sourced", TWILIO, ("stopall",)),
    *_entries(_ALL, "sourced", TELNYX, ("stop all",)),
    *_entries(_ALL, "heuristic", OWN, ("unsubscribe all", "cancel all", "opt out all")),
    *_entries(_IN, "sourced", TWILIO, ("start", "unstop")),
    *_entries(_H, "sourced", CTIA, ("help", "info")),
)  # fmt: skip

#: The WhatsApp marketing opt-out button (CP-6): tapping it arrives as a reply with the
#: button's text. It revokes the channel like STOP does.
_PLATFORM: Final = (
    *_entries(_O, "sourced", CP_6, ("stop promotions",)),
    *_entries(_O, "heuristic", CP_6_LOCAL, ("zatrzymaj promocje",), locale="pl"),
    *_entries(_O, "heuristic", CP_6_LOCAL, ("остановить рекламу",), locale="ru"),
    *_entries(_O, "heuristic", CP_6_LOCAL, ("arrêter les promotions",), locale="fr"),
)  # fmt: skip

_EN: Final = (
    *_entries(_O, "heuristic", FCC_1, (
        "stop texting me", "stop texting", "stop messaging me", "stop sending me", "stop sending",
        "stop contacting me", "dont text me", "do not text me", "dont message me",
        "do not message me", "dont contact me", "do not contact me", "take me off",
        "remove me", "remove my number", "unsubscribe me", "opt me out", "please opt me out",
        "no more messages", "no more texts", "lose my number",
    ), locale="en", kind="phrase", review=True),
    *_entries(_P, "heuristic", OWN, (
        "already bought", "already purchased", "already ordered", "already got it",
        "bought it", "bought elsewhere", "bought it elsewhere", "ordered it", "i ordered",
        "just ordered", "just bought",
    ), locale="en", kind="phrase"),
    *_entries(_N, "heuristic", OWN, (
        "not interested", "no thanks", "no thank you", "changed my mind", "dont want it",
        "do not want it", "dont need it",
    ), locale="en", kind="phrase"),
    *_entries(_O, "heuristic", PLAIN_STOP, (
        "dont text me again", "do not text me again", "never text me", "never message me",
        "stop bothering me", "dont bother me", "do not bother me", "no more reminders",
    ), locale="en", kind="phrase", review=True),
    *_entries(_N, "heuristic", FCC_1, ("leave me alone", "go away", "wrong number"),
              locale="en", kind="phrase", review=True),
    *_entries(_Q, "heuristic", PAYMENT, (
        "card declined", "card was declined", "card got declined", "card was rejected",
        "payment failed", "payment declined", "payment didnt go through",
        "payment did not go through", "cant pay", "cannot pay", "3d secure",
    ), locale="en", kind="phrase"),
    *_entries(_OBJ, "heuristic", OWN, (
        "too expensive", "so expensive", "still thinking", "thinking about it", "let me think",
        "maybe later", "not now", "shipping is too", "too much",
    ), locale="en", kind="phrase"),
    *_entries(_Y, "heuristic", OWN, ("yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure"),
              locale="en", kind="lead"),
    *_entries(_Q, "heuristic", OWN, (
        "how", "what", "when", "where", "why", "which", "can i", "can you", "could", "do you",
        "does", "is it", "is there", "are", "will",
    ), locale="en", kind="lead"),
)  # fmt: skip

_RU: Final = (
    *_entries(_O, "heuristic", RULES_2_3, ("стоп", "отписаться", "отписка"), locale="ru"),
    *_entries(_O, "heuristic", OWN, ("отписать", "отпишите", "хватит"), locale="ru", review=True),
    *_entries(_O, "heuristic", FCC_1, (
        "отпишите меня", "не пишите мне", "не пишите больше", "больше не пишите",
        "перестаньте писать", "перестаньте присылать", "прекратите рассылку",
        "удалите мой номер", "не присылайте",
    ), locale="ru", kind="phrase", review=True),
    *_entries(_IN, "heuristic", OWN, ("старт",), locale="ru"),
    *_entries(_H, "heuristic", OWN, ("помощь", "справка"), locale="ru"),
    *_entries(_P, "heuristic", OWN, (
        "уже купил", "уже купила", "уже купили", "уже заказал", "уже заказала", "уже заказали",
        "купил в другом", "купила в другом",
    ), locale="ru", kind="phrase"),
    *_entries(_N, "heuristic", OWN, (
        "не интересует", "не интересно", "не нужно", "не надо", "нет спасибо", "передумал",
        "передумала",
    ), locale="ru", kind="phrase"),
    *_entries(_O, "heuristic", RU_1, (
        "больше не беспокойте", "не беспокойте", "отвяжитесь", "хватит писать",
        "хватит присылать", "прекратите писать", "не надо мне писать",
    ), locale="ru", kind="phrase", review=True),
    *_entries(_N, "heuristic", FCC_1, ("оставьте меня в покое", "отстаньте"), locale="ru",
              kind="phrase", review=True),
    *_entries(_Q, "heuristic", PAYMENT, (
        "карта не проходит", "карту не принимает", "карта отклонена", "карту отклонили",
        "оплата не проходит", "не проходит оплата", "платёж отклонён", "платеж не прошел",
        "не могу оплатить", "ошибка оплаты",
    ), locale="ru", kind="phrase"),
    *_entries(_OBJ, "heuristic", OWN, (
        "дорого", "слишком дорого", "подумаю", "ещё думаю", "пока думаю", "позже",
    ), locale="ru", kind="phrase"),
    *_entries(_Y, "heuristic", OWN, ("да", "ага", "хорошо", "ок", "конечно"), locale="ru",
              kind="lead"),
    *_entries(_Q, "heuristic", OWN, (
        "как", "где", "когда", "почему", "что", "сколько", "можно", "а как",
    ), locale="ru", kind="lead"),
)  # fmt: skip

_UK: Final = (
    *_entries(_O, "heuristic", OWN, ("стоп", "відписатися", "відписка"), locale="uk"),
    *_entries(_O, "heuristic", FCC_1, (
        "не пишіть мені", "не пишіть більше", "припиніть розсилку", "видаліть мій номер",
    ), locale="uk", kind="phrase", review=True),
    *_entries(_H, "heuristic", OWN, ("допомога",), locale="uk"),
    *_entries(_P, "heuristic", OWN, (
        "вже купив", "вже купила", "вже купили", "вже замовив", "вже замовила",
    ), locale="uk", kind="phrase"),
    *_entries(_N, "heuristic", OWN, ("не цікавить", "не цікаво", "ні дякую", "не потрібно"),
              locale="uk", kind="phrase"),
    *_entries(_OBJ, "heuristic", OWN, ("дорого", "задорого", "подумаю", "пізніше"),
              locale="uk", kind="phrase"),
    *_entries(_Y, "heuristic", OWN, ("так", "добре", "гаразд"), locale="uk", kind="lead"),
    *_entries(_Q, "heuristic", OWN, ("як", "де", "коли", "чому", "скільки"), locale="uk",
              kind="lead"),
)  # fmt: skip

_KK: Final = (
    *_entries(_O, "heuristic", OWN, ("тоқта", "тоқтат", "тоқтату"), locale="kk"),
    *_entries(_O, "heuristic", FCC_1, ("маған жазбаңыз", "жазбаңыз", "жазылымнан бас тарту"),
              locale="kk", kind="phrase", review=True),
    *_entries(_H, "heuristic", OWN, ("көмек",), locale="kk"),
    *_entries(_P, "heuristic", OWN, ("сатып алдым", "тапсырыс бердім"), locale="kk",
              kind="phrase"),
    *_entries(_N, "heuristic", OWN, ("қызықпаймын", "қызық емес", "керек емес"), locale="kk",
              kind="phrase"),
    *_entries(_OBJ, "heuristic", OWN, ("қымбат", "ойланамын"), locale="kk", kind="phrase"),
    *_entries(_Y, "heuristic", OWN, ("иә", "ия", "жарайды"), locale="kk", kind="lead"),
    *_entries(_Q, "heuristic", OWN, ("қалай", "қайда", "қашан", "неге", "қанша"), locale="kk",
              kind="lead"),
)  # fmt: skip

_PL: Final = (
    *_entries(_O, "heuristic", RULES_2_3, ("rezygnuję",), locale="pl"),
    *_entries(_O, "heuristic", RULES_2_3, ("nie",), locale="pl", review=True),
    *_entries(_O, "heuristic", OWN, ("rezygnacja", "wypisz"), locale="pl"),
    *_entries(_O, "heuristic", FCC_1, (
        "wypisz mnie", "nie piszcie", "nie piszcie do mnie", "przestańcie pisać",
        "nie wysyłajcie", "usuńcie mój numer",
    ), locale="pl", kind="phrase", review=True),
    *_entries(_O, "heuristic", PLAIN_STOP, (
        "nie piszcie więcej", "nie chcę wiadomości", "nie chcę sms", "nie chcę smsów",
        "proszę nie pisać", "nie zawracajcie mi głowy", "przestańcie wysyłać",
    ), locale="pl", kind="phrase", review=True),
    *_entries(_N, "heuristic", FCC_1, ("dajcie mi spokój", "zostawcie mnie w spokoju"),
              locale="pl", kind="phrase", review=True),
    *_entries(_Q, "heuristic", PAYMENT, (
        "karta odrzucona", "karta została odrzucona", "odrzuciło kartę", "odrzuca kartę",
        "płatność nie przeszła", "płatność odrzucona", "nie mogę zapłacić", "błąd płatności",
    ), locale="pl", kind="phrase"),
    *_entries(_H, "heuristic", OWN, ("pomoc",), locale="pl"),
    *_entries(_P, "heuristic", OWN, (
        "już kupiłem", "już kupiłam", "już zamówiłem", "już zamówiłam",
        "kupiłem gdzie indziej", "kupiłam gdzie indziej",
    ), locale="pl", kind="phrase"),
    *_entries(_N, "heuristic", OWN, (
        "nie jestem zainteresowany", "nie jestem zainteresowana", "nie interesuje mnie",
        "nie dziękuję", "nie potrzebuję", "rozmyśliłem się", "rozmyśliłam się",
    ), locale="pl", kind="phrase"),
    *_entries(_OBJ, "heuristic", OWN, (
        "za drogo", "zbyt drogo", "zastanowię się", "jeszcze myślę", "później",
    ), locale="pl", kind="phrase"),
    *_entries(_Y, "heuristic", OWN, ("tak", "ok", "dobrze", "jasne"), locale="pl", kind="lead"),
    *_entries(_Q, "heuristic", OWN, ("jak", "gdzie", "kiedy", "dlaczego", "czy", "ile"),
              locale="pl", kind="lead"),
)  # fmt: skip

_FR: Final = (
    *_entries(_O, "sourced", AWS_FR, ("arrêt",), locale="fr"),
    *_entries(_O, "heuristic", OWN, ("désabonner", "désinscrire", "stop sms"), locale="fr"),
    *_entries(_O, "heuristic", FCC_1, (
        "me désabonner", "désabonnez moi", "ne plus recevoir", "arrêtez de m'écrire",
        "arrêtez les messages", "supprimez mon numéro",
    ), locale="fr", kind="phrase", review=True),
    *_entries(_O, "heuristic", PLAIN_STOP, (
        "ne m'écrivez plus", "ne m'envoyez plus", "ne me contactez plus",
        "arrêtez de m'envoyer", "je ne veux plus recevoir", "ne me dérangez plus",
    ), locale="fr", kind="phrase", review=True),
    *_entries(_N, "heuristic", FCC_1, ("laissez moi tranquille", "fichez moi la paix"),
              locale="fr", kind="phrase", review=True),
    *_entries(_Q, "heuristic", PAYMENT, (
        "carte refusée", "carte a été refusée", "carte est refusée", "paiement refusé",
        "paiement a échoué", "le paiement ne passe pas", "je n'arrive pas à payer",
        "impossible de payer",
    ), locale="fr", kind="phrase"),
    *_entries(_H, "sourced", AWS_FR, ("aide",), locale="fr"),
    *_entries(_P, "heuristic", OWN, (
        "déjà acheté", "déjà commandé", "j'ai acheté", "j'ai commandé", "acheté ailleurs",
    ), locale="fr", kind="phrase"),
    *_entries(_N, "heuristic", OWN, (
        "pas intéressé", "pas intéressée", "non merci", "ça ne m'intéresse pas",
    ), locale="fr", kind="phrase"),
    *_entries(_OBJ, "heuristic", OWN, ("trop cher", "je réfléchis", "plus tard"), locale="fr",
              kind="phrase"),
    *_entries(_Y, "heuristic", OWN, ("oui", "d'accord", "ok"), locale="fr", kind="lead"),
    *_entries(_Q, "heuristic", OWN, ("comment", "quand", "pourquoi", "combien", "est ce que"),
              locale="fr", kind="lead"),
)  # fmt: skip

_ES: Final = (
    *_entries(_O, "heuristic", RULES_2_3, ("parar", "baja", "alto", "cancelar"), locale="es"),
    *_entries(_O, "heuristic", FCC_1, (
        "darme de baja", "dame de baja", "no me escriban", "dejen de escribirme",
        "no quiero mensajes", "borren mi número",
    ), locale="es", kind="phrase", review=True),
    *_entries(_H, "heuristic", OWN, ("ayuda",), locale="es"),
    *_entries(_P, "heuristic", OWN, (
        "ya lo compré", "ya compré", "ya lo pedí", "ya lo tengo", "lo compré en otro",
    ), locale="es", kind="phrase"),
    *_entries(_N, "heuristic", OWN, (
        "no me interesa", "no gracias", "no estoy interesado", "no estoy interesada",
    ), locale="es", kind="phrase"),
    *_entries(_OBJ, "heuristic", OWN, (
        "muy caro", "demasiado caro", "lo estoy pensando", "lo pensaré", "más tarde",
    ), locale="es", kind="phrase"),
    *_entries(_Y, "heuristic", OWN, ("sí", "vale", "claro"), locale="es", kind="lead"),
    *_entries(_Q, "heuristic", OWN, ("cómo", "dónde", "cuándo", "por qué", "cuánto"),
              locale="es", kind="lead"),
)  # fmt: skip

_DE: Final = (
    *_entries(_O, "heuristic", OWN, ("stopp", "abmelden", "abbestellen"), locale="de"),
    *_entries(_O, "heuristic", FCC_1, (
        "nicht mehr schreiben", "keine nachrichten mehr", "meine nummer löschen",
    ), locale="de", kind="phrase", review=True),
    *_entries(_H, "heuristic", OWN, ("hilfe",), locale="de"),
    *_entries(_P, "heuristic", OWN, (
        "schon gekauft", "bereits gekauft", "schon bestellt", "bereits bestellt",
    ), locale="de", kind="phrase"),
    *_entries(_N, "heuristic", OWN, ("kein interesse", "nein danke"), locale="de",
              kind="phrase"),
    *_entries(_OBJ, "heuristic", OWN, ("zu teuer", "überlege noch", "später"), locale="de",
              kind="phrase"),
    *_entries(_Y, "heuristic", OWN, ("ja", "gerne", "okay"), locale="de", kind="lead"),
    *_entries(_Q, "heuristic", OWN, ("wie", "wo", "wann", "warum", "wieso", "kann ich"),
              locale="de", kind="lead"),
)  # fmt: skip

#: Every entry, universal first. Order matters only for ties within one intent.
KEYWORDS: Final[tuple[Keyword, ...]] = (
    *_UNIVERSAL, *_PLATFORM, *_EN, *_RU, *_UK, *_KK, *_PL, *_FR, *_ES, *_DE,
)  # fmt: skip
