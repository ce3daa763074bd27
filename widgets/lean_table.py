"""A DataTable whose render caches hold a few screens' worth, not thousands of dead entries.

Textual's DataTable keys its rendered cells, rows and lines by one table-wide update counter:
every written cell turns every cached entry into one that is never read again. At Textual's
sizes (10,000 cells, 1,000 rows, 1,000 lines, each line a Strip with caches of its own) a table
fed prices keeps tens of thousands of such objects alive, and a full garbage collection walks
them all: pauses of 100 ms and more on the UI thread, a keypress waiting behind each. Sized to a
few screens, the caches still serve every repaint (a cache entry only lives until the next write
anyway) and keep little alive.
"""

from __future__ import annotations

from typing import Any

from textual.cache import LRUCache
from textual.widgets import DataTable

CELLS_CACHED = 1024  # rendered cells: a tall screen's visible cells, with and without the cursor
ROWS_CACHED = 128  # rendered rows, row renderables and lines: a few tall screens' rows


class LeanDataTable(DataTable):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cell_render_cache = LRUCache(CELLS_CACHED)
        self._row_render_cache = LRUCache(ROWS_CACHED)
        self._row_renderable_cache = LRUCache(ROWS_CACHED)
        self._line_cache = LRUCache(ROWS_CACHED)
