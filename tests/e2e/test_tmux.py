"""End to end: install the package into a fresh virtualenv, run `rebal-tui --demo` in tmux at
120×36, build and confirm a spread with send-keys, and read the result with capture-pane.

The fresh venv gets the package itself (built and installed by pip, console script and all)
and borrows the dependencies of the running interpreter's site-packages through a .pth file,
so the test needs no network beyond what pip's build isolation fetches for setuptools. The venv
has no pip of its own: the running interpreter's pip installs into it (`pip --python`).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)"),
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    # no pip of its own (seeding one costs seconds of CPU): the running pip installs into it
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = next(venv.glob("lib/python*/site-packages"))
    (purelib / "_rebal_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", str(ROOT)], check=True)
    exe = venv / "bin" / "rebal-tui"
    assert exe.exists()
    return exe


# the pane's size is the test's, not the machine's: a tmux server of its own (no user config,
# no outer $TMUX session to attach to) and no LINES / COLUMNS to override the pty's size
WIDTH, HEIGHT = 120, 36
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "LINES", "COLUMNS")}


class Tmux:
    def __init__(self, exe: Path, home: Path, width: int = WIDTH, height: int = HEIGHT, args: str = "--demo") -> None:
        self.name = f"rebal-e2e-{uuid.uuid4().hex[:8]}"
        env = f"HOME={home} TERM=xterm-256color COLORTERM=truecolor"
        # the pane outlives the console, so a crash's last screen (and traceback) can be read;
        # the user folders are the fresh HOME's (~/.config/rebal-tui), never this machine's
        unset = "-u LINES -u COLUMNS -u XDG_CONFIG_HOME -u XDG_DATA_HOME"
        cmd = f"cd {home} && env {unset} {env} {exe} {args}; echo REBAL-EXIT=$?; sleep 600"
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), cmd)
        self.tmux("set-option", "-t", self.name, "window-size", "manual")
        self.tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))
        size = self.tmux("display-message", "-p", "-t", self.name, "#{pane_width}x#{pane_height}").strip()
        assert size == f"{width}x{height}", f"tmux gave a {size} pane, not {width}x{height}"

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True, check=True,
                              env=CLEAN_ENV).stdout

    def keys(self, *keys: str, pause: float = 0.3) -> None:
        for k in keys:
            self.tmux("send-keys", "-t", self.name, k)
            time.sleep(pause)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-t", self.name, "-p")

    def wait_for(self, *texts: str, timeout: float = 40.0) -> str:
        t0 = time.monotonic()
        while True:
            s = self.screen()
            if all(t in s for t in texts):
                return s
            if "REBAL-EXIT=" in s and not any("REBAL-EXIT" in t for t in texts):
                full = self.tmux("capture-pane", "-t", self.name, "-p", "-S", "-300")  # the traceback too
                raise AssertionError(f"the console exited while waiting for {texts}; the pane is:\n{full}")
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"waited {timeout:g}s for {texts}; the screen is:\n{s}")
            time.sleep(0.25)

    def wait_gone(self, text: str, timeout: float = 20.0) -> str:
        t0 = time.monotonic()
        while True:
            s = self.screen()
            if text not in s:
                return s
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"waited {timeout:g}s for {text!r} to go; the screen is:\n{s}")
            time.sleep(0.25)

    def wait_line(self, *words: str, timeout: float = 60.0) -> str:
        """Wait for one screen line holding every word (a table row in a given state)."""
        t0 = time.monotonic()
        while True:
            s = self.screen()
            for line in s.splitlines():
                if all(w in line for w in words):
                    return line
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"waited {timeout:g}s for a line with {words}; the screen is:\n{s}")
            time.sleep(0.25)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True, env=CLEAN_ENV)


@pytest.fixture
def tmux(installed: Path, tmp_path: Path) -> Iterator[Tmux]:
    home = tmp_path / "home"
    home.mkdir()
    t = Tmux(installed, home)
    try:
        yield t
    finally:
        t.close()


def test_demo_build_and_confirm_a_spread(tmux: Tmux) -> None:
    # a clean start: the dashboard with its data and no keypress (the reconciliation found
    # nothing, so it opened trading by itself and said so)
    s = tmux.wait_for("DEMO", "NAV", "breach", "trading is open")
    assert "ALTS" in s and "BTC" in s
    assert "Startup reconciliation" not in s and "TRADING CLOSED" not in s
    # `s` opens a spread of the most overweight sleeve (ALTS, breach) against the most
    # underweight one (BTC, warn)
    tmux.keys("s")
    s = tmux.wait_for("Spread builder", "spread: sell ALTS / buy BTC", "BTC/USDT:USDT", "Costs over")
    assert "SELL" in s and "BUY" in s
    tmux.keys("C-r")
    s = tmux.wait_for("Confirm ticket", "SPREAD", "y send")
    assert "BTC/USDT:USDT" in s and "ALTS" in s and "Margin ratio" in s
    tmux.keys("End")  # y waits until the ticket has been read to its last line
    tmux.wait_gone("continues below")
    tmux.keys("y")
    tmux.wait_for("Blotter", "spread")
    row = tmux.wait_line("spread", "filled", " y ", timeout=90)  # the ticket's row: filled, confirmed with y
    assert "sending" not in row
    s = tmux.wait_for("Fills", "@", "Residual per leg")
    done = [line for line in s.splitlines() if "-PERP" in line and "/" in line and "✓" in line]
    assert len(done) == 2, s  # both legs done in full: done/asked with a tick, no residual
    # the overlay P&L (7): the contracts the spread traded, with figures; the total in the header
    tmux.keys("7")
    s = tmux.wait_for("Overlay P&L", "unrealised", "funding", "fees", "overlay P&L", "BTC-PERP")
    assert "waiting for the first refresh" not in s
    tmux.keys("q")
    tmux.wait_for("REBAL-EXIT=0", timeout=20)


def test_help_and_palette_list_actions(tmux: Tmux) -> None:
    tmux.wait_for("NAV")
    tmux.keys("?")
    s = tmux.wait_for("Keys", "Kill switch")
    assert "Spread" in s and "Quit" in s
    tmux.keys("Escape", "C-p")
    tmux.keys(*"kill")
    tmux.wait_for("Kill switch")
    tmux.keys("Escape", "q")
    tmux.wait_for("REBAL-EXIT=0", timeout=20)


def test_a_default_ssh_window_keeps_mode_nav_and_keys_in_sight(installed: Path, tmp_path: Path) -> None:
    """80×24: the header (mode badge, NAV) and the key footer are on screen, the table's
    sleeves and statuses too, and the confirmation's keys fit."""
    t = Tmux(installed, tmp_path, 80, 24)
    try:
        s = t.wait_for("DEMO", "NAV", "breach", "q Quit")
        lines = s.splitlines()
        assert "DEMO" in lines[0] and "NAV" in lines[0]
        assert all(name in s for name in ("BTC", "ETH", "ALTS", "STABLE"))
        t.keys("s")
        t.wait_for("Spread builder", "spread: sell ALTS / buy BTC")
        t.keys("C-r")
        s = t.wait_for("Confirm ticket", "y send", "continues below")
        t.keys("n")
        t.wait_gone("Confirm ticket")
        t.keys("Escape", "q")
        t.wait_for("REBAL-EXIT=0", timeout=20)
    finally:
        t.close()


