"""The collector is paused for a planning pass and left as it was found after it."""

from __future__ import annotations

import gc
import sys
import threading

import pytest

from console.core import planner
from console.core.gcpause import gc_paused
from tests.planner.bigbook import build


@pytest.fixture
def collector():
    was = gc.isenabled()
    gc.enable()
    yield
    gc.enable() if was else gc.disable()


def test_a_pass_pauses_the_collector_and_resumes_it(collector):
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_passes_resume_it_only_when_the_outer_one_ends(collector):
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()  # the outer pass still runs
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled(collector):
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_a_pass_that_raises_resumes_it(collector):
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("bad input")
    assert gc.isenabled()


def test_overlapping_passes_in_two_threads_resume_it_when_the_last_ends(collector):
    # thread A enters, thread B enters, A leaves (B still runs: paused), B leaves: resumed
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def a() -> None:
        with gc_paused():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b() -> None:
        a_in.wait(5)
        with gc_paused():
            b_in.set()
            a_out.wait(5)
            seen.append(gc.isenabled())

    ts = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(5)
    assert seen == [False]
    assert gc.isenabled()


def test_propose_runs_without_a_collection_and_leaves_the_collector_enabled(collector):
    cfg, snap, books = build(20)
    runs: list[str] = []

    def seen(phase: str, info: dict) -> None:
        # the collector runs at the first allocation it can: on entering the pass (before it
        # is paused) and leaving it (once resumed), as it would around any call. What counts
        # is a collection inside the planning work: one with a planner function on the stack
        # (the builders, the roll scan, the planning context) below propose itself
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == planner.__file__ and frame.f_code is not planner.propose.__code__:
                runs.append(f"{phase} in {frame.f_code.co_name}")
                return
            frame = frame.f_back

    threshold = gc.get_threshold()
    gc.set_threshold(1)  # a collection every allocation, were the collector running
    gc.callbacks.append(seen)
    try:
        tickets = planner.propose(cfg, snap, books=books, now_ms=snap.timestamp, horizon_days=7)
    finally:
        gc.callbacks.remove(seen)
        gc.set_threshold(*threshold)
    assert tickets and runs == []
    assert gc.isenabled()
