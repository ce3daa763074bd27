"""ccxt imported per exchange (console.ccxt_import): every name means what it means in ccxt.

Each check runs in a fresh interpreter: this one has imported ccxt already.
"""

from __future__ import annotations

import json
import subprocess
import sys

LAZY = r"""
import json, sys
import console  # sets up the per-exchange import, as the console's entry point does
import ccxt, ccxt.async_support as a, ccxt.pro as p
from ccxt import NetworkError
import ccxt.async_support.bybit  # a submodule imported by name: the package still names the class
used = [a.binance, a.binanceusdm, a.binancecoinm, a.bybit, p.binance, p.binanceusdm, p.bybit, ccxt.binance]
loaded = sorted(m for m in sys.modules if m.startswith("ccxt.") and m.count(".") <= 2)
out = {
    "others_loaded": [m for m in loaded if m.rsplit(".", 1)[1] in ("kraken", "okx", "coinbase")],
    "classes": [f"{c.__module__}.{c.__name__}" for c in used],
    "bybit_is_class": isinstance(a.bybit, type),
    "pro_over_async": issubclass(p.binanceusdm, a.binance) and issubclass(p.binanceusdm, a.Exchange),
    "error": NetworkError is __import__("ccxt.base.errors", fromlist=["x"]).NetworkError,
    "missing": getattr(a, "no_such_exchange", None) is None,
}
out |= {"version": ccxt.__version__, "exchanges": ccxt.exchanges, "pro_exchanges": p.exchanges,
        "kraken": f"{a.kraken.__module__}.{a.kraken.__name__}"}
print(json.dumps(out))
"""

PLAIN = r"""
import json
import ccxt, ccxt.pro as p
print(json.dumps({"version": ccxt.__version__, "exchanges": ccxt.exchanges, "pro_exchanges": p.exchanges}))
"""


def run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_only_the_exchanges_asked_for_are_imported_and_names_mean_what_ccxt_says() -> None:
    lazy, plain = run(LAZY), run(PLAIN)
    assert lazy["others_loaded"] == []  # checked before anything asked for the whole package
    flavours = ["async_support"] * 4 + ["pro"] * 3
    names = ["binance", "binanceusdm", "binancecoinm", "bybit", "binance", "binanceusdm", "bybit"]
    assert lazy["classes"] == [f"ccxt.{f}.{n}.{n}" for f, n in zip(flavours, names, strict=True)] + [
        "ccxt.binance.binance"]
    assert lazy["bybit_is_class"] and lazy["pro_over_async"] and lazy["error"] and lazy["missing"]
    # what the package's __init__ defines otherwise is ccxt's own, once asked for
    assert lazy["version"] == plain["version"]
    assert lazy["exchanges"] == plain["exchanges"] and "binanceusdm" in lazy["exchanges"]
    assert lazy["pro_exchanges"] == plain["pro_exchanges"]
    assert lazy["kraken"] == "ccxt.async_support.kraken.kraken"
