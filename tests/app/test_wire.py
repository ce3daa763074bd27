"""To the wire: after `y` the order goes out on the snapshot the feed already holds, with no
REST request in between, and data too old for the limits still refuses it (nothing sent)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from console import runtime
from console.app.desk import _confirm_then_submit
from console.app.screens.confirm import ConfirmScreen
from console.emulator.server import EmulatorServer
from console.execution import TicketState
from console.execution.journal import Confirmation, JournalError
from console.execution.ports import CcxtPort
from tests.app.conftest import SIZE, Rig, read_through
from tests.app.test_journeys_emulator import open_builder, to_hedge, until

ORDER_PATHS = ("/api/v3/order", "/fapi/v1/order")


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every (method, path) the emulator serves, in order of arrival (ask for it before the
    rig: the server binds its handler when it starts)."""
    seen: list[tuple[str, str]] = []
    real = EmulatorServer._handle

    async def handle(self: EmulatorServer, request: Any) -> Any:
        seen.append((request.method, request.path))
        return await real(self, request)

    monkeypatch.setattr(EmulatorServer, "_handle", handle)
    return seen


async def to_modal(pilot: Any) -> None:
    app = pilot.app
    builder = await open_builder(pilot)
    await to_hedge(pilot, builder)
    await pilot.press("ctrl+r")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
    await read_through(pilot)


def orders_sent(seen: list[tuple[str, str]]) -> list[int]:
    return [i for i, (m, p) in enumerate(seen) if m == "POST" and p in ORDER_PATHS]


async def test_y_sends_the_order_with_no_request_before_it(requests: list[tuple[str, str]], rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await to_modal(pilot)
        requests.clear()
        await pilot.press("y")
        await until(pilot, lambda: orders_sent(requests), what="the order at the emulator")
        assert orders_sent(requests)[0] == 0, requests  # the first request after y is the order
        tid = app.last_ticket_id
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.FILLED, what="the fill")


async def test_data_older_than_the_limit_still_refuses_the_send(requests: list[tuple[str, str]], rig: Rig) -> None:
    app = rig.app
    async with app.run_test(size=SIZE) as pilot:
        await to_modal(pilot)
        # the feed has not refreshed since: its prices, positions and balances age past the limit
        rig.emulator.emulator.advance(rig.config.limits.max_data_age_s + 5)
        requests.clear()
        await pilot.press("y")
        await until(pilot, lambda: app.last_ticket_id is not None, what="the confirm")
        tid = app.last_ticket_id
        await until(pilot, lambda: rig.journal.ticket(tid).state is TicketState.FAILED, what="the refusal")
        (ev,) = [e for e in rig.journal.events(tid) if e.dst == "failed"]
        assert "old" in ev.detail["reason"] and "refresh" in ev.detail["reason"]
        assert not orders_sent(requests) and not rig.journal.orders(tid)


async def test_the_modal_closes_after_the_order_is_out(
    requests: list[tuple[str, str]], rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the screen's repaint as the modal closes must not share the interpreter with the send:
    # when the modal starts to close, the yes and the order row are committed and the request
    # has been handed to ccxt (the hold's cap lifted: only the send's own signal ends it)
    monkeypatch.setattr(runtime, "WIRE_HOLD_S", 30.0)
    handed: list[str] = []
    real_place = CcxtPort.place

    async def place(self: CcxtPort, req: Any) -> Any:
        handed.append(req.client_id)
        return await real_place(self, req)

    monkeypatch.setattr(CcxtPort, "place", place)
    at_dismiss: list[tuple[TicketState, int, int]] = []
    real_dismiss = ConfirmScreen.dismiss

    def dismiss(self: ConfirmScreen, result: Any = None) -> Any:
        (t,) = rig.journal.tickets()
        at_dismiss.append((t.state, len(rig.journal.orders(t.id)), len(handed)))
        return real_dismiss(self, result)

    monkeypatch.setattr(ConfirmScreen, "dismiss", dismiss)
    async with rig.app.run_test(size=SIZE) as pilot:
        await to_modal(pilot)
        await pilot.press("y")
        await until(pilot, lambda: orders_sent(requests), what="the order at the emulator")
    ((state, rows, sent),) = at_dismiss
    assert state not in (TicketState.PLANNED, TicketState.CONFIRMED)  # sending, or answered already
    assert (rows, sent) == (1, 1)


async def test_a_send_that_fails_before_the_executor_says_anything_still_ends_the_review() -> None:
    # the executor's first journal read fails (a disk error, say): the review gets that error
    # instead of waiting for the yes for good, and the UI does not hold to its cap
    class Broken:
        async def submit(self, *args: Any, **kwargs: Any) -> Any:
            raise JournalError("disk I/O error")

    confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    out = threading.Event()
    yes = Confirmation("y", 0, 0)
    with pytest.raises(JournalError):
        await _confirm_then_submit(Broken(), "t1", yes, confirmed, out.set)
    await asyncio.sleep(0)  # the settle was queued thread-safely, for the UI's next turn
    assert out.is_set()
    assert isinstance(confirmed.exception(), JournalError)
