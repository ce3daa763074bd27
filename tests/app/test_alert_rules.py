"""console.core.alerts: pure rules over (previous, current) state; transitions fire, states do not."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from console.core.alerts import (
    BAND_CLEAR_MARGIN,
    Severity,
    Watch,
    account_margin_ratio,
    band_alerts,
    band_level,
    evaluate,
    funding_alerts,
    margin_alerts,
    quarter_end_alerts,
    risk_view,
    stale_alerts,
)
from console.core.allocation import Status, band_status, compute_allocation
from console.core.freshness import stale_accounts
from tests.app.sample import T0, sample_config, sample_snapshot


def _state(**prices: float):  # noqa: ANN202
    cfg, snap = sample_config(), sample_snapshot(prices=prices or None)
    alloc = compute_allocation(cfg, snap)
    return cfg, snap, alloc, risk_view(cfg, snap, alloc, T0)


def test_band_transitions() -> None:
    cfg, _, a0, _ = _state()
    wf = cfg.portfolio.warn_fraction
    fired, levels = band_alerts(None, a0, T0, wf)
    first = {x.key: x.severity for x in fired}
    # the cash sleeve (STABLE, at warn) warns like any sleeve; the text says the legs move it
    assert first == {"band:BTC:warn": Severity.WARN, "band:ALTS:breach": Severity.CRITICAL,
                     "band:STABLE:warn": Severity.WARN}
    cash = next(x for x in fired if x.subject == "STABLE")
    assert "residual" in cash.message and "overlay legs move it" in cash.message
    assert band_alerts(levels, a0, T0, wf)[0] == []  # nothing moved: nothing fires
    _, _, a1, _ = _state(SOL=120.0)  # ALTS falls back well inside its band
    alts = a1.row("ALTS")
    assert alts.halfwidth is not None and abs(alts.drift or 0) <= (wf - BAND_CLEAR_MARGIN) * alts.halfwidth
    back = {x.key for x in band_alerts(levels, a1, T0, wf)[0]}
    assert "band:ALTS:ok" in back


def test_a_band_alert_clears_only_once_inside_by_the_margin() -> None:
    hw, wf, m = 0.02, 0.8, BAND_CLEAR_MARGIN
    warn_edge, clear_warn, clear_breach = wf * hw, (wf - m) * hw, (1 - m) * hw
    ok, warn, breach = Status.OK, Status.WARN, Status.BREACH
    assert band_level(ok, warn, warn_edge + 1e-4, hw, wf) is warn  # up at once
    assert band_level(warn, breach, hw + 1e-4, hw, wf) is breach
    # back under the warn edge, not yet by the margin: the alert stands
    assert band_level(warn, ok, (warn_edge + clear_warn) / 2, hw, wf) is warn
    assert band_level(warn, ok, clear_warn - 1e-9, hw, wf) is ok
    assert band_level(warn, ok, -(clear_warn - 1e-9), hw, wf) is ok  # either side of the target
    # a breach steps down to warn inside (1 − margin) of the band, to ok inside (wf − margin)
    assert band_level(breach, warn, (hw + clear_breach) / 2, hw, wf) is breach
    assert band_level(breach, warn, clear_breach - 1e-9, hw, wf) is warn
    assert band_level(breach, ok, (warn_edge + clear_warn) / 2, hw, wf) is warn
    assert band_level(breach, ok, clear_warn - 1e-9, hw, wf) is ok


def test_a_drift_wobbling_at_the_edge_raises_one_alert() -> None:
    cfg, _, a0, _ = _state()
    wf = cfg.portfolio.warn_fraction
    btc = a0.row("BTC")
    hw = btc.halfwidth
    assert hw is not None

    def at(drift: float):  # noqa: ANN202 - the allocation with BTC at this drift
        row = replace(btc, drift=drift, status=band_status(drift, hw, wf))
        return replace(a0, rows=(row,))

    levels: dict[str, Status] | None = None
    keys: list[str] = []
    # ten ticks either side of the warn edge, by a tenth of the clearing margin
    wobble = [wf * hw + (1 if i % 2 == 0 else -1) * BAND_CLEAR_MARGIN * hw / 10 for i in range(10)]
    for d in [0.0, *wobble, (wf - BAND_CLEAR_MARGIN) * hw * 0.99]:
        fired, levels = band_alerts(levels, at(d), T0, wf)
        keys += [a.key for a in fired]
    assert keys == ["band:BTC:warn", "band:BTC:ok"]  # one warn, one all-clear: not ten of each


def test_margin_thresholds() -> None:
    assert [a.key for a in margin_alerts({}, {"f": 0.41}, 0.5, T0)] == ["margin:f:warn"]
    assert [a.key for a in margin_alerts({"f": 0.41}, {"f": 0.45}, 0.5, T0)] == []
    assert [a.severity for a in margin_alerts({"f": 0.45}, {"f": 0.55}, 0.5, T0)] == [Severity.CRITICAL]
    assert margin_alerts({}, {"f": 0.10}, 0.5, T0) == []


def test_margin_ratio_is_the_venues() -> None:
    _, snap, _, view = _state()
    assert account_margin_ratio(snap.accounts["futures"]) == 640.0 / 39900.0
    assert view.margin_ratios() == {"futures": 640.0 / 39900.0}


def test_funding_spike_fires_once() -> None:
    _, _, _, view = _state()
    first = funding_alerts(None, view, T0)
    assert [a.subject for a in first] == ["SOL/USDT:USDT"]  # 0.08 %/8h = 87.6 %/yr
    assert funding_alerts(view, view, T0) == []


def test_stale_account_and_back() -> None:
    cfg, snap, _, _ = _state()
    fresh = stale_accounts(cfg, snap, T0)
    assert fresh == {"spot": (), "futures": ()}
    later = stale_accounts(cfg, snap, T0 + 60_000)
    assert later["futures"] and later["spot"]
    fired = stale_alerts(fresh, later, 30, T0)
    assert {a.key for a in fired} == {"stale:spot", "stale:futures"}
    assert {a.key for a in stale_alerts(later, fresh, 30, T0)} == {"fresh:spot", "fresh:futures"}


def test_quarter_end_window_opens_once() -> None:
    inside = int(dt.datetime(2026, 12, 28, 15, tzinfo=dt.UTC).timestamp() * 1000)
    before = int(dt.datetime(2026, 12, 18, 15, tzinfo=dt.UTC).timestamp() * 1000)
    assert quarter_end_alerts(before, inside)[0].kind == "quarter_end"
    assert quarter_end_alerts(inside, inside + 86_400_000) == []
    assert quarter_end_alerts(None, before) == []


def test_evaluate_threads_the_watch() -> None:
    cfg, snap, alloc, view = _state()
    stale = stale_accounts(cfg, snap, T0)
    alerts, watch = evaluate(cfg, Watch(), alloc, view, stale, T0)
    assert alerts and watch.alloc is alloc and watch.bands is not None
    again, _ = evaluate(cfg, watch, alloc, view, stale, T0 + 1000)
    assert again == ()
    moved = replace(snap, timestamp=T0 + 2000)
    assert moved.timestamp == T0 + 2000
