import sqlite3

import pytest

from console.core.snapshot import snapshot_to_dict
from console.execution.journal import Confirmation, Journal, JournalError, NewOrder
from console.execution.lifecycle import OrderState, TicketState
from tests.execution.helpers import snapshot, spread_ticket


@pytest.fixture
def journal(tmp_path):
    j = Journal.open(tmp_path / "j.sqlite3")
    yield j
    j.close()


def _order(cid: str, leg: int = 0) -> NewOrder:
    return NewOrder(client_id=cid, leg=leg, attempt=1, purpose="leg", account="futures",
                    symbol="BTC/USDT:USDT", side="sell", type="market", amount=0.25)


def test_wal_and_schema(tmp_path, journal):
    con = sqlite3.connect(tmp_path / "j.sqlite3")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal.schema_version == 2  # the first schema, then who confirmed and sent
    # reopening migrates nothing and keeps rows
    tid = journal.record_ticket(spread_ticket(), {"p": 1}, {"s": 1})
    journal.close()
    j2 = Journal.open(tmp_path / "j.sqlite3")
    assert j2.ticket(tid).state is TicketState.PLANNED
    j2.close()


def test_confirm_once(journal):
    t = spread_ticket()
    tid = journal.record_ticket(t, {"cost": 12}, snapshot_to_dict(snapshot()))
    journal.confirm(tid, "y", t.snapshot_ts)
    with pytest.raises(JournalError, match="not planned"):
        journal.confirm(tid, "y", t.snapshot_ts)
    row = journal.ticket(tid)
    assert row.state is TicketState.CONFIRMED and row.confirm_key == "y"
    assert row.ticket == t  # the ticket round-trips exactly
    assert journal.snapshot_json(tid)["accounts"]["futures"]["exchange"] == "binanceusdm"


def test_begin_sending_once(journal):
    tid = journal.record_ticket(spread_ticket(), {}, {})
    with pytest.raises(JournalError, match="not confirmed"):
        journal.begin_sending(tid, [_order("a1")])
    journal.confirm(tid, "enter", 1)
    journal.begin_sending(tid, [_order("a1")])
    with pytest.raises(JournalError, match="sent once"):
        journal.begin_sending(tid, [_order("a2")])
    assert [o.client_id for o in journal.orders(tid)] == ["a1"]


def test_a_yes_and_the_send_commit_together(journal):
    # the trader's yes, confirmed → sending and the order rows: one commit before the first byte
    tid = journal.record_ticket(spread_ticket(), {}, {})
    journal.begin_sending(tid, [_order("b1")], ts=5_000, confirm=Confirmation("y+120", 77, 4_000))
    row = journal.ticket(tid)
    assert row.state is TicketState.SENDING
    assert (row.confirm_key, row.confirmed_ms) == ("y+120", 4_000)
    steps = [(e.src, e.dst) for e in journal.events(tid) if e.kind == "transition"]
    assert steps == [(None, "planned"), ("planned", "confirmed"), ("confirmed", "sending")]
    assert [o.client_id for o in journal.orders(tid)] == ["b1"]


def test_a_yes_to_a_ticket_no_longer_planned_writes_nothing(journal):
    tid = journal.record_ticket(spread_ticket(), {}, {})
    journal.abandon(tid, "closed")
    with pytest.raises(JournalError, match="not planned"):
        journal.begin_sending(tid, [_order("b2")], confirm=Confirmation("y", 1, 2))
    assert journal.ticket(tid).state is TicketState.CANCELLED and journal.orders(tid) == []


def test_a_yes_whose_order_rows_fail_is_not_written_either(journal):
    tid = journal.record_ticket(spread_ticket(), {}, {})
    with pytest.raises(sqlite3.IntegrityError):  # one transaction: no yes without its rows
        journal.begin_sending(tid, [_order("dup"), _order("dup")], confirm=Confirmation("y", 1, 2))
    row = journal.ticket(tid)
    assert row.state is TicketState.PLANNED and row.confirmed_ms is None
    assert journal.orders(tid) == []


