"""The HTTP face of the emulator: an aiohttp server on 127.0.0.1 routing Binance's REST
paths to the model. It parses, authenticates, applies fault knobs and serialises; every
rule of the market lives in the engine."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from console.emulator import api_coinm, api_futures, api_more, api_public, api_spot, streams
from console.emulator.auth import check_key, check_signed
from console.emulator.bybit import server as bybit_server
from console.emulator.bybit import streams as bybit_streams
from console.emulator.engine import Emulator
from console.emulator.errors import BinanceError
from console.emulator.faults import LOST_REPLY_HOLD_S, Fault
from console.emulator.params import no_duplicates

log = logging.getLogger(__name__)
Handler = Callable[..., Any]


PUBLIC, KEY, SIGNED = "public", "key", "signed"  # what a route checks: nothing, the API key, the signature


def _routes() -> dict[tuple[str, str], tuple[Handler, str]]:
    table: dict[tuple[str, str], tuple[Handler, str]] = {}
    for method, path, fn in api_public.ROUTES + api_more.PUBLIC_ROUTES + api_coinm.PUBLIC_ROUTES:
        table[(method, path)] = (fn, PUBLIC)
    for method, path, fn in streams.KEY_ROUTES:
        table[(method, path)] = (fn, KEY)
    for method, path, fn in (api_public.SIGNED_MARKET_ROUTES + api_spot.ROUTES + api_futures.ROUTES
                             + api_more.SIGNED_ROUTES + api_coinm.SIGNED_ROUTES):
        table[(method, path)] = (fn, SIGNED)
    return table


ROUTES = _routes()


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, separators=(",", ":")), status=status,
                        content_type="application/json")


class EmulatorServer:
    """Serve an Emulator over HTTP. Use inside any running event loop."""

    def __init__(self, emulator: Emulator, push_s: float = streams.DEFAULT_PUSH_S) -> None:
        self.emulator = emulator
        self.push_s = push_s  # wall seconds between websocket pushes
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._held: set[asyncio.Task[Any]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the emulator only binds the loopback interface (127.0.0.1)")
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://127.0.0.1:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.path
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if "/v5/" in path:  # Bybit's streams (/stream/v5/public/<category>, /stream/v5/private)
                return await bybit_streams.serve(request, self.emulator, self.push_s)
            return await streams.serve(request, self.emulator, self.push_s)
        faults = self.emulator.faults.take(method, path)
        kinds = {f.kind: f for f in faults}
        for f in faults:
            if f.kind == "latency":
                await asyncio.sleep(f.latency_s)
        if "drop" in kinds:
            return self._drop(request)
        if "5xx" in kinds:
            return web.Response(status=503, content_type="text/html",
                                text="<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
        if "429" in kinds:
            return web.Response(status=429, headers={"Retry-After": "1"}, content_type="application/json",
                                text='{"code":-1003,"msg":"Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. Please use the websocket for live updates to avoid polling the API."}')
        if "418" in kinds:
            return web.Response(status=418, headers={"Retry-After": "120"}, content_type="application/json",
                                text='{"code":-1003,"msg":"Way too many requests; IP(127.0.0.1) banned until 1700000000000. Please use the websocket for live updates to avoid bans."}')
        response = await self._serve(request, method, path)
        lost = kinds.get("lost_reply")
        if lost is not None:
            return await self._lose(request, lost)
        return response

    async def _serve(self, request: web.Request, method: str, path: str) -> web.Response:
        if path.startswith("/v5/"):  # Bybit's dialect: its own envelope, signing and errors
            return await bybit_server.serve(request, self.emulator)
        route = ROUTES.get((method, path))
        if route is None:
            return web.Response(status=404, content_type="text/html", text="<html><body><h1>404 Not Found</h1></body></html>")
        fn, auth = route
        query = request.rel_url.raw_query_string  # signed as sent, before any decoding
        # undecodable bytes become U+FFFD and then fail the parameter grammar, as on Binance
        body = (await request.read()).decode("utf-8", errors="replace") if request.can_read_body else ""
        emu = self.emulator
        try:
            params = no_duplicates(parse_qsl(query, keep_blank_values=True)
                                   + parse_qsl(body, keep_blank_values=True))
            with emu.lock:
                acct = None
                if auth != PUBLIC:
                    secret, name = check_key(request.headers.get("X-MBX-APIKEY"), emu.keys)
                    if auth == SIGNED:
                        check_signed(query, body, secret, params, (emu.clock.wall_ms(), emu.now_ms()))
                    acct = emu.accounts[name]
                emu.sync()
                result = fn(emu, acct, params)
        except BinanceError as exc:
            return _json(exc.body(), status=exc.status)
        except Exception:  # a bug in the emulator: answer as Binance does, keep serving
            log.exception("emulator error on %s %s", method, path)
            return _json({"code": -1000, "msg": "An unknown error occurred while processing the request."}, status=500)
        return _json(result)

    def _drop(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # nothing is written on an aborted connection

    async def _lose(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """The request took effect; its reply never arrives: hold it, then cut the line."""
        await asyncio.sleep(fault.latency_s or LOST_REPLY_HOLD_S)
        return self._drop(request)
