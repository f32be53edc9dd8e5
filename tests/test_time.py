"""
Tests of time arithmetic at the ends of the calendar, too.

`shift` adds a span exactly as ``datetime + span`` does, up to the last instant
a datetime holds; calling hours are found where a local date cannot be written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dateutil.relativedelta import MO, relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from permission_networking._rules import next_call_time
from permission_networking._time import END, shift


# Far enough from the ends of the calendar for every span drawn.
TIMES = st.datetimes(
    min_value=datetime(10, 1, 1),  # noqa: DTZ001
    max_value=datetime(9990, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]),
)
PLAIN = st.builds(
    relativedelta,
    years=st.integers(-2, 2),
    months=st.integers(-30, 30),
    days=st.integers(-400, 400),
)
OTHER = st.one_of(
    st.builds(relativedelta, months=st.integers(-3, 3), hours=st.integers(-48, 48)),
    st.builds(relativedelta, months=st.integers(-3, 3), day=st.integers(1, 31)),
    st.builds(relativedelta, years=st.integers(0, 2), leapdays=st.integers(-1, 1)),
    st.just(relativedelta(months=1, weekday=MO(1))),
    st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400)),
)


@settings(max_examples=500)
@given(at=TIMES, span=PLAIN | OTHER)
def test_shift_adds_as_datetime_plus_span_does(at: datetime, span: relativedelta) -> None:
    """Every span, whole years, months and days or anything else, lands where ``+`` puts it."""
    assert at + span == shift(at, span)
    assert (at + span).utcoffset() == shift(at, span).utcoffset()


@pytest.mark.parametrize(
    ("at", "span", "expected"),
    [
        (
            datetime(2026, 1, 31, tzinfo=UTC),
            relativedelta(months=1),
            datetime(2026, 2, 28, tzinfo=UTC),
        ),
        (
            datetime(2024, 2, 29, tzinfo=UTC),
            relativedelta(years=1),
            datetime(2025, 2, 28, tzinfo=UTC),
        ),
        (
            datetime(2026, 11, 30, tzinfo=UTC),
            relativedelta(months=3),
            datetime(2027, 2, 28, tzinfo=UTC),
        ),
        (
            datetime(2026, 12, 5, tzinfo=UTC),
            relativedelta(months=1),
            datetime(2027, 1, 5, tzinfo=UTC),
        ),
        (
            datetime(2026, 1, 5, tzinfo=UTC),
            relativedelta(months=-1),
            datetime(2025, 12, 5, tzinfo=UTC),
        ),
        (
            datetime(2026, 3, 31, tzinfo=UTC),
            relativedelta(months=-1),
            datetime(2026, 2, 28, tzinfo=UTC),
        ),
        (
            datetime(2026, 1, 15, tzinfo=UTC),
            relativedelta(months=6, days=1),
            datetime(2026, 7, 16, tzinfo=UTC),
        ),
    ],
)
def test_the_day_of_the_month_is_kept_or_the_months_last(
    at: datetime, span: relativedelta, expected: datetime
) -> None:
    """A month later from the 31st is the month's last day, as the law's windows count."""
    assert expected == shift(at, span)


@pytest.mark.parametrize(
    "span", [relativedelta(years=2), relativedelta(months=8, days=3), timedelta(days=400)]
)
def test_a_span_past_the_calendar_ends_at_its_last_instant(span: timedelta) -> None:
    """A window that would end after year 9999 ends at the last instant a datetime holds."""
    at = datetime(9999, 6, 1, tzinfo=UTC)

    assert END == shift(at, span)
    assert datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) == END


@pytest.mark.parametrize(
    ("at", "zone", "opens"),
    [
        # In New York's local mean time (-4:56:02), 03:00 UTC on 1 January of
        # year 1 is 22:03:58 on a day before the calendar begins.
        ("0001-01-01T03:00:00+00:00", "America/New_York", "0001-01-01T12:56:02+00:00"),
        ("0001-01-01T15:00:00+00:00", "America/New_York", None),
        # Los Angeles (-7:52:58): half a second past is still the second before 21:07:02.
        ("0001-01-01T05:00:00.500000+00:00", "America/Los_Angeles", "0001-01-01T15:52:58+00:00"),
        # In Tokyo (+9), the last hour of year 9999 in UTC is 08:00 in year 10000.
        ("9999-12-31T23:00:00+00:00", "Asia/Tokyo", None),
        ("9999-12-31T14:00:00+00:00", "Asia/Tokyo", "9999-12-31T23:00:00+00:00"),
        ("9999-12-31T12:00:00+00:00", "Asia/Tokyo", "9999-12-31T23:00:00+00:00"),
    ],
)
def test_calling_hours_at_the_ends_of_the_calendar(at: str, zone: str, opens: str | None) -> None:
    """Where the local date cannot be written, the local hour is read off the zone's offset."""
    found = next_call_time(datetime.fromisoformat(at), zone, (8, 21))

    assert opens == (None if found is None else found.isoformat())


def _offset_changes(zone: str, year: int) -> list[datetime]:
    # The hours of *year* (UTC) in which *zone* changes its offset.
    tz = ZoneInfo(zone)
    hour = datetime(year, 1, 1, tzinfo=UTC)
    found = []
    while hour.year == year:
        if (
            hour.astimezone(tz).utcoffset()
            != (hour + timedelta(hours=1)).astimezone(tz).utcoffset()
        ):
            found.append(hour)
        hour += timedelta(hours=1)
    return found


def _in_hours(at: datetime, zone: str, hours: tuple[int, int]) -> bool:
    return hours[0] <= at.astimezone(ZoneInfo(zone)).hour < hours[1]


@pytest.mark.parametrize(
    "zone",
    [
        "America/New_York",
        "Europe/Berlin",
        "Antarctica/Troll",
        "Pacific/Chatham",
        "Australia/Lord_Howe",
    ],
)
def test_calling_hours_open_at_the_first_instant_across_clock_changes(zone: str) -> None:
    """
    Around every change of the clocks, the opening found is in hours and nothing before it is.

    Calling hours may begin in an hour the change skips (so the change opens
    them), in one it repeats (so they open again sooner), or on a day that has
    none of them (so they open the day after).
    """
    quarter = timedelta(minutes=15)
    for change in _offset_changes(zone, 2024):
        for hours in [(8, 21), (2, 21), (2, 3), (1, 2), (3, 4), (0, 1), (23, 24)]:
            for step in range(-16, 17):
                at = change + step * quarter + timedelta(minutes=1)
                opens = next_call_time(at, zone, hours)

                if opens is None:
                    assert _in_hours(at, zone, hours)
                    continue
                assert _in_hours(opens, zone, hours)
                before = [at, opens - timedelta(microseconds=1)]
                moment = change + step * quarter + quarter
                while moment < opens:
                    before.append(moment)
                    moment += quarter
                assert not any(_in_hours(t, zone, hours) for t in before), (at, hours, opens)
