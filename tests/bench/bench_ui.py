"""UI benchmarks (not run by pytest's default selection; run the file):

    python tests/bench/bench_ui.py [--rate 2000] [--rows 200] [--seconds 5]

1. Time to first frame of `rebal-tui --demo` against a bare Textual app, both started in a
   pseudo-terminal (120×36) in the same run; the ratio is the figure to watch. "First frame"
   is the first byte of the badge/marker text on the terminal; "first data" is the NAV (the
   header shows it only once a snapshot from the venues is derived). Each is also given as
   the CPU time the process had used by then (every thread, from /proc): on a shared machine
   the wall times grow with other people's load, the CPU times much less. Both programs run
   with their bytecode written (after one untimed start), as an installed console does.
2. Keypress-to-repaint latency (median, p99, max over ``--presses`` keys) while the allocation table takes ``--rate`` ticker updates per
   second across ``--rows`` rows (one sleeve per asset), through the real pipeline: a feeder
   thread makes Snapshots and hands them to ``RebalApp.ingest`` (from its own thread, as the
   feed does); the derive thread computes
   allocation, risk and alerts on the newest; the UI applies by key, coalesced. The latency
   is from posting a key event to the end of the first screen refresh after the cursor moved
   (a watcher on the cursor, so the benchmark does not poll on the UI thread).
   The same keys are first timed with no feed: the floor of a (shared) machine.
3. CPU at that rate: the UI thread, the derive thread, and the whole process (feeder included),
   and the garbage collector's pauses meanwhile (the longest holds every thread, keys included).
4. A replay: the same ``--replay`` states (each ``TICKS_PER_STATE`` price moves after the last,
   derived on the benchmark's thread) applied one at a time, a cursor move after each, with the
   collector off: the UI-thread CPU of each screen refresh (p50, p90, p99, max, total) and the
   table lines drawn. The same work on every run, and no other thread: the figure to compare
   two versions by on a shared machine.

The last line printed is one JSON object of every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import gc
import json
import math
import os
import pty
import random
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CSI = re.compile(rb"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b[\]P_^][^\x07\x1b]*(?:\x07|\x1b\\)?")
sys.path.insert(0, str(ROOT))
# first, as in the console: its package's settings (ccxt's import, Textual's frame rate) apply
import console  # noqa: E402, F401

BARE = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("BARE-READY")
Bare().run()
"""


