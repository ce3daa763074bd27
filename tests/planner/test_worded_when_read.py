"""A plan proposes hundreds of tickets and a trader reads a few: their notes and per-leg reasons
are worded when first read (issue #14: "reason strings are built only for what is shown"), and
read as the same text as before, whoever reads them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from console.core import planner
from console.core.ticket import Later, Ticket, TicketKind
from tests import factories as f
from tests.planner.bigbook import build


def test_a_later_note_is_worded_once_and_read_as_text() -> None:
    calls: list[str] = []

    def words(name: str) -> str:
        calls.append(name)
        return f"hedge {name}"

    t = Ticket(TicketKind.HEDGE, (), 1, note=Later(words, "BTC"), reasons=Later(lambda: ("why",)))
    assert calls == []
    assert t.note == "hedge BTC" and t.note == "hedge BTC" and calls == ["BTC"]
    assert t.reasons == ("why",)
    # equality, hashing and replace see the text, as for a ticket built with it
    same = Ticket(TicketKind.HEDGE, (), 1, note="hedge BTC", reasons=("why",))
    assert t == same and hash(t) == hash(same)
    assert replace(t, horizon_days=3).note == "hedge BTC"
    with pytest.raises(AttributeError):
        t.note = "other"  # type: ignore[misc]  # still frozen


def test_defaults_are_empty_text() -> None:
    t = Ticket(TicketKind.HEDGE, (), 1)
    assert t.note == "" and t.reasons == () and t.warnings == ()


def test_propose_words_only_the_tickets_read(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, snap, books = build(50)
    worded: list[str] = []
    drift = planner._drift_words

    def counting(row, goal):  # type: ignore[no-untyped-def]
        worded.append(row.name)
        return drift(row, goal)

    monkeypatch.setattr(planner, "_drift_words", counting)
    tickets = planner.propose(cfg, snap, books=books, now_ms=f.T0, horizon_days=7)
    hedges = [t for t in tickets if t.kind is TicketKind.HEDGE]
    assert len(hedges) > 5 and worded == []  # nothing formatted for what no one read
    first = hedges[0]
    assert first.note.startswith(f"hedge: {worded[0]} at ") and len(worded) == 1
    assert "toward the goal" in first.reasons[-1] and len(worded) == 1
