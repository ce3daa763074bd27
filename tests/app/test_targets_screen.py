"""`8`: targets and bands edited in the console, checked as typed, saved with comments kept,
re-planned at once, and undone."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.app.screens.targets import TargetsScreen
from console.core.config import load_config, sample_config_text
from tests.app.conftest import SIZE, loaded, make_app, settle

SAMPLE = sample_config_text()


def status(app) -> str:
    return str(app.screen.query_one("#t-status").render())


async def type_into(pilot, field: str, text: str) -> None:
    box = pilot.app.screen.query_one(field)
    box.focus()
    await pilot.press("end", *["backspace"] * len(box.value), *text)
    await settle(pilot, 1)


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    p = tmp_path / "portfolio.toml"
    p.write_text(SAMPLE)
    return p


async def test_edit_check_save_replan_and_undo(cfg_file: Path) -> None:
    app = make_app(config_path=cfg_file, config_text=SAMPLE)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert app.state.alloc.row("BTC").target == 0.45
        await pilot.press("8")
        await settle(pilot)
        assert isinstance(app.screen, TargetsScreen)
        assert str(cfg_file) in str(app.screen.query_one("#t-where").render()).replace("\n", "")
        # BTC 45 % -> 40 %: the targets no longer add up to 1, said as typed, naming the fix
        await type_into(pilot, "#t-0-target", "0.40")
        assert "not valid" in status(app) and "add up to 0.9500" in status(app) and "adjust the targets" in status(app)
        await pilot.press("ctrl+s")  # refused: nothing written
        await settle(pilot)
        assert cfg_file.read_text() == SAMPLE
        # ETH 25 % -> 30 %: valid again; the band column shows the new half-width
        await type_into(pilot, "#t-1-target", "0.30")
        assert "valid" in status(app) and "not valid" not in status(app) and "100.00 %" in status(app)
        band = str(app.screen.query_one("#t-1-band").render())
        assert f"±{min(0.05, 0.25 * 0.30) * 100:.2f} pp" in band
        await pilot.press("ctrl+s")
        await settle(pilot)
        written = cfg_file.read_text()
        assert load_config(cfg_file).sleeve("BTC").target == 0.40
        assert all(ln in written for ln in SAMPLE.splitlines() if ln.lstrip().startswith("#"))  # comments kept
        # re-planned at once: the dashboard's allocation is derived from the new targets
        assert app.config.sleeve("ETH").target == 0.30
        assert app.state.alloc.row("BTC").target == 0.40 and app.state.alloc.row("ETH").target == 0.30
        # undo: the file as it was, byte for byte, and the state with it
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert cfg_file.read_text() == SAMPLE
        assert app.state.alloc.row("BTC").target == 0.45
        assert app.screen.query_one("#t-0-target").value == "0.45"
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert any("nothing to undo" in n.message for n in app._notifications)  # noqa: SLF001


async def test_demo_edits_go_to_a_user_copy_never_the_package(tmp_path: Path) -> None:
    from importlib import resources

    copy = tmp_path / "demo-portfolio.toml"
    packaged = resources.files("console").joinpath("data/portfolio.sample.toml")
    app = make_app(config_path=copy, config_text=SAMPLE, config_is_demo=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("8")
        await settle(pilot)
        where = str(app.screen.query_one("#t-where").render()).replace("\n", "")
        assert "never changed" in where and str(copy) in where
        await type_into(pilot, "#t-warn_fraction", "0.7")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert load_config(copy).portfolio.warn_fraction == 0.7
        assert packaged.read_text(encoding="utf-8") == SAMPLE


async def test_letters_never_reach_a_number_field_and_escape_leaves(cfg_file: Path) -> None:
    app = make_app(config_path=cfg_file, config_text=SAMPLE)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("8")
        await settle(pilot)
        await type_into(pilot, "#t-0-target", "0.45")
        await pilot.press("x")  # not a digit: not typed, not a binding
        assert app.screen.query_one("#t-0-target").value == "0.45"
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, TargetsScreen)
