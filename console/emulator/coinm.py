"""COIN-M (``/dapi``): inverse perpetuals and quarterlies, as ccxt's ``binancecoinm`` reads them.

A contract is worth ``contract_size`` USD; margin, PnL, fees and brackets are in the coin:
    notional (coin) = contracts × size / price
    unrealised PnL (coin) = contracts × size × (1/entry − 1/mark)      (contracts signed)
    entry after adding = total contracts / Σ (contracts_i / price_i)    (the harmonic mean)
    initial margin = |notional at mark| / leverage; available = wallet + uPnL − IM (cross).
Funding every 8 h: −contracts × size / mark × rate, in the coin. One-way, cross margin only;
no liquidation or delivery settlement (an inverse position is held as a hedge in the demo), but
positionRisk reports the price at which one would happen (``liquidation_price``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from console.emulator import params
from console.emulator.accounts import Account, Order, Position, Trade
from console.emulator.errors import BinanceError
from console.emulator.instruments import Instrument, make_brackets
from console.emulator.matching import Fill, match
from console.emulator.rules import FUT_TIFS, _check_percent_price, _decimals, _multiple, _status

Params = dict[str, str]
Emulator = Any  # console.emulator.engine.Emulator (which imports this module)
FEE_TAKER, FEE_MAKER = 0.0005, 0.0002
CENT = Decimal("1e-8")

BTC_COIN_BRACKETS = make_brackets([
    (125, 0, 5, 0.004), (100, 5, 10, 0.005), (50, 10, 20, 0.01), (20, 20, 50, 0.025),
    (10, 50, 100, 0.05), (5, 100, 200, 0.1), (1, 200, 1_000, 0.5)])
ETH_COIN_BRACKETS = make_brackets([
    (75, 0, 250, 0.0065), (50, 250, 500, 0.01), (25, 500, 1_500, 0.02), (10, 1_500, 5_000, 0.05),
    (5, 5_000, 10_000, 0.1), (1, 10_000, 50_000, 0.5)])


def inverse(base: str, suffix: str, tick: str, size: float, brackets: tuple, depth: float,
            delivery_ms: int | None = None) -> Instrument:
    return Instrument(id=f"{base}USD_{suffix}", venue="coinm", base=base, quote="USD", tick=tick, step="1",
                      min_qty="1", min_notional="0", max_qty="1000000", kind="perp" if suffix == "PERP" else "dated",
                      delivery_ms=delivery_ms, brackets=brackets, depth_usd=depth, contract_size=size)


def exact(x: float) -> Decimal:
    return Decimal(x).quantize(CENT, ROUND_HALF_EVEN)


def coin_notional(inst: Instrument, contracts: float, price: float) -> float:
    return contracts * inst.contract_size / price if price else 0.0


# -- the model ----------------------------------------------------------------------------------
def positions(acct: Account) -> dict[str, Position]:
    return acct.coinm_positions


def summary(emu: Emulator, acct: Account, asset: str) -> dict[str, Decimal]:
    """Exact 8-decimal figures of one coin's wallet; available + IM = margin balance exactly."""
    upnl = im = mm = 0.0
    for pos in acct.coinm_positions.values():
        inst = emu.coinm_ids[pos.symbol]
        if not pos.amt or inst.base != asset:
            continue
        mark = emu.mark(inst)
        upnl += pos.amt * inst.contract_size * (1 / pos.entry - 1 / mark)
        notional = abs(coin_notional(inst, pos.amt, mark))
        im += notional / acct.config(pos.symbol).leverage
        b = inst.bracket_for(notional)
        mm += max(0.0, notional * b.mmr - b.cum)
    order_im = sum(coin_notional(emu.coinm_ids[o.symbol], o.remaining, o.price) / acct.config(o.symbol).leverage
                   for o in acct.orders.values()
                   if o.venue == "coinm" and o.open and not o.reduce_only and emu.coinm_ids[o.symbol].base == asset)
    q = {"wallet": exact(acct.coinm_wallet.get(asset, 0.0)), "upnl": exact(upnl), "position_im": exact(im),
         "order_im": exact(order_im), "maint_margin": exact(mm)}
    q["margin_balance"] = q["wallet"] + q["upnl"]
    q["initial_margin"] = q["position_im"] + q["order_im"]
    q["available"] = q["margin_balance"] - q["initial_margin"]
    return q


