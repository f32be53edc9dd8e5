"""
Tests of time arithmetic: `shift` adds a span exactly as ``datetime + span`` does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dateutil.relativedelta import MO, relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from permission_networking._time import shift


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


def test_a_span_past_the_calendar_fails_as_plus_does() -> None:
    """A window that ends after year 9999 raises the error ``+`` raises."""
    at = datetime(9999, 6, 1, tzinfo=UTC)

    with pytest.raises(ValueError, match="year"):
        at + relativedelta(years=2)
    with pytest.raises(ValueError, match="year"):
        shift(at, relativedelta(years=2))
