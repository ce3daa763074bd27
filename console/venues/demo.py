"""Demo mode: the shipped demo portfolio on the loopback exchange emulator.

``rebal-tui --demo`` (and plain ``rebal-tui`` when no config file exists yet) runs the
emulator in-process with the "demo" scenario, whose accounts match the sample config:
account "spot" is binance spot, account "futures" is binance USDⓈ-M, account "coinm" is
binance COIN-M (an inverse position on BTC margin), one key for the three, and account "bybit"
is a Bybit unified account (its own key, Bybit's v5 dialect on the same port); the book starts
drifted so that a breach shows at once.

Nothing else in the console knows it talks to the emulator: the venue layer only points
ccxt's ``urls['api']`` at ``DemoSession.url``.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from console.core.config import Config, Mode, load_config, parse_config

DEMO_SEED = 7
DEMO_SCENARIO = "demo"
DEMO_SOURCE = "demo portfolio (console/data/portfolio.sample.toml)"


def demo_config() -> Config:
    """The shipped demo portfolio: the commented sample config, whose accounts are demo ones."""
    from console.core.config import sample_config_text

    return parse_config(sample_config_text(), DEMO_SOURCE)


def needs_emulator(config: Config) -> bool:
    """True when some account runs on the emulator (mode = "demo")."""
    return any(a.mode is Mode.DEMO for a in config.accounts)


def demo_pair(exchange: str, binance: Mapping[str, str] | None = None) -> dict[str, str]:
    """The emulator's key for a demo account on ``exchange`` (it accepts no other): Bybit's
    pair for bybit; for the others ``binance`` (the pair a running emulator was started
    with), else Binance's published demo pair."""
    from console.emulator import DEMO_API_KEY, DEMO_SECRET
    from console.emulator.bybit import BYBIT_DEMO_KEY, BYBIT_DEMO_SECRET

    if exchange in BYBIT_EXCHANGES:
        return {"apiKey": BYBIT_DEMO_KEY, "secret": BYBIT_DEMO_SECRET}
    return dict(binance) if binance else {"apiKey": DEMO_API_KEY, "secret": DEMO_SECRET}


def demo_credentials(config: Config) -> dict[str, dict[str, str]]:
    """Every demo account's demo key (``demo_pair``)."""
    return {a.name: demo_pair(a.exchange) for a in config.accounts if a.mode is Mode.DEMO}


BYBIT_EXCHANGES = frozenset({"bybit"})  # ccxt ids the emulator serves in Bybit's v5 dialect



def choose_startup(args: argparse.Namespace) -> tuple[Config, bool]:
    """The config to start on, and whether it is the shipped demo.

    ``--demo`` wins. Otherwise the config named by ``--config`` (an explicit path that does
    not exist is an error, not a silent demo), else the user's default config file, else —
    on a first run, when that file does not exist yet — the demo.
    """
    from console.core.config import default_config_path

    if getattr(args, "demo", False):
        return demo_config(), True
    explicit: Path | None = getattr(args, "config", None)
    if explicit is not None:
        return load_config(explicit), False
    path = default_config_path()
    if not path.exists():
        return demo_config(), True
    return load_config(path), False


def demo_copy_path() -> Path:
    """Where the demo's edited targets are saved: a user copy, never the packaged sample."""
    import platformdirs

    return platformdirs.user_config_path("rebal-tui") / "demo-portfolio.toml"


def config_file(args: argparse.Namespace, is_demo: bool) -> tuple[Path, str | None]:
    """(where the console saves edits of its config, the text the running config came from)."""
    from console.core.config import default_config_path, sample_config_text

    if is_demo:
        return demo_copy_path(), sample_config_text()
    path: Path = getattr(args, "config", None) or default_config_path()
    try:
        return path, path.read_text(encoding="utf-8")
    except OSError:  # read a moment ago by choose_startup: the targets screen says it cannot save
        return path, None


def first_run_path(args: argparse.Namespace) -> Path | None:
    """The default config path when plain `rebal-tui` starts without one (neither ``--demo``
    nor ``--config``, and no file there yet): the console then says so and offers `init` or
    the demo. None otherwise."""
    from console.core.config import default_config_path

    if getattr(args, "demo", False) or getattr(args, "config", None) is not None:
        return None
    path = default_config_path()
    return None if path.exists() else path


@dataclass
class DemoSession:
    """A running emulator and what the venue layer needs to reach it."""

    config: Config
    url: str
    credentials: dict[str, dict[str, str]]
    _stop: Callable[[], Awaitable[None]] = field(repr=False)
    closed: bool = False
    # the emulator's clock (epoch ms): a snapshot stamped with it agrees with the venue's own
    # times (next funding, expiry), whatever instant the emulator was started at
    now_ms: Callable[[], int] | None = field(default=None, repr=False)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._stop()


async def start_emulator_in_loop(
    config: Config, *, seed: int = DEMO_SEED, speed: float = 1.0, start_ms: int | None = None,
) -> DemoSession:
    """Start the emulator inside the running event loop (the app's, or the CLI's) on 127.0.0.1."""
    from console.emulator import (
        DEFAULT_START_MS,
        DEMO_API_KEY,
        DEMO_SECRET,
        Clock,
        Emulator,
        EmulatorServer,
    )

    clock = Clock(start_ms=DEFAULT_START_MS if start_ms is None else start_ms, speed=speed)
    emu = Emulator(seed=seed, clock=clock, scenario=DEMO_SCENARIO, api_key=DEMO_API_KEY, secret=DEMO_SECRET)
    if emu.scenario.bybit is not None:  # the demo's Bybit account, as start_emulator opens it
        from console.emulator.bybit import open_account

        open_account(emu)
    srv = EmulatorServer(emu)
    url = await srv.start(host="127.0.0.1", port=0)
    return DemoSession(config=config, url=url, credentials=demo_credentials(config), _stop=srv.stop,
                       now_ms=emu.now_ms)


async def start_demo(*, seed: int = DEMO_SEED, speed: float = 1.0, start_ms: int | None = None) -> DemoSession:
    """The demo portfolio on a freshly started emulator; ``await session.close()`` stops it."""
    return await start_emulator_in_loop(demo_config(), seed=seed, speed=speed, start_ms=start_ms)


@dataclass
class ThreadedDemo:
    """The sync variant: the emulator on its own thread (for code that owns no event loop)."""

    config: Config
    url: str
    credentials: dict[str, dict[str, str]]
    _stop: Callable[[], None] = field(repr=False)

    def close(self) -> None:
        self._stop()


def start_demo_thread(*, seed: int = DEMO_SEED, speed: float = 1.0, start_ms: int | None = None) -> ThreadedDemo:
    from console.emulator import start_emulator

    cfg = demo_config()
    h = start_emulator(seed=seed, speed=speed, scenario=DEMO_SCENARIO, start_ms=start_ms, port=0)
    return ThreadedDemo(config=cfg, url=h.url, credentials=demo_credentials(cfg), _stop=h.stop)