def liquidation_price(emu: Emulator, acct: Account, inst: Instrument) -> float:
    """Where the coin's margin balance meets its maintenance margin as this contract's mark
    moves alone (the coin's other positions held at their marks), found numerically on the
    brackets: the figure positionRisk reports, 0 (Binance's "--") when no price gets there.

    In x = 1/price the position's uPnL and maintenance are linear (per bracket), so the
    balance minus maintenance is monotonic in x: bisection finds its one root."""
    pos = acct.coinm_positions.get(inst.id)
    if pos is None or not pos.amt:
        return 0.0
    q = pos.amt * inst.contract_size  # signed USD size
    rest = float(acct.coinm_wallet.get(inst.base, 0.0))
    for other in acct.coinm_positions.values():
        o = emu.coinm_ids[other.symbol]
        if other.symbol == inst.id or not other.amt or o.base != inst.base:
            continue
        mark = emu.mark(o)
        n = abs(coin_notional(o, other.amt, mark))
        b = o.bracket_for(n)
        rest += other.amt * o.contract_size * (1 / other.entry - 1 / mark) - max(0.0, n * b.mmr - b.cum)

    def surplus(x: float) -> float:  # margin balance − maintenance with this mark at 1/x
        n = abs(q) * x
        b = inst.bracket_for(n)
        return rest + q * (1 / pos.entry - x) - max(0.0, n * b.mmr - b.cum)

    # a long loses as x grows (the price falls), a short gains: the root is where the sign flips
    falls = q > 0
    if (surplus(0.0) <= 0) if falls else (surplus(0.0) >= 0):
        return 0.0  # a long under maintenance at any price, or a short no rally can liquidate
    lo, hi = 0.0, 1 / emu.mark(inst)
    while (surplus(hi) > 0) == falls:
        hi *= 2
        if hi > 1e6:  # a price under a millionth: none worth reporting
            return 0.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if (surplus(mid) > 0) == falls:
            lo = mid
        else:
            hi = mid
    return 1 / ((lo + hi) / 2)


def fill(emu: Emulator, acct: Account, o: Order, inst: Instrument, fills: list[Fill], *, maker: bool, t: int) -> None:
    pos = acct.coinm_positions.setdefault(inst.id, Position(inst.id))
    s = 1.0 if o.side == "BUY" else -1.0
    size = inst.contract_size
    for f in fills:
        fee = coin_notional(inst, f.qty, f.price) * (FEE_MAKER if maker else FEE_TAKER)
        realized, left = 0.0, f.qty
        if pos.amt * s < 0:  # reduces (and maybe flips)
            close = min(left, abs(pos.amt))
            realized = close * size * (1 / pos.entry - 1 / f.price) * (1.0 if pos.amt > 0 else -1.0)
            pos.amt = round(pos.amt + s * close, 10)
            left -= close
            if abs(pos.amt) < 1e-12:
                pos.amt, pos.entry = 0.0, 0.0
        if left > 1e-12:
            q = abs(pos.amt)
            pos.entry = (q + left) / ((q / pos.entry if q else 0.0) + left / f.price)
            pos.amt = round(pos.amt + s * left, 10)
        pos.update_ms = t
        acct.coinm_wallet[inst.base] = acct.coinm_wallet.get(inst.base, 0.0) + realized - fee
        tid = emu.next_id("fut_trade")
        emu.record_income(acct, inst.id, "COMMISSION", -fee, t, str(tid), asset=inst.base)
        if realized:
            emu.record_income(acct, inst.id, "REALIZED_PNL", realized, t, str(tid), asset=inst.base)
        o.executed_qty += f.qty
        o.cum_quote += coin_notional(inst, f.qty, f.price)  # cumBase: the coin value filled
        acct.trades.append(Trade("coinm", tid, o.order_id, inst.id, o.side, f.price, f.qty, fee, inst.base,
                                 maker, t, realized))
    o.update_ms = t


