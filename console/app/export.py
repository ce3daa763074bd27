"""Writes the console's CSV exports (``console.core.export`` makes the text) into the user
data folder, one new file per export, whole or not at all."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from console.core import export
from console.core.errors import UserError
from console.core.snapshot import write_atomic

if TYPE_CHECKING:
    from console.core.allocation import Allocation
    from console.core.pnl import PnlReport
    from console.execution.journal import Journal

EXPORT_FOLDER = "exports"


def export_dir() -> Path:
    """``<user data folder>/rebal-tui/exports`` (platformdirs: e.g. ~/.local/share on Linux)."""
    import platformdirs

    return platformdirs.user_data_path("rebal-tui") / EXPORT_FOLDER


def write_export(kind: str, text: str, now_ms: int, folder: Path | None = None) -> Path:
    """``<folder>/<kind>-YYYYMMDD-HHMMSS.csv`` (UTC, from the console's clock); a second
    export in the same second gets a ``-2`` suffix instead of overwriting the first."""
    folder = folder or export_dir()
    stamp = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).strftime("%Y%m%d-%H%M%S")
    path = folder / f"{kind}-{stamp}.csv"
    n = 2
    while path.exists():
        path = folder / f"{kind}-{stamp}-{n}.csv"
        n += 1
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}; check that the folder is writable") from None
    return path


def export_csv(kind: str, *, alloc: Allocation | None, journal: Journal | None, pnl: PnlReport | None) -> str:
    """The CSV text of one export; a UserError says why there is nothing to export yet."""
    if kind == "allocation":
        if alloc is None:
            raise UserError("no allocation yet: the first snapshot has not arrived")
        return export.allocation_csv(alloc)
    if kind == "tickets":
        if journal is None:
            raise UserError("no journal is open: there are no tickets to export")
        return export.tickets_csv(export.TicketLine(t.id, t.created_ms, t.state.value, t.ticket)
                                  for t in journal.tickets())
    if kind == "pnl":
        if pnl is None:
            raise UserError("no overlay P&L yet: it is read from the venues after the first snapshot")
        return export.pnl_csv(pnl)
    raise UserError(f"unknown export {kind!r}; choose one of {', '.join(export.KINDS)}")
