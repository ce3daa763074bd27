"""`8`: each sleeve's target and band, and the portfolio's band policy and warn share, edited in
place.

Every keystroke re-checks the form through the config models (``console.core.targets``): the
line under the form says "valid" or names each field at fault and its fix. `ctrl+s` writes the
TOML atomically with its comments kept and the console re-plans on the new config at once;
`ctrl+z` puts back the file as it was before the last save. In demo mode the shipped sample is
never written: saves go to a user copy, named on screen.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, Select, Static

from console.app.screens import paint_header
from console.core.config import Config
from console.core.errors import UserError
from console.core.targets import SleeveEdit, TargetsForm, check_form, form_of, targets_sum
from widgets.footer import KeyFooter
from widgets.header import HeaderBar
from widgets.inputs import NumberInput

if TYPE_CHECKING:
    from console.app.app import RebalApp
    from console.app.state import DashboardState

POLICIES = [("absolute", "absolute"), ("relative", "relative"), ("both (tighter)", "both")]


class TargetsScreen(Screen):
    TITLE = "Targets and bands"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="targets.save", priority=True,
                tooltip="Write the config file (atomically, comments kept) and re-plan on it"),
        Binding("ctrl+z", "undo", "Undo save", id="targets.undo", priority=True,
                tooltip="Put back the config file as it was before the last save, and re-plan"),
        Binding("escape", "back", "Back", id="targets.back", tooltip="Back to the dashboard (edits are kept)"),
    ]
    DEFAULT_CSS = """
    TargetsScreen #t-form { height: auto; max-height: 1fr; margin: 0 1; }
    TargetsScreen .t-row { height: 1; }
    TargetsScreen .t-row Label { width: 12; color: $text-muted; }
    TargetsScreen .t-row .t-name { width: 12; color: $text; text-style: bold; }
    TargetsScreen .t-row Input { width: 10; margin: 0 2 0 0; }
    TargetsScreen .t-row Select { width: 20; margin: 0 2 0 0; }
    TargetsScreen .t-row .t-band { width: 1fr; color: $text-muted; }
    TargetsScreen .t-head Label { text-style: bold; color: $text; }
    TargetsScreen #t-where, TargetsScreen #t-status { height: auto; margin: 0 1; }
    TargetsScreen #t-status { margin: 1 1 0 1; }
    """

    app: RebalApp

    def __init__(self) -> None:
        super().__init__()
        self.base_text: str | None = None  # the file text the running config came from
        self.form: TargetsForm | None = None
        self.candidate: tuple[str, Config] | None = None  # the form as a file and its config, when valid
        self.problem: str | None = None
        self.undo: list[str] = []  # file texts before each save of this session, newest last
        self._loading = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        cfg = self.app.config
        form = form_of(cfg)
        p = cfg.portfolio
        yield HeaderBar(id="header")
        with VerticalScroll(id="t-form"):
            with Horizontal(classes="t-row t-head"):
                yield Label("portfolio", classes="t-name")
                yield Label("band policy", id="t-policy-label")
            with Horizontal(classes="t-row"):
                yield Label("", classes="t-name")
                yield Select(POLICIES, value=p.band_policy.value, allow_blank=False, compact=True, id="t-policy")
                yield Label("abs", classes="t-small")
                yield NumberInput(form.band_abs, compact=True, id="t-band_abs")
                yield Label("rel", classes="t-small")
                yield NumberInput(form.band_rel, compact=True, id="t-band_rel")
                yield Label("warn share")
                yield NumberInput(form.warn_fraction, compact=True, id="t-warn_fraction")
            with Horizontal(classes="t-row t-head"):
                yield Label("sleeve", classes="t-name")
                yield Label("target")
                yield Label("band abs")
                yield Label("band rel")
                yield Label("band ± pp (warn at)", classes="t-band")
            for i, row in enumerate(form.sleeves):
                with Horizontal(classes="t-row"):
                    yield Label(row.name, classes="t-name")
                    yield NumberInput(row.target, compact=True, id=f"t-{i}-target")
                    yield NumberInput(row.band_abs, compact=True, id=f"t-{i}-band_abs",
                                      placeholder=form.band_abs)
                    yield NumberInput(row.band_rel, compact=True, id=f"t-{i}-band_rel",
                                      placeholder=form.band_rel)
                    yield Label("", classes="t-band", id=f"t-{i}-band")
        yield Static("", id="t-status")
        yield Static("", id="t-where")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.base_text = self.app.config_text
        self.form = form_of(self.app.config)
        self._where()
        self._check()
        self._header()
        self.query_one("#t-0-target", Input).focus()

    def show_state(self, state: DashboardState) -> None:
        self._header()

    def tick(self) -> None:
        self._header()

    def _header(self) -> None:
        paint_header(self, "Targets and bands")

    def _where(self) -> None:
        app = self.app
        path = app.config_path
        units = ("\nFractions: target 0.45 = 45 %, band abs 0.05 = ±5 pp, band rel 0.25 = ±25 % of the target; "
                 "a blank sleeve band uses the portfolio's. The band is the tighter of the two under \"both\".")
        if path is None or self.base_text is None:
            text = Text("this console was started without a config file: edits are checked but cannot be saved",
                        style="yellow")
        elif app.config_is_demo:
            text = Text.assemble(("demo: ", "bold cyan"), "the shipped sample is never changed; ctrl+s writes a "
                                 "user copy to ", (str(path), "bold"), f" (start with --config {path} to use it)")
        else:
            text = Text.assemble("ctrl+s writes ", (str(path), "bold"), " (atomically, comments kept); "
                                 "ctrl+z puts back the file as it was before the last save.")
        self.query_one("#t-where", Static).update(text + Text(units, style="dim"))

    # ------------------------------------------------------------------ editing

    def _fill(self, form: TargetsForm) -> None:
        self._loading = True
        try:
            self.query_one("#t-policy", Select).value = form.band_policy
            for field in ("band_abs", "band_rel", "warn_fraction"):
                self.query_one(f"#t-{field}", Input).value = getattr(form, field)
            for i, row in enumerate(form.sleeves):
                for field in ("target", "band_abs", "band_rel"):
                    self.query_one(f"#t-{i}-{field}", Input).value = getattr(row, field)
        finally:
            self._loading = False
        self.form = form
        self._check()

    def _read(self) -> TargetsForm:
        assert self.form is not None
        policy = self.query_one("#t-policy", Select).value
        rows = tuple(SleeveEdit(r.name, *(self.query_one(f"#t-{i}-{f}", Input).value for f in
                                         ("target", "band_abs", "band_rel")))
                     for i, r in enumerate(self.form.sleeves))
        return TargetsForm(band_policy=str(policy), band_abs=self.query_one("#t-band_abs", Input).value,
                           band_rel=self.query_one("#t-band_rel", Input).value,
                           warn_fraction=self.query_one("#t-warn_fraction", Input).value, sleeves=rows)

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        if self._loading or self.form is None:
            return
        self.form = self._read()
        self._check()

    def _check(self) -> None:
        """As you type: the form through the config models; the status line says valid or why not."""
        assert self.form is not None
        base = self.base_text
        self.candidate, self.problem = None, None
        try:
            if base is None:
                from console.core.config import sample_config_text

                base = sample_config_text()  # no file: checked against the sample's other fields
            self.candidate = check_form(base, self.form, "the targets")
        except UserError as exc:
            self.problem = str(exc)
        total = targets_sum(self.form)
        sum_text = "—" if total is None else f"{total * 100:.2f} %"
        cfg = self.candidate[1] if self.candidate else None
        for i, row in enumerate(self.form.sleeves):
            band = ""
            if cfg is not None:
                s = cfg.sleeve(row.name)
                band = f"±{cfg.band_halfwidth(s) * 100:.2f} pp (warn at ±{cfg.band_halfwidth(s) * 100 * cfg.portfolio.warn_fraction:.2f})"
            self.query_one(f"#t-{i}-band", Label).update(band)
        changed = self.candidate is not None and self.candidate[0] != self.base_text
        if self.problem:
            lines = [ln.strip() for ln in self.problem.splitlines()[1:]] or [self.problem]
            status = Text.assemble((f"not valid (targets add up to {sum_text}): ", "bold red"),
                                   "\n".join(lines))
        elif changed:
            status = Text.assemble(("valid", "bold green"), f": targets add up to {sum_text}; ",
                                   ("ctrl+s saves and re-plans", "bold"))
        else:
            status = Text.assemble(("valid", "green"), f": targets add up to {sum_text}; no unsaved edits")
        self.query_one("#t-status", Static).update(status)

    # ------------------------------------------------------------------ actions

    def action_save(self) -> None:
        app = self.app
        if app.config_path is None or self.base_text is None:
            self.notify("no config file to write: this console was started without one", severity="warning")
            return
        if self.candidate is None:
            self.notify(f"not saved: {self.problem}", severity="error", timeout=8)
            return
        new_text, cfg = self.candidate
        if new_text == self.base_text:
            self.notify("nothing to save: the form is the file", timeout=2)
            return
        self._write(self.base_text, new_text, cfg, undoing=False)

    def action_undo(self) -> None:
        if not self.undo:
            self.notify("nothing to undo: no save in this session", timeout=3)
            return
        from console.core.config import parse_config

        old = self.undo[-1]
        try:
            cfg = parse_config(old, str(self.app.config_path))
        except UserError as exc:  # the file before the save was valid; say so if it is not
            self.notify(f"cannot undo: {exc}", severity="error", timeout=8)
            return
        assert self.base_text is not None
        self._write(self.base_text, old, cfg, undoing=True)

    @work(group="targets", exclusive=True, exit_on_error=False)
    async def _write(self, before: str, text: str, cfg: Config, *, undoing: bool) -> None:
        from console.core.snapshot import write_atomic

        app = self.app
        path = app.config_path
        assert path is not None
        try:
            await asyncio.to_thread(write_atomic, path, text)
        except OSError as exc:
            self.notify(f"not saved: cannot write {path} ({exc.strerror}); nothing changed", severity="error",
                        timeout=10)
            return
        if undoing:
            self.undo.pop()
        else:
            self.undo.append(before)
        self.base_text = text
        app.apply_config(cfg, text)
        self._fill(form_of(cfg))
        verb = "undone: the file is back as before the last save" if undoing else f"saved to {path}"
        self.notify(f"targets {verb}; re-planned on it", title="Targets", timeout=5)

    def action_back(self) -> None:
        self.app.action_show("dashboard")
