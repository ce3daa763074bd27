"""The key bar: the footer of every console screen, made to fit 120 columns.

Textual's Footer shows every binding with ``show=True`` one after another and cuts the row
at the terminal's edge. This one groups the screen-switching keys (the app's ``show(...)``
actions, 1–6, hidden ones included) under one label, and leaves out the binding ids a screen lists in
``FOOTER_HIDE``. On a terminal too narrow for every key, the screen's own keys are dropped from
the end first; help, kill and quit always stay. Nothing is lost: ``?`` (help) and the command
palette list every binding.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

PALETTE_WIDTH = 13  # "▏^p palette" docked on the right


def item_width(key_display: str, description: str) -> int:
    """Cells one key takes in the compact footer: key, a space, its label, a space."""
    return len(key_display) + 1 + len(description) + 1 if description else len(key_display) + 1


class KeyFooter(Footer):
    DEFAULT_CSS = """
    KeyFooter KeyGroup.-compact FooterKey.-grouped { margin: 0; padding: 0; }
    KeyFooter.-compact FooterLabel { margin: 0 1 0 0; }
    """

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        hide = set(getattr(self.screen, "FOOTER_HIDE", ()))
        seen: set[str] = set()
        keys, screens = [], []
        for _node, binding, enabled, tooltip in active.values():
            if binding.id in hide or binding.action in seen:
                continue
            # every screen key joins the group, ``show=False`` ones too (6, preflight): the
            # group costs one cell per key, and a gap in "12345" reads as "there is no 6"
            is_screen = binding.action.startswith("show(")
            if not (binding.show or is_screen):
                continue
            seen.add(binding.action)
            (screens if is_screen else keys).append((binding, enabled, tooltip))
        tail = [k for k in keys if k[0].id in ("app.help", "app.kill", "app.quit")]
        head = [k for k in keys if k not in tail]
        head = self._fit(head, tail, screens)
        self.styles.grid_size_columns = len(head) + len(tail) + (1 if screens else 0)
        for binding, enabled, tooltip in head:
            yield self._key(binding, enabled, tooltip, binding.description)
        if screens:
            with KeyGroup(classes="-compact"):
                for binding, enabled, tooltip in screens:
                    yield self._key(binding, enabled, tooltip or binding.description, "", grouped=True)
            yield FooterLabel("screens")
        for binding, enabled, tooltip in tail:
            yield self._key(binding, enabled, tooltip, binding.description)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            found = active.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _node, binding, enabled, tooltip = found
                yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description,
                                binding.action, classes="-command-palette", disabled=not enabled,
                                tooltip=binding.tooltip or binding.description)

    def _fit(self, head: list, tail: list, screens: list) -> list:  # noqa: ANN001
        width = self.app.size.width
        if not width:
            return head
        budget = width - PALETTE_WIDTH
        budget -= sum(item_width(self.app.get_key_display(b), b.description) for b, _, _ in tail)
        if screens:
            budget -= sum(len(self.app.get_key_display(b)) for b, _, _ in screens) + len(" screens ")
        kept = []
        for item in head:
            w = item_width(self.app.get_key_display(item[0]), item[0].description)
            if w > budget:
                break
            kept.append(item)
            budget -= w
        return kept

    def bindings_changed(self, screen: Screen) -> None:
        # Textual calls this on every focus move and screen switch, and recomposes the bar
        # each time: twenty-odd keys built and styled again, a tenth of a busy console's UI
        # time. The bar is recomposed only when what it would show has changed.
        shown = tuple((b.key, b.action, b.description, b.show, enabled, tooltip)
                      for _node, b, enabled, tooltip in screen.active_bindings.values())
        if shown == getattr(self, "_shown", None) and self._bindings_ready:
            return
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown  # only a recompose that happens counts as shown
        super().bindings_changed(screen)

    def on_resize(self) -> None:
        if self.size.width != getattr(self, "_laid_out_for", None):
            self._laid_out_for = self.size.width
            self.refresh(recompose=True)

    def _key(self, binding, enabled: bool, tooltip: str, description: str, grouped: bool = False) -> FooterKey:  # noqa: ANN001
        return FooterKey(binding.key, self.app.get_key_display(binding), description, binding.action,
                         disabled=not enabled, tooltip=tooltip,
                         classes="-grouped" if grouped else "").data_bind(compact=Footer.compact)
