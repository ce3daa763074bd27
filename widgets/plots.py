"""Drift history per sleeve (a sparkline) and funding-rate history (a plotext plot)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Sparkline
from textual_plotext import PlotextPlot


class DriftSpark(Vertical):
    DEFAULT_CSS = """
    DriftSpark { height: 3; }
    DriftSpark Label { height: 1; color: $text-muted; }
    DriftSpark Sparkline { height: 2; }
    """

    def compose(self) -> ComposeResult:
        yield Label("drift history", id="spark-label")
        yield Sparkline([], id="spark")

    def show(self, sleeve: str, drifts_pp: Sequence[float]) -> None:
        self.query_one("#spark-label", Label).update(
            f"{sleeve} drift history ({len(drifts_pp)} pts; last {drifts_pp[-1]:+.2f} pp)" if drifts_pp
            else f"{sleeve} drift history (no data yet)")
        # the sparkline scales min..max: pin zero in view so the sign reads true
        self.query_one("#spark", Sparkline).data = [*drifts_pp, 0.0] if drifts_pp else []


class FundingPlot(PlotextPlot):
    """Funding rate (% per interval) of each perp over the console's session."""

    def show(self, series: dict[str, Sequence[float]]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Funding rate, % per interval")
        plt.theme("clear")
        for sym, values in series.items():
            if values:
                plt.plot(list(range(len(values))), [v * 100 for v in values], label=sym.split("/")[0])
        self.refresh()
