"""The targets form written into a config file: comments kept, validated by the config models."""

from __future__ import annotations

import pytest

from console.core.config import parse_config, sample_config_text
from console.core.errors import UserError
from console.core.targets import apply_form, check_form, form_of, targets_sum

SAMPLE = sample_config_text()


def form():
    return form_of(parse_config(SAMPLE, "sample"))


def test_the_form_of_a_config_round_trips_to_the_same_file() -> None:
    assert apply_form(SAMPLE, form()) == SAMPLE


def test_edits_are_written_and_every_comment_stays() -> None:
    f = form().with_sleeve("BTC", target="0.40", band_rel="0.2").with_sleeve("ETH", target="0.30")
    text, cfg = check_form(SAMPLE, f, "x")
    assert [s.target for s in cfg.sleeves] == [0.40, 0.30, 0.15, 0.15]
    assert cfg.sleeve("BTC").band_rel == 0.2
    comments = [ln[ln.index("#"):] for ln in SAMPLE.splitlines() if "#" in ln]
    assert all(c in text for c in comments)
    # the 5/25 rule, tighter wins: BTC's band is min(0.05, 0.2 × 0.40) = 0.05
    assert cfg.band_halfwidth(cfg.sleeve("BTC")) == pytest.approx(min(0.05, 0.2 * 0.40))


def test_a_blank_sleeve_band_falls_back_to_the_portfolios() -> None:
    text, cfg = check_form(SAMPLE, form().with_sleeve("ALTS", band_abs=""), "x")
    assert cfg.sleeve("ALTS").band_abs is None
    assert cfg.band_halfwidth(cfg.sleeve("ALTS")) == pytest.approx(min(0.05, 0.25 * 0.15))


def test_targets_that_do_not_add_up_are_named_with_the_fix() -> None:
    f = form().with_sleeve("BTC", target="0.5")
    assert targets_sum(f) == pytest.approx(0.5 + 0.25 + 0.15 + 0.15)
    with pytest.raises(UserError, match=r"add up to 1\.0500, not 1.*adjust the targets"):
        check_form(SAMPLE, f, "x")


@pytest.mark.parametrize(("change", "field", "fix"), [
    ({"target": "abc"}, r"sleeves\[BTC\]\.target", "not a number; type a fraction of NAV"),
    ({"target": ""}, r"sleeves\[BTC\]\.target", "is empty"),
    ({"band_abs": "2"}, r"sleeves\[BTC\]\.band_abs", "must be from 0 to 1"),
])
def test_a_bad_figure_names_its_field_and_the_fix(change: dict, field: str, fix: str) -> None:
    with pytest.raises(UserError, match=f"{field}.*{fix}"):
        check_form(SAMPLE, form().with_sleeve("BTC", **change), "x")


def test_policy_and_warn_share() -> None:
    from dataclasses import replace

    text, cfg = check_form(SAMPLE, replace(form(), band_policy="absolute", warn_fraction="0.5"), "x")
    assert cfg.portfolio.band_policy.value == "absolute" and cfg.portfolio.warn_fraction == 0.5
    assert cfg.band_halfwidth(cfg.sleeve("BTC")) == 0.05
    with pytest.raises(UserError, match="warn_fraction"):
        check_form(SAMPLE, replace(form(), warn_fraction="0"), "x")
