"""A canary key is planted in every store; no artefact the console writes may contain it.

Covers: `keys list`, `keys test` on a demo account (the emulator), a failing authenticated
call made with the canary key (CLI and preflight), `--debug` logging (ccxt logs request
headers at DEBUG), a log file, an uncaught exception, and every file under the tmp HOME.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from console.cli import keys as cmd_keys
from console.cli import preflight as cmd_preflight
from console.cli.main import main
from console.core.config import sample_config_text
from console.venues import keys
from tests.keys.conftest import MemoryKeyring

CANARY_KEY = "CANARYapiKEY7f3a9c2e1b5d"
CANARY_SECRET = "CANARY/secret+4d8e6f0a2c=="
CANARY_PASS = "CANARYpass9b1c77"
CANARIES = (CANARY_KEY, CANARY_SECRET, CANARY_PASS)


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """A DEBUG file handler on the root logger, and --debug's stderr handler removed after."""
    root = logging.getLogger()
    level = root.level
    path = tmp_path / "home" / "state" / "rebal-tui-debug.log"
    handler = logging.FileHandler(path)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    handler.close()
    for h in list(root.handlers):
        if getattr(h, "_rebal_debug", False):
            root.removeHandler(h)
    root.setLevel(level)


def _forms(s: str) -> list[bytes]:
    return [v.encode() for v in {s, quote(s, safe=""), quote(s, safe="/")}]


def test_canary_never_leaks(memkr: MemoryKeyring, fast_kdf: None, isolated: Path, tmp_path: Path,
                            debug_log: Path, monkeypatch: pytest.MonkeyPatch,
                            capfd: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "portfolio.toml"
    cfg.write_text(sample_config_text() + '\n[[accounts]]\nname = "okx-paper"\nexchange = "okx"\n'
                   'mode = "paper"\nmarkets = ["swap"]\n')
    # plant: the OS keyring (faked), the encrypted file, and the environment
    keys.store_credentials("futures", {"apiKey": CANARY_KEY, "secret": CANARY_SECRET})
    keys.store_credentials("okx-paper", {"apiKey": CANARY_KEY, "secret": CANARY_SECRET, "password": CANARY_PASS})
    monkeypatch.setenv(keys.BACKEND_ENV, "file")
    monkeypatch.setenv(keys.PASSWORD_ENV, "file-password")
    keys.store_credentials("filed", {"apiKey": CANARY_KEY, "secret": CANARY_SECRET, "password": CANARY_PASS})
    monkeypatch.delenv(keys.BACKEND_ENV)
    monkeypatch.setenv("REBAL_TUI_ENVACCT_API_KEY", CANARY_KEY)
    monkeypatch.setenv("REBAL_TUI_ENVACCT_SECRET", CANARY_SECRET)
    keys.load_credentials("envacct")

    codes: dict[str, int] = {}
    codes["list"] = main(["keys", "list", "--config", str(cfg), "--debug"])
    codes["test demo"] = main(["keys", "test", "futures", "--config", str(cfg), "--debug"])

    # the same demo account, but the emulator is handed the canary key: authentication fails
    real = cmd_keys.demo_emulator

    @contextlib.contextmanager
    def canary_emulator(needed: bool) -> Iterator[tuple[str | None, dict[str, str]]]:
        with real(needed) as (url, _):
            yield url, {"apiKey": CANARY_KEY, "secret": CANARY_SECRET}

    monkeypatch.setattr(cmd_keys, "demo_emulator", canary_emulator)
    monkeypatch.setattr(cmd_preflight, "demo_emulator", canary_emulator)
    codes["test failing"] = main(["keys", "test", "futures", "--config", str(cfg), "--debug"])
    codes["preflight failing"] = main(["preflight", "--account", "futures", "--config", str(cfg), "--debug"])

    # code that logs credentials by mistake, and an uncaught exception carrying them
    creds = keys.load_credentials("okx-paper")
    logging.getLogger("console.somewhere").debug("loaded %s raw %r", creds, dict(creds))
    try:
        raise RuntimeError(f"venue said: bad key {CANARY_KEY} / {CANARY_SECRET}")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]

    out = capfd.readouterr()
    assert codes == {"list": 0, "test demo": 0, "test failing": 1, "preflight failing": 1}, (codes, out.err)
    log_text = debug_log.read_text()
    # the checks were real: the canary key went out in a header, and the log masked it
    assert "'X-MBX-APIKEY': '***'" in log_text
    assert "AuthenticationError" in out.out + out.err
    assert "okx-paper" in out.out and "envacct" not in out.out  # names only, stored or configured

    artefacts: dict[str, bytes] = {"stdout": out.out.encode(), "stderr": out.err.encode()}
    for p in tmp_path.rglob("*"):
        if p.is_file():
            artefacts[str(p)] = p.read_bytes()
    assert any(name.endswith("keyring.cfg") for name in artefacts)  # the encrypted file was searched too
    for name, data in artefacts.items():
        for c in CANARIES:
            for form in _forms(c):
                assert form not in data, f"canary {c!r} found in {name}"
