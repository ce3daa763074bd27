"""The house keeps its shape: imports run down the layers (README "Architecture"), and the
core loads without Textual, Rich, SQLite or a venue."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import console.core
import widgets

ROOT = Path(__file__).resolve().parents[1]


def _modules(pkg: object) -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."))  # type: ignore[attr-defined]


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n"
            "    importlib.import_module(m)\n"
            "print('\\n'.join(sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return {m.split(".")[0] for m in out.stdout.split()}


def test_the_import_contracts_hold() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


def test_every_core_module_loads_without_textual_rich_sqlite_or_a_venue() -> None:
    core = _modules(console.core)
    assert "console.core.planner" in core and len(core) > 15  # the walk found the package
    loaded = _loaded_after_import(core)
    # ccxt is loaded lazily by console.core.lots only when a size is rounded, never on import
    assert not loaded & {"textual", "rich", "sqlite3", "ccxt", "aiohttp", "keyring"}, loaded


def test_widgets_load_without_a_venue_or_the_journal() -> None:
    loaded = _loaded_after_import(_modules(widgets))
    assert not loaded & {"ccxt", "sqlite3", "aiohttp", "keyring"}, loaded
