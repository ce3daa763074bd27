"""`q`: at once without working orders; with some (or a ticket being sent), ask first."""

from __future__ import annotations

from typing import Any

from console.app.screens.confirm import QuitScreen
from console.execution.lifecycle import ORDER_LIVE
from console.runtime import Services
from tests.app.conftest import SIZE, loaded, make_app
from tests.app.test_journeys_emulator import until


class FakeJournal:
    def __init__(self, live: int) -> None:
        self.live = live
        self.asked: list[Any] = []

    def orders(self, ticket_id: str | None = None, *, states: Any = None, include_external: bool = True) -> list[Any]:
        self.asked.append((frozenset(states or ()), include_external))
        return [object()] * self.live

    def note(self, *a: Any, **k: Any) -> None:
        pass


def app_with(live: int) -> Any:
    return make_app(services=Services(journal=FakeJournal(live)))


async def test_q_quits_at_once_without_working_orders() -> None:
    app = app_with(0)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("q")
        await until(pilot, lambda: app._exit, what="the exit")  # noqa: SLF001
        assert not any(isinstance(s, QuitScreen) for s in app.screen_stack)
    assert app.services.journal.asked == [(ORDER_LIVE, False)]


async def test_q_with_working_orders_asks_and_n_stays() -> None:
    app = app_with(2)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), what="the question")
        assert "2 orders stay working at the venue" in app.screen.message()
        await pilot.press("q")  # a second q does not stack another question
        await pilot.pause(0.2)
        assert sum(isinstance(s, QuitScreen) for s in app.screen_stack) == 1
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, QuitScreen), what="the answer")
        await pilot.pause(0.2)
        assert not app._exit  # noqa: SLF001
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), what="the question")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, QuitScreen), what="the answer")
        await pilot.pause(0.2)
        assert not app._exit  # noqa: SLF001
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), what="the question")
        await pilot.press("y")
        await until(pilot, lambda: app._exit, what="the exit")  # noqa: SLF001


async def test_q_while_a_ticket_is_being_sent_asks() -> None:
    app = app_with(0)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.submitting.add("t1")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), what="the question")
        assert "1 ticket is being sent right now" in app.screen.message()
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, QuitScreen), what="the answer")
        await pilot.pause(0.2)
        assert not app._exit  # noqa: SLF001


class FakeExecutor:
    trading_allowed = True  # the header reads it (TRADING CLOSED otherwise)

    def __init__(self, slices: int) -> None:
        self.slices = slices

    def unsent_slices(self) -> int:
        return self.slices


async def test_q_during_a_sliced_order_says_leaving_stops_the_unsent_slices() -> None:
    app = make_app(services=Services(journal=FakeJournal(1), executor=FakeExecutor(2)))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen), what="the question")
        text = app.screen.message()
        assert "1 order stays working at the venue; 2 slices are still to be sent" in text
        assert "Leaving stops the slices not yet sent" in text
        assert "Leaving does not cancel anything" not in text  # the old, untrue sentence
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, QuitScreen), what="the answer")
        # with nothing working and nothing left to slice, q leaves at once
        app.services.executor.slices = 0
        app.services.journal.live = 0
        await pilot.press("q")
        await until(pilot, lambda: app._exit, what="the exit")  # noqa: SLF001


def test_the_demo_venue_does_not_keep_orders_working_after_quit() -> None:
    # QA: in demo the quit prompt said orders "keep working at the venue", but the embedded
    # emulator stops with the console
    demo = QuitScreen(2, demo=True).message()
    assert "quitting stops it" in demo and "keep working" not in demo
    assert "keep working" in QuitScreen(2).message()
