"""Every action the console offers, from its bindings: the command palette and the `?` help.

One place lists the actions: the bindings themselves. ``binding_catalog`` walks the app, the
screen and every widget on it that declares bindings; the help screen prints the catalog and
the palette provider offers it (what is shown depends on the screen).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen


@dataclass(frozen=True)
class Entry:
    node: DOMNode
    binding: Binding
    scope: str  # "global", the screen's title, or the widget's human name (see ``widget_scope``)
    also: tuple[Binding, ...] = ()  # other keys of the same action on the same node (y / enter)

    @property
    def key_display(self) -> str:
        return " / ".join(dict.fromkeys(_key_display(self.node, b) for b in (self.binding, *self.also)))

    @property
    def text(self) -> str:
        return self.binding.description or self.binding.action

    @property
    def help(self) -> str:
        return self.binding.tooltip or self.binding.description

    @property
    def label(self) -> str:
        """The palette's line: the action and its key, e.g. ``Kill  [K]``."""
        return f"{self.text}  [{self.key_display}]"


def widget_scope(widget: DOMNode) -> str:
    """Where a widget's keys work, in words a trader knows: the widget class's ``HELP_SCOPE``
    (e.g. "allocation table"), else its border title, else its id or class name."""
    named = getattr(widget, "HELP_SCOPE", None)
    if isinstance(named, str) and named:
        return named
    title = getattr(widget, "border_title", None)
    if title:
        return str(title)
    return widget.id or widget.__class__.__name__


def _key_display(node: DOMNode, b: Binding) -> str:
    """The key as the trader has it: the user keymap's (``app.keymap``), else the binding's."""
    remapped = getattr(node.app, "keymap", {}).get(b.id or "")
    if remapped:
        return ", ".join(node.app.get_key_display(b.with_key(k, key_display=None)) for k in remapped.split(","))
    return b.key_display or node.app.get_key_display(b)


def _own(node: DOMNode) -> list[Binding]:
    """Bindings a node's classes declare with an id (ours; built-in cursor keys have none)."""
    out = []
    for keys in node._bindings.key_to_bindings.values():
        out.extend(b for b in keys if b.id and not b.system)
    return out


def binding_catalog(screen: Screen) -> list[Entry]:
    app = screen.app
    seen: set[str] = set()
    entries: list[Entry] = []

    def add(node: DOMNode, scope: str) -> None:
        # each action once: a second key for the same action on the same node joins its entry
        by_action: dict[str, int] = {}
        for b in _own(node):
            if b.id in seen:
                continue
            seen.add(b.id)
            if b.action in by_action:
                i = by_action[b.action]
                entries[i] = Entry(node, entries[i].binding, scope, (*entries[i].also, b))
                continue
            by_action[b.action] = len(entries)
            entries.append(Entry(node, b, scope))

    add(screen, getattr(screen, "TITLE", None) or screen.__class__.__name__)
    for widget in screen.query("*"):
        if widget.BINDINGS:
            add(widget, widget_scope(widget))
    add(app, "global")
    return entries


class ConsoleCommands(Provider):
    """The palette: every bound action of the current screen and of the app."""

    def _entries(self) -> list[Entry]:
        screen = self.screen
        # the palette is itself a screen: describe the one under it
        stack = self.app.screen_stack
        if screen is stack[-1] and len(stack) > 1 and screen.__class__.__name__ == "CommandPalette":
            screen = stack[-2]
        return binding_catalog(screen)

    # A plain ``str`` display is read as markup, where ``[K]`` (or ``[s]``) is a style tag and
    # vanishes: the key part is always built as plain Content.

    async def discover(self) -> Hits:
        for e in self._entries():
            yield DiscoveryHit(Content(e.label), partial(self._run, e), text=e.label, help=e.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for e in self._entries():
            score = max(matcher.match(e.label), matcher.match(e.help))
            if score > 0:
                shown = matcher.highlight(e.text) + Content(f"  [{e.key_display}]")
                yield Hit(score, shown, partial(self._run, e), text=e.label, help=e.help)

    async def _run(self, e: Entry) -> None:
        await e.node.run_action(e.binding.action)


EXPORTS: tuple[tuple[str, str, str], ...] = (
    ("allocation", "Export allocation to CSV", "Each sleeve's value, weight, target, band and drift"),
    ("tickets", "Export tickets to CSV", "Every journal ticket, one row per leg"),
    ("pnl", "Export P&L to CSV", "The overlay P&L per position and per sleeve, and the totals"),
)


class ExportCommands(Provider):
    """The palette's exports: CSV files in the user data folder (the path is shown)."""

    async def discover(self) -> Hits:
        for kind, text, help_text in EXPORTS:
            yield DiscoveryHit(Content(text), partial(self._run, kind), text=text, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for kind, text, help_text in EXPORTS:
            score = max(matcher.match(text), matcher.match(help_text))
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._run, kind), text=text, help=help_text)

    async def _run(self, kind: str) -> None:
        await self.app.run_action(f"export('{kind}')")
