"""The allocation table: sleeves, expandable to assets and to positions per account.

It renders the Allocation it is handed. Updates go by row key: only the rows on screen are
formatted, and only the cells whose text changed are written, all inside one ``batch_update()``;
a row off screen is brought up to date when it scrolls into view. The rows are rebuilt only when
their order changes (a sort, an expand, a new sleeve).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from console.core.allocation import Allocation, SleeveRow
from console.core.config import Goal
from console.core.numbers import pct, whole
from widgets.drift_bar import drift_bar
from widgets.lean_table import CELLS_CACHED, ROWS_CACHED, LeanDataTable
from widgets.risk_panel import short_symbol
from widgets.styles import STATUS_STYLE

if TYPE_CHECKING:
    from textual._types import SegmentLines
    from textual.strip import Strip

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("name", "sleeve", 22),
    ("spot", "spot", 11),
    ("futures", "futures", 10),
    ("net", "net", 11),
    ("weight", "weight", 7),
    ("target", "target", 7),
    ("drift", "drift vs band", 15),
    ("status", "status", 6),
    ("delta", "Δ to goal", 10),
)
SORT_KEYS = ("name", "net", "weight", "drift", "delta")
# What a narrower terminal gives up first: the spot / futures split (net stays), then the drift
# bar (status and Δ stay). Widest set that fits wins.
COLUMN_SETS: tuple[tuple[str, ...], ...] = (
    tuple(k for k, _, _ in COLUMNS),
    ("name", "net", "weight", "target", "drift", "status", "delta"),
    ("name", "net", "weight", "target", "status", "delta"),
)
CELL_PADDING = 2  # DataTable pads each cell by one column either side
# DataTable's own caches are keyed by its table-wide update counter: this table reads its own
# caches first (below), so DataTable's only hold what one repaint renders through them (the
# headings, the rows' renderables) and never thousands of dead entries for the collector to walk
OWN_CACHE_BYPASSED = 32
SCROLLBAR = 2


def table_width(keys: Sequence[str]) -> int:
    return sum(w + CELL_PADDING for k, _, w in COLUMNS if k in keys) + SCROLLBAR


def columns_for(width: int) -> tuple[str, ...]:
    """The widest column set that fits ``width`` cells (the narrowest when none does)."""
    return next((keys for keys in COLUMN_SETS if table_width(keys) <= width), COLUMN_SETS[-1])


@dataclass(frozen=True)
class RowView:
    key: str
    cells: tuple[str | Text, ...]
    sort: tuple[float | str, ...]  # one value per SORT_KEYS entry


def _r(s: str) -> Text:
    return Text(s, justify="right")


def _signed(x: float) -> Text:
    """A position's notional: red short, green long (a rounded 0 is neither short nor red)."""
    shown = whole(x)
    return Text(shown, justify="right", style="red" if shown.startswith("-") else "green")


def _delta(r: SleeveRow, goal: Goal) -> float | None:
    return r.delta(goal) if r.configured and not r.is_cash else None


def sort_values(r: SleeveRow, goal: Goal) -> tuple[float | str, ...]:
    """A sleeve's value per SORT_KEYS entry (numbers, not formatted text: sorting formats nothing)."""
    return (r.name, r.net, r.weight, r.drift or 0.0, _delta(r, goal) or 0.0)


def sleeve_view(r: SleeveRow, goal: Goal, expanded: bool) -> RowView:
    style = STATUS_STYLE[r.status]
    arrow = "▾" if expanded else "▸"
    has_children = bool(r.assets) or bool(r.positions)
    name = Text(f"{arrow if has_children else ' '} {r.name}", style="bold")
    delta = _delta(r, goal)
    # the cash sleeve holds no contracts: its futures figure is the rest of NAV (what the
    # overlay's positions stand in for), dim here and named on its expanded line
    fut = Text(whole(r.futures_notional), justify="right", style="dim italic") if r.is_cash \
        else _r(whole(r.futures_notional))
    cells = (
        name, _r(whole(r.spot_value)), fut, _r(whole(r.net)),
        _r(pct(r.weight)), _r(pct(r.target)),
        drift_bar(r.drift, r.halfwidth, r.status.value),
        Text(r.status.value, style=style),
        _r(whole(delta)) if delta is not None else _r("—"),
    )
    return RowView(f"S:{r.name}", cells, sort_values(r, goal))


CASH_OFFSET = "   overlay offset"  # NAV − risky − stablecoins: what the positions stand in for (README)