def place(emu: Emulator, acct: Account, p: Params) -> Order:
    inst = emu.inst("coinm", p.get("symbol"))
    side, otype = params.side(p), p.get("type", "").upper()
    if otype not in ("MARKET", "LIMIT"):
        raise BinanceError(-1116, "Invalid orderType.")
    if p.get("positionSide", "BOTH") != "BOTH":
        raise BinanceError(-4061, "Order's position side does not match user's setting.")
    client_id = params.client_id(p) or f"emu{emu.peek_id('fut_order') + 1}"
    if any(o.open and o.client_id == client_id for o in acct.orders.values()):
        raise BinanceError(-4015, "Client order id is not valid.")
    qty = params.number(p, "quantity", required=True)
    if qty <= 0 or _decimals(p["quantity"]) > 0:
        raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
    tif = params.time_in_force(p, FUT_TIFS[:-1], "GTC") if otype == "LIMIT" else "GTC"
    price = 0.0
    now = emu.now_ms()
    if otype == "LIMIT":
        price = params.number(p, "price", required=True)
        if price <= 0:
            raise BinanceError(-4001, "Price less than 0.")
        if _decimals(p["price"]) > inst.price_decimals or not _multiple(price, inst.tick):
            raise BinanceError(-4014, "Price not increased by tick size.")
        _check_percent_price(inst, side, price, emu.mark(inst, now))
    reduce_only = params.boolean(p, "reduceOnly")
    pos = acct.coinm_positions.setdefault(inst.id, Position(inst.id))
    s = 1.0 if side == "BUY" else -1.0
    if reduce_only:
        if pos.amt * s >= 0:
            raise BinanceError(-2022, "ReduceOnly Order is rejected.")
        qty = min(qty, abs(pos.amt))
    mark = emu.mark(inst, now)
    increase = qty if pos.amt * s >= 0 else max(0.0, qty - abs(pos.amt))
    if increase:
        need = coin_notional(inst, increase, price or mark) * (1 / acct.config(inst.id).leverage + FEE_TAKER)
        if need > float(summary(emu, acct, inst.base)["available"]):
            raise BinanceError(-2019, "Margin is insufficient.")
    book = emu.book(inst, now)
    fills = match(book, side, qty, limit=price or None, step=1.0) if otype == "LIMIT" else match(book, side, qty, step=1.0)
    if tif == "FOK" and sum(f.qty for f in fills) < qty:
        fills = []
    if tif == "GTX":
        fills = []
    o = Order("coinm", inst.id, emu.next_id("fut_order"), client_id, side, otype, tif, price, qty, now,
              reduce_only=reduce_only, update_ms=now, checked_ms=now)
    acct.orders[o.order_id] = o
    fill(emu, acct, o, inst, fills, maker=False, t=now)
    o.status = _status(o, resting=otype == "LIMIT" and tif in ("GTC", "GTX") and o.remaining > 0)
    return o


def pay_funding(emu: Emulator, acct: Account, t: int) -> None:
    for pos in acct.coinm_positions.values():
        inst = emu.coinm_ids[pos.symbol]
        if not pos.amt or inst.kind != "perp":
            continue
        mark = emu.paths.perp_mark(inst.base, t)
        pay = -coin_notional(inst, pos.amt, mark) * emu.paths.funding_rate(inst.base, t)
        acct.coinm_wallet[inst.base] = acct.coinm_wallet.get(inst.base, 0.0) + pay
        emu.record_income(acct, inst.id, "FUNDING_FEE", pay, t, asset=inst.base)
