"""When in doubt, a person reads it: issue 20's conversations, played by ``recoverykit simulate``.

Each story is a scenario file run through the command line on the real runner; the
JSON lines it prints are what the tests read.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from recoverykit.runtime.cli import main

ANNA: dict[str, Any] = {
    "store": {"name": "Sklep Ola", "locale": "pl"},
    "policy": {"sequence": "whatsapp-three-touch"},
    "until": "2026-03-14T00:00:00Z",
    "customers": [
        {"id": "anna", "first_name": "Anna", "phone": "+48601234567", "locale": "pl",
         "consent": [{"channel": "whatsapp", "purpose": "recovery", "action": "granted",
                      "at": "2026-03-10T07:00:00Z", "source": "checkout_checkbox",
                      "text": "Tak, przypomnij mi na WhatsAppie.", "version": "1"}]},
    ],
    "checkouts": [
        {"id": "k1", "customer": "anna", "abandoned_at": "2026-03-10T08:00:00Z",
         "link": "https://ola.example/r/k1",
         "items": [{"sku": "S1", "name": "Kubek", "quantity": 1,
                    "unit_price": {"amount": "39.00", "currency": "PLN"}}],
         "total": {"amount": "39.00", "currency": "PLN"}},
    ],
    "events": [],
}  # fmt: skip


def reply(at: str, text: str, channel: str = "whatsapp") -> dict[str, Any]:
    return {"at": at, "type": "reply", "customer": "anna", "channel": channel, "text": text}


def simulate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    events: list[dict[str, Any]],
    **changes: Any,
) -> list[dict[str, Any]]:
    scenario = copy.deepcopy(ANNA)
    del scenario["events"]
    for key, value in changes.items():
        scenario[key] = value
    scenario["events"] = events  # last: a vocabulary must come before the replies it reads
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario, ensure_ascii=False), "utf-8")
    assert 0 == main(["simulate", str(path), "--format", "jsonl"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [row for row in rows if row["kind"] != "summary"]


def of(rows: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [row for row in rows if row["kind"] == kind]


def touches(rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(row["touch"], row["at"][:10]) for row in of(rows, "send")]


def test_annas_menu_answer_gets_its_help_pauses_and_her_postcode_reaches_a_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anna answers "1": the shipping help asks for her postcode and the recovery pauses;
    her "00-950" goes to a person; no touch 2 the next day; after 24 h without an answer
    from the store the plan resumes with a note, one gap later."""
    rows = simulate(
        tmp_path,
        capsys,
        [reply("2026-03-10T10:00:00Z", "1"), reply("2026-03-10T10:05:00Z", "00-950")],
    )
    answers = of(rows, "reply")
    assert ["menu.shipping"] == [row["message"] for row in answers]
    assert "kod pocztowy" in answers[0]["text"]
    handoffs = [(row["reason"], row["text"], row["paused"]) for row in of(rows, "handoff")]
    assert [("menu", "1", True), ("follow_up", "00-950", True)] == handoffs
    assert (1, "2026-03-10") == touches(rows)[0]
    assert [] == [row for row in of(rows, "send") if row["at"].startswith("2026-03-11")]
    resumed = [row for row in of(rows, "info") if row["what"] == "resumed"]
    assert 1 == len(resumed)
    assert resumed[0]["at"].startswith("2026-03-11T10:05")
    assert "resumed after 24 h without an answer from the store" in resumed[0]["detail"]
    assert (2, "2026-03-12") == touches(rows)[1]
    assert [1, 2, 3] == [touch for touch, _ in touches(rows)]


def test_an_unknown_reply_pauses_and_hands_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Words nobody taught the classifier are not dropped: a person gets them, and the
    touch planned for the next morning waits (no hand-off timeout: until the store says)."""
    rows = simulate(
        tmp_path,
        capsys,
        [reply("2026-03-10T10:00:00Z", "zielony, rozmiar M")],
        policy={"sequence": "whatsapp-three-touch", "handoff_timeout_hours": None},
    )
    assert [("unknown", "zielony, rozmiar M")] == [
        (row["reason"], row["text"]) for row in of(rows, "handoff")
    ]
    assert [1] == [touch for touch, _ in touches(rows)]
    assert [] == [row for row in of(rows, "info") if row["what"] == "resumed"]


def test_the_store_resumes_and_the_plan_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``RecoveryResumed`` (a ``resumed`` event) hands the recovery back: the next touch
    keeps its spacing, counted from the resume, and the sequence runs to its end."""
    rows = simulate(
        tmp_path,
        capsys,
        [
            reply("2026-03-10T10:00:00Z", "Czy wysyłacie do Czech?"),
            {"at": "2026-03-10T12:00:00Z", "type": "resumed", "checkout": "k1"},
        ],
    )
    resumed = [row for row in of(rows, "info") if row["what"] == "resumed"]
    assert ["2026-03-10T12:00:00Z"] == [row["at"] for row in resumed]
    assert "a person handed the recovery back" in resumed[0]["detail"]
    sent = touches(rows)
    assert [1, 2, 3] == [touch for touch, _ in sent]
    assert sent[1][1] == "2026-03-11"
    assert ["sequence_done"] == [row["reason"] for row in of(rows, "finish")]


