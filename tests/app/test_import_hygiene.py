"""The core imports no Textual (and the app's pure alert rules neither)."""

from __future__ import annotations

import subprocess
import sys

CORE = ("console.config", "console.snapshot", "console.allocation", "console.overlay", "console.ticket",
        "console.report", "console.alerts", "console.costs", "console.risk", "console.checks",
        "console.preview", "console.planner", "console.flows", "console.nyse", "console.lots",
        "console.orderstyle", "console.execution.journal", "console.execution.kill")


def test_core_imports_no_textual() -> None:
    code = ("import importlib, sys\n"
            f"for m in {CORE!r}:\n"
            "    importlib.import_module(m)\n"
            "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
            "assert not bad, bad[:5]\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_widgets_import_no_ccxt_or_sqlite() -> None:
    code = ("import sys, importlib\n"
            "for m in ('widgets.allocation_table', 'widgets.alerts_panel', 'widgets.risk_panel', 'widgets.header',\n"
            "          'widgets.drift_bar', 'widgets.plots', 'widgets.legs_table', 'widgets.preview_view'):\n"
            "    importlib.import_module(m)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('ccxt', 'sqlite3', 'aiohttp'))\n"
            "assert not bad, bad[:5]\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
