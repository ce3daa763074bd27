"""One reader for figures from venues, files and configs: a figure that cannot be read is
unknown (None), never a number that passes as one."""

from __future__ import annotations

import math

import pytest

from console.core.numbers import num, whole


@pytest.mark.parametrize("raw", [None, "", "abc", "nan", float("nan"), float("inf"), "-Infinity", [], {}, True])
def test_what_is_not_a_finite_number_is_unknown(raw: object) -> None:
    assert num(raw) is None


@pytest.mark.parametrize(("raw", "want"), [("71713.15", 71713.15), (12, 12.0), (-0.25, -0.25), ("1e-5", 1e-5)])
def test_numbers_and_numeric_text_are_read(raw: object, want: float) -> None:
    got = num(raw)
    assert got is not None and math.isclose(got, want, rel_tol=0, abs_tol=0)


def test_a_flattened_leg_never_reads_minus_zero() -> None:
    assert whole(-0.3) == "0" and whole(-0.0) == "0"
