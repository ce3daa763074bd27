"""Colours that carry meaning, shared by the widgets and the CLI's tables."""

from __future__ import annotations

from console.core.allocation import Status

STATUS_STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.BREACH: "bold red", Status.NONE: "dim"}
