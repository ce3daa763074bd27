"""A drift bar: where a sleeve's weight sits against its band, as one line of text."""

from __future__ import annotations

from rich.text import Text

STYLE = {"ok": "green", "warn": "yellow", "breach": "bold red", "n/a": "dim"}


def drift_bar(drift: float | None, halfwidth: float | None, status: str, width: int = 15) -> Text:
    """``├──┼──┤`` spans twice the band; the marker shows the drift; arrows mean off the scale.

    The band edges sit at a quarter and three quarters of the width.
    """
    if drift is None or not halfwidth:
        return Text("·" * width, style="dim")
    cells = ["─"] * width
    mid = width // 2
    q = width // 4
    lo, hi = mid - q, mid + q
    cells[mid] = "┼"
    cells[lo] = "├"
    cells[hi] = "┤"
    scaled = drift / halfwidth  # -1 .. +1 inside the band
    pos = round(mid + scaled * q)
    if pos < 0:
        cells[0], marker_at = "◀", 0
    elif pos > width - 1:
        cells[-1], marker_at = "▶", width - 1
    else:
        cells[pos], marker_at = "●", pos
    text = Text("".join(cells), style="dim")
    text.stylize(STYLE.get(status, ""), marker_at, marker_at + 1)
    return text
