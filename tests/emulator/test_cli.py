"""`rebal-tui emulator` on its own: prints URL, key and secret; accepts only its key; Ctrl-C
stops it cleanly (exit 0, no traceback)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import ccxt
import pytest

from console.emulator.testing import DEMO_API_KEY, DEMO_SECRET, ccxt_client

KEY = "K" * 64
SECRET = "s3cret" * 8


@pytest.fixture
def standalone() -> Any:
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli.main", "emulator", "--port", "0", "--seed", "5", "--speed", "60",
         "--api-key", KEY, "--secret", SECRET],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(5)]
    yield proc, lines
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.asyncio
async def test_standalone_serves_its_key_and_stops_on_ctrl_c(standalone: Any) -> None:
    proc, lines = standalone
    url = lines[0].split(" on ")[1].strip()
    assert url.startswith("http://127.0.0.1:")
    assert KEY in lines[2] and SECRET not in "".join(lines)  # a secret the user chose is not echoed
    good = ccxt_client(SimpleNamespace(url=url, api_key=KEY, secret=SECRET), "usdm", timeout_on_exit=0)
    demo = ccxt_client(SimpleNamespace(url=url, api_key=DEMO_API_KEY, secret=DEMO_SECRET), "usdm", timeout_on_exit=0)
    wrong = ccxt_client(SimpleNamespace(url=url, api_key=KEY, secret=DEMO_SECRET), "usdm", timeout_on_exit=0)
    try:
        assert (await good.fetch_balance())["total"]["USDT"] > 0
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            await demo.fetch_balance()
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            await wrong.fetch_balance()
    finally:
        for ex in (good, demo, wrong):
            await ex.close()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err and "stopped" in err


def test_demo_credentials_are_printed() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "console.cli.main", "emulator"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    head = "".join(proc.stdout.readline() for _ in range(5))
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)  # a clean stop, however loaded the machine: not a speed test
    assert DEMO_API_KEY in head and DEMO_SECRET in head and "2026-11-21T12:00:00Z" in head
    assert proc.returncode == 0
