"""The keys and preflight commands, in-process: prompts faked, exit codes, messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.cli import keys as cmd_keys
from console.cli.main import main
from console.venues import keys
from tests.keys.conftest import MemoryKeyring

KEY = "CLIKEY-0123456789abcdef"
SECRET = "CLISECRET-abcdefghijklmnop"
PASS = "CLIPASS-42-xyz"

CONFIG = """
[[sleeves]]
name = "BTC"
assets = ["BTC"]
target = 0.5
hedges = ["BTC/USDT:USDT"]
[[sleeves]]
name = "STABLE"
assets = ["USDT"]
target = 0.5
[[accounts]]
name = "okx-paper"
exchange = "okx"
mode = "paper"
markets = ["swap"]
[[accounts]]
name = "kraken-paper"
exchange = "kraken"
mode = "paper"
[[accounts]]
name = "main"
exchange = "binanceusdm"
mode = "live"
markets = ["swap"]
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "portfolio.toml"
    p.write_text(CONFIG)
    return p


def feed(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    asked: list[str] = []
    it = iter(answers)

    def fake(prompt: str) -> str:
        asked.append(prompt)
        return next(it)

    monkeypatch.setattr(cmd_keys, "read_secret", fake)
    return asked


def test_keys_set_asks_for_what_the_venue_needs(memkr: MemoryKeyring, cfg: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    asked = feed(monkeypatch, KEY, SECRET, PASS)
    assert main(["keys", "set", "okx-paper", "--config", str(cfg)]) == 0
    assert [a.split(" for ")[0] for a in asked] == ["API key", "API secret", "API passphrase"]
    out = capsys.readouterr()
    assert "stored" in out.out and "OS keyring" in out.out
    for s in (KEY, SECRET, PASS):
        assert s not in out.out + out.err
    assert dict(keys.load_credentials("okx-paper")) == {"apiKey": KEY, "secret": SECRET, "password": PASS}

    asked = feed(monkeypatch, KEY, SECRET)
    assert main(["keys", "set", "main", "--config", str(cfg)]) == 0
    assert len(asked) == 2  # binance: no passphrase


def test_keys_set_errors(memkr: MemoryKeyring, cfg: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    feed(monkeypatch, KEY, "")
    assert main(["keys", "set", "main", "--config", str(cfg)]) == 2
    assert "API secret is empty" in capsys.readouterr().err
    assert keys.list_accounts() == []
    assert main(["keys", "set", "nope", "--config", str(cfg)]) == 2
    assert "--exchange" in capsys.readouterr().err
    assert main(["keys", "set", "x", "--exchange", "notavenue"]) == 2
    assert "not a ccxt exchange id" in capsys.readouterr().err


def test_keys_list_and_delete(memkr: MemoryKeyring, cfg: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    keys.store_credentials("main", {"apiKey": KEY, "secret": SECRET})
    keys.store_credentials("old", {"apiKey": KEY, "secret": SECRET})
    monkeypatch.setenv("REBAL_TUI_OKX_PAPER_API_KEY", KEY)
    assert main(["keys", "list", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert KEY not in out and SECRET not in out
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "environment" in lines["okx-paper"]
    assert "missing" in lines["kraken-paper"] and "keys set kraken-paper" in lines["kraken-paper"]
    assert "OS keyring" in lines["main"] and "not in the config" in lines["old"]
    assert main(["keys", "delete", "old"]) == 0
    assert main(["keys", "delete", "old"]) == 0
    assert "nothing to delete" in capsys.readouterr().out
    assert keys.list_accounts() == ["main"]


def test_keys_test_unknown_paper_venue_refused(memkr: MemoryKeyring, cfg: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    keys.store_credentials("kraken-paper", {"apiKey": KEY, "secret": "c2VjcmV0c2VjcmV0"})
    assert main(["keys", "test", "kraken-paper", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "no paper" in err and "kraken" in err and KEY not in err


def test_keys_test_missing_keys(memkr: MemoryKeyring, cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "test", "okx-paper", "--config", str(cfg)]) == 2
    assert "rebal-tui keys set okx-paper" in capsys.readouterr().err
    assert main(["keys", "test", "ghost", "--config", str(cfg)]) == 2
    assert "no account named 'ghost'" in capsys.readouterr().err


def test_preflight_bad_input(memkr: MemoryKeyring, cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preflight", "--account", "ghost", "--config", str(cfg)]) == 2
    assert "no account named 'ghost'" in capsys.readouterr().err
    assert main(["preflight", "--config", str(cfg.parent / "missing.toml")]) == 2


def test_preflight_fails_without_network_when_setup_fails(memkr: MemoryKeyring, cfg: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # kraken has no paper venue, okx-paper has no keys, main is live without live = true: all
    # three fail before any request is made
    assert main(["preflight", "--json", "--config", str(cfg)]) == 1
    import json

    data = {a["account"]: a for a in json.loads(capsys.readouterr().out)}
    assert "no paper" in data["kraken-paper"]["checks"][0]["detail"]
    assert "keys set okx-paper" in data["okx-paper"]["checks"][0]["detail"]
    assert not data["main"]["passed"]
