"""The confirmation modal: shows the whole ticket; y once; n / escape; typed notional."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static

from console.app.screens.confirm import ConfirmScreen, notional_digits
from console.core.preview import preview
from console.core.ticket import Ticket
from tests.app.conftest import SIZE, read_through
from tests.app.sample import T0, sample_config, sample_snapshot


def spread_ticket() -> Ticket:
    from console.core.planner import build_spread

    return build_spread(sample_config(), sample_snapshot(), "ALTS", "BTC", now_ms=T0)


class Host(App[None]):
    def __init__(self, ticket: Ticket, threshold: float) -> None:
        super().__init__()
        self.ticket = ticket
        self.threshold = threshold
        self.results: list[bool] = []
        # each on_yes call: its keystroke, and whether the modal was still on screen then
        self.yes: list[tuple[str, bool]] = []
        self.modal: ConfirmScreen | None = None

    def config(self):  # noqa: ANN201
        return sample_config()

    def on_mount(self) -> None:
        pv = preview(self.config(), sample_snapshot(), self.ticket, now_ms=T0)
        self.modal = ConfirmScreen(self.ticket, pv, threshold=self.threshold, on_yes=self.said_yes)
        self.push_screen(self.modal, self.results.append)

    def said_yes(self, keystroke: str) -> None:
        self.yes.append((keystroke, self.screen is self.modal))


def body_text(modal: ConfirmScreen) -> str:
    from rich.console import Console

    c = Console(width=116, record=True)
    for s in modal.query(Static):
        c.print(s.visual._renderable if hasattr(s.visual, "_renderable") else s.render())  # noqa: SLF001
    return c.export_text()


async def test_shows_every_leg_costs_margin_and_warnings_then_y_confirms_once() -> None:
    t = spread_ticket()
    host = Host(t, threshold=1e12)
    async with host.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        modal = host.modal
        assert modal is not None and modal.shown
        text = body_text(modal)
        for tl in t.legs:
            assert tl.leg.symbol in text and tl.leg.account in text
        for word in ("Costs over", "Margin ratio", "Positions after", "reduce-only", "market"):
            assert word in text
        await read_through(pilot)
        await pilot.press("y")
        await pilot.press("y")  # a second press: the modal has already decided
        await pilot.pause(0.1)
        assert host.results == [True]
        assert modal.keystroke == "y"
        # the send is started once, from the yes itself, while the modal is still up
        assert host.yes == [("y", True)]


async def test_n_and_escape_cancel() -> None:
    for key in ("n", "escape"):
        host = Host(spread_ticket(), threshold=1e12)
        async with host.run_test(size=SIZE) as pilot:
            await pilot.pause(0.1)
            await pilot.press(key, "y")
            await pilot.pause(0.1)
            assert host.results == [False]
            assert host.yes == []


async def test_above_threshold_the_notional_must_be_typed() -> None:
    t = spread_ticket()
    host = Host(t, threshold=1_000.0)
    async with host.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        await read_through(pilot)
        await pilot.press("y")
        await pilot.pause(0.05)
        assert host.results == []  # nothing typed: refused
        digits = notional_digits(t)
        await pilot.press(*("9" + digits[1:]), "y")  # wrong digits
        await pilot.pause(0.05)
        assert host.results == []
        host.modal.query_one("Input").value = ""
        assert host.yes == []  # refused yeses start nothing
        await pilot.press(*digits, "enter")
        await pilot.pause(0.1)
        assert host.results == [True]
        assert host.modal.keystroke == f"y+{digits}"
        assert host.yes == [(f"y+{digits}", True)]


async def test_on_a_short_terminal_y_waits_until_the_ticket_is_read_to_its_end() -> None:
    """Over SSH at 24 rows the ticket is taller than the window: the keys stay in sight, and
    `y` is refused until the body has been scrolled to its last line."""
    host = Host(spread_ticket(), threshold=1e12)
    async with host.run_test(size=(120, 24)) as pilot:
        await pilot.pause(0.1)
        modal = host.modal
        assert modal is not None and modal.shown
        prompt = modal.query_one("#confirm-prompt", Static)
        assert prompt.region.bottom <= 24 and prompt.region.height >= 1  # the keys are on screen
        assert "continues below" in str(prompt.render())
        await pilot.press("y")
        await pilot.pause(0.05)
        assert host.results == []
        assert "y not taken: read the ticket to its end" in str(prompt.render())
        for _ in range(8):
            await pilot.press("pagedown")
        await pilot.pause(0.05)
        assert modal.read_to_end
        await pilot.press("y")
        await pilot.pause(0.1)
        assert host.results == [True]


async def test_a_ticket_that_fits_needs_no_scrolling() -> None:
    host = Host(spread_ticket(), threshold=1e12)
    async with host.run_test(size=(120, 90)) as pilot:
        await pilot.pause(0.1)
        assert host.modal is not None and host.modal.read_to_end
        assert "continues below" not in str(host.modal.query_one("#confirm-prompt", Static).render())


def test_legs_never_cut_a_figure_in_a_narrow_window() -> None:
    """At 80 columns the legs table would not fit the modal: each leg then takes two lines
    (side, contracts, symbol, notional; then type, reduce-only, account, sleeve, purpose)."""
    from rich.console import Console

    from console.core.numbers import money
    from widgets.legs_table import legs_renderable, table_width

    t = spread_ticket()
    for width in (table_width(t), 74):
        c = Console(width=width, record=True)
        c.print(legs_renderable(t))
        text = c.export_text()
        assert "…" not in text
        for tl in t.legs:
            leg = tl.leg
            assert leg.symbol in text and leg.side.upper() in text and money(leg.notional) in text
            assert f"{leg.contracts:g}" in text
    assert table_width(t) > 74  # the narrow case really is the stacked one


class BlockedHost(Host):
    """The sample ticket under a 1,000 per-order limit: a pre-trade check fails."""

    def config(self):  # noqa: ANN201
        cfg = sample_config()
        return cfg.model_copy(update={"limits": cfg.limits.model_copy(update={"max_order_notional": 1_000.0})})


async def test_a_ticket_failing_its_pretrade_checks_cannot_be_confirmed() -> None:
    host = BlockedHost(spread_ticket(), threshold=1e12)
    async with host.run_test(size=(120, 90)) as pilot:
        await pilot.pause(0.1)
        prompt = str(host.modal.query_one("#confirm-prompt", Static).render())
        assert "pre-trade check(s) fail" in prompt and "would refuse" in prompt
        await pilot.press("y")
        await pilot.pause(0.1)
        assert host.results == []  # refused in the modal, not at the venue
        await pilot.press("n")
        await pilot.pause(0.1)
        assert host.results == [False]


async def test_typed_notional_end_reaches_the_end_and_y_sends() -> None:
    """With the digits box focused, `end` still scrolls the ticket and `y` still confirms."""
    t = spread_ticket()
    host = Host(t, threshold=1_000.0)
    async with host.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.1)
        modal = host.modal
        assert not modal.read_to_end
        await pilot.press("end")
        await pilot.pause(0.1)
        assert modal.read_to_end
        await pilot.press(*notional_digits(t), "y")
        await pilot.pause(0.1)
        assert host.results == [True] and modal.keystroke == f"y+{notional_digits(t)}"


async def test_a_y_before_the_end_is_refused_out_loud_and_the_next_y_sends() -> None:
    host = Host(spread_ticket(), threshold=1e12)
    async with host.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.1)
        prompt = host.modal.query_one("#confirm-prompt", Static)
        await pilot.press("y")
        await pilot.pause(0.1)
        assert host.results == [] and "y not taken" in str(prompt.render())
        await pilot.press("end")
        await pilot.pause(0.2)  # the scroll lands; the refusal is not silently wiped
        assert "press y again to send" in str(prompt.render())
        await pilot.press("y")
        await pilot.pause(0.1)
        assert host.results == [True]
