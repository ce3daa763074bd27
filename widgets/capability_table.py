"""The paper capability matrix of one account as a table (preflight's CLI and screen)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from console.core.capabilities import KINDS, Capability

COLOUR = {True: "green", None: "yellow", False: "red"}


def capability_table(capabilities: Sequence[Capability], *, expand: bool = False) -> Table:
    """Calls, then contract kinds: each with yes / partly / no and why, so a trader sees what
    the paper venue will not do before the first ticket."""
    t = Table(title="paper venue supports", title_justify="left", expand=expand, show_edge=False)
    t.add_column("call or contract kind", style="bold", no_wrap=True)
    t.add_column("", no_wrap=True)
    t.add_column("how", ratio=1 if expand else None, overflow="fold")
    for c in capabilities:
        if c.name == KINDS[0]:
            t.add_section()
        t.add_row(c.name, Text(c.mark, style=COLOUR[c.ok]), c.detail)
    return t