def test_a_first_run_offers_init_or_the_demo_and_init_writes_the_config(installed: Path, tmp_path: Path) -> None:
    """Plain `rebal-tui` with no config says so and offers init or the demo; `i` writes the
    commented sample where it said and starts on it: the dashboard with data, no other key."""
    t = Tmux(installed, tmp_path, args="")
    try:
        path = tmp_path / ".config" / "rebal-tui" / "portfolio.toml"
        t.wait_for("no portfolio config yet", "write the commented sample", "run the demo")
        assert not path.exists()
        t.keys("i")
        s = t.wait_for("NAV", "breach", "trading is open")
        assert "Welcome" not in s
        assert path.read_text().startswith("# rebal-tui portfolio")
        t.keys("q")
        t.wait_for("REBAL-EXIT=0", timeout=20)
    finally:
        t.close()


def test_targets_edited_saved_to_a_demo_copy_and_replanned(tmux: Tmux, tmp_path: Path) -> None:
    tmux.wait_for("NAV", "breach", "trading is open")
    tmux.keys("8")
    tmux.wait_for("Targets and bands", "valid: targets add up to 100.00 %", "demo-portfolio.toml")
    tmux.keys("End", *["BSpace"] * 4, *"0.40")  # BTC 45 % -> 40 %: not valid until ETH takes the 5 %
    tmux.wait_for("not valid", "add up to 0.9500")
    tmux.keys("Tab", "Tab", "Tab", "End", *["BSpace"] * 4, *"0.30")
    tmux.wait_for("valid: targets add up to 100.00 %", "ctrl+s saves")
    tmux.keys("C-s")
    tmux.wait_for("saved to")
    copy = tmp_path / "home" / ".config" / "rebal-tui" / "demo-portfolio.toml"
    text = copy.read_text()
    assert "target = 0.4\n" in text and "target = 0.3\n" in text and "# hedges in order of preference" in text
    tmux.keys("Escape")
    tmux.wait_line("BTC", "40.00%")  # the dashboard's target column, re-derived at once
    tmux.keys("q")
    tmux.wait_for("REBAL-EXIT=0", timeout=20)


if os.environ.get("REBAL_E2E_KEEP"):  # debugging aid: leave the sessions running
    Tmux.close = lambda self: None  # type: ignore[method-assign]
