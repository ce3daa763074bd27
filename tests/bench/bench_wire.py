"""Benchmark: confirm keypress → first order byte at the emulator.

    python tests/bench/bench_wire.py [--runs 10] [--embedded] [--compare]

The console runs as a trader runs it (Pilot, 120×36) on the loopback emulator through the real
venue layer, executor and journal (the app tests' rig; frozen emulator clock, so the data never
ages). Each run opens the spread builder, switches it to a one-leg hedge, opens the
confirmation, reads it to the end, and stamps the moment `y` is pressed; the emulator stamps
the moment its HTTP handler receives the first POST of an order (Binance's /order paths).

Where the emulator runs: by default in a process of its own, as every venue the console sends
to does (a testnet or an exchange is another machine); both stamps are then
``time.perf_counter()``, which on Linux is CLOCK_MONOTONIC, one clock for every process of the
machine (checked at start). ``--embedded``: in a thread of the console's own process, as
``rebal-tui --demo`` runs it; the emulator then parses the request on the console's
interpreter, so the figure also holds the emulator's wait for the interpreter lock while the UI
repaints after the send (its bytes are already on the socket then).

Also counted: the REST requests
the emulator served between the two stamps (none should sit between `y` and the send), and
the CPU time each thread of the console used between them (Linux per-thread clocks): the UI
thread (which repaints as the modal closes), the service loop (the checks, the journal commit,
ccxt) and, embedded, the emulator's. The wall time also holds the waits for a core and for the interpreter lock;
on a busy machine the CPU figures are the steadier ones. The wall time is also split at the
journal's one commit before the send (``begin_sending``: the yes, the sending step and the
order rows, synchronous=FULL): key → commit start (the hand-off and the send-time checks),
the commit (its fsync is the disk's: other people's I/O shows there), commit → first byte
(ccxt signing, the socket write, the emulator reading the request).

Prints each run, the median and the p99 (over fewer than 100 runs, the worst: ``--runs 40``
or more for a p99 that is not one unlucky run), and ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console.emulator.clock import DEFAULT_START_MS  # noqa: E402
from console.emulator.server import EmulatorServer  # noqa: E402
from console.emulator.testing import start_emulator  # noqa: E402
from tests.bench.bench_plan import p99  # noqa: E402

ORDER_PATHS = ("/api/v3/order", "/fapi/v1/order", "/dapi/v1/order")
# thread names → what the figures call them (the others, asyncio's helpers, count in "all")
THREADS = {"MainThread": "ui", "rebal-services": "service", "emulator": "emulator"}


def cpu_now() -> dict[str, float]:
    """CPU seconds each live thread of this process has used so far."""
    out: dict[str, float] = {}
    for t in threading.enumerate():
        if t.ident is None:
            continue
        try:
            out[f"{t.name}#{t.ident}"] = time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        except OSError:  # the thread ended meanwhile
            continue
    return out


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU ms per thread kind between two ``cpu_now`` readings, and "all" of them (the emulator's
    only when it runs in this process)."""
    used = {"ui": 0.0, "service": 0.0, "all": 0.0}
    if any(key.split("#")[0] == "emulator" for key in after):
        used["emulator"] = 0.0
    for key, t1 in after.items():
        ms = (t1 - before.get(key, t1)) * 1000
        used["all"] += ms
        kind = THREADS.get(key.split("#")[0])
        if kind is not None:
            used[kind] += ms
    return used


