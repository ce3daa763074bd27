"""The leverage tiers a COIN-M account's snapshot carries (its margin ratio and liquidation
prices are worked out from them) survive the state file, and a tier the console cannot read
is refused with the field named, never turned into a NaN ratio."""

from __future__ import annotations

import json
import math

import pytest

from console.core.errors import UserError
from console.core.snapshot import AccountState, Snapshot, snapshot_from_dict, snapshot_to_dict

TIER = {"tier": 1.0, "symbol": "BTC/USD:BTC", "currency": "USD", "minNotional": 0.0, "maxNotional": 5.0,
        "maintenanceMarginRate": 0.004, "maxLeverage": 125.0, "info": {"cum": 0.0}}


def _snap(tiers: object) -> dict:
    acct = AccountState("coinm", "binancecoinm", leverage_tiers={"BTC/USD:BTC": [TIER]})
    data = snapshot_to_dict(Snapshot(1_795_262_400_000, {"coinm": acct}))
    data["accounts"]["coinm"]["leverage_tiers"] = tiers
    return data


def test_leverage_tiers_round_trip_through_the_state_file() -> None:
    data = json.loads(json.dumps(_snap({"BTC/USD:BTC": [TIER]})))
    assert snapshot_from_dict(data).accounts["coinm"].leverage_tiers == {"BTC/USD:BTC": [TIER]}


def test_an_account_without_tiers_writes_none() -> None:
    data = snapshot_to_dict(Snapshot(1, {"spot": AccountState("spot", "binance")}))
    assert "leverage_tiers" not in data["accounts"]["spot"]
    assert snapshot_from_dict(data).accounts["spot"].leverage_tiers == {}


@pytest.mark.parametrize(("tiers", "field"), [
    ({"BTC/USD:BTC": [{**TIER, "maintenanceMarginRate": math.nan}]}, "leverage_tiers.BTC/USD:BTC[0].maintenanceMarginRate"),
    ({"BTC/USD:BTC": [{**TIER, "maintenanceMarginRate": None}]}, "leverage_tiers.BTC/USD:BTC[0].maintenanceMarginRate"),
    ({"BTC/USD:BTC": [{**TIER, "info": {"cum": "x"}}]}, "leverage_tiers.BTC/USD:BTC[0].info.cum"),
    ({"BTC/USD:BTC": {"tier": 1}}, "leverage_tiers.BTC/USD:BTC"),
    ([TIER], "leverage_tiers"),
])
def test_an_unreadable_tier_is_refused_naming_its_field(tiers: object, field: str) -> None:
    with pytest.raises(UserError) as err:
        snapshot_from_dict(_snap(tiers), "state.json")
    assert f"state.json: accounts.coinm.{field}" in str(err.value)
