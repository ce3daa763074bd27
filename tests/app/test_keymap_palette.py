"""Out and in: a user keymap remaps any binding by its id; the palette lists each action once;
screenshots go to a folder that exists, and the toast says where."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from console.app.keymap_ids import all_binding_ids
from console.app.palette import ConsoleCommands, binding_catalog
from console.app.screens.blotter import BlotterScreen
from console.app.screens.dashboard import DashboardScreen
from console.app.screens.help import help_table
from console.core.keymap import parse_keymap
from tests.app.conftest import SIZE, loaded, make_app, sample_confirmation, settle

KNOWN = frozenset({"app.kill", "app.blotter", "builder.review"})


def test_a_keymap_file_remaps_by_id() -> None:
    km, problems = parse_keymap('"app.kill" = "ctrl+k"\n"app.blotter" = "f3, b"\n', "km.toml", KNOWN)
    assert km == {"app.kill": "ctrl+k", "app.blotter": "f3,b"} and problems == []
    km, problems = parse_keymap('[keymap]\n"app.kill" = "ctrl+k"\n', "km.toml", KNOWN)
    assert km == {"app.kill": "ctrl+k"}


@pytest.mark.parametrize(("text", "said"), [
    ('"app.kil" = "ctrl+k"', "'app.kil' is not a binding id; did you mean 'app.kill'?"),
    ('"app.kill" = 5', "app.kill = 5 is not a key; write a key name such as \"ctrl+k\""),
    ('"app.kill" = "ctrl k"', "is not a key"),
    ('"app.kill" = ', "km.toml: not valid TOML"),
])
def test_a_bad_entry_is_named_with_the_fix_and_the_rest_applies(text: str, said: str) -> None:
    km, problems = parse_keymap(text + '\n"builder.review" = "f5"\n' if "TOML" not in said else text, "km.toml",
                                KNOWN)
    assert len(problems) == 1 and said in problems[0]
    if "TOML" not in said:
        assert km == {"builder.review": "f5"}


def test_every_binding_the_console_declares_can_be_remapped() -> None:
    ids = all_binding_ids()
    assert {"app.kill", "app.targets", "builder.review", "blotter.cancel", "confirm.yes", "field.next"} <= ids


async def test_a_remapped_key_works_and_help_and_palette_show_it() -> None:
    app = make_app(keymap={"app.blotter": "f3"}, keymap_problems=("km.toml: 'x' is not a binding id",))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert any("'x' is not a binding id" in n.message for n in app._notifications)  # noqa: SLF001
        await pilot.press("3")  # the old key no longer switches
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        entry = next(e for e in binding_catalog(app.screen) if e.binding.id == "app.blotter")
        assert entry.key_display == "f3" and "[f3]" in entry.label
        console = Console(width=200, record=True)
        console.print(help_table(app.screen, ids=True))
        assert any("f3" in line and "Blotter" in line and "app.blotter" in line
                   for line in console.export_text().splitlines())
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, BlotterScreen)


async def test_the_palette_lists_each_action_once() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        b = await sample_confirmation(pilot)
        for screen in (b, app.screen):
            entries = binding_catalog(screen)
            actions = [(id(e.node), e.binding.action) for e in entries]
            assert len(actions) == len(set(actions))
        confirm = next(e for e in binding_catalog(app.screen) if e.binding.id == "confirm.yes")
        assert confirm.key_display == f"y / {app.get_key_display(confirm.also[0])}"  # two keys, one entry
        # Textual's own Quit and Keys are the console's q and ?: not listed twice
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Quit" not in titles and "Keys" not in titles and "Screenshot" in titles
        hits = [h async for h in ConsoleCommands(app.screen).discover()]
        assert sum("Quit" in str(h.display) for h in hits) == 1


async def test_a_screenshot_goes_to_a_folder_that_exists_and_says_where(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("platformdirs.user_data_path", lambda name: tmp_path / "data" / name)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.action_screenshot()
        await settle(pilot)
        (shot,) = (tmp_path / "data" / "rebal-tui" / "screenshots").glob("*.svg")
        assert shot.read_text().startswith("<svg")
        assert any(str(shot) in n.message for n in app._notifications)  # noqa: SLF001
