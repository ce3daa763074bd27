"""Drift history of the sleeve under the cursor (drift in pp against its band) and funding-rate
history per perp (a plotext plot on a time axis, legend beside it).

Both render what they are handed; choosing rows, ticks and labels is formatting only.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from itertools import groupby

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Static
from textual_plotext import PlotextPlot

from widgets.risk_panel import short_symbol

GUTTER = 9  # "+12.50pp " : the y labels


def _pp(v: float) -> str:
    return "0" if v == 0 else f"{v:+.2f}pp"


def _columns(values: Sequence[float], width: int) -> list[tuple[int, float]]:
    """(column, value) for each shown point: newest at the right edge. Fewer points than columns
    are spaced out (up to 4 columns apart); more are bucketed, each bucket showing its value
    furthest from zero, so an excursion is never hidden by the compression."""
    n = len(values)
    if n == 0 or width <= 0:
        return []
    if n <= width:
        step = max(1, min(4, (width - 1) // max(1, n - 1))) if n > 1 else 1
        return [(width - 1 - (n - 1 - i) * step, v) for i, v in enumerate(values)]
    out = []
    for c in range(width):
        lo, hi = c * n // width, (c + 1) * n // width
        bucket = values[lo:max(hi, lo + 1)]
        out.append((c, max(bucket, key=abs)))
    return out


def drift_chart(sleeve: str, drifts_pp: Sequence[float], halfwidth_pp: float | None,
                width: int, height: int) -> Text:
    """A ``width`` × ``height`` text chart: a title line, then drift (pp) per row with the zero
    line and the band edges drawn across, the y scale in the left gutter."""
    n = len(drifts_pp)
    band = f"band ±{halfwidth_pp:.2f} pp" if halfwidth_pp else "no band"
    if n:
        title = Text.assemble((f"{sleeve} drift history", "bold"),
                              (f"  last {drifts_pp[-1]:+.2f} pp · {band} · {n} pt{'s' if n != 1 else ''}"
                               f"{' (oldest → now)' if n > 1 else ''}", "dim"))
    else:
        title = Text.assemble((f"{sleeve} drift history", "bold"), (f"  {band} · no data yet", "dim"))
    rows = height - 1
    rows -= 0 if rows % 2 else 1  # an odd count: zero sits on the middle row, the band symmetric
    plot_w = width - GUTTER
    if rows < 2 or plot_w < 4:
        return title
    hw = halfwidth_pp or 0.0
    top = max(hw * 1.25, max((abs(v) for v in drifts_pp), default=0.0) * 1.1, 0.01)

    def row_of(v: float) -> int:
        return min(rows - 1, max(0, round((top - v) / (2 * top) * (rows - 1))))

    zero = row_of(0.0)
    edges = {row_of(hw): hw, row_of(-hw): -hw} if hw else {}
    grid = [[" "] * plot_w for _ in range(rows)]
    styles: list[list[str]] = [[""] * plot_w for _ in range(rows)]
    for r, ch in [(zero, "─"), *((r, "╌") for r in edges)]:
        grid[r] = [ch] * plot_w
        styles[r] = ["dim"] * plot_w
    pts = _columns(drifts_pp, plot_w)
    for i, (c, v) in enumerate(pts):
        r = row_of(v)
        outside = bool(hw) and abs(v) > hw
        last = i == len(pts) - 1
        grid[r][c] = "●" if last else "•"
        styles[r][c] = ("bold red" if outside else "bold yellow" if last else "yellow") if last or outside else "cyan"
    out = Text()
    out.append_text(title)
    for r in range(rows):
        label = ""
        if r == 0:
            label = _pp(top)
        elif r == rows - 1:
            label = _pp(-top)
        if r in edges:
            label = _pp(edges[r])
        if r == zero:
            label = "0"
        out.append("\n")
        out.append(f"{label:>{GUTTER - 1}} ", style="dim" if r not in edges else "yellow")
        # one append per run of a style, not per character: this chart is redrawn on every
        # applied state and every cursor move, so its cost is on the keypress path
        for st, run in groupby(zip(grid[r], styles[r], strict=True), key=lambda cs: cs[1]):
            out.append("".join(ch for ch, _ in run), style=st)
    return out


class DriftSpark(Widget):
    """Drift history of one sleeve; sized by its container (at least a title and 3 rows)."""

    DEFAULT_CSS = """
    DriftSpark { height: 1fr; min-height: 4; color: $text; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._data: tuple[str, tuple[float, ...], float | None] = ("", (), None)

    def show(self, sleeve: str, drifts_pp: Sequence[float], halfwidth_pp: float | None = None) -> None:
        data = (sleeve, tuple(drifts_pp), halfwidth_pp)
        if data != self._data:
            self._data = data
            self.refresh()

    def render(self) -> Text:
        sleeve, values, hw = self._data
        if not sleeve:
            return Text("drift history", style="dim")
        size = self.content_region.size
        return drift_chart(sleeve, values, hw, size.width, size.height)


# ------------------------------------------------------------------------------ funding

# one marker and colour per perp, in the legend's order (plotext colour, rich colour)
MARKERS = ("●", "■", "▲", "◆", "✚", "○")
COLOURS = (("cyan+", "bright_cyan"), ("magenta+", "bright_magenta"), ("yellow+", "bright_yellow"),
           ("green+", "bright_green"), ("red+", "bright_red"), ("blue+", "bright_blue"))


def _base(symbol: str) -> str:
    return symbol.split("/")[0]


def legend_label(symbol: str) -> str:
    """A perp's name in the legend: its base for a USDT perp (BTC), else its pair as the risk
    panel names it without "-PERP" (BTCUSD: COIN-M's BTC perp, beside the USDT one)."""
    return short_symbol(symbol).removesuffix("-PERP")


LEGEND_LABEL = 5  # the label column's width for bases (BTC, AVAX); longer pairs widen it


TIME_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 4 * 3600, 8 * 3600,
                86_400, 2 * 86_400, 7 * 86_400)


