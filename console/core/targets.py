"""Targets and bands edited in place: the form the targets screen shows, and the TOML it writes.

Pure: a form (each sleeve's target and band overrides, the portfolio's band policy, widths and
warn share, all as the text typed) is applied to the config file's text with tomlkit, so every
comment and every other line stays as the trader wrote it, and the result is validated by the
config models themselves (``parse_config``): the same messages, naming the field and the fix,
as `rebal-tui check-config`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import tomlkit

from console.core.config import BandPolicy, Config, field_unit, parse_config
from console.core.errors import UserError


@dataclass(frozen=True)
class SleeveEdit:
    """One sleeve's editable figures, as typed. A blank band uses the portfolio's."""

    name: str
    target: str
    band_abs: str = ""
    band_rel: str = ""


@dataclass(frozen=True)
class TargetsForm:
    band_policy: str
    band_abs: str
    band_rel: str
    warn_fraction: str
    sleeves: tuple[SleeveEdit, ...]

    def with_sleeve(self, name: str, **changes: str) -> TargetsForm:
        return replace(self, sleeves=tuple(replace(r, **changes) if r.name == name else r for r in self.sleeves))


def _text(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def form_of(config: Config) -> TargetsForm:
    p = config.portfolio
    return TargetsForm(
        band_policy=p.band_policy.value, band_abs=_text(p.band_abs), band_rel=_text(p.band_rel),
        warn_fraction=_text(p.warn_fraction),
        sleeves=tuple(SleeveEdit(s.name, _text(s.target), _text(s.band_abs), _text(s.band_rel))
                      for s in config.sleeves))


def _number(text: str, place: str, field: str, *, optional: bool = False) -> float | None:
    t = text.strip()
    if not t:
        if optional:
            return None
        raise UserError(f"{place}: is empty; type {field_unit(field)}")
    try:
        return float(t)
    except ValueError:
        raise UserError(f"{place}: {t!r} is not a number; type {field_unit(field)}") from None


def apply_form(text: str, form: TargetsForm) -> str:
    """``text`` (a config file) with the form's figures written in; comments, order and every
    other field untouched. Raises UserError naming the field when a figure is not a number."""
    if form.band_policy not in {b.value for b in BandPolicy}:
        raise UserError(f"portfolio.band_policy: {form.band_policy!r} is not a policy; "
                        "pick absolute, relative or both")
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise UserError(f"the config file is not valid TOML ({exc}); fix it in an editor first") from None
    port = doc.setdefault("portfolio", tomlkit.table())
    port["band_policy"] = form.band_policy
    for field in ("band_abs", "band_rel", "warn_fraction"):
        port[field] = _number(getattr(form, field), f"portfolio.{field}", field)
    tables = {str(t.get("name")): t for t in doc.get("sleeves", [])}
    for row in form.sleeves:
        table = tables.get(row.name)
        if table is None:
            raise UserError(f"sleeves[{row.name}]: not in the file any more; reload the screen (escape, then 8)")
        table["target"] = _number(row.target, f"sleeves[{row.name}].target", "target")
        for field in ("band_abs", "band_rel"):
            v = _number(getattr(row, field), f"sleeves[{row.name}].{field}", field, optional=True)
            if v is None:
                if field in table:
                    del table[field]  # blank: the portfolio's width again
            else:
                table[field] = v
    return tomlkit.dumps(doc)


def check_form(text: str, form: TargetsForm, source: str) -> tuple[str, Config]:
    """The new file text and the config it parses to; UserError (one line per problem, each
    naming its field and the fix) when the form does not make a valid config."""
    new = apply_form(text, form)
    return new, parse_config(new, source)


def targets_sum(form: TargetsForm) -> float | None:
    """The targets' sum as typed (None while one is not a number): shown beside the form."""
    try:
        return sum(float(r.target) for r in form.sleeves)
    except ValueError:
        return None
