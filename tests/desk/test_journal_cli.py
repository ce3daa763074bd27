"""`rebal-tui journal migrate`, `journal copy --to URL` and `--journal URL` on a real server."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from console.cli.main import main
from console.core.config import parse_config
from console.execution.journal import Journal
from tests.execution.test_cmd_journal import db  # noqa: F401  (a SQLite journal with one sent ticket)


def _everything(j: Journal) -> dict:
    """Every row a user can read back, ids and timestamps included."""
    tickets = j.tickets()
    return {
        "tickets": [asdict(t) for t in tickets],
        "orders": [asdict(o) for o in j.orders()],
        "fills": [asdict(f) for f in j.fills()],
        "events": [asdict(e) for e in j.events()],
        "positions": j.position_baseline("futures"),
    }


def test_migrate_creates_the_schema_then_says_up_to_date(pg_url, capsys):
    assert main(["journal", "migrate", "--journal", pg_url]) == 0
    assert "schema 2 (was 0)" in capsys.readouterr().out
    assert main(["journal", "migrate", "--journal", pg_url]) == 0
    assert "schema 2 (up to date)" in capsys.readouterr().out


def test_copy_moves_a_sqlite_journal_without_loss(db, pg_url, capsys):  # noqa: F811
    path, tid = db
    with Journal.open(path) as j:
        j.set_position_baseline("futures", {"BTC/USDT:USDT": -0.25}, 1_795_000_000_000)
        before = _everything(j)
        n_events = len(before["events"])
    assert main(["journal", "copy", "--db", str(path), "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert f"{n_events} events" in out and "[journal] url" in out
    with Journal.open(pg_url) as pg:
        assert _everything(pg) == before
        # the copy goes on where the file stopped: the next event gets the next id
        pg.note(tid, "after_copy")
        assert pg.latest_event() == n_events + 1  # ids 1..n came from the file
    # and the CLI reads it back the same way it read the file
    assert main(["journal", "--json", "--journal", pg_url]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["ticket"] for r in rows] == [tid]


def test_copy_refuses_a_journal_that_has_rows(db, pg_url, capsys):  # noqa: F811
    path, _ = db
    assert main(["journal", "copy", "--db", str(path), "--to", pg_url]) == 0
    capsys.readouterr()
    assert main(["journal", "copy", "--db", str(path), "--to", pg_url]) == 2
    err = capsys.readouterr().err
    assert "already has tickets" in err and "empty journal" in err
    with Journal.open(pg_url) as pg:
        assert len(pg.tickets()) == 1  # nothing doubled


@pytest.mark.parametrize("argv, message", [
    (["journal", "--journal", "postgresql://desk:hunter2@db.lan/j"], "--journal carries a password"),
    (["journal", "--journal", "mysql://db.lan/j"], "--journal 'mysql://db.lan/j' is not a PostgreSQL URL"),
    (["journal", "copy"], "usage: rebal-tui journal copy --to"),
    (["journal", "copy", "--to", "postgresql://u:pw@h/j"], "--to carries a password"),
])
def test_bad_journal_flags_name_the_flag_and_the_fix(argv, message, capsys, tmp_path):
    assert main([*argv, "--db", str(tmp_path / "none.sqlite3")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "hunter2" not in err


def test_config_journal_url_is_checked():
    base = 'sleeves = [{name = "BTC", assets = ["BTC"], target = 1.0}]\n'
    assert parse_config(base + '[journal]\nurl = "postgresql://desk@db.lan/journal"\n').journal.url \
        == "postgresql://desk@db.lan/journal"
    assert parse_config(base).journal.url is None  # SQLite stays the default
    with pytest.raises(Exception, match=r"journal.*password.*\.pgpass") as err:
        parse_config(base + '[journal]\nurl = "postgresql://desk:hunter2@db.lan/journal"\n')
    assert "hunter2" not in str(err.value)


def test_unreachable_journal_is_a_message_not_a_traceback(pg, capsys):
    url = f"postgresql://rebal@127.0.0.1:{pg.port + 1}/nowhere"
    assert main(["journal", "--journal", url]) == 2
    err = capsys.readouterr().err
    assert "unreachable" in err and "Traceback" not in err


def test_show_names_who_confirmed_and_who_sent(pg_url, capsys):
    from console.execution.journal import NewOrder, Origin
    from tests.execution.helpers import hedge_ticket

    with Journal.open(pg_url, origin=Origin("bob", "desk-2", "b")) as j:
        tid = j.record_ticket(hedge_ticket(), {}, {})
        j.confirm(tid, "y", 1)
        j.begin_sending(tid, [NewOrder("rbtbob1", 0, 1, "leg", "futures", "BTC/USDT:USDT", "sell", "market", 0.25)])
    assert main(["journal", "show", tid, "--journal", pg_url]) == 0
    out = capsys.readouterr().out
    assert "key 'y'" in out and "by bob@desk-2/b" in out
    assert "rbtbob1" in out.split("Orders")[1].split("Fills")[0]
    assert main(["journal", "show", tid, "--journal", pg_url, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["confirmation"]["by"] == "bob@desk-2/b" and d["orders"][0]["origin"] == "bob@desk-2/b"


def test_the_console_refuses_a_journal_url_with_a_password_before_it_starts(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no user config: the demo portfolio
    assert main(["--demo", "--journal", "postgresql://desk:hunter2@db.lan/j"]) == 2
    err = capsys.readouterr().err
    assert "--journal carries a password" in err and ".pgpass" in err and "hunter2" not in err
