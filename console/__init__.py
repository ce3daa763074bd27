"""rebal-tui: a terminal console that keeps a crypto portfolio at its target weights."""

# before anything imports ccxt: only the exchanges in use get imported (see console.ccxt_import)
from console.ccxt_import import install as _install_ccxt

_install_ccxt()
