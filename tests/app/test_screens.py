"""Screens and widgets the other suites do not reach: the preflight checklist on the demo
emulator, hedge and roll from the dashboard cursor, and the dashboard's renderers (drift
history, funding axes, alert fitting, prices, the footer at 120 columns)."""

from __future__ import annotations

from textual.widgets import Static

from console.app.app import RebalApp
from console.app.screens.builder import BuilderScreen
from console.app.screens.dashboard import DashboardScreen
from console.app.screens.preflight import PreflightScreen
from tests.app.conftest import SIZE, Rig, loaded, settle
from tests.app.test_journeys_emulator import clean_start, until
from widgets.alerts_panel import fit
from widgets.allocation_table import AllocationTable
from widgets.footer import KeyFooter
from widgets.plots import drift_chart, rate_ticks, time_ticks
from widgets.risk_panel import distance_style, price, short_symbol

# ------------------------------------------------------------------------------ preflight


async def test_preflight_screen_renders_the_checklist_on_the_emulator(rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await clean_start(pilot)
        await pilot.press("6")

        def painted() -> str:
            pane = app.screen.query_one("#pf-body", Static)
            return "\n".join(pane.render_line(y).text for y in range(pane.size.height))

        # The results land a frame before the pane is laid out again at its new height, so wait
        # for the painted checklist itself, not only for the run to finish.
        await until(pilot, lambda: isinstance(app.screen, PreflightScreen) and app.screen.results is not None
                    and all(r.name in painted() for ac in app.screen.results for r in ac.results),
                    what="the preflight checklist on screen")
        screen = app.screen
        body = painted()
        assert {ac.account for ac in screen.results} == {a.name for a in rig.config.accounts}
        for ac in screen.results:
            assert f"{ac.account} ({ac.exchange})" in body
            assert ("ready" if ac.passed else "NOT READY") in body
            for r in ac.results:
                assert r.name in body and r.mark in body
        assert "running the checks" not in body and "preflight failed" not in body


# ------------------------------------------------------------------------------ from the cursor


async def _to_row(pilot, key: str) -> None:  # noqa: ANN001
    table = pilot.app.screen.query_one(AllocationTable)
    while table.current_key() != key:
        await pilot.press("down")
        assert table.cursor_row < table.row_count - 1 or table.current_key() == key, key


async def test_h_opens_a_hedge_of_the_sleeve_under_the_cursor(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await _to_row(pilot, "S:ALTS")
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, BuilderScreen)
        assert app.screen.preset == ("hedge", "ALTS", None)
        assert app.screen.inputs.kind == "hedge" and app.screen.inputs.sell == "ALTS"
        await settle(pilot)  # one sleeve, which a hedge may buy or sell: not a field called "sell"
        assert str(app.screen.query_one("#b-sell-label").render()) == "hedge"
        assert not app.screen.query_one("#b-buy").display and not app.screen.query_one("#b-buy-inst").display


async def test_h_on_the_cash_sleeve_says_why_and_stays(app: RebalApp) -> None:
    # QA: h on STABLE (the cash sleeve, not offered by the builder) crashed the console
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await _to_row(pilot, "S:STABLE")
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert any("STABLE is the cash sleeve" in n.message for n in app._notifications)  # noqa: SLF001


async def test_r_opens_a_roll_of_the_position_under_the_cursor(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("r")  # on a sleeve row: no position to roll, the builder stays shut
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert any("position row" in n.message for n in app._notifications)  # noqa: SLF001
        await pilot.press("enter")  # expand BTC: its asset, then its perp position
        await _to_row(pilot, "P:BTC:futures:BTC/USDT:USDT")
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, BuilderScreen)
        assert app.screen.preset == ("roll", None, ("futures", "BTC/USDT:USDT"))
        assert app.screen.inputs.position == ("futures", "BTC/USDT:USDT")
        # the form is a roll's: no buy sleeve to pick, and "into" offers BTC's own hedges only
        # (QA: picking ETH there rolled a BTC hedge into an ETH short)
        await settle(pilot)
        b = app.screen
        assert str(b.query_one("#b-sell-label").render()) == "roll"
        assert str(b.query_one("#b-buy-label").render()) == "into"
        assert not b.query_one("#b-buy").display
        into = [v for _, v in b.query_one("#b-buy-inst")._options]  # noqa: SLF001
        btc = [h.symbol for h in app.config.sleeve("BTC").hedges]
        assert into[1:] == btc and all(sym.startswith("BTC/") for sym in into[1:])


async def test_footer_fits_120_columns(app: RebalApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert app.screen.query_one(KeyFooter).region.y == SIZE[1] - 1
        line = app.screen._compositor.render_strips()[-1].text  # noqa: SLF001 - the bottom row as drawn
        for want in ("Expand", "Hedge", "Roll", "screens", "Help", "Kill", "Quit", "^p palette"):
            assert want in line, (want, line)
        assert len(line.rstrip()) <= SIZE[0]


# ------------------------------------------------------------------------------ renderers


def test_drift_chart_reads_with_one_two_and_many_points() -> None:
    for n in (1, 2, 500):
        values = [(-1) ** i * (i % 7) * 0.5 for i in range(n)]
        text = drift_chart("BTC", values, 2.5, 100, 8).plain.splitlines()
        assert len(text) == 8  # title + an odd number of rows (7): zero on the middle one
        assert text[0].startswith("BTC drift history") and f"last {values[-1]:+.2f} pp" in text[0]
        assert f"{n} pt" in text[0] and "band ±2.50 pp" in text[0]
        labels = [row[:8].strip() for row in text[1:]]
        assert "+2.50pp" in labels and "0" in labels and "-2.50pp" in labels
        assert labels.index("0") == 3  # the middle row
        body = "\n".join(text[1:])
        assert body.count("●") == 1  # the newest point
        assert body.count("•") == min(n, 100 - 9) - 1  # every other point (bucketed past the width)
    empty = drift_chart("ETH", [], 2.0, 80, 6).plain
    assert "no data yet" in empty


def test_funding_axes_are_clock_times_and_percent() -> None:
    t0 = 1_795_000_000
    ticks, labels = time_ticks(t0 - 10, t0)
    assert ticks[0] <= t0 - 10 and ticks[-1] >= t0 and all(len(lb) == 8 for lb in labels)  # hh:mm:ss
    _, labels = time_ticks(t0 - 4 * 3600, t0)
    assert all(len(lb) == 5 and lb[2] == ":" for lb in labels)  # hh:mm
    ticks, labels = rate_ticks(-0.005, 0.08)
    assert "0" in labels and labels[-1] == "+0.100%" and ticks[0] <= -0.005
    assert len(ticks) <= 6


def test_alert_text_is_cut_at_a_word() -> None:
    msg = "ALTS breached its band: drift +2.16 pp (band ±2.00 pp)"
    assert fit(msg, 80) == msg
    cut = fit(msg, 40)
    assert cut.endswith("…") and len(cut) <= 40 and msg.startswith(cut[:-1]) and cut[-2] != " "
    assert "(ban" not in cut


def test_prices_and_distances() -> None:
    assert [price(x) for x in (185_951.3, 3_412.6, 761.754, 94.09852, 1.23456, 0.0432101)] == \
        ["185,951", "3,413", "761.75", "94.10", "1.235", "0.04321"]
    assert distance_style(-0.05) == "bold red" and distance_style(0.2) == "yellow"
    assert distance_style(-0.97) == "" and distance_style(None) == "dim"


def test_short_symbols_never_name_two_contracts_alike() -> None:
    # a COIN-M perp beside the USDⓈ-M one on the same coin must not read the same in the risk
    # panel or the table (both used to be BTC-PERP)
    names = {
        "BTC/USDT:USDT": "BTC-PERP", "BTC/USDT:USDT-261225": "BTC-261225",
        "BTC/USD:BTC": "BTCUSD-PERP", "BTC/USD:BTC-261225": "BTCUSD-261225",
        "BTC/USDC:USDC": "BTCUSDC-PERP", "BTC/USDT": "BTC/USDT",
    }
    assert {s: short_symbol(s) for s in names} == names
    assert len(set(names.values())) == len(names)


async def test_the_table_headings_say_the_goal_and_the_sort(app: RebalApp) -> None:
    # QA: after g the heading still read "Δ to goal", and o / O left no mark on the table
    from textual.widgets.data_table import ColumnKey

    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        table = app.screen.query_one(AllocationTable)

        def heading(key: str) -> str:
            return str(table.columns[ColumnKey(key)].label)

        assert heading("delta") == "Δ target" and heading("name") == "sleeve"
        await pilot.press("g")
        await pilot.pause()
        assert heading("delta") == "Δ band"
        await pilot.press("o")  # sort by name, ascending
        await pilot.pause()
        assert heading("name") == "sleeve▲"
        await pilot.press("O")
        await pilot.pause()
        assert heading("name") == "sleeve▼"
        await pilot.press("o")  # on to net: the arrow moves with the sort
        await pilot.pause()
        assert heading("name") == "sleeve" and heading("net") == "net▼"


async def test_the_funding_legend_tells_a_coinm_perp_from_the_usdt_one() -> None:
    """BTC/USDT:USDT and COIN-M's BTC/USD:BTC both fund BTC: the legend names the second by its
    pair (BTCUSD), each with its own last rate, and widens so that no rate is cut."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    from widgets.plots import FundingPlot

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield FundingPlot()

    t = 1_795_262_400_000
    async with One().run_test(size=(120, 36)) as pilot:
        plot = pilot.app.query_one(FundingPlot)
        plot.show({"BTC/USDT:USDT": [(t, 0.000142)], "BTC/USD:BTC": [(t, 0.000135)], "ETH/USDT:USDT": [(t, 0.0001)]})
        await pilot.pause()
        legend = pilot.app.query_one("#fp-legend", Static)
        lines = str(legend.render()).splitlines()
        assert [ln.split()[1:] for ln in lines] == [["BTC", "+0.0142%"], ["BTCUSD", "+0.0135%"], ["ETH", "+0.0100%"]]
        assert legend.size.width >= max(len(ln) for ln in lines)  # every rate whole (size: inside the padding)


def test_a_position_without_a_liquidation_price_says_why() -> None:
    """The risk panel's liq column: a price; "none" (no price move liquidates it: a COIN-M short
    backed by its own coin); "now" (under maintenance at every price); "—" (not known)."""
    from rich.console import Console

    from console.core.alerts import PositionRisk, RiskView
    from widgets.risk_panel import render_risk

    rows = [PositionRisk("coinm", "BTC/USD:BTC", "short", -200, -19_700.0, 95_000.0, None, None, "none"),
            PositionRisk("coinm", "ETH/USD:ETH", "long", 10, 100.0, 3_400.0, None, None, "now"),
            PositionRisk("futures", "SOL/USDT:USDT", "short", -1, -180.0, 180.0, None, None),
            PositionRisk("futures", "BTC/USDT:USDT", "short", -1, -95_000.0, 95_000.0, 186_216.0, 0.96)]
    console = Console(width=60, record=True)
    console.print(render_risk(RiskView((), tuple(rows), (), ()), 0, 0.8, width=56))
    liq = {ln.split()[0]: ln.split()[3] for ln in console.export_text().splitlines() if "PERP" in ln}
    assert liq == {"BTCUSD-PERP": "none", "ETHUSD-PERP": "now", "SOL-PERP": "—", "BTC-PERP": "186,216"}


def test_a_contract_two_accounts_hold_or_list_is_named_with_its_account():
    # BTC-PERP on Binance USDⓈ-M and on Bybit, at two funding rates: two rows a trader must be able
    # to tell apart; a contract only one account has keeps its short name alone
    from rich.console import Console

    from console.core.alerts import FundingLine, PositionRisk, RiskView
    from console.core.costs import FundingInfo
    from widgets.risk_panel import render_risk

    rows = (PositionRisk("bybit", "BTC/USDT:USDT", "short", -1, -95_000.0, 95_000.0, 190_000.0, 1.0),
            PositionRisk("futures", "BTC/USDT:USDT", "short", -1, -95_000.0, 95_000.0, 186_216.0, 0.96),
            PositionRisk("futures", "SOL/USDT:USDT", "short", -1, -180.0, 180.0, 400.0, 1.2))
    funding = (FundingLine("bybit", "BTC/USDT:USDT", FundingInfo(0.000198, 8.0, None)),
               FundingLine("futures", "BTC/USDT:USDT", FundingInfo(0.0001, 8.0, None)),
               FundingLine("futures", "SOL/USDT:USDT", FundingInfo(0.0001, 8.0, None)))
    console = Console(width=70, record=True)
    console.print(render_risk(RiskView((), rows, funding, ()), 0, 0.8, width=66))
    lines = console.export_text().splitlines()
    # each funding row's rate, as the venue gave it (rate × 100, four decimals), next to its account
    assert any(ln.split()[:3] == ["BTC-PERP", "bybit", f"{0.000198 * 100:+.4f}%"] for ln in lines)
    assert any(ln.split()[:3] == ["BTC-PERP", "futures", f"{0.0001 * 100:+.4f}%"] for ln in lines)
    assert [ln.split()[0] for ln in lines if ln.startswith("SOL-PERP")] == ["SOL-PERP", "SOL-PERP"]
    assert not any(ln.startswith("SOL-PERP futures") for ln in lines)
    # the positions: the two BTC shorts by account, their own liquidation prices
    assert any(ln.split()[:2] == ["BTC-PERP", "bybit"] and "190,000" in ln for ln in lines)
    assert any(ln.split()[:2] == ["BTC-PERP", "futures"] and "186,216" in ln for ln in lines)


def test_a_narrow_panel_names_the_account_above_its_rows_and_cuts_no_figure():
    from rich.console import Console

    from console.core.alerts import FundingLine, RiskView
    from console.core.costs import FundingInfo
    from widgets.risk_panel import render_risk

    funding = (FundingLine("futures", "AVAX/USDT:USDT", FundingInfo(-0.000128, 8.0, None)),
               FundingLine("futures", "BTC/USDT:USDT", FundingInfo(0.0001, 8.0, None)),
               FundingLine("bybit", "BTC/USDT:USDT", FundingInfo(0.000198, 8.0, None)))
    console = Console(width=40, record=True)
    console.print(render_risk(RiskView((), (), funding, ()), 0, 0.8, width=38))
    lines = [ln.strip() for ln in console.export_text().splitlines()]
    assert "…" not in "".join(lines)  # a rate, countdown or yearly figure is never cut
    i, j = lines.index("futures"), lines.index("bybit")
    assert lines[i + 1].split()[:2] == ["AVAX-PERP", f"{-0.000128 * 100:+.4f}%"]
    assert lines[i + 2].split()[:2] == ["BTC-PERP", f"{0.0001 * 100:+.4f}%"]
    assert lines[j + 1].split()[:2] == ["BTC-PERP", f"{0.000198 * 100:+.4f}%"]
