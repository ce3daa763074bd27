"""NYSE trading calendar: counts across weekends and holidays, and every quarter end of 2026–2027.

All dates are hand-listed here (checked against a wall calendar), not computed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from console.core.nyse import (
    holiday_name,
    is_trading_day,
    last_trading_day_of_quarter,
    quarter_end_alert,
    quarter_end_window,
    surely_outside_window,
    trading_days_between,
    trading_days_left_in_quarter,
    window_start_of_quarter,
)

D = dt.date


@pytest.mark.parametrize("day, trading", [
    (D(2026, 4, 3), False),   # Good Friday 2026
    (D(2026, 4, 2), True),    # Thursday before it
    (D(2026, 7, 3), False),   # Independence Day observed (July 4 2026 is a Saturday)
    (D(2026, 7, 4), False),   # Saturday
    (D(2026, 7, 6), True),    # Monday after
    (D(2026, 12, 25), False),  # Christmas, a Friday
    (D(2026, 12, 24), True),  # Christmas Eve: an early close, still a session
    (D(2026, 11, 27), True),  # day after Thanksgiving: early close, a session
    (D(2026, 11, 26), False),  # Thanksgiving
    (D(2026, 11, 21), False),  # Saturday
    (D(2027, 3, 26), False),  # Good Friday 2027
    (D(2027, 12, 24), False),  # Christmas 2027 (Saturday) observed on Friday the 24th
    (D(2027, 12, 31), True),  # New Year 2028 falls on a Saturday: NYSE does not close Friday
    (D(2027, 7, 5), False),   # Independence Day 2027 (Sunday) observed Monday
])
def test_is_trading_day(day: dt.date, trading: bool) -> None:
    assert is_trading_day(day) is trading


def test_holiday_names_come_from_the_library() -> None:
    assert holiday_name(D(2026, 4, 3)) == "Good Friday"
    assert "observed" in (holiday_name(D(2026, 7, 3)) or "")
    assert holiday_name(D(2026, 7, 2)) is None


def test_counts_across_weekends_and_holidays() -> None:
    # Mon 03-30, Tue 03-31, Wed 04-01, Thu 04-02, [Fri 04-03 Good Friday], Mon 04-06, Tue 04-07 = 6
    assert trading_days_between(D(2026, 3, 30), D(2026, 4, 7)) == 6
    # Wed 07-01, Thu 07-02, [Fri 07-03 observed July 4th, Sat, Sun], Mon 07-06, Tue 07-07 = 4
    assert trading_days_between(D(2026, 7, 1), D(2026, 7, 7)) == 4
    # Mon 12-21 .. Thu 12-24 (4), [Fri 12-25 Christmas, Sat, Sun], Mon 12-28 .. Thu 12-31 (4) = 8
    assert trading_days_between(D(2026, 12, 21), D(2026, 12, 31)) == 8
    assert trading_days_between(D(2026, 12, 31), D(2026, 12, 21)) == 0


def test_trading_days_left_counts_today_when_it_is_a_session() -> None:
    assert trading_days_left_in_quarter(D(2026, 12, 21)) == 8   # Mon: 21,22,23,24,28,29,30,31
    assert trading_days_left_in_quarter(D(2026, 12, 24)) == 5   # 24,28,29,30,31
    assert trading_days_left_in_quarter(D(2026, 12, 25)) == 4   # holiday: 28,29,30,31
    assert trading_days_left_in_quarter(D(2026, 12, 26)) == 4   # Saturday: same
    assert trading_days_left_in_quarter(D(2026, 12, 31)) == 1   # the last session itself
    assert trading_days_left_in_quarter(D(2026, 3, 28)) == 2    # Sat: Mon 30, Tue 31
    # From Sat 2026-11-21: Nov 23,24,25,[26 Thanksgiving],27,30 = 5; Dec 1-4 = 4, 7-11 = 5,
    # 14-18 = 5, 21-24 = 4, [25], 28-31 = 4  ->  5+4+5+5+4+4 = 27
    assert trading_days_left_in_quarter(D(2026, 11, 21)) == 27
    # Q3 2026 from Wed 07-01: July 23 weekdays − Jul 3 = 22; August 21 weekdays;
    # September 22 weekdays − Labor Day 09-07 = 21  ->  64
    assert trading_days_left_in_quarter(D(2026, 7, 1)) == 64
    # Q2 2026 from Wed 04-01: Good Friday is inside the count: April 22 weekdays − 1 = 21 ...
    assert trading_days_between(D(2026, 4, 1), D(2026, 4, 30)) == 21


# (year, quarter, last trading day, first day of the 5-session window) — hand-listed
QUARTER_ENDS = [
    (2026, 1, D(2026, 3, 31), D(2026, 3, 25)),    # Tue; 31,30,27,26,25
    (2026, 2, D(2026, 6, 30), D(2026, 6, 24)),    # Tue; 30,29,26,25,24
    (2026, 3, D(2026, 9, 30), D(2026, 9, 24)),    # Wed; 30,29,28,25,24
    (2026, 4, D(2026, 12, 31), D(2026, 12, 24)),  # Thu; 31,30,29,28,[25 Christmas],24
    (2027, 1, D(2027, 3, 31), D(2027, 3, 24)),    # Wed; 31,30,29,[26 Good Friday],25,24
    (2027, 2, D(2027, 6, 30), D(2027, 6, 24)),    # Wed; 30,29,28,25,24
    (2027, 3, D(2027, 9, 30), D(2027, 9, 24)),    # Thu; 30,29,28,27,24
    (2027, 4, D(2027, 12, 31), D(2027, 12, 27)),  # Fri; 31,30,29,28,27 ([24] observed Christmas)
    (2028, 3, D(2028, 9, 29), D(2028, 9, 25)),    # Sep 30 2028 is a Saturday: ends Fri 29
]


@pytest.mark.parametrize("year, q, last, start", QUARTER_ENDS)
def test_every_quarter_end(year: int, q: int, last: dt.date, start: dt.date) -> None:
    assert last_trading_day_of_quarter(year, q) == last
    assert window_start_of_quarter(year, q) == start
    assert trading_days_between(start, last) == 5
    w = quarter_end_window(start)
    assert (w.year, w.quarter, w.start, w.end, w.inside, w.trading_days_left) == (year, q, start, last, True, 5)
    before = quarter_end_window(start - dt.timedelta(days=1))
    assert not before.inside and before.start == start
    assert quarter_end_window(last).trading_days_left == 1


def test_window_covers_the_weekend_inside_it() -> None:
    w = quarter_end_window(D(2026, 12, 26))  # Saturday between 12-24 and 12-28
    assert w.inside and w.trading_days_left == 4
    assert w.sentence() == ("4 trading days left in Q4 2026; INSIDE the quarter-end window "
                            "(2026-12-24 → 2026-12-31), when calendar-rule funds rebalance")


def test_after_the_last_session_the_next_quarter_is_shown() -> None:
    assert trading_days_left_in_quarter(D(2028, 9, 30)) == 0  # Saturday after Q3 2028's last session
    w = quarter_end_window(D(2028, 9, 30))
    assert (w.label, w.inside) == ("Q4 2028", False)
    w = quarter_end_window(D(2027, 1, 4))
    assert (w.label, w.start, w.inside) == ("Q1 2027", D(2027, 3, 24), False)
    assert quarter_end_window(D(2026, 11, 21)).sentence() == (
        "27 trading days left in Q4 2026; window opens 2026-12-24, last trading day 2026-12-31")


def test_alert_fires_once_on_entering_the_window() -> None:
    msg = quarter_end_alert(D(2026, 12, 23), D(2026, 12, 24))
    assert msg is not None
    assert "Q4 2026" in msg and "5 trading days left" in msg and "2026-12-31" in msg
    assert quarter_end_alert(D(2026, 12, 24), D(2026, 12, 28)) is None  # already inside
    assert quarter_end_alert(D(2026, 12, 22), D(2026, 12, 23)) is None  # not yet
    assert quarter_end_alert(D(2026, 12, 31), D(2027, 1, 4)) is None  # left it
    assert quarter_end_alert(D(2026, 9, 25), D(2026, 12, 24)) is not None  # Q3's window then Q4's
    assert quarter_end_alert(D(2026, 12, 1), D(2026, 12, 26)) is not None  # entered over a weekend
    assert quarter_end_alert(None, D(2026, 12, 28)) is not None  # start-up inside the window
    assert quarter_end_alert(None, D(2026, 12, 1)) is None


def test_the_calendar_free_shortcut_never_misses_a_window() -> None:
    # every date of 16 years: a date the shortcut calls outside is outside by the calendar
    d = D(2020, 1, 1)
    while d <= D(2035, 12, 31):
        if surely_outside_window(d):
            assert not quarter_end_window(d).inside, d
        d += dt.timedelta(days=1)
    # and it decides most of a quarter: Dec 10 is 21 days before Dec 31, Dec 9 is 22
    assert surely_outside_window(D(2026, 12, 9)) and not surely_outside_window(D(2026, 12, 10))


def test_an_alert_far_from_the_quarter_end_does_not_load_the_calendar() -> None:
    from console.core import nyse

    nyse._calendar.cache_clear()  # noqa: SLF001 - the slow part the console's first figures wait for
    assert quarter_end_alert(None, D(2026, 11, 2)) is None
    assert nyse._calendar.cache_info().currsize == 0  # noqa: SLF001