def child_views(r: SleeveRow) -> list[RowView]:
    out = []
    if r.is_cash and whole(r.futures_notional) != "0":
        out.append(RowView(
            f"C:{r.name}",
            (Text(CASH_OFFSET, style="dim italic", no_wrap=True, overflow="ellipsis"), _r(""),
             Text(whole(r.futures_notional), justify="right", style="dim italic"), _r(""), _r(""), _r(""),
             Text(""), Text(""), _r("")),
            ("", 0.0, 0.0, 0.0, 0.0),
        ))
    for a in r.assets:
        out.append(RowView(
            f"A:{r.name}:{a.asset}",
            (Text(f"   {a.asset} {a.spot_qty:,.6g}", style="dim"), _r(whole(a.spot_value)),
             _r(whole(a.futures_notional)), _r(whole(a.net)), _r(""), _r(""), Text(""), Text(""), _r("")),
            ("", 0.0, 0.0, 0.0, 0.0),
        ))
    for p in r.positions:
        out.append(RowView(
            f"P:{r.name}:{p.account}:{p.symbol}",
            (Text(f"    {p.account} {short_symbol(p.symbol)}", style="italic"), _r(""),
             _signed(p.notional),
             # a position's net exposure is its notional; the net column is the one every
             # column set keeps, so a narrow terminal still shows it
             _signed(p.notional), _r(""), _r(""), Text(f"{p.contracts:+g} @{p.leverage or 0:g}x", style="dim"),
             Text(""), _r("")),
            ("", 0.0, 0.0, 0.0, 0.0),
        ))
    return out


def _child_keys(r: SleeveRow) -> list[str]:
    """The keys of ``child_views(r)``, in its order, without formatting anything."""
    return ([f"C:{r.name}"] if r.is_cash and whole(r.futures_notional) != "0" else []) + (
            [f"A:{r.name}:{a.asset}" for a in r.assets]
            + [f"P:{r.name}:{p.account}:{p.symbol}" for p in r.positions])


def row_order(alloc: Allocation, goal: Goal, expanded: set[str], sort_by: str | None,
              reverse: bool) -> list[tuple[str, SleeveRow]]:
    """Every row's key in display order, with the sleeve it belongs to (nothing formatted)."""
    sleeves = list(alloc.rows)
    if sort_by in SORT_KEYS:
        idx = SORT_KEYS.index(sort_by)
        sleeves.sort(key=lambda r: sort_values(r, goal)[idx], reverse=reverse)
    out: list[tuple[str, SleeveRow]] = []
    for r in sleeves:
        out.append((f"S:{r.name}", r))
        if r.name in expanded:
            out.extend((k, r) for k in _child_keys(r))
    return out


def row_view(key: str, r: SleeveRow, goal: Goal, expanded: set[str]) -> RowView:
    """The view of one row of ``row_order`` (a sleeve, or one of its assets or positions)."""
    if key.startswith("S:"):
        return sleeve_view(r, goal, r.name in expanded)
    return next(v for v in child_views(r) if v.key == key)


V = TypeVar("V")


def _versioned(cache: LRUCache[tuple[object, ...], tuple[int, V]], key: tuple[object, ...], version: int,
               make: Callable[[], V]) -> V:
    """The value cached under ``key`` if it was made at ``version``, else a new one, which
    replaces it. Replaced, not set beside it: Textual's ``LRUCache.set`` keeps an existing key's
    old value, so a rewritten cell or line would miss its cache on every repaint after its first
    change (every line on screen drawn again at each apply)."""
    cached = cache.get(key)
    if cached is not None:
        if cached[0] == version:
            return cached[1]
        cache.discard(key)
    value = make()
    cache[key] = (version, value)
    return value


