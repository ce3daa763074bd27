"""An account's trading mode and its badge. Apart from the config models (pydantic), so that
the console's first frame (the header's badge) can be drawn before those are imported;
``console.core.config`` re-exports both."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    DEMO = "demo"
    PAPER = "paper"
    LIVE = "live"


def mode_badge(mode: Mode | str) -> tuple[str, str]:
    """(label, rich style) of the mode badge: DEMO cyan, PAPER yellow, LIVE red."""
    m = Mode(mode)
    if m is Mode.LIVE:
        return "LIVE", "bold white on red"
    if m is Mode.PAPER:
        return "PAPER", "bold black on yellow"
    return "DEMO", "bold black on cyan"
