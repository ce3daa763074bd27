"""The app's messages: what workers and the executor post to the UI thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:  # the app's module imports these messages before its first frame: types only
    from console.app.state import DashboardState


class StateReady(Message):
    """A derived DashboardState is ready (posted by the derive worker)."""

    def __init__(self, state: DashboardState) -> None:
        self.state = state
        super().__init__()


class FeedStatus(Message):
    """The feed could not fetch (the text says why); the last good state stays on screen."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__()


class AlertsChanged(Message):
    """The alert list changed (new, acknowledged)."""


class ExecEvent(Message):
    """An executor event (order update, legging alert, refusal, ticket done), as it came."""

    def __init__(self, event: Any) -> None:
        self.event = event
        super().__init__()


class JournalChanged(Message):
    """Another console wrote to the shared journal: the blotter reads it again."""


class JournalHealth(Message):
    """The journal's database became unreachable (``ok`` False, ``why``) or answers again."""

    def __init__(self, ok: bool, why: str = "") -> None:
        self.ok = ok
        self.why = why
        super().__init__()


class TicketFinished(Message):
    """A ticket the console sent has a result (``result``) or could not be sent (``error``)."""

    def __init__(self, ticket_id: str, result: Any = None, error: str | None = None) -> None:
        self.ticket_id = ticket_id
        self.result = result
        self.error = error
        super().__init__()


class PnlReady(Message):
    """The overlay's P&L was refreshed (``report`` None: only the stored history was read)."""

    def __init__(self, report: Any, history: list[Any]) -> None:
        self.report = report
        self.history = history
        super().__init__()


# ------------------------------------------------------------------------------ the app
