"""Where ccxt's Binance URLs land on the emulator: one place, for the tests and demo mode.

REST keeps its path on the emulator's host (``https://fapi.binance.com/fapi/v1`` ->
``http://127.0.0.1:P/fapi/v1``): spot and futures paths never collide. Websocket hosts all
serve ``/ws``, so their first host label becomes a path prefix
(``wss://fstream.binance.com/ws`` -> ``ws://127.0.0.1:P/fstream/ws``), which is how the
emulator tells spot streams (``/stream``) from USDⓈ-M ones (``/fstream``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


def emulated_url(url: str, emulator_url: str) -> str:
    emu = urlsplit(emulator_url.rstrip("/"))
    parts = urlsplit(url)
    if parts.scheme in ("ws", "wss"):
        label = (parts.hostname or "").split(".")[0]
        return urlunsplit(("ws", emu.netloc, f"{emu.path}/{label}{parts.path}", parts.query, parts.fragment))
    return urlunsplit((emu.scheme, emu.netloc, emu.path + parts.path, parts.query, parts.fragment))


def emulated_urls(api_urls: dict[str, Any], emulator_url: str) -> dict[str, Any]:
    """ccxt's ``urls['api']`` (nested dicts included) with every URL on the emulator."""
    out: dict[str, Any] = {}
    for name, url in api_urls.items():
        if isinstance(url, str):
            out[name] = emulated_url(url, emulator_url)
        elif isinstance(url, dict):
            out[name] = emulated_urls(url, emulator_url)
        else:
            out[name] = url
    return out
