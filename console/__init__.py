"""rebal-tui: a terminal console that keeps a crypto portfolio at its target weights."""

import os

# before anything imports ccxt: only the exchanges in use get imported (see console.ccxt_import)
from console.ccxt_import import install as _install_ccxt

_install_ccxt()

# Before anything imports Textual: it paints a changed screen on a timer of 1 / TEXTUAL_FPS
# (60 by default), so a key that lands just after a paint waited up to 16.7 ms for the next
# one. At 120 the wait is half: keypress-to-repaint p99 under 2,000 ticker updates/s fell from
# ~39 to ~24 ms at the same UI-thread CPU (tests/bench/bench_ui.py). Paints still happen only
# when something changed; a user's own TEXTUAL_FPS wins.
os.environ.setdefault("TEXTUAL_FPS", "120")
