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


def test_one_slicing_rule_children_add_up_and_stay_on_the_lot() -> None:
    from console.core.lots import split

    def floor_to(step: float):  # noqa: ANN202
        return lambda x: math.floor(x / step + 1e-9) * step

    # 1.0 in 3 slices on a 0.1 lot: 0.3 + 0.3 + 0.4 (n-1 children rounded down, the last the rest)
    parts = split(1.0, 3, floor_to(0.1))
    assert len(parts) == 3 and all(math.isclose(a, b) for a, b in zip(parts, (0.3, 0.3, 0.4), strict=True))
    assert math.isclose(sum(parts), 1.0)
    # a child under one lot: no slicing at all (the caller says why, or uses fewer slices)
    assert split(0.2, 3, floor_to(0.1)) == ()
    assert split(5.0, 1, floor_to(0.1)) == (5.0,)
