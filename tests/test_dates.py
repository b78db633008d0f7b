"""Dates as notes write them, and never a made-up one."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studylog.notes.dates import date_from_path, parse_date

D = dt.date(2022, 1, 25)


@pytest.mark.parametrize(
    "text",
    [
        "2022-01-25",
        "2022-01-25T21:30:00",
        "2022-01-25T21:30:00+09:00",
        "2022-01-25 21:30",
        "2022.01.25",
        "2022/01/25",
        "20220125",
        "22.01.25",
        "2022년 1월 25일",
        "2022년 01월 25일 화요일",
        "January 25, 2022",
        "25 Jan 2022",
        "Jan 25 2022",
    ],
)
def test_every_listed_spelling_reads_as_the_same_day(text):
    assert parse_date(text) == D


def test_yaml_dates_and_datetimes_pass_through():
    assert parse_date(D) == D
    assert parse_date(dt.datetime(2022, 1, 25, 9, 0)) == D


def test_two_digit_year_is_year_first_unless_settings_say_day_first():
    assert parse_date("22.01.25") == D
    assert parse_date("25.01.22", day_first=True) == D


@pytest.mark.parametrize("text", ["", "March", "25", "tomorrow", "2022-13-45", "not a date", "2월"])
def test_text_that_names_no_whole_date_gives_none(text):
    assert parse_date(text) is None


@given(st.text(max_size=30))
def test_parse_date_never_raises(text):
    result = parse_date(text)
    assert result is None or isinstance(result, dt.date)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("2022-01-25-autograd.md", D),
        ("pytorch/2022-01-25-autograd.md", D),
        ("2022/01/25/autograd.md", D),
        ("2022/1/25/autograd.md", D),
        ("autograd.md", None),
        ("2022-13-99-x.md", None),
    ],
)
def test_dates_from_the_path(path, expected):
    assert date_from_path(path) == expected
