"""Dates as notes write them: ISO, 2022.01.25, 20220125, 22.01.25, 2022년 1월 25일,
January 25 2022."""

from __future__ import annotations

import datetime as dt
import re

from dateutil import parser as dateparser

_KOREAN = re.compile(r"(\d{2,4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일?")
# Two defaults that differ in every field: a part missing from the text shows up as a
# difference, so "March" or "25" is refused instead of being completed with today's date.
_DEFAULT_A = dt.datetime(2001, 1, 1)
_DEFAULT_B = dt.datetime(2002, 2, 2)


def _full_year(yy: int) -> int:
    return 2000 + yy if yy < 70 else 1900 + yy


def parse_date(value: object, *, day_first: bool = False) -> dt.date | None:
    """The calendar date `value` names, or None when it names none (never a made-up date).

    `day_first` switches two-digit-year forms like 25.01.22 to day first."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip().strip("\"'")
    if not text:
        return None
    try:
        if m := _KOREAN.search(text):
            year = int(m.group(1))
            return dt.date(
                _full_year(year) if year < 100 else year, int(m.group(2)), int(m.group(3))
            )
        a = dateparser.parse(text, default=_DEFAULT_A, yearfirst=not day_first, dayfirst=day_first)
        b = dateparser.parse(text, default=_DEFAULT_B, yearfirst=not day_first, dayfirst=day_first)
    except (ValueError, OverflowError):
        return None
    if a.date() != b.date():
        return None
    return a.date()


_PATH_FILE = re.compile(r"(?<!\d)(\d{4})[-_.](\d{2})[-_.](\d{2})(?!\d)")
_PATH_DIRS = re.compile(r"(?:^|/)(\d{4})/(\d{1,2})/(\d{1,2})(?:/|$)")


def date_from_path(path: str) -> dt.date | None:
    """A date written in the file name (2022-01-25-title.md) or folders (2022/01/25/)."""
    name = path.rsplit("/", 1)[-1]
    for pattern, text in ((_PATH_FILE, name), (_PATH_DIRS, path)):
        if m := pattern.search(text):
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                continue
    return None
