"""The console's command line imports no subcommand module (they cost start-up time it does not
need); a subcommand's imports only its own."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

from console.cli.main import COMMAND_MODULES, COMMANDS, modules_for


def test_the_commands_table_names_what_each_module_registers() -> None:
    for module in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers(dest="command")
        importlib.import_module(module).register(sub)
        assert set(sub.choices) == {c for c, m in COMMANDS.items() if m == module}, module


def test_which_modules_a_command_line_needs() -> None:
    assert modules_for(["--demo"]) == ()  # the console
    assert modules_for(["--config", "plan"]) == ()  # a config file named like a command
    assert modules_for(["--config", "p.toml", "plan", "--json"]) == ("console.cli.plan",)
    assert modules_for(["--demo", "check-config"]) == ("console.cli.config",)
    assert modules_for(["--help"]) == COMMAND_MODULES  # help lists every command
    assert modules_for(["bogus"]) == COMMAND_MODULES  # argparse's error lists the choices


def test_the_console_command_line_imports_no_command_module() -> None:
    code = ("import sys; from console.cli.main import build_parser; "
            "args = build_parser(['--demo']).parse_args(['--demo']); "
            "print(args.command, sorted(m for m in sys.modules if m.startswith('console.cli.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["None", "['console.cli.main']"]


def test_the_console_draws_its_first_frame_before_the_config_models_and_ccxt() -> None:
    # what `rebal-tui --demo` imports before its first frame: Textual and the app's skeleton.
    # The config models (pydantic), the dashboard, ccxt and the emulator come after it.
    code = ("import sys; from console.cli.main import build_parser; from console.cli.launch import "
            "config_after_first_frame; from console.app.app import RebalApp; from console import runtime; "
            "assert config_after_first_frame(build_parser(['--demo']).parse_args(['--demo'])); "
            "print(sorted(m for m in ('pydantic', 'console.core.config', 'console.app.state', "
            "'console.app.screens.dashboard', 'ccxt', 'console.emulator', 'holidays') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["[]"]


def test_only_the_demo_without_a_journal_url_reads_its_config_after_the_first_frame() -> None:
    from console.cli.launch import config_after_first_frame

    def parse(argv: list[str]) -> argparse.Namespace:
        from console.cli.main import build_parser

        return build_parser(argv).parse_args(argv)

    assert config_after_first_frame(parse(["--demo"]))
    # a journal URL is checked, and a user's config validated (and its live gate passed),
    # before the terminal is taken: their errors are said on the plain terminal
    assert not config_after_first_frame(parse(["--demo", "--journal", "postgresql://u@h:5432/d"]))
    assert not config_after_first_frame(parse(["--config", "p.toml"]))
    assert not config_after_first_frame(parse([]))