class GcPauses:
    """The console process's garbage-collector pauses (each holds the interpreter lock, so every
    thread of the process waits behind it), as (start, end, generation)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float, int]] = []
        self._t0 = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((self._t0, time.perf_counter(), info["generation"]))

    def within(self, t0: float, t1: float) -> tuple[float, int]:
        """ms of collector pauses between t0 and t1, and the oldest generation collected (-1: none)."""
        inside = [(max(a, t0), min(b, t1), g) for a, b, g in self.pauses if b > t0 and a < t1]
        return sum(b - a for a, b, _ in inside) * 1000, max((g for _, _, g in inside), default=-1)


class Stamps:
    """What the emulator saw: the first order POST after ``arm()``, and every request since."""

    def __init__(self) -> None:
        self.armed_at: float | None = None
        self.first_order: float | None = None
        self.requests: list[tuple[float, str, str]] = []
        self.cpu_armed: dict[str, float] = {}
        self.cpu_sent: dict[str, float] = {}
        self.commit: tuple[float, float] | None = None  # the send's journal commit: start, end

    def arm(self) -> float:
        self.first_order, self.requests, self.commit = None, [], None
        self.cpu_armed = cpu_now()
        self.armed_at = time.perf_counter()
        return self.armed_at

    def seen(self, method: str, path: str, at: float | None = None) -> None:
        """A request the emulator received, stamped ``at`` (its process's perf_counter) or now."""
        now = time.perf_counter() if at is None else at
        if self.armed_at is None:
            return
        self.requests.append((now, method, path))
        if self.first_order is None and method == "POST" and path in ORDER_PATHS:
            self.first_order = now
            self.cpu_sent = cpu_now()  # (stamped by another process: read when its line arrives)


def stamp_commit(stamps: Stamps) -> None:
    from console.execution.journal import Journal

    real = Journal.begin_sending

    def begin_sending(self: Journal, *args: Any, **kwargs: Any) -> None:
        t0 = time.perf_counter()
        try:
            real(self, *args, **kwargs)
        finally:
            if stamps.armed_at is not None and stamps.commit is None:
                stamps.commit = (t0, time.perf_counter())

    Journal.begin_sending = begin_sending  # type: ignore[method-assign]


def stamp_emulator(seen: Any) -> None:
    """``seen(method, path)`` as each request reaches the emulator's handler, before it is handled."""
    real = EmulatorServer._handle

    async def handle(self: EmulatorServer, request: Any) -> Any:
        seen(request.method, request.path)
        return await real(self, request)

    EmulatorServer._handle = handle  # type: ignore[method-assign]


class ProcessEmulator:
    """The emulator in a child process (``--serve``): what the app tests' rig reads of a handle
    (``url``, ``emulator.now_ms``), and each request it receives fed to ``stamps`` with the
    child's own perf_counter stamp."""

    def __init__(self, stamps: Stamps) -> None:
        from console.emulator.clock import Clock

        # its stdin is a pipe of ours: closed, the child stops its emulator and ends
        self._proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        self.url = self._proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self._proc.kill()
            raise RuntimeError(f"the emulator process did not start (it said {self.url!r})")
        self.emulator = Clock(start_ms=DEFAULT_START_MS, speed=0.0)  # the child's clock: frozen at the same start
        self._reader = threading.Thread(target=self._read, args=(stamps,), name="stamps", daemon=True)
        self._reader.start()

    def _read(self, stamps: Stamps) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            at, method, path = line.split(" ", 2)
            stamps.seen(method, path.strip(), at=float(at))

    def stop(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def serve() -> None:
    """The child's side of ``ProcessEmulator``: the seeded emulator (frozen clock) on a free port;
    prints its URL, then a line per request received: ``<perf_counter> <method> <path>``."""
    def seen(method: str, path: str) -> None:
        print(f"{time.perf_counter()!r} {method} {path}", flush=True)

    stamp_emulator(seen)
    handle = start_emulator(seed=7, speed=0.0, start_ms=DEFAULT_START_MS)
    print(handle.url, flush=True)
    try:
        sys.stdin.read()  # until the parent closes the pipe
    finally:
        handle.stop()


async def one_run(handle: Any, stamps: Stamps, tmp: Path, pauses: GcPauses) -> dict[str, Any]:
    from console.app.screens.confirm import ConfirmScreen
    from tests.app.conftest import SIZE, Rig, read_through
    from tests.app.test_journeys_emulator import open_builder, to_hedge, until

    rig = Rig(handle, tmp)
    try:
        async with rig.app.run_test(size=SIZE) as pilot:
            app = pilot.app
            builder = await open_builder(pilot)
            await to_hedge(pilot, builder)
            await until(pilot, lambda: builder.settled, what="the builder to settle")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen.shown, what="the modal")
            await read_through(pilot)
            await pilot.pause(0.2)  # whatever the modal prepares while it is open
            t0 = stamps.arm()
            await pilot.press("y")
            await until(pilot, lambda: stamps.first_order is not None, timeout=30, what="the order at the emulator")
            t1 = stamps.first_order
            assert t1 is not None
            between = [(m, p) for t, m, p in stamps.requests if t < t1]
            assert stamps.commit is not None, "the send's journal commit was not seen"
            c0, c1 = stamps.commit
            await until(pilot, lambda: app.last_ticket_id is not None, what="the confirm")
            gc_ms, gc_gen = pauses.within(t0, t1)
            return {"ms": (t1 - t0) * 1000, "gc_ms": gc_ms, "gc_generation": gc_gen, "rest_before_send": len(between),
                    "split": {"to_commit": (c0 - t0) * 1000, "commit": (c1 - c0) * 1000,
                              "after_commit": (t1 - c1) * 1000},
                    "paths": sorted({p for _, p in between}), "cpu": cpu_used(stamps.cpu_armed, stamps.cpu_sent)}
    finally:
        rig.close()


def main() -> None:
    from console import runtime

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--embedded", action="store_true",
                    help="the emulator in a thread of the console's process, as `rebal-tui --demo` runs it "
                         "(by default it runs in a process of its own, as a venue does)")
    ap.add_argument("--compare", action="store_true",
                    help="also as many runs, interleaved, with the UI not holding for the send "
                         "(WIRE_HOLD_S = 0): the path before the hold, in the same conditions")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the emulator process's side
    a = ap.parse_args()
    if a.serve:
        serve()
        return
    stamps = Stamps()
    if a.embedded:
        stamp_emulator(stamps.seen)
    elif time.get_clock_info("perf_counter").implementation != "clock_gettime(CLOCK_MONOTONIC)":
        sys.exit("the emulator's process and this one share no clock here (perf_counter is not CLOCK_MONOTONIC): "
                 "run with --embedded")
    stamp_commit(stamps)
    pauses = GcPauses()

    def emulator() -> Any:
        if a.embedded:
            return start_emulator(seed=7, speed=0.0, start_ms=DEFAULT_START_MS)
        return ProcessEmulator(stamps)

    rows: list[dict[str, Any]] = []
    unheld: list[float] = []
    hold_s = runtime.WIRE_HOLD_S
    for i in range(a.runs + 1):  # the first warms imports and is not counted
        if a.compare and i > 0:
            runtime.WIRE_HOLD_S = 0.0
            handle = emulator()
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    unheld.append(asyncio.run(one_run(handle, stamps, Path(tmp), pauses))["ms"])
            finally:
                handle.stop()
                runtime.WIRE_HOLD_S = hold_s
        handle = emulator()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                r = asyncio.run(one_run(handle, stamps, Path(tmp), pauses))
        finally:
            handle.stop()
        if i == 0:
            continue
        rows.append(r)
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in r["cpu"].items())
        split = ", ".join(f"{k} {v:.1f}" for k, v in r["split"].items())
        collected = (f"; the collector paused the process {r['gc_ms']:.1f} ms (generation {r['gc_generation']})"
                     if r["gc_generation"] >= 0 else "")
        print(f"run {i}: y → first order byte {r['ms']:.1f} ms ({split}; CPU ms: {cpu}); {r['rest_before_send']} "
              f"other requests in between {r['paths']}{collected}")
    ms = [r["ms"] for r in rows]
    between = statistics.median(r["rest_before_send"] for r in rows)
    cpu_med = {k: round(statistics.median(r["cpu"][k] for r in rows), 1) for k in rows[0]["cpu"]}
    split = {k: (round(statistics.median(r["split"][k] for r in rows), 1),
                 round(p99([r["split"][k] for r in rows]), 1)) for k in rows[0]["split"]}
    out = {"runs": len(rows), "emulator": "embedded" if a.embedded else "process", "median_ms": round(statistics.median(ms), 1), "p99_ms": round(p99(ms), 1),
           "max_ms": round(max(ms), 1), "rest_between_median": between,
           "gc_in_window_max_ms": round(max(r["gc_ms"] for r in rows), 1),
           **{f"cpu_{k}_median_ms": v for k, v in cpu_med.items()},
           **{f"{k}_median_ms": m for k, (m, _) in split.items()},
           **{f"{k}_p99_ms": q for k, (_, q) in split.items()}}
    where = "in the console's process" if a.embedded else "in its own process"
    print(f"confirm keypress → first order byte at the emulator ({where}) over {len(rows)} runs: median "
          f"{out['median_ms']} ms, p99 {out['p99_ms']} ms; other requests in between (median) {between}; "
          "CPU used meanwhile (median ms): " + ", ".join(f"{k} {v}" for k, v in cpu_med.items()))
    print("the wall time split (median / p99 ms): "
          + ", ".join(f"{k} {m} / {q}" for k, (m, q) in split.items()))
    if unheld:
        out |= {"unheld_median_ms": round(statistics.median(unheld), 1), "unheld_p99_ms": round(p99(unheld), 1)}
        print(f"interleaved, without the UI's hold: median {out['unheld_median_ms']} ms, "
              f"p99 {out['unheld_p99_ms']} ms")
    print(json.dumps(out))

if __name__ == "__main__":
    main()