def test_failed_transaction_leaves_nothing(journal):
    tid = journal.record_ticket(spread_ticket(), {}, {})
    journal.confirm(tid, "y", 1)
    with pytest.raises(sqlite3.IntegrityError):  # duplicate client id inside one transaction
        journal.begin_sending(tid, [_order("dup"), _order("dup")])
    assert journal.ticket(tid).state is TicketState.CONFIRMED
    assert journal.orders(tid) == []


def test_fills_are_idempotent_and_priced(journal):
    tid = journal.record_ticket(spread_ticket(), {}, {})
    journal.confirm(tid, "y", 1)
    journal.begin_sending(tid, [_order("c1")])
    journal.update_order("c1", OrderState.PARTIAL, filled=0.1, average=100.0)
    journal.update_order("c1", OrderState.PARTIAL, filled=0.1, average=100.0)  # same answer twice
    journal.update_order("c1", OrderState.FILLED, filled=0.25, average=106.0)
    fills = journal.fills(tid)
    assert [round(f.amount, 9) for f in fills] == [0.1, 0.15]
    assert fills[1].price == pytest.approx((106 * 0.25 - 100 * 0.1) / 0.15)
    # a late "open" after "filled" is ignored and noted
    row = journal.update_order("c1", OrderState.OPEN, filled=0.0)
    assert row.state is OrderState.FILLED and row.filled == 0.25
    assert any(e.kind == "order_stale_update" for e in journal.events(tid))
    res = journal.residual(tid)
    assert res[0].done == pytest.approx(-0.25) and res[0].settled
    assert not res[1].settled


def test_forbidden_transition(journal):
    tid = journal.record_ticket(spread_ticket(), {}, {})
    with pytest.raises(JournalError, match="not an allowed transition"):
        journal.set_ticket_state(tid, TicketState.FILLED)


def test_secrets_never_stored(journal):
    from console.core.redact import forget_secrets, register_secret

    register_secret("SUPERSECRETKEY123")
    try:
        tid = journal.record_ticket(spread_ticket(), {"note": "SUPERSECRETKEY123"}, {"k": "SUPERSECRETKEY123"})
    finally:
        forget_secrets()
    assert "SUPERSECRETKEY123" not in str(journal.ticket(tid).preview)
    assert "SUPERSECRETKEY123" not in str(journal.snapshot_json(tid))


def test_every_transition_is_an_event(journal):
    tid = journal.record_ticket(spread_ticket(), {}, {})
    journal.confirm(tid, "y", 1)
    journal.begin_sending(tid, [_order("e1")])
    journal.update_order("e1", OrderState.FILLED, filled=0.25, average=1.0)
    kinds = [(e.kind, e.src, e.dst) for e in journal.events(tid)]
    assert kinds[:3] == [("transition", None, "planned"), ("transition", "planned", "confirmed"),
                         ("transition", "confirmed", "sending")]
    assert ("order", "new", "filled") in kinds


def test_abandon(journal):
    tid = journal.record_ticket(spread_ticket(), {}, {})
    journal.confirm(tid, "y", 1)
    journal.abandon(tid)
    assert journal.ticket(tid).state is TicketState.CANCELLED
    with pytest.raises(JournalError):
        journal.abandon(tid)
    with pytest.raises(JournalError):
        journal.begin_sending(tid, [_order("z1")])


def test_errors_scrubbed_of_signatures(journal):
    tid = journal.record_ticket(spread_ticket(), {}, {})
    journal.confirm(tid, "y", 1)
    journal.begin_sending(tid, [_order("s1")])
    row = journal.update_order("s1", OrderState.UNKNOWN,
                               error="RequestTimeout: POST http://x/fapi/v1/order?symbol=BTCUSDT&signature=abcdef123")
    assert "abcdef123" not in row.error and "signature=***" in row.error
    assert "abcdef123" not in str(journal.events(tid))
