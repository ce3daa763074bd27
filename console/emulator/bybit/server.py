"""The HTTP face of Bybit's dialect: ``/v5/*`` requests, answered in Bybit's envelope
``{"retCode", "retMsg", "result", "retExtInfo", "time"}``. Errors are HTTP 200 with a
non-zero retCode, as on Bybit; a bug in the emulator is retCode 10016 (system error)."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from console.emulator.bybit import auth, market, trade
from console.emulator.bybit.errors import BybitError
from console.emulator.engine import Emulator

log = logging.getLogger(__name__)
PUBLIC = {(m, p): fn for m, p, fn in market.ROUTES}
PRIVATE = {(m, p): fn for m, p, fn in trade.ROUTES}


def envelope(emu: Emulator, result: Any, code: int = 0, msg: str = "OK", ext: Any = None) -> web.Response:
    body = {"retCode": code, "retMsg": msg, "result": result if result is not None else {},
            "retExtInfo": ext if ext is not None else {}, "time": emu.now_ms()}
    return web.Response(text=json.dumps(body, separators=(",", ":")), content_type="application/json")


async def serve(request: web.Request, emu: Emulator) -> web.Response:
    key = (request.method, request.path)
    public, private = PUBLIC.get(key), PRIVATE.get(key)
    if public is None and private is None:
        return web.Response(status=404, content_type="text/plain", text="404 page not found")
    query = request.rel_url.raw_query_string
    body = (await request.read()).decode("utf-8", errors="replace") if request.can_read_body else ""
    try:
        with emu.lock:
            acct = None
            if request.method == "GET":
                params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
            else:
                params = trade.parse_body(body)
            if private is not None:
                name = auth.check(request.headers, query if request.method == "GET" else body, emu.bybit_keys,
                                  (emu.clock.wall_ms(), emu.now_ms()))
                acct = emu.accounts[name]
            emu.sync()
            result = (private or public)(emu, acct, params)  # type: ignore[misc]
    except BybitError as exc:
        return envelope(emu, {}, exc.code, exc.msg)
    except Exception:  # a bug in the emulator: answer as Bybit's system error, keep serving
        log.exception("emulator error on %s %s", request.method, request.path)
        return envelope(emu, {}, 10016, "System error. Please try again later.")
    if isinstance(result, tuple):  # (result, retExtInfo): batch endpoints
        return envelope(emu, result[0], ext=result[1])
    return envelope(emu, result)