def time_ticks(t0_s: float, t1_s: float, most: int = 5) -> tuple[list[float], list[str]]:
    """Round clock ticks (at most ``most``) spanning [t0, t1]: hh:mm:ss when the step is under
    a minute, hh:mm under a day, dates beyond."""
    if t1_s - t0_s < 1:
        t0_s, t1_s = t0_s - 30, t1_s + 30
    step = next((s for s in TIME_STEPS_S if (t1_s - t0_s) / s <= most - 1), TIME_STEPS_S[-1])
    lo, hi = math.floor(t0_s / step) * step, math.ceil(t1_s / step) * step
    ticks = [lo + i * step for i in range(round((hi - lo) / step) + 1)]
    fmt = "%H:%M:%S" if step < 60 else "%H:%M" if step < 86_400 else "%m-%d"
    return ticks, [dt.datetime.fromtimestamp(t, dt.UTC).strftime(fmt) for t in ticks]


def rate_ticks(lo: float, hi: float, most: int = 5) -> tuple[list[float], list[str]]:
    """Round y ticks in % per interval (1, 2, 2.5 or 5 × 10^k apart); the range includes zero."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = max(hi - lo, 1e-4)
    raw = span / (most - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = [i * step for i in range(first, last + 1)]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if round(step / mag, 1) == 2.5 else 0)
    return ticks, [f"{t:+.{decimals}f}%" if t else "0" for t in ticks]


class FundingPlot(Horizontal):
    """Funding rate (% per interval) of each perp over time, one marker and colour per perp,
    the legend (with each perp's last rate) beside the plot, never over it."""

    DEFAULT_CSS = """
    FundingPlot > PlotextPlot { width: 1fr; }
    FundingPlot > #fp-legend { width: 16; padding: 0 0 0 1; }
    """

    _shown: Mapping[str, Sequence[tuple[int, float]]] | None = None

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="fp-plot")
        yield Static("", id="fp-legend")

    def show(self, series: Mapping[str, Sequence[tuple[int, float]]]) -> None:
        """``series``: symbol -> (epoch ms, rate as a fraction per interval), oldest first."""
        if series == self._shown:
            return  # plotext redraws the whole figure: not for the same points again
        self._shown = {k: list(v) for k, v in series.items()}
        plot = self.query_one("#fp-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.theme("clear")
        legend = Text()
        points = [(t, v) for pts in series.values() for t, v in pts]
        if not points:
            self.query_one("#fp-legend", Static).update(Text("no funding\nrates yet", style="dim"))
            plot.refresh()
            return
        shown = [(sym, pts) for sym, pts in sorted(series.items(), key=lambda kv: _base(kv[0])) if pts]
        k = len(shown)
        # "● " + label + "+0.0142%" + the left padding: 16 for bases, wider for a COIN-M pair
        col = max([LEGEND_LABEL, *(len(legend_label(s)) + 1 for s, _ in shown)])
        self.query_one("#fp-legend", Static).styles.width = 2 + col + 8 + 1
        for i, (sym, pts) in enumerate(shown):
            marker, (pcol, rcol) = MARKERS[i % len(MARKERS)], COLOURS[i % len(COLOURS)]
            xs, ys = [t / 1000 for t, _ in pts], [v * 100 for _, v in pts]
            if len(pts) > 1:
                plt.plot(xs, ys, marker="braille", color=pcol)
            # with enough points each perp puts its marker on every k-th one, staggered, so
            # perps with the same rates alternate their markers instead of hiding each other
            at = range(i % k, len(pts), k) if len(pts) >= 2 * k else range(len(pts))
            plt.scatter([xs[j] for j in at], [ys[j] for j in at], marker=marker, color=pcol)
            if i:
                legend.append("\n")
            legend.append(f"{marker} ", style=rcol)
            legend.append(f"{legend_label(sym):<{col}}", style="bold")
            legend.append(f"{pts[-1][1] * 100:+.4f}%", style="dim")
        xs, xl = time_ticks(min(t for t, _ in points) / 1000, max(t for t, _ in points) / 1000)
        ys, yl = rate_ticks(min(v for _, v in points) * 100, max(v for _, v in points) * 100)
        plt.xticks(xs, xl)
        plt.yticks(ys, yl)
        plt.xlim(xs[0], xs[-1])
        plt.ylim(ys[0], ys[-1])
        self.query_one("#fp-legend", Static).update(legend)
        plot.refresh()
