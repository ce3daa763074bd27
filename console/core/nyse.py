"""NYSE trading calendar for the quarter-end rebalancing window (pure, no I/O).

Holidays come from the maintained ``holidays`` package (its NYSE financial calendar), so
observed holidays (July 4th on a Saturday is closed on Friday the 3rd), Good Friday and the
NYSE's own rules (no Friday closure when New Year's Day falls on a Saturday) are not
hand-rolled here. Early-close sessions (the day after Thanksgiving, Christmas Eve) are full
trading days for this purpose: funds can and do trade in them.

Definitions used everywhere in the console:

- A *trading day* is a weekday that is not an NYSE holiday.
- ``trading_days_left_in_quarter(d)`` counts the trading days from ``d`` **inclusive** to the
  quarter's last trading day inclusive. Today counts when it is a trading day, because its
  session (and its closing auction, where index funds trade) is still ahead of a trader who
  looks at the console during the day. On the last trading day the count is 1; on a weekend
  it counts from the next session; after the last trading day it is 0.
- The *quarter-end window* is the last ``WINDOW_DAYS`` (5) trading days of a calendar quarter.
  A date is *inside* it when ``window start <= date <= last trading day`` (a weekend between
  two window sessions is inside).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import holidays

WINDOW_DAYS = 5
# No quarter-end window starts further than this before its quarter's last calendar day: the
# last session is at most 3 days before it (a weekend and a holiday), and the 5 sessions before
# that span at most 2 weekends and 2 holidays (11 days). The margin keeps it safe for any
# calendar the library may ship; tests/flows check it against every date of several years.
WINDOW_REACH_DAYS = 21


@lru_cache(maxsize=1)
def _calendar() -> holidays.HolidayBase:
    # The object expands itself to any year it is asked about, so one instance serves all.
    # Imported here: the package takes a while to load, and most dates never need it.
    import holidays

    return holidays.financial_holidays("NYSE")


def holiday_name(d: dt.date) -> str | None:
    """The NYSE holiday on ``d`` (e.g. "Good Friday"), or None."""
    return _calendar().get(d)


def is_trading_day(d: dt.date) -> bool:
    return d.weekday() < 5 and d not in _calendar()


def quarter_of(d: dt.date) -> tuple[int, int]:
    """(year, quarter 1..4) of a date."""
    return d.year, (d.month - 1) // 3 + 1


def quarter_label(year: int, quarter: int) -> str:
    return f"Q{quarter} {year}"


def quarter_first_day(year: int, quarter: int) -> dt.date:
    return dt.date(year, 3 * (quarter - 1) + 1, 1)


def quarter_last_day(year: int, quarter: int) -> dt.date:
    """Last calendar day of the quarter (Mar 31, Jun 30, Sep 30, Dec 31)."""
    if quarter == 4:
        return dt.date(year, 12, 31)
    return quarter_first_day(year, quarter + 1) - dt.timedelta(days=1)


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def previous_trading_day(d: dt.date) -> dt.date:
    """The latest trading day on or before ``d``."""
    while not is_trading_day(d):
        d -= dt.timedelta(days=1)
    return d


def next_trading_day(d: dt.date) -> dt.date:
    """The earliest trading day on or after ``d``."""
    while not is_trading_day(d):
        d += dt.timedelta(days=1)
    return d


def last_trading_day_of_quarter(year: int, quarter: int) -> dt.date:
    return previous_trading_day(quarter_last_day(year, quarter))


def trading_days_between(start: dt.date, end: dt.date) -> int:
    """Trading days in ``[start, end]``, both ends included; 0 when end < start."""
    n = 0
    d = start
    while d <= end:
        n += is_trading_day(d)
        d += dt.timedelta(days=1)
    return n


def trading_days_left_in_quarter(d: dt.date) -> int:
    """Trading days from ``d`` (inclusive, if a trading day) to the quarter's last trading day."""
    return trading_days_between(d, last_trading_day_of_quarter(*quarter_of(d)))


def window_start_of_quarter(year: int, quarter: int, days: int = WINDOW_DAYS) -> dt.date:
    """First session of the last ``days`` trading days of the quarter."""
    d = last_trading_day_of_quarter(year, quarter)
    for _ in range(days - 1):
        d = previous_trading_day(d - dt.timedelta(days=1))
    return d


@dataclass(frozen=True)
class QuarterWindow:
    """The quarter-end window relevant on ``date``.

    That is the current quarter's window while its last trading day is still ahead (or is
    ``date``), else the next quarter's (a date after the last session of a quarter, such as
    Saturday 2028-09-30, already looks at the next one).
    """

    date: dt.date
    year: int
    quarter: int
    start: dt.date  # first session of the window
    end: dt.date  # last trading day of the quarter
    inside: bool
    trading_days_left: int  # from date (inclusive) to end; see the module docstring

    @property
    def label(self) -> str:
        return quarter_label(self.year, self.quarter)

    def sentence(self) -> str:
        """One line for the console and the CLI."""
        n = self.trading_days_left
        days = f"{n} trading day{'s' if n != 1 else ''} left in {self.label}"
        if self.inside:
            return (f"{days}; INSIDE the quarter-end window ({self.start.isoformat()} → "
                    f"{self.end.isoformat()}), when calendar-rule funds rebalance")
        return f"{days}; window opens {self.start.isoformat()}, last trading day {self.end.isoformat()}"


def quarter_end_window(d: dt.date, days: int = WINDOW_DAYS) -> QuarterWindow:
    year, q = quarter_of(d)
    end = last_trading_day_of_quarter(year, q)
    if d > end:  # past the last session but still in the calendar quarter
        year, q = next_quarter(year, q)
        end = last_trading_day_of_quarter(year, q)
    start = window_start_of_quarter(year, q, days)
    return QuarterWindow(
        date=d, year=year, quarter=q, start=start, end=end,
        inside=start <= d <= end, trading_days_left=trading_days_between(d, end),
    )


def surely_outside_window(d: dt.date) -> bool:
    """True when ``d`` is too far from its quarter's end to be in a quarter-end window, decided
    without the holiday calendar (the library's financial calendars take ~0.2 s to load, and
    the console's first figures wait for the first alerts)."""
    return (quarter_last_day(*quarter_of(d)) - d).days > WINDOW_REACH_DAYS


def quarter_end_alert(prev_date: dt.date | None, date: dt.date) -> str | None:
    """A message when ``date`` is inside a quarter-end window that ``prev_date`` was not in.

    The console calls it with the date it last looked at and today's date (at start-up pass
    ``prev_date=None``: a console started inside the window alerts once). Moving within the
    same window, or between two dates outside any window, gives None.
    """
    if surely_outside_window(date):
        return None
    now = quarter_end_window(date)
    if not now.inside:
        return None
    if prev_date is not None:
        before = quarter_end_window(prev_date)
        if before.inside and (before.year, before.quarter) == (now.year, now.quarter):
            return None
    return (f"Quarter-end window open for {now.label}: {now.trading_days_left} trading "
            f"day{'s' if now.trading_days_left != 1 else ''} left (last session "
            f"{now.end:%a} {now.end.isoformat()}); multi-asset funds rebalance now — "
            "check `rebal-tui flows`")