@pytest.mark.parametrize(
    ("locale", "text", "reason"),
    [
        ("ru", "Больше не беспокойте", "needs_review"),
        ("ru", "Отвяжитесь", "needs_review"),
        ("en", "Don't text me again", "needs_review"),
        ("pl", "Przestańcie pisać", "needs_review"),
        ("fr", "Ne m'écrivez plus", "needs_review"),
    ],
)
def test_plain_word_stop_requests_opt_out_and_a_person_reads_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: str, text: str, reason: str
) -> None:
    """A stop request in plain words opts out at once (one confirmation, nothing after)
    and still reaches a person, who may need to check it."""
    customers = copy.deepcopy(ANNA["customers"])
    customers[0]["locale"] = locale
    rows = simulate(tmp_path, capsys, [reply("2026-03-10T10:00:00Z", text)], customers=customers)
    assert ["opted_out"] == [row["reason"] for row in of(rows, "finish")]
    assert 1 == len(of(rows, "confirm"))
    assert [1] == [touch for touch, _ in touches(rows)]
    assert [(reason, False)] == [(r["reason"], r["paused"]) for r in of(rows, "handoff")]


@pytest.mark.parametrize(
    ("locale", "text", "reason"),
    [
        ("ru", "Отстаньте", "needs_review"),
        ("fr", "Ma carte a été refusée", "question"),
        ("pl", "Karta odrzucona, co robić", "question"),
        ("ru", "Карта не проходит", "question"),
        ("en", "my card was declined", "question"),
    ],
)
def test_payment_trouble_and_unclear_refusals_pause_for_a_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], locale: str, text: str, reason: str
) -> None:
    """Payment trouble in words is a question for a person; a reply that may mean stop
    ("Отстаньте") pauses for review rather than opting out or going on."""
    customers = copy.deepcopy(ANNA["customers"])
    customers[0]["locale"] = locale
    rows = simulate(
        tmp_path,
        capsys,
        [reply("2026-03-10T10:00:00Z", text)],
        customers=customers,
        policy={"sequence": "whatsapp-three-touch", "handoff_timeout_hours": None},
    )
    assert [(reason, True)] == [(r["reason"], r["paused"]) for r in of(rows, "handoff")]
    assert [] == of(rows, "finish")
    assert [1] == [touch for touch, _ in touches(rows)]


def test_an_opt_out_while_paused_still_finishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person has the conversation, and the customer says STOP: confirmed, finished,
    and the person is told."""
    rows = simulate(
        tmp_path,
        capsys,
        [reply("2026-03-10T10:00:00Z", "2"), reply("2026-03-10T11:00:00Z", "STOP")],
    )
    assert ["opted_out"] == [row["reason"] for row in of(rows, "finish")]
    assert 1 == len(of(rows, "confirm"))
    assert ["menu", "follow_up"] == [row["reason"] for row in of(rows, "handoff")]
    assert [1] == [touch for touch, _ in touches(rows)]


def test_the_stores_vocabulary_reads_its_own_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario's ``vocabulary`` teaches the reader a store's words: "paczkomat" is a
    question here, where the built-in tables know nothing of it."""
    vocabulary = {"entries": [{"locale": "pl", "intent": "question", "phrase": "paczkomat"}]}
    rows = simulate(
        tmp_path, capsys, [reply("2026-03-10T10:00:00Z", "paczkomat Wola 12")],
        vocabulary=vocabulary,
    )  # fmt: skip
    events = [row for row in of(rows, "event") if row.get("intent")]
    assert ["question"] == [row["intent"] for row in events]
    assert ["question"] == [row["reason"] for row in of(rows, "handoff")]


def test_a_vocabulary_after_the_events_is_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Replies are read as the scenario streams in, so the vocabulary must come first."""
    scenario = copy.deepcopy(ANNA)
    scenario["events"] = [reply("2026-03-10T10:00:00Z", "paczkomat")]
    scenario["vocabulary"] = {"entries": []}
    path = tmp_path / "late.json"
    path.write_text(json.dumps(scenario, ensure_ascii=False), "utf-8")
    assert 2 == main(["simulate", str(path)])
    assert "$.vocabulary: must come before events" in capsys.readouterr().err
