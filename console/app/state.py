"""What the dashboard shows, derived from one Snapshot off the UI thread (pure: no Textual)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from console.core.alerts import Alert, RiskView, Watch, evaluate, risk_view
from console.core.allocation import Allocation, compute_allocation
from console.core.config import Config
from console.core.freshness import stale_accounts
from console.core.snapshot import Snapshot


@dataclass(frozen=True)
class DashboardState:
    """Everything the dashboard shows, derived from one Snapshot off the UI thread."""

    snapshot: Snapshot
    alloc: Allocation
    risk: RiskView
    stale: Mapping[str, tuple[str, ...]]
    alerts: tuple[Alert, ...]  # fired by the step from the previous state to this one
    now_ms: int


def derive_state(config: Config, snap: Snapshot, watch: Watch, now_ms: int) -> tuple[DashboardState, Watch]:
    alloc = compute_allocation(config, snap)
    risk = risk_view(config, snap, alloc, now_ms)
    stale = stale_accounts(config, snap, now_ms)
    alerts, watch = evaluate(config, watch, alloc, risk, stale, now_ms)
    return DashboardState(snap, alloc, risk, stale, alerts, now_ms), watch
