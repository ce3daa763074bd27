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
