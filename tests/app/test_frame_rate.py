"""The console's screen paces its paints at 120 a second (Textual's TEXTUAL_FPS), so a key
waits at most ~8 ms for the next paint instead of ~17; a user's own TEXTUAL_FPS wins."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = "import console.cli.main, textual.screen as s; print(round(1 / s.UPDATE_PERIOD))"


def _paints_per_s(env_fps: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    if env_fps is not None:
        env["TEXTUAL_FPS"] = env_fps
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


def test_the_console_paints_a_changed_screen_up_to_120_times_a_second() -> None:
    assert _paints_per_s(None) == 120


def test_a_users_own_textual_fps_is_kept() -> None:
    assert _paints_per_s("30") == 30
