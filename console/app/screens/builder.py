"""The spread builder: the planner's proposal or a hand-picked pair, each input recomputing
the legs, costs and what-if live (in a worker, newest input wins); ctrl+r opens the
confirmation modal on exactly what is shown.

Tickets come from ``console.core.planner`` (spread, hedge, roll), order style from
``console.core.orderstyle``, and every figure from ``console.core.preview``; this screen only gathers
inputs and renders the Preview.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Label, Select, Static

from console.app.screens import paint_header
from console.core import planner
from console.core.config import Goal
from console.core.errors import UserError
from console.core.planner import AUTO, TicketRequest, candidate_books
from console.core.snapshot import Snapshot, book_key
from console.core.ticket import OrderType, Ticket, TicketKind
from console.core.venuedata import merged, of
from widgets.footer import KeyFooter
from widgets.header import HeaderBar
from widgets.inputs import NumberInput
from widgets.legs_table import LegsTable
from widgets.preview_view import PreviewView

if TYPE_CHECKING:
    from console.app.app import RebalApp
    from console.app.state import DashboardState
    from console.core.preview import Preview

DEBOUNCE_S = 0.15


class PlanReady(Message):
    """The worker's answer for one set of inputs: a ticket and its preview, or why not, and
    the snapshot it was built on."""

    def __init__(self, inputs: TicketRequest, ticket: Ticket | None, preview: Preview | None, error: str | None,
                 snapshot: Snapshot | None = None) -> None:
        self.inputs = inputs
        self.ticket = ticket
        self.preview = preview
        self.error = error
        self.snapshot = snapshot
        super().__init__()


class BuilderScreen(Screen):
    TITLE = "Spread builder"
    BINDINGS = [
        Binding("ctrl+r", "review", "Review & confirm", id="builder.review", priority=True,
                tooltip="Open the confirmation modal on the ticket shown"),
        Binding("ctrl+n", "next_proposal", "Next proposal", id="builder.next", priority=True,
                tooltip="Load the planner's next proposed ticket"),
        Binding("ctrl+g", "toggle_goal", "Goal", id="builder.goal", priority=True,
                tooltip="Size to the target or to the band edge"),
        Binding("escape", "back", "Back", id="builder.back", tooltip="Back to the dashboard"),
    ]
    DEFAULT_CSS = """
    BuilderScreen .form-line { height: 1; margin: 0 1; }
    BuilderScreen .form { width: auto; height: 1; }
    /* too narrow for a line of fields: its two halves stack, so no field is out of reach */
    BuilderScreen.-narrow .form-line { layout: vertical; height: 2; }
    BuilderScreen .form Label { width: auto; margin: 0 1 0 0; color: $text-muted; }
    BuilderScreen .form Select { width: 13; margin: 0 2 0 0; }
    BuilderScreen .form Input { width: 7; margin: 0 2 0 0; }
    BuilderScreen #b-kind { width: 11; }
    BuilderScreen #b-sell-inst, BuilderScreen #b-buy-inst { width: 24; }
    BuilderScreen #b-note { height: auto; max-height: 2; margin: 0 1; color: $text-muted; }
    BuilderScreen.-narrow #b-note { max-height: 3; }
    BuilderScreen LegsTable { height: auto; margin: 0 1; }
    BuilderScreen #b-preview-box { height: 1fr; margin: 0 1; }
    """

    app: RebalApp

    def __init__(self, kind: str = "spread", sleeve: str | None = None,
                 position: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.preset = (kind, sleeve, position)
        self.inputs = TicketRequest(kind=kind, sell=sleeve, position=position)
        self.ticket: Ticket | None = None
        self.preview: Preview | None = None
        self.shown_inputs: TicketRequest | None = None
        self.proposals: list[Ticket] = []
        self.proposal_index = -1
        self.banner = ""  # why the builder shows something other than what was asked (above the note)
        self._debounce = None
        self._loading = True  # form values set by code, not the trader: do not recompute per field
        self.built_on: Snapshot | None = None  # the snapshot the shown ticket was built on
        self._building = False  # a build is on its way: a new state must not restart it
        # why the form shows no ticket (a field not a number, the planner's refusal); None
        # while a ticket is shown. A field cleared and retyped to the value of the last ticket
        # must be taken, not dropped as "the form the code set"
        self.no_ticket: str | None = None

    # ------------------------------------------------------------------ layout

    NARROW = 116  # columns below which each line of fields stacks its two halves
    REFRESH_MS = 15_000  # a shown ticket older than this (snapshot time) is built again

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < self.NARROW, "-narrow")

    def compose(self) -> ComposeResult:
        cfg = self.app.config
        sleeves = [(s.name, s.name) for s in cfg.sleeves if not cfg.is_cash(s)]
        yield HeaderBar(id="header")
        with Horizontal(classes="form-line"):
            with Horizontal(classes="form"):
                yield Label("kind")
                yield Select([("spread", "spread"), ("hedge", "hedge"), ("roll", "roll")], value=self.inputs.kind,
                             allow_blank=False, compact=True, id="b-kind")
                yield Label("sell", id="b-sell-label")
                yield Select(sleeves, compact=True, id="b-sell", prompt="sleeve")
                yield Select([("auto", AUTO)], value=AUTO, allow_blank=False, compact=True, id="b-sell-inst")
            with Horizontal(classes="form"):
                yield Label("buy", id="b-buy-label")
                yield Select(sleeves, compact=True, id="b-buy", prompt="sleeve")
                yield Select([("auto", AUTO)], value=AUTO, allow_blank=False, compact=True, id="b-buy-inst")
        with Horizontal(classes="form-line"):
            with Horizontal(classes="form"):
                yield Label("goal")
                yield Select([("target", Goal.TARGET.value), ("band edge", Goal.BAND.value)],
                             value=Goal.TARGET.value, allow_blank=False, compact=True, id="b-goal")
                yield Label("horizon d")
                yield NumberInput("7", compact=True, id="b-horizon")
                yield Label("order")
                yield Select([("market", "market"), ("limit", "limit"), ("post-only", "post_only")], value="market",
                             allow_blank=False, compact=True, id="b-style")
            with Horizontal(classes="form"):
                yield Label("offset bp")
                yield NumberInput("0", compact=True, id="b-offset")
                yield Label("slices")
                yield NumberInput("1", decimal=False, compact=True, id="b-slices")
                yield Label("over min")
                yield NumberInput("0", compact=True, id="b-over")
        yield Static("", id="b-note")
        yield LegsTable(id="b-legs")
        with VerticalScroll(id="b-preview-box"):
            yield PreviewView(id="b-preview")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self._header()
        kind, sleeve, position = self.preset
        if kind == "spread" and sleeve is None:
            self.load_proposals()
        else:
            self._fill(self.inputs)
            self.schedule()

    # ------------------------------------------------------------------ proposals

    @work(exclusive=True, group="proposals", exit_on_error=False)
    async def load_proposals(self) -> None:
        st = self.app.state
        if st is None:
            self.query_one(PreviewView).show(None, "no data yet: the builder opens on the planner's proposal "
                                                   "once the first snapshot arrives")
            return

        app = self.app
        tickets = await asyncio.to_thread(planner.propose, app.config, st.snapshot, goal=app.goal,
                                          horizon_days=self.inputs.horizon_days, now_ms=app.now_ms(), rolls=False)
        self.proposals = [t for t in tickets if t.legs]
        if self.preset[0] == "spread":
            pair = planner.spread_pair(app.config, st.alloc, app.goal)
            if isinstance(pair, tuple):
                # `s` opens the spread itself; ctrl+n then walks the planner's proposals
                self.banner = ""
                self._fill(replace(self.inputs, kind="spread", sell=pair[0], buy=pair[1], sell_inst=AUTO,
                                   buy_inst=AUTO, goal=app.goal))
                self.schedule()
                return
            self.banner = (f"no spread to build ({pair}): showing the planner's proposal instead" if self.proposals
                           else f"no spread to build ({pair})")
        if not self.proposals:
            self._fill(self.inputs)
            why = f"{self.banner}. " if self.banner else ""
            # ctrl+r names this rather than waiting for a ticket no build is on its way to make
            self.no_ticket = (f"{why}The planner proposes nothing: every sleeve is inside its band. "
                              "Pick a pair to build a spread by hand.")
            self.query_one(PreviewView).show(None, self.no_ticket)
            return
        self.action_next_proposal()

    def action_next_proposal(self) -> None:
        if not self.proposals:
            self.notify("no proposals", timeout=2)
            return
        self.proposal_index = (self.proposal_index + 1) % len(self.proposals)
        t = self.proposals[self.proposal_index]
        sleeves = list(dict.fromkeys(tl.leg.sleeve for tl in t.legs))
        sells = [tl.leg.sleeve for tl in t.legs if tl.leg.side == "sell"]
        buys = [tl.leg.sleeve for tl in t.legs if tl.leg.side == "buy"]
        if t.kind is TicketKind.SPREAD and sells and buys:
            inp = replace(self.inputs, kind="spread", sell=sells[0], buy=buys[0], sell_inst=AUTO, buy_inst=AUTO)
        else:
            inp = replace(self.inputs, kind="hedge", sell=sleeves[0], buy=None, sell_inst=AUTO, buy_inst=AUTO)
        self.notify(f"proposal {self.proposal_index + 1}/{len(self.proposals)}: {t.kind.value} "
                    f"{' / '.join(sleeves)}", timeout=2)
        self._fill(inp)
        self.schedule()

    # ------------------------------------------------------------------ inputs

    def _fill(self, inp: TicketRequest) -> None:
        """Put ``inp`` into the form without each field triggering its own recompute."""
        self._loading = True
        self.inputs = inp
        self.query_one("#b-kind", Select).value = inp.kind
        self._set_select("#b-sell", inp.sell)
        self._set_select("#b-buy", inp.buy)
        self._instrument_options("#b-sell-inst", inp.sell, inp.sell_inst)
        self._instrument_options("#b-buy-inst", inp.buy, inp.buy_inst)
        self.query_one("#b-goal", Select).value = inp.goal.value
        self._kind_form(inp)
        self.call_after_refresh(self._loaded)

    def _loaded(self) -> None:
        self._loading = False

    def _set_select(self, sel_id: str, value: str | None) -> None:
        sel = self.query_one(sel_id, Select)
        if value is None or value not in sel._legal_values:  # noqa: SLF001 - Select has no public list
            sel.clear()  # a value the list does not offer (the cash sleeve, say) leaves the field to pick
        else:
            sel.value = value

    def _kind_form(self, inp: TicketRequest) -> None:
        """The fields each kind reads, named for what they mean: a hedge has one sleeve (it may
        buy or sell); a roll has its position's sleeve and the contract it rolls into, one of
        that sleeve's own hedges (never another sleeve's: that would be a spread)."""
        kind = inp.kind
        self.query_one("#b-sell-label", Label).update({"hedge": "hedge", "roll": "roll"}.get(kind, "sell"))
        self.query_one("#b-buy-label", Label).update("into" if kind == "roll" else "buy")
        self.query_one("#b-buy").display = kind == "spread"
        for w in ("#b-buy-label", "#b-buy-inst"):
            self.query_one(w).display = kind != "hedge"
        sleeve = self._roll_sleeve(inp) if kind == "roll" else inp.buy
        self._instrument_options("#b-buy-inst", sleeve, inp.buy_inst)

    def _roll_sleeve(self, inp: TicketRequest) -> str | None:
        if inp.sell is not None or inp.position is None or self.app.state is None:
            return inp.sell
        try:
            return planner.sleeve_of_position(self.app.config, self.app.state.snapshot, *inp.position)
        except UserError:
            return None

    def _instrument_options(self, sel_id: str, sleeve: str | None, value: str) -> None:
        cfg = self.app.config
        opts = [("auto (cheapest)", AUTO)]
        if sleeve is not None:
            opts += [(h.symbol, h.symbol) for h in cfg.sleeve(sleeve).hedges]
        sel = self.query_one(sel_id, Select)
        sel.set_options(opts)
        sel.value = value if any(v == value for _, v in opts) else AUTO

    def read_inputs(self) -> TicketRequest:
        """The form as inputs; a field that is not a number raises ValueError naming it (the
        builder then shows no ticket: never one computed from a value the trader did not type)."""
        def num(sel: str, label: str, example: str) -> float:
            raw = self.query_one(sel, Input).value.strip()
            try:
                return float(raw)
            except ValueError:
                what = "is empty" if not raw else f"{raw!r} is not a number"
                raise ValueError(f"{label} {what}: type a number such as {example}") from None

        def sel(s: str) -> str | None:
            w = self.query_one(s, Select)
            return None if w.is_blank() else str(w.value)

        return replace(
            self.inputs,
            kind=sel("#b-kind") or "spread", sell=sel("#b-sell"), buy=sel("#b-buy"),
            sell_inst=sel("#b-sell-inst") or AUTO, buy_inst=sel("#b-buy-inst") or AUTO,
            goal=Goal(sel("#b-goal") or Goal.TARGET.value),
            horizon_days=max(num("#b-horizon", "horizon (days)", "7 or 0.5"), 0.0),
            style=OrderType(sel("#b-style") or "market"), offset_bps=num("#b-offset", "offset (bp)", "0 or 2.5"),
            slices=max(int(num("#b-slices", "slices", "1 or 4")), 1),
            over_minutes=num("#b-over", "over (min)", "0 or 15"),
        )

    @on(Select.Changed)
    @on(Input.Changed)
    def _changed(self, event: Message) -> None:
        if self._loading or (self.no_ticket is None and self._form_is_what_code_set()):
            return
        self.banner = ""  # the trader took over: the proposal's caveat no longer applies
        if isinstance(event, Select.Changed) and event.select.id in ("b-sell", "b-buy"):
            inst = "#b-sell-inst" if event.select.id == "b-sell" else "#b-buy-inst"
            self._instrument_options(inst, None if event.select.is_blank() else str(event.value), AUTO)
        if isinstance(event, Select.Changed) and event.select.id in ("b-kind", "b-sell"):
            # a number field half typed raises: the kind's fields follow on the next change
            with contextlib.suppress(ValueError):
                self._kind_form(self.read_inputs())
        self.schedule()

    def _form_is_what_code_set(self) -> bool:
        """A Changed message can arrive after ``_fill`` has finished (messages are queued): one
        that leaves the form equal to the inputs the code put there is not the trader's."""
        try:
            return self.read_inputs() == self.inputs
        except ValueError:
            return False

    def schedule(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_S, self._recompute_now)

    def _recompute_now(self) -> None:
        self._debounce = None
        if not self.is_attached:  # removed (a switch) after the timer was set: nothing to show
            return
        try:
            inp = self.read_inputs()
        except ValueError as exc:
            # nothing to review until the field is fixed: the last ticket no longer matches the form
            self.ticket = self.preview = self.shown_inputs = None
            self.no_ticket = str(exc)
            self.query_one("#b-note", Static).update("")
            self.query_one(LegsTable).show(())
            self.query_one(PreviewView).show(None, str(exc))
            return
        self.inputs = inp
        self._building = True
        self.recompute(inp)

    # ------------------------------------------------------------------ the worker

    @work(exclusive=True, group="plan", exit_on_error=False)
    async def recompute(self, inp: TicketRequest) -> None:
        app = self.app
        st = app.state
        if st is None:
            self.post_message(PlanReady(inp, None, None, "no data yet: waiting for the first snapshot"))
            return
        from console.core.preview import preview

        snap, now = st.snapshot, app.now_ms()
        try:
            inp.order_style()
            ticket = await asyncio.to_thread(planner.plan_request, app.config, snap, inp, None, now)
            # every book the planner may weigh, so that it compares instruments on like terms
            books, book_errors = await app.services.books.books(candidate_books(app.config, snap, inp, ticket))
            if books:
                ticket = await asyncio.to_thread(planner.plan_request, app.config, snap, inp, books, now)
                missing = [(tl.leg.account, tl.leg.symbol) for tl in ticket.legs
                           if of(books, tl.leg.account, tl.leg.symbol) is None
                           and of(book_errors, tl.leg.account, tl.leg.symbol) is None]
                if missing:
                    more, more_errors = await app.services.books.books(missing)
                    books, book_errors = merged(books, more), merged(book_errors, more_errors)
            tiers, tier_errors = await app.services.books.tiers(ticket, app.state.snapshot if app.state else None)
            pv = await asyncio.to_thread(preview, app.config, snap, ticket, books=books, tiers=tiers or None,
                                         horizon_days=inp.horizon_days, now_ms=now, book_errors=book_errors,
                                         tier_errors=tier_errors)
        except (UserError, ValueError, KeyError) as exc:
            self.post_message(PlanReady(inp, None, None, str(exc).strip("'\""), snap))
            return
        self.post_message(PlanReady(inp, ticket, pv, None, snap))

    @on(PlanReady)
    def _plan_ready(self, event: PlanReady) -> None:
        if event.inputs != self.inputs or not self.is_attached:
            return  # an older answer (a newer one is coming), or this screen is being removed
        self._building = False
        self.ticket, self.preview, self.shown_inputs = event.ticket, event.preview, event.inputs
        self.built_on = event.snapshot
        self.no_ticket = None if event.ticket is not None else (event.error or "nothing to show")
        note = self.query_one("#b-note", Static)
        legs = self.query_one(LegsTable)
        if event.ticket is None:
            note.update("")
            legs.show(())
            self.query_one(PreviewView).show(None, event.error or "nothing to show")
            return
        t = event.ticket
        text = Text(t.note, style="dim")
        if self.banner:
            text = Text.assemble((self.banner, "bold yellow"), "\n", text)
        note.update(text)
        legs.show(t.legs)
        self.query_one(PreviewView).show(event.preview)

    # ------------------------------------------------------------------ actions

    @property
    def settled(self) -> bool:
        """What is shown is the answer to the inputs as they stand (nothing pending)."""
        return self._debounce is None and self.ticket is not None and self.shown_inputs == self.inputs

    def _outdated(self) -> str | None:
        """Why the shown ticket no longer fits the book, or None."""
        st = self.app.state
        if st is None or self.built_on is None:
            return None
        if book_key(st.snapshot) != book_key(self.built_on):
            return "positions or balances changed since this ticket was built"
        if st.snapshot.timestamp - self.built_on.timestamp > self.REFRESH_MS:
            return f"the ticket was built on prices more than {self.REFRESH_MS // 1000} s old"
        return None

    def action_review(self) -> None:
        if self._debounce is None and not self._building and self.no_ticket is not None:
            self.notify(f"no ticket to review: {self.no_ticket}", severity="warning", timeout=5)
            return
        if not self.settled:
            self.notify("the ticket is being recomputed; review when it is shown", severity="warning", timeout=3)
            return
        why = self._outdated()
        if why is not None:
            self.notify(f"{why}: rebuilding it; review when it is shown", severity="warning", timeout=4)
            self.schedule()
            return
        if not self.ticket.legs:
            self.notify("this ticket has no legs: nothing to send (change the sleeves, goal or size)",
                        severity="warning", timeout=4)
            return
        self.app.review(self.ticket, self.preview)

    def action_toggle_goal(self) -> None:
        sel = self.query_one("#b-goal", Select)
        sel.value = Goal.BAND.value if sel.value == Goal.TARGET.value else Goal.TARGET.value

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.action_show("dashboard")

    # ------------------------------------------------------------------ state

    def tick(self) -> None:
        self._header()  # the data ages keep up with the clock between snapshots

    def show_state(self, state: DashboardState) -> None:
        self._header()
        if self.is_current:
            self._rebuild_if_outdated()

    def on_screen_resume(self) -> None:
        self._rebuild_if_outdated()

    def _rebuild_if_outdated(self) -> None:
        # a fill, a transfer or time changes what the ticket should be: build it again on the new
        # book, with the trader's inputs (unless an edit or a build is already on its way). Only
        # while this is the screen on show: a resume can be handled after a confirmed ticket has
        # already switched to the blotter and this screen is being removed
        if (self.is_current and self.is_attached and self._debounce is None and not self._building and self.shown_inputs == self.inputs
                and self._outdated() is not None):
            self.schedule()

    def _header(self) -> None:
        paint_header(self, "Spread builder")
