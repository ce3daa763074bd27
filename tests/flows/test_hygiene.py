"""The flows core imports neither Textual nor ccxt (DESIGN: the core is headless and pure)."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_no_textual_and_no_ccxt() -> None:
    code = ("import sys, console.flows, console.nyse, console.flows_data; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'ccxt')); "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
