"""A config the commands cannot use: every command that takes ``--config`` exits 2 with the
message that names the line or the field and the fix, never 0 and never a traceback, also
the commands that would not otherwise read it (flows, the emulator, a --demo run)."""

from __future__ import annotations

from pathlib import Path

import pytest

import console
from console.cli.main import main

SAMPLE = (Path(console.__file__).parent / "data" / "portfolio.sample.toml").read_text(encoding="utf-8")

# (file text, words the message must hold): TOML that does not parse names its line; a
# field of the wrong type is named by its dotted path with what to write instead
GARBLED = ("[portfolio]\nname = = 'x'\n", ("not valid TOML", "line 2", "fix the syntax"))
assert "\nband_abs = 0.05 " in SAMPLE  # the line the wrong-typed case rewrites
WRONG_TYPE = (SAMPLE.replace("\nband_abs = 0.05 ", '\nband_abs = "wide" ', 1),
              ("not valid", "portfolio.band_abs", "got 'wide'", "write a number"))

COMMANDS = [
    ["check-config"],
    ["plan", "--state", "state.json"],
    ["snapshot"],
    ["preflight"],
    ["journal"],
    ["journal", "--db", "journal.sqlite3"],  # a journal named apart from the config
    ["keys", "list"],
    ["keys", "test", "spot"],
    ["keys", "set", "spot", "--exchange", "binance"],  # an exchange named apart from the config
    ["flows"],
    ["emulator", "--speed", "0"],
    # --demo picks the shipped portfolio; the file named beside it is still checked, not ignored
    ["snapshot", "--demo"],
    ["check-config", "--demo"],
    ["preflight", "--demo"],
    ["flows", "--demo"],
]


@pytest.fixture(autouse=True)
def _user_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # never the user's own config, journal or keys
    for var, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "cfg"), ("XDG_DATA_HOME", "data"),
                     ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("text,words", [GARBLED, WRONG_TYPE], ids=["garbled", "wrong-type"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("before", [False, True], ids=["config-after", "config-before"])
def test_every_command_refuses_a_config_it_cannot_use(tmp_path, capsys, text, words, command, before):
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    argv = ["--config", str(path), *command] if before else [*command, "--config", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    assert err.startswith(f"rebal-tui: {path}: "), err
    for w in words:
        assert w in err, (w, err)


@pytest.mark.parametrize("demo", [[], ["--demo"]], ids=["own", "demo"])
def test_the_console_refuses_it_before_taking_the_terminal(tmp_path, capsys, demo):
    path = tmp_path / "broken.toml"
    path.write_text(WRONG_TYPE[0], encoding="utf-8")
    assert main([*demo, "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "portfolio.band_abs" in err and "Traceback" not in err


def test_init_writes_the_file_config_names_rather_than_reading_it(tmp_path, capsys):
    path = tmp_path / "broken.toml"
    path.write_text(GARBLED[0], encoding="utf-8")
    assert main(["init", "--config", str(path)]) == 2  # exists: refused without --force, not parsed
    assert "--force" in capsys.readouterr().err
    assert main(["init", "--force", "--config", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == SAMPLE
