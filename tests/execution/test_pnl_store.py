"""The P&L store beside the journal: rows kept once, the history start fixed on first use,
and an unreadable file put aside (a cache lost) instead of stopping the console."""

from __future__ import annotations

from pathlib import Path

from console.core.pnl import Fill, FundingPayment, PnlTotals
from console.execution.pnl_store import PnlStore

T = 1_795_262_400_000


def test_rows_are_kept_once_and_the_history_start_is_fixed(tmp_path: Path) -> None:
    path = tmp_path / "pnl.sqlite3"
    store = PnlStore.open(path)
    assert store.history_start(T) == T
    f = Fill("1", T + 5, "sell", 0.1, 95_000.0, 4.75, "USDT")
    store.add_fills("futures", "BTC/USDT:USDT", [f], T + 10)
    store.add_fills("futures", "BTC/USDT:USDT", [f], T + 20)  # the overlap refetched: not twice
    store.add_funding("futures", {"BTC/USDT:USDT": [FundingPayment("9", T + 7, 1.5, "USDT")]}, T + 20)
    store.add_sample(T + 20, 1_000.0, PnlTotals(1.0, 2.0, 3.0, 0.5))
    store.close()

    again = PnlStore.open(path)
    assert again.history_start(T + 999) == T  # a restart keeps the first start
    assert again.fills("futures", "BTC/USDT:USDT") == [f]
    assert again.cursor("futures", "BTC/USDT:USDT", "fills") == T + 20
    assert again.funding("futures", "BTC/USDT:USDT") == [FundingPayment("9", T + 7, 1.5, "USDT")]
    assert again.cursor("futures", "*", "funding") == T + 20
    (s,) = again.history()
    assert (s.nav, s.overlay) == (1_000.0, 1.0 + 2.0 + 3.0 - 0.5)
    assert again.reset_note is None
    again.close()


def test_an_unreadable_file_is_put_aside_and_said_so(tmp_path: Path) -> None:
    path = tmp_path / "pnl.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = PnlStore.open(path)
    try:
        assert store.history() == []  # a fresh store
        aside = list(tmp_path.glob("pnl.sqlite3.unreadable-*"))
        assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
        assert store.reset_note is not None and aside[0].name in store.reset_note
    finally:
        store.close()


def test_the_history_keeps_a_point_every_five_minutes_and_the_newest() -> None:
    store = PnlStore.open(None)
    minute = 60_000
    for i in range(12):  # a refresh every 30 s for 5.5 minutes
        store.add_sample(T + i * minute // 2, 1_000.0 + i, PnlTotals(float(i), 0.0, 0.0, 0.0))
    kept = [(s.ts - T) // 1000 for s in store.history()]
    # T kept; T+300 s is five minutes on, kept; T+330 s is the newest (live) point
    assert kept == [0, 300, 330]
    assert store.history()[-1].nav == 1_011.0
    store.close()