# ------------------------------------------------------------------------- first frame


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) the process has used so far: on a shared machine
    the figure that does not grow with other people's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_frame(argv: list[str], markers: list[bytes], timeout: float = 60.0, env: dict | None = None,
                cpu: list[float] | None = None) -> list[float]:
    """Seconds from spawn until each marker has appeared on the pty (in order); with ``cpu``,
    the process's CPU seconds at each marker are appended to it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    t0 = time.perf_counter()
    # as an installed console runs: its modules' bytecode written once (pip compiles a package
    # at install), not compiled again on every start because this shell says not to write it
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            env={**base, "TERM": "xterm-256color", **(env or {})}, start_new_session=True)
    os.close(slave)
    seen = b""
    out: list[float] = []
    try:
        while len(out) < len(markers) and time.perf_counter() - t0 < timeout:
            r, _, _ = select.select([master], [], [], 0.05)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                seen += chunk
                # Textual rewrites only the cells that changed, with cursor moves between them:
                # look for the markers in the text with the escape sequences taken out
                text = CSI.sub(b"", seen)
                while len(out) < len(markers) and markers[len(out)] in text:
                    out.append(time.perf_counter() - t0)
                    if cpu is not None:
                        cpu.append(cpu_seconds(proc.pid))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the process group this function started
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(master)
    if len(out) < len(markers):
        raise RuntimeError(f"{argv}: markers {markers[len(out):]} not seen in {timeout}s; got {seen[-400:]!r}")
    return out


def bench_first_frame(runs: int) -> dict[str, float]:
    exe = Path(sys.executable).with_name("rebal-tui")
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"rebal-bench-home-{os.getpid()}"
    home.mkdir(exist_ok=True)
    bare, frame, data, bare_cpu, frame_cpu, data_cpu = [], [], [], [], [], []
    # one untimed start of each first: it writes the bytecode a checkout has not got yet
    first_frame([sys.executable, "-c", BARE], [b"BARE-READY"])
    first_frame([str(exe), "--demo"], [b"DEMO", b"NAV"], env={"HOME": str(home)})
    for _ in range(runs):
        cpu: list[float] = []
        bare += first_frame([sys.executable, "-c", BARE], [b"BARE-READY"], cpu=cpu)
        f, d = first_frame([str(exe), "--demo"], [b"DEMO", b"NAV"], env={"HOME": str(home)}, cpu=cpu)
        frame.append(f)
        data.append(d)
        bare_cpu.append(cpu[0])
        frame_cpu.append(cpu[1])
        data_cpu.append(cpu[2])
    b, f, d = statistics.median(bare), statistics.median(frame), statistics.median(data)
    bc, fc, dc = statistics.median(bare_cpu), statistics.median(frame_cpu), statistics.median(data_cpu)
    print(f"first frame (median of {runs}): bare Textual app {b * 1000:.0f} ms; "
          f"rebal-tui --demo {f * 1000:.0f} ms (ratio {f / b:.2f}); first data (NAV) {d * 1000:.0f} ms")
    print(f"CPU used by then (median, every thread): bare Textual app {bc * 1000:.0f} ms; rebal-tui --demo "
          f"{fc * 1000:.0f} ms at its first frame (ratio {fc / bc:.2f}), {dc * 1000:.0f} ms at its first data")
    return {"bare_first_frame_ms": round(b * 1000), "first_frame_ms": round(f * 1000),
            "first_frame_ratio": round(f / b, 2), "first_data_ms": round(d * 1000),
            "bare_first_frame_cpu_ms": round(bc * 1000), "first_frame_cpu_ms": round(fc * 1000),
            "first_frame_cpu_ratio": round(fc / bc, 2), "first_data_cpu_ms": round(dc * 1000)}


# ------------------------------------------------------------------------- live table


def wide_config(rows: int):  # noqa: ANN201
    from console.core.config import parse_config

    n = rows - 1
    w = round(1.0 / rows, 6)
    parts = ['[portfolio]\nname = "bench"\nweight_tolerance = 0.01\n']
    for i in range(n):
        parts.append(f'[[sleeves]]\nname = "S{i:03d}"\nassets = ["A{i:03d}"]\ntarget = {w}\n')
    parts.append(f'[[sleeves]]\nname = "STABLE"\nassets = ["USDT"]\ntarget = {1 - n * w:.6f}\n')
    parts.append('[[accounts]]\nname = "spot"\nexchange = "binance"\n')
    return parse_config("".join(parts), "bench")


def wide_snapshot(rows: int, prices: list[float], at: int):  # noqa: ANN201
    from tests import factories as f

    n = rows - 1
    acct = f.account("spot", "binance", markets=[f.market(f"A{i:03d}/USDT") for i in range(n)],
                     balance={**{f"A{i:03d}": 10.0 for i in range(n)}, "USDT": 1000.0},
                     tickers=[f.ticker(f"A{i:03d}/USDT", prices[i]) for i in range(n)], at=at)
    return f.snapshot(acct, at=at)


async def first_state(app, pilot, snap) -> None:  # noqa: ANN001
    """The first snapshot derived, applied and painted (a few seconds at most)."""
    app.ingest(snap)
    for _ in range(50):
        await pilot.pause(0.05)
        if app.state is not None:
            break
    await pilot.pause(0.2)


async def bench_live(rate: int, rows: int, seconds: float, presses: int) -> dict[str, float]:
    from textual import constants, events

    from console.app.app import RebalApp
    from tests import factories as f
    from widgets.allocation_table import AllocationTable

    cfg = wide_config(rows)
    n = rows - 1
    rng = random.Random(7)
    prices = [100.0 + i for i in range(n)]
    now = [f.T0]
    app = RebalApp(cfg, now_ms=lambda: now[0])
    stop = threading.Event()
    sent = [0]

    async with app.run_test(size=(120, 36)) as pilot:
        await first_state(app, pilot, wide_snapshot(rows, prices, f.T0))
        base = wide_snapshot(rows, prices, f.T0)

        def feeder() -> None:
            acct = base.accounts["spot"]
            tickers = dict(acct.tickers)
            interval = 1.0 / rate
            nxt = time.perf_counter()
            while not stop.is_set():
                i = rng.randrange(n)
                sym = f"A{i:03d}/USDT"
                prices[i] *= 1 + rng.uniform(-0.002, 0.002)
                tickers[sym] = {**tickers[sym], "last": prices[i], "close": prices[i]}
                snap = base.with_account(replace(acct, tickers=dict(tickers)))
                app.ingest(snap)  # as the feed's pump does, from its own thread
                sent[0] += 1
                nxt += interval
                delay = nxt - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)

        table = app.screen.query_one(AllocationTable)
        painted: list[asyncio.Event] = []

        def on_cursor() -> None:
            # the cursor moved (on the UI thread): note the end of the next screen refresh. A
            # watcher, not a poll: the benchmark adds no work of its own to the UI thread
            if painted:
                app.call_after_refresh(painted[-1].set)

        app.screen.watch(table, "cursor_coordinate", on_cursor, init=False)

        async def press(count: int, gap: float) -> list[float]:
            out = []
            for k in range(count):
                key = "down" if k % 2 == 0 else "up"
                done = asyncio.Event()
                painted.append(done)
                ev = events.Key(key, None)
                ev.set_sender(app)
                t0 = time.perf_counter()
                app._driver.send_message(ev)  # noqa: SLF001 - the path a terminal's keys take
                try:
                    await asyncio.wait_for(done.wait(), 10)
                except TimeoutError:
                    raise RuntimeError(f"the key {key!r} was not handled and painted in 10 s") from None
                out.append(time.perf_counter() - t0)
                await asyncio.sleep(gap)
            return out

        # the floor on this machine: the same keys with no feed, so a shared machine's own
        # latency is not read as the console's
        idle = sorted(x * 1000 for x in await press(presses, 0.02))

        ui_cpu0 = [0.0]
        app.call_later(lambda: ui_cpu0.__setitem__(0, time.thread_time()))
        derive_cpu = _DeriveCpu(app)
        slices = _UiSlices(app)
        applies0, cells0, alerts0 = app.applies, table.cells_written, len(app.alerts)
        gc_pauses = _GcPauses()
        proc0, wall0 = time.process_time(), time.perf_counter()
        th = threading.Thread(target=feeder, daemon=True, name="bench-feeder")
        th.start()
        await asyncio.sleep(0.5)  # not pilot.pause: under a flood the app is never idle
        latencies = await press(presses, max(seconds - 0.5, 1.0) / presses)
        stop.set()
        th.join()
        gc_pauses.stop()
        slices.stop()
        wall = time.perf_counter() - wall0
        proc = time.process_time() - proc0
        ui_cpu = [0.0]
        fut = asyncio.Event()

        def read_ui() -> None:
            ui_cpu[0] = time.thread_time() - ui_cpu0[0]
            fut.set()

        app.call_later(read_ui)
        await fut.wait()
        applies, cells, alerts = app.applies - applies0, table.cells_written - cells0, len(app.alerts) - alerts0
        await pilot.pause(0.2)

    lat = sorted(x * 1000 for x in latencies)
    figures = {
        "rows": rows, "textual_fps": constants.MAX_FPS, "updates_per_s": round(sent[0] / wall), "applies_per_s": round(applies / wall, 1),
        "cells_per_s": round(cells / wall), "alerts_per_s": round(alerts / wall, 1), "keys": len(lat),
        "idle_p50_ms": round(statistics.median(idle), 1), "idle_p99_ms": round(percentile(idle, 0.99), 1), "p50_ms": round(statistics.median(lat), 1),
        "p99_ms": round(percentile(lat, 0.99), 1), "max_ms": round(lat[-1], 1),
        "ui_cpu_pct": round(ui_cpu[0] / wall * 100), "derive_cpu_pct": round(derive_cpu.total() / wall * 100),
        "process_cpu_pct": round(proc / wall * 100),
        "gc_full_per_s": round(gc_pauses.full / wall, 2), "gc_max_ms": round(gc_pauses.longest * 1000, 1),
        **slices.figures(),
    }
    print(f"live table: {sent[0] / wall:,.0f} ticker updates/s over {rows} rows for {wall:.1f} s "
          f"→ {applies / wall:.1f} repaints/s applied, {cells / wall:,.0f} cells written/s, "
          f"{alerts / wall:.1f} alerts raised/s")
    print(f"Textual paints a changed screen at most {constants.MAX_FPS} times a second (TEXTUAL_FPS)")
    print(f"keypress-to-repaint with no feed ({len(idle)} keys, this machine's floor): median "
          f"{figures['idle_p50_ms']} ms, p99 {figures['idle_p99_ms']} ms")
    print(f"keypress-to-repaint latency ({len(lat)} keys): median {figures['p50_ms']} ms, "
          f"p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms")
    print(f"CPU at that rate: UI thread {figures['ui_cpu_pct']}% of a core, derive thread "
          f"{figures['derive_cpu_pct']}%, whole process (feeder included) {figures['process_cpu_pct']}%")
    print(f"UI-thread CPU per slice: apply (the screens given a state) p50 {figures['apply_cpu_p50_ms']} ms, "
          f"p99 {figures['apply_cpu_p99_ms']} ms; repaint (the screen's refresh) p50 {figures['repaint_cpu_p50_ms']} "
          f"ms, p99 {figures['repaint_cpu_p99_ms']} ms, max {figures['repaint_cpu_max_ms']} ms")
    print(f"garbage collection meanwhile: {gc_pauses.full} full collections, longest pause of any "
          f"collection {figures['gc_max_ms']} ms")
    return figures


TICKS_PER_STATE = 40


async def bench_replay(rows: int, states: int) -> dict[str, float]:
    from textual.screen import Screen
    from textual.widgets import DataTable

    from console.app.app import RebalApp
    from console.app.messages import StateReady
    from console.app.state import derive_state
    from console.core.alerts import Watch
    from tests import factories as f
    from widgets.allocation_table import AllocationTable

    cfg = wide_config(rows)
    n = rows - 1
    rng = random.Random(3)
    prices = [100.0 + i for i in range(n)]
    app = RebalApp(cfg, now_ms=lambda: f.T0)
    cpu: list[float] = []
    lines = [0]
    refresh, draw = Screen._compositor_refresh, DataTable._render_line  # noqa: SLF001

    def timed_refresh(screen: Screen) -> None:
        t = time.thread_time()
        try:
            refresh(screen)
        finally:
            cpu.append(time.thread_time() - t)

    def drawn_line(table: DataTable, *a, **kw):  # noqa: ANN002, ANN003, ANN202
        lines[0] += isinstance(table, AllocationTable)  # drawn, not served from the table's cache
        return draw(table, *a, **kw)

    async with app.run_test(size=(120, 36)) as pilot:
        await first_state(app, pilot, wide_snapshot(rows, prices, f.T0))
        watch = Watch()
        gc.collect()
        gc.disable()  # the collector's pauses are the live part's figure; here the same work each run
        Screen._compositor_refresh = timed_refresh  # noqa: SLF001
        DataTable._render_line = drawn_line  # noqa: SLF001
        try:
            for k in range(states):
                for _ in range(TICKS_PER_STATE):
                    i = rng.randrange(n)
                    prices[i] *= 1 + rng.uniform(-0.002, 0.002)
                state, watch = derive_state(cfg, wide_snapshot(rows, prices, f.T0), watch, f.T0)
                applied = app.applies
                app.post_message(StateReady(state))
                while app.applies == applied:  # applied (at most APPLY_HZ) and painted
                    await pilot.pause(0.01)
                await pilot.pause()
                await pilot.press("down" if k % 2 == 0 else "up")
                await pilot.pause()
        finally:
            Screen._compositor_refresh = refresh  # noqa: SLF001
            DataTable._render_line = draw  # noqa: SLF001
            gc.enable()
    ms = sorted(x * 1000 for x in cpu)
    figures = {"replay_states": states, "replay_repaints": len(ms),
               "replay_repaint_cpu_p50_ms": round(statistics.median(ms), 2),
               "replay_repaint_cpu_p90_ms": round(percentile(ms, 0.9), 2),
               "replay_repaint_cpu_p99_ms": round(percentile(ms, 0.99), 2),
               "replay_repaint_cpu_max_ms": round(ms[-1], 2), "replay_repaint_cpu_total_ms": round(sum(ms)),
               "replay_table_lines": lines[0]}
    print(f"replay ({states} states of {TICKS_PER_STATE} price moves over {rows} rows, a cursor move after each, "
          f"collector off): UI-thread CPU per screen refresh p50 {figures['replay_repaint_cpu_p50_ms']} ms, "
          f"p90 {figures['replay_repaint_cpu_p90_ms']} ms, p99 {figures['replay_repaint_cpu_p99_ms']} ms, "
          f"max {figures['replay_repaint_cpu_max_ms']} ms, {figures['replay_repaint_cpu_total_ms']} ms in all "
          f"({len(ms)} refreshes); {lines[0]} table lines drawn")
    return figures


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


class _GcPauses:
    """The garbage collector's pauses while it runs (gc.callbacks; a pause holds the GIL, so a
    key waits behind it whichever thread collects)."""

    def __init__(self) -> None:
        self.full = 0
        self.longest = 0.0
        self._t0 = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        self.longest = max(self.longest, time.perf_counter() - self._t0)
        self.full += info["generation"] == 2

    def stop(self) -> None:
        gc.callbacks.remove(self._on_gc)


class _UiSlices:
    """UI-thread CPU time (not wall time: a loaded machine's waits are not the console's) of each
    apply and each screen refresh while the feed runs: the slices a key may wait behind."""

    def __init__(self, app) -> None:  # noqa: ANN001
        from textual.screen import Screen

        self.apply: list[float] = []
        self.repaint: list[float] = []
        self._app, self._refresh = app, Screen._compositor_refresh  # noqa: SLF001
        app._apply = self._timed(app._apply, self.apply)  # noqa: SLF001
        Screen._compositor_refresh = self._timed(Screen._compositor_refresh, self.repaint)  # noqa: SLF001

    @staticmethod
    def _timed(fn, out: list[float]):  # noqa: ANN001, ANN205
        def timed(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            t = time.thread_time()
            try:
                return fn(*a, **kw)
            finally:
                out.append(time.thread_time() - t)

        return timed

    def stop(self) -> None:
        from textual.screen import Screen

        Screen._compositor_refresh = self._refresh  # noqa: SLF001
        del self._app._apply  # the instance's wrapper: the class's method again

    def figures(self) -> dict[str, float]:
        a, r = sorted(x * 1000 for x in self.apply) or [0.0], sorted(x * 1000 for x in self.repaint) or [0.0]
        return {"apply_cpu_p50_ms": round(statistics.median(a), 1), "apply_cpu_p99_ms": round(percentile(a, 0.99), 1),
                "repaint_cpu_p50_ms": round(statistics.median(r), 1),
                "repaint_cpu_p99_ms": round(percentile(r, 0.99), 1), "repaint_cpu_max_ms": round(r[-1], 1)}


class _DeriveCpu:
    """CPU time spent inside RebalApp._derive's thread (wrapped for the benchmark)."""

    def __init__(self, app) -> None:  # noqa: ANN001
        import console.app.state as statemod  # the app's derive thread looks it up there on each call

        self.spent = 0.0
        orig = statemod.derive_state

        def timed(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            t = time.thread_time()
            try:
                return orig(*a, **kw)
            finally:
                self.spent += time.thread_time() - t

        statemod.derive_state = timed

    def total(self) -> float:
        return self.spent


def main() -> int:
    p = argparse.ArgumentParser(description="rebal-tui UI benchmarks")
    p.add_argument("--rate", type=int, default=2000, help="ticker updates per second")
    p.add_argument("--rows", type=int, default=200, help="table rows (sleeves)")
    p.add_argument("--seconds", type=float, default=10.0, help="at least this long under load")
    p.add_argument("--presses", type=int, default=200, help="keypresses timed (p99 needs at least 200)")
    p.add_argument("--runs", type=int, default=3, help="first-frame runs per program")
    p.add_argument("--skip-startup", action="store_true")
    p.add_argument("--skip-live", action="store_true")
    p.add_argument("--replay", type=int, default=120, help="states in the replay (0: none)")
    a = p.parse_args()
    figures: dict[str, float] = {}
    if not a.skip_startup:
        figures |= bench_first_frame(a.runs)
    if not a.skip_live:
        figures |= asyncio.run(bench_live(a.rate, a.rows, a.seconds, a.presses))
    if a.replay:
        figures |= asyncio.run(bench_replay(a.rows, a.replay))
    print(json.dumps({"bench": "ui", **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
