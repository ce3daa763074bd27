"""An HTTP fault proxy on 127.0.0.1 between unmodified ccxt and the emulator.

The emulator's own fault knobs act inside the venue; this proxy acts on the wire, where a
trader's requests really get lost: it forwards each request to the emulator unless a fault
armed for its endpoint says otherwise. Faults (``KINDS``):

- ``drop_answer``: forwarded, the venue applies it, the connection closes without an answer;
- ``late_answer``: forwarded, the answer is held past the client's timeout;
- ``late_forward``: held, then forwarded after the client gave up and after the request's
  recvWindow (the venue refuses it with -1021: it never exists);
- ``502`` / ``503``: a gateway error, not forwarded;
- ``429``: Binance's rate limit answer, not forwarded;
- ``418``: Binance's IP ban (after ignoring 429s), not forwarded;
- ``close``: the connection closes, not forwarded;
- ``non_json``: forwarded, the answer is a 200 whose body is not JSON;
- ``-1007``: forwarded, the answer is Binance's "execution status unknown";
- ``late_not_found``: forwarded at once, its answer (a "not found" when the order is not there
  yet) delivered only after a held request has reached the venue.

Everything the proxy did is counted in ``counts`` (kind → times), for the run's figures.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

KINDS = ("drop_answer", "late_answer", "late_forward", "502", "503", "429", "418", "close", "non_json", "-1007",
         "late_not_found")
# which faults make sense where: a read is never "forwarded late" on purpose (it changes nothing)
ORDER_KINDS = ("drop_answer", "late_answer", "late_forward", "502", "503", "429", "418", "close", "non_json",
               "-1007")
READ_KINDS = ("late_answer", "502", "503", "429", "418", "close", "non_json", "-1007", "late_not_found")

_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}


class FaultProxy:
    def __init__(self, upstream: str, *, client_timeout_s: float, recv_window_s: float, seed: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        self.client_timeout_s = client_timeout_s
        self.recv_window_s = recv_window_s
        self.rng = random.Random(seed)
        self.armed: dict[str, list[str]] = {}  # "METHOD /path" → kinds, first first
        self.counts: Counter[str] = Counter()
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._held: set[asyncio.Task[Any]] = set()

    # -- knobs ---------------------------------------------------------------------
    def arm(self, endpoint: str, *kinds: str) -> None:
        for k in kinds:
            if k not in KINDS:
                raise ValueError(f"unknown fault {k!r}; one of {', '.join(KINDS)}")
        self.armed.setdefault(endpoint, []).extend(kinds)

    def clear(self) -> None:
        self.armed.clear()

    async def settle(self) -> None:
        """Wait for every held request to have reached the venue (before the final checks)."""
        while self._held:
            await asyncio.gather(*list(self._held), return_exceptions=True)

    # -- server --------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = aiohttp.ClientSession()
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        await self.settle()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, method: str, path_qs: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        assert self._session is not None
        async with self._session.request(method, self.upstream + path_qs, headers=headers, data=body or None) as r:
            return r.status, await r.read()

    def _later(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._held.add(task)
        task.add_done_callback(self._held.discard)
        return task

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        endpoint = f"{request.method} {request.path}"
        queue = self.armed.get(endpoint)
        kind = queue.pop(0) if queue else None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        body = await request.read()
        fwd = (request.method, request.path_qs, headers, body)
        if kind is None:
            status, out = await self._forward(*fwd)
            return web.Response(status=status, body=out, content_type="application/json")
        self.counts[kind] += 1
        if kind in ("502", "503"):
            return web.Response(status=int(kind), text=f"<html>{kind} Bad Gateway</html>", content_type="text/html")
        if kind == "429":
            return web.json_response({"code": -1003, "msg": "Too many requests; current limit is 2400 "
                                      "requests per minute."}, status=429)
        if kind == "418":
            return web.json_response({"code": -1003, "msg": "Way too many requests; IP banned until "
                                      "1795262460000. Please use the websocket for live updates to avoid bans."},
                                     status=418)
        if kind == "close":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=204)
        if kind == "late_forward":
            # held past the client's timeout and the recvWindow, then forwarded: the venue
            # refuses it (-1021) once it arrives, so the order never exists
            async def late() -> None:
                await asyncio.sleep(self.recv_window_s + 0.05)
                await self._forward(*fwd)

            self._later(late())
            await asyncio.sleep(self.client_timeout_s + 0.2)
            return web.Response(status=504, text="held")
        if kind == "late_not_found":
            status, out = await self._forward(*fwd)  # the venue's view now...
            await self._later(asyncio.sleep(self.client_timeout_s * 0.8))  # ...delivered late, but in time
            return web.Response(status=status, body=out, content_type="application/json")
        status, out = await self._forward(*fwd)  # the venue applies it
        if kind == "drop_answer":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=204)
        if kind == "late_answer":
            await asyncio.sleep(self.client_timeout_s + 0.2)
            return web.Response(status=status, body=out, content_type="application/json")
        if kind == "non_json":
            return web.Response(status=200, text="<html><body>OK</body></html>", content_type="text/html")
        # -1007: Binance's own "we do not know either"
        return web.json_response({"code": -1007, "msg": "Timeout waiting for response from backend server. "
                                  "Send status unknown; execution status unknown."}, status=503)
