"""Where the CPU of `rebal-tui --demo`'s first data goes (not run by pytest; run the file):

    python tests/bench/bench_startup.py [--runs 5]

Each part is timed in CPU seconds (``time.process_time``: on a shared machine the figure other
people's load disturbs least), median over ``--runs`` fresh interpreters, with the bytecode
written, as an installed console has it:

1. imports, in the order the console needs them: Textual; ccxt with the demo's exchange classes
   (``ccxt.async_support`` and ``ccxt.pro``: binance, binanceusdm, bybit; the others are not
   imported, see ``console.ccxt_import``); the emulator once ccxt (and so aiohttp) is loaded;
   the app and the dashboard's modules;
2. the demo emulator's seeding and start on 127.0.0.1, the venues' ccxt objects, and the first
   snapshot (every read of the four demo accounts, markets included), emulator answers and
   ccxt parsing together in one process, as the console runs them; then the emulator's share of
   that snapshot alone (the CPU its REST handlers used; stream pushes are not counted).

These tell whether moving a part off the console's process can pay: the emulator's whole share
(import + start + answers) is what a separate emulator process could take off the first data.
The last line printed is one JSON object of every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import asyncio, json, sys, time
T = time.process_time
out = {}
import console  # first, as in the console: it sets up ccxt's per-exchange import
t = T(); import textual.app; out["import_textual"] = T() - t
t = T(); import ccxt.async_support, ccxt.pro
for flavour in (ccxt.async_support, ccxt.pro):  # the demo's exchange classes, of both flavours
    for exchange in ("binance", "binanceusdm", "bybit"):
        getattr(flavour, exchange)
out["import_ccxt"] = T() - t
t = T(); import console.emulator, console.emulator.server; out["import_emulator"] = T() - t
t = T(); import console.app.app, console.app.screens.dashboard; out["import_app"] = T() - t
from console.venues.demo import demo_config, start_emulator_in_loop
from console.venues.venue import VenueSet
from console.emulator import server as emu_server

spent = [0.0]
orig = emu_server.EmulatorServer._serve

# the emulator's CPU per REST request: a handler runs through without waiting on anything but
# the (already received) request body, so the loop thread's time across it is the emulator's
async def serve(self, request, method, path):
    t0 = time.thread_time()
    try:
        return await orig(self, request, method, path)
    finally:
        spent[0] += time.thread_time() - t0

emu_server.EmulatorServer._serve = serve

async def main():
    cfg = demo_config()
    t = T(); s = await start_emulator_in_loop(cfg, start_ms=int(time.time() * 1000))
    out["emulator_start"] = T() - t
    t = T(); vs = VenueSet.from_config(cfg, {a.name: s.credentials.get(a.name) for a in cfg.accounts},
                                       emulator_url=s.url)
    out["venues"] = T() - t
    t = T(); await vs.snapshot(); out["first_snapshot"] = T() - t
    out["emulator_answers"] = spent[0]
    await vs.close(); await s.close()

asyncio.run(main())
print(json.dumps(out))
"""


def probe() -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description="rebal-tui --demo start-up CPU by part")
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    probe()  # untimed: writes the bytecode a checkout has not got yet
    runs = [probe() for _ in range(a.runs)]
    figures = {k: round(statistics.median(r[k] for r in runs) * 1000) for k in runs[0]}
    figures["emulator_share"] = figures["import_emulator"] + figures["emulator_start"] + figures["emulator_answers"]
    print(f"CPU ms, median of {a.runs} fresh interpreters:")
    for k, v in figures.items():
        print(f"  {k:18s} {v:5d}")
    print(json.dumps({"bench": "startup", **{f"{k}_cpu_ms": v for k, v in figures.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