class AllocationTable(LeanDataTable):
    """Sleeve rows; enter expands, `o` cycles the sort column, `O` reverses it."""

    HELP_SCOPE: ClassVar[str] = "allocation table"  # the `?` help's "where" for these keys

    BINDINGS = [
        Binding("enter", "toggle_row", "Expand", id="table.expand",
                tooltip="Expand or collapse the sleeve under the cursor"),
        Binding("o", "cycle_sort", "Sort", id="table.sort", tooltip="Sort by the next column"),
        Binding("O", "reverse_sort", "Reverse", id="table.reverse", show=False,
                tooltip="Reverse the sort order"),
    ]

    class SleeveHighlighted(Message):
        """The cursor is on a sleeve (or one of its children)."""

        def __init__(self, sleeve: str) -> None:
            self.sleeve = sleeve
            super().__init__()

    def __init__(self, *, goal: Goal = Goal.TARGET, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.goal = goal
        self.expanded: set[str] = set()
        self.sort_by: str | None = None
        self.reverse = False
        self._alloc: Allocation | None = None
        self._cells: dict[str, tuple[str | Text, ...]] = {}
        self._order: list[str] = []
        self._rows: dict[str, SleeveRow] = {}  # key -> the sleeve its row shows (of the newest allocation)
        self._stale: set[str] = set()  # rows whose cells may lag the newest allocation (off screen)
        # DataTable keys its rendered cells by one table-wide update counter, so a single written
        # cell re-renders every cell on screen; these are checked against each cell's own version.
        # The version is in the value, not the key: a rewritten cell replaces its entry rather than
        # leaving a dead one behind for the garbage collector to walk
        self._cell_version: dict[tuple[str, str], int] = {}
        self._rendered: LRUCache[tuple[object, ...], tuple[int, SegmentLines]] = LRUCache(CELLS_CACHED)
        self._row_version: dict[str, int] = {}  # likewise per row, for the rendered lines
        self._lines: LRUCache[tuple[object, ...], tuple[int, Strip]] = LRUCache(ROWS_CACHED)
        # the headings' line, by what it shows: a price tick writes cells, and DataTable then drew
        # the headings (every column) again on each repaint although no heading changed
        self._heading: tuple[tuple[object, ...], Strip] | None = None
        self._cell_render_cache = LRUCache(OWN_CACHE_BYPASSED)
        self._row_render_cache = LRUCache(OWN_CACHE_BYPASSED)
        self._row_renderable_cache = LRUCache(OWN_CACHE_BYPASSED)
        self._line_cache = LRUCache(OWN_CACHE_BYPASSED)
        self.cells_written = 0  # for tests and the benchmark: cells written since start
        self.shown_columns: tuple[str, ...] = COLUMN_SETS[0]
        self._labels: dict[str, str] = {}  # the headings shown, by column key

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for key, _label, width in COLUMNS:
            if key in self.shown_columns:
                self.add_column(self.label(key), width=width, key=key)

    def label(self, key: str) -> str:
        """A column's heading: Δ says which goal it measures to, and the sorted column carries
        its arrow (▲ ascending, ▼ descending), so neither lives only in a passing toast."""
        text = next(lbl for k, lbl, _ in COLUMNS if k == key)
        if key == "delta":
            text = "Δ target" if self.goal is Goal.TARGET else "Δ band"
        if key == self.sort_by:
            text += "▼" if self.reverse else "▲"
        return text

    def _relabel(self) -> None:
        labels = {key: self.label(key) for key in self.shown_columns}
        if labels == self._labels:
            return  # the usual case: a price tick changes cells, not headings
        self._labels = labels
        for key, text in labels.items():
            col = self.columns.get(ColumnKey(key))
            if col is not None:
                col.label = Text(text)
        self.refresh()

    def on_resize(self) -> None:
        keys = columns_for(self.size.width)
        if keys == self.shown_columns:
            return
        self.shown_columns = keys
        self.clear(columns=True)
        self._labels = {}
        self._add_columns()
        self._order = []  # the next show() adds every row afresh
        self._cells.clear()
        self.refresh_view()

    def _visible_cells(self, cells: tuple[str | Text, ...]) -> tuple[str | Text, ...]:
        return tuple(c for (key, _, _), c in zip(COLUMNS, cells, strict=True) if key in self.shown_columns)

    # ------------------------------------------------------------------ rendering

    def show(self, alloc: Allocation) -> None:
        self._alloc = alloc
        self._relabel()
        order = row_order(alloc, self.goal, self.expanded, self.sort_by, self.reverse)
        self._rows = dict(order)
        keys = [k for k, _ in order]
        if keys != self._order:
            self._rebuild(keys)
        else:
            # a price tick: every row may have changed (weights move with NAV), but only the rows
            # on screen are formatted and compared now; the others when they scroll into view
            self._stale = set(keys)
            self._update_visible()

    def refresh_view(self) -> None:
        if self._alloc is not None:
            self.show(self._alloc)

    def _view(self, key: str) -> tuple[str | Text, ...]:
        return self._visible_cells(row_view(key, self._rows[key], self.goal, self.expanded).cells)

    def _rebuild(self, keys: list[str]) -> None:
        """A new row order (a sort, an expand, a new sleeve): every row added afresh."""
        with self.app.batch_update():
            cursor_key = self.current_key()
            self.clear()
            self._cells.clear()
            for key in keys:
                cells = self._view(key)
                self.add_row(*cells, key=key)
                self._cells[key] = cells
                self.cells_written += len(cells)
            self._order = keys
            self._stale = set()
            if cursor_key in keys:
                self.move_cursor(row=keys.index(cursor_key), animate=False)

    def _update_visible(self) -> None:
        """Format the stale rows now on screen and write the cells whose text changed."""
        if not self._stale:
            return
        first = max(0, int(self.scroll_y))
        shown = self._order[first:first + self.size.height + 1]  # the header's line as a margin
        columns = [key for key, _, _ in COLUMNS if key in self.shown_columns]
        with self.app.batch_update():
            for key in shown:
                if key not in self._stale:
                    continue
                self._stale.discard(key)
                old, cells = self._cells[key], self._view(key)
                if old == cells:
                    continue
                for col, before, after in zip(columns, old, cells, strict=True):
                    if before != after:
                        self.update_cell(key, col, after)
                        self._cell_version[key, col] = self._cell_version.get((key, col), 0) + 1
                        self._row_version[key] = self._row_version.get(key, 0) + 1
                        self.cells_written += 1
                self._cells[key] = cells

    def _clear_caches(self) -> None:  # DataTable's: on clear() and on a style change
        super()._clear_caches()
        self._cell_version.clear()
        self._rendered.clear()
        self._row_version.clear()
        self._lines.clear()
        self._heading = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rendered.clear()
        self._lines.clear()
        self._heading = None

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> SegmentLines:
        if row_index < 0 or column_index < 0:  # the header: DataTable's own cache
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        version = self._cell_version.get((row_key.value, column_key.value), 0)
        key = (row_index, column_index, row_key, column_key, base_style, width, cursor, hover,
               self._show_hover_cursor, self._pseudo_class_state)
        return _versioned(self._rendered, key, version, lambda: super(AllocationTable, self)._render_cell(
            row_index, column_index, base_style, width, cursor, hover))

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """One line of the table, cached by its row's own version: DataTable's line cache is
        keyed by the table-wide update counter, so a price tick that rewrote a few rows' cells
        rendered every line on screen again (the larger part of an apply's repaint)."""
        if self.cursor_type != "row":
            return super()._render_line(y, x1, x2, base_style)
        try:
            row_key, line = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        if row_key == self._header_row_key:
            return self._heading_line(y, x1, x2, base_style)
        index = self._row_locations.get(row_key)
        key = (y, x1, x2, self.size.width, row_key, line, index, base_style, self.cursor_coordinate.row == index,
               self.hover_coordinate.row == index, self.show_cursor, self._show_hover_cursor,
               self._pseudo_class_state)
        version = self._row_version.get(row_key.value, 0)
        return _versioned(self._lines, key, version,
                          lambda: super(AllocationTable, self)._render_line(y, x1, x2, base_style))

    def _heading_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """The headings' line, drawn again only when what it shows changes: its labels and
        widths, the hover over it, the styles (a cell write changes none of them)."""
        key = (y, x1, x2, self.size.width, base_style, self.hover_coordinate, self.show_cursor,
               self._show_hover_cursor, self._pseudo_class_state,
               tuple((c.label.plain, c.get_render_width(self)) for c in self.ordered_columns))
        if self._heading is not None and self._heading[0] == key:
            return self._heading[1]
        strip = super()._render_line(y, x1, x2, base_style)
        self._heading = (key, strip)
        return strip

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._update_visible()  # rows scrolled into view get the newest figures before they paint

    def current_key(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    def current_sleeve(self) -> str | None:
        key = self.current_key()
        return None if key is None else key.split(":")[1]

    def current_position(self) -> tuple[str, str] | None:
        """(account, symbol) when the cursor is on a position row."""
        key = self.current_key()
        if key is None or not key.startswith("P:"):
            return None
        _, _sleeve, account, symbol = key.split(":", 3)
        return account, symbol

    # ------------------------------------------------------------------ actions

    def action_toggle_row(self) -> None:
        sleeve = self.current_sleeve()
        if sleeve is None:
            return
        self.expanded.symmetric_difference_update({sleeve})
        self.refresh_view()
        key = f"S:{sleeve}"
        if key in self._order:
            self.move_cursor(row=self._order.index(key), animate=False)

    def action_cycle_sort(self) -> None:
        i = SORT_KEYS.index(self.sort_by) + 1 if self.sort_by in SORT_KEYS else 0
        self.sort_by = SORT_KEYS[i] if i < len(SORT_KEYS) else None
        self.refresh_view()
        self.notify(f"sorted by {self.sort_by or 'config order'}", timeout=1.5)

    def action_reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self.refresh_view()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        sleeve = self.current_sleeve()
        if sleeve is not None:
            self.post_message(self.SleeveHighlighted(sleeve))
