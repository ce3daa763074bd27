"""A first run (no config file yet) says so on screen and offers `init` or the demo, instead of
silently running the demo."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from console.app.screens.first_run import FirstRunScreen
from console.core.config import load_config, sample_config_text
from console.venues.demo import first_run_path
from tests.app.conftest import SIZE, make_app, settle


def _notes(app) -> list[str]:
    return [n.message for n in app._notifications]  # noqa: SLF001 - what the trader was told


async def test_i_writes_the_commented_sample_where_it_says_and_starts(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "portfolio.toml"
    app = make_app(first_run=path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        body = str(app.screen.query_one("#fr-body").render())
        assert str(path) in body.replace("\n", "") and "init" in body and "demo" in body
        assert not path.exists()  # nothing written before the choice
        await pilot.press("i")
        await settle(pilot)
        assert not isinstance(app.screen, FirstRunScreen)
        assert path.read_text() == sample_config_text()  # the commented sample, comments and all
        assert load_config(path).portfolio.name  # and it is a valid config
        assert any(str(path) in n and "wrote" in n for n in _notes(app))


async def test_d_runs_the_demo_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.toml"
    app = make_app(first_run=path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert not isinstance(app.screen, FirstRunScreen)
        assert not path.exists()
        assert any("demo" in n and "nothing was written" in n for n in _notes(app))


async def test_an_unwritable_folder_is_named_with_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    path = blocker / "portfolio.toml"  # its folder is a file: cannot be created
    app = make_app(first_run=path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        err = str(app.screen.query_one("#fr-error").render())
        assert str(path) in err.replace("\n", "") and "--config" in err


def _args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**{"demo": False, "config": None, **kw})


def test_first_run_only_without_a_config_or_a_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "portfolio.toml"
    monkeypatch.setattr("console.core.config.default_config_path", lambda: default)
    assert first_run_path(_args()) == default
    assert first_run_path(_args(demo=True)) is None  # --demo: the demo, no question
    assert first_run_path(_args(config=tmp_path / "x.toml")) is None
    default.write_text(sample_config_text())
    assert first_run_path(_args()) is None
