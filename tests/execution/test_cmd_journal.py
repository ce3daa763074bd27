import csv
import io
import json

import pytest

from console.cli.journal import parse_since
from console.cli.main import main
from console.core.snapshot import snapshot_to_dict
from console.execution.executor import Executor
from console.execution.journal import Journal
from tests import factories as f
from tests.execution.fakes import FakeVenue
from tests.execution.helpers import config, snapshot, spread_ticket
from tests.execution.test_executor import FAST, Clock


@pytest.fixture
async def db(tmp_path):
    path = tmp_path / "j.sqlite3"
    j = Journal.open(path)
    t = spread_ticket()
    tid = j.record_ticket(t, {"cost_bps": 4.2}, snapshot_to_dict(snapshot()))
    j.confirm(tid, "y", t.snapshot_ts)
    ex = Executor(j, {"futures": FakeVenue()}, config(), lambda: snapshot(), policy=FAST, clock=Clock(),
                  require_reconcile=False)
    await ex.submit(tid)
    j.close()
    return path, tid


def test_parse_since():
    now = f.T0
    assert parse_since("24h", now) == now - 86_400_000
    assert parse_since("30m", now) == now - 1_800_000
    assert parse_since("2026-11-21", now) == f.T0 - 12 * 3_600_000
    with pytest.raises(Exception, match="duration"):
        parse_since("yesterday", now)


def test_list_text_csv_json(db, capsys):
    path, tid = db
    assert main(["journal", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert tid in out and "filled" in out
    assert main(["journal", "--db", str(path), "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["ticket"] == tid and rows[0]["state"] == "filled" and rows[0]["orders"] == "2"
    assert main(["journal", "--db", str(path), "--json", "--since", "1h"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["residual"] == "+0; +0"
    assert main(["journal", "--db", str(path), "--json", "--since", "2000-01-01"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_show_replays_one_ticket(db, capsys):
    path, tid = db
    assert main(["journal", "show", tid, "--db", str(path)]) == 0
    out = capsys.readouterr().out
    for part in ("Snapshot", "Plan", "Confirmation", "Orders", "Fills", "Timeline", "Residual",
                 "key 'y'", "confirmed → sending"):
        assert part in out, part
    assert main(["journal", "show", tid, "--db", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["confirmation"]["keystroke"] == "y"
    assert d["plan"]["preview"] == {"cost_bps": 4.2}
    assert len(d["orders"]) == 2 and len(d["fills"]) == 2
    assert d["snapshot"]["data"]["accounts"]["futures"]["exchange"] == "binanceusdm"


def test_user_errors(db, tmp_path, capsys):
    path, _ = db
    assert main(["journal", "show", "nosuchtick", "--db", str(path)]) == 2
    assert main(["journal", "frobnicate", "--db", str(path)]) == 2
    assert main(["journal", "--db", str(tmp_path / "none.sqlite3")]) == 2
    err = capsys.readouterr().err
    assert "no ticket" in err and "unknown journal command" in err and "no journal" in err
