"""What the blotter and a demo session leave for the trader to read afterwards."""

from __future__ import annotations

from console.execution.lifecycle import TicketState
from tests.execution.helpers import spread_ticket
from tests.execution.test_executor import journal  # noqa: F401 - the journal fixture


def test_a_reconciled_ticket_keeps_why_it_was_cancelled(journal) -> None:  # noqa: F811
    # QA: R turned "cancelled at the confirmation" into a bare "reconciled" on the blotter
    from console.app.screens.blotter import read_blotter

    tid = journal.record_ticket(spread_ticket(), {}, {})
    journal.abandon(tid, "cancelled at the confirmation")
    journal.set_ticket_state(tid, TicketState.RECONCILED)
    assert read_blotter(journal, tid).reason(tid) == "cancelled at the confirmation"


def test_a_demo_session_without_tickets_leaves_no_temporary_journal(tmp_path, capsys) -> None:
    # QA: every --demo run left a /tmp/rebal-demo-* folder behind (180 of them)
    from console.cli.launch import _keep_or_drop_demo_journal
    from console.execution import Journal

    empty = tmp_path / "rebal-demo-a" / "journal.sqlite3"
    empty.parent.mkdir()
    Journal.open(empty).close()
    _keep_or_drop_demo_journal(empty)
    assert not empty.parent.exists() and capsys.readouterr().err == ""
    used = tmp_path / "rebal-demo-b" / "journal.sqlite3"
    used.parent.mkdir()
    j = Journal.open(used)
    j.record_ticket(spread_ticket(), {}, {})
    j.close()
    _keep_or_drop_demo_journal(used)
    assert used.exists() and f"rebal-tui journal --db {used}" in capsys.readouterr().err
