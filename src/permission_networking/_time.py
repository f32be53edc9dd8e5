"""
Time: parsing, checking and the one place that asks the clock.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, datetime, timedelta
from typing import Final, TypeAlias

from dateutil.relativedelta import relativedelta


Duration: TypeAlias = timedelta | relativedelta
"""
A span of time: a `timedelta` for day counts, a `relativedelta` for spans
people say in calendar months or years ("2 years" is not 730 days).
"""

Instant: TypeAlias = datetime | str
"""
A point in time: an aware `datetime`, or an ISO 8601 string with an offset or ``Z``.
"""


def now() -> datetime:
    """
    Return the current time in UTC: the default of every ``at``.
    """
    return datetime.now(UTC)


def parse_instant(value: object) -> datetime:
    """
    Return *value* as an aware `datetime` in UTC.

    Raises:
        TypeError: *value* is neither a `datetime` nor a `str`.
        ValueError: *value* is naive or cannot be parsed; the message says why.
    """
    if isinstance(value, str):
        if value.endswith("z"):
            # RFC 3339 allows a lowercase z, which fromisoformat refuses.
            value = value[:-1] + "Z"
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            msg = "not an ISO 8601 time; write it like 2026-02-08T09:30:00+00:00"
            raise ValueError(msg) from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        msg = "expected an aware datetime or an ISO 8601 string"
        raise TypeError(msg)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        msg = "a time without a UTC offset is ambiguous; give an offset or Z"
        raise ValueError(msg)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        msg = "out of range: in UTC it falls before year 1 or after year 9999"
        raise ValueError(msg) from None


def format_instant(value: datetime) -> str:
    """
    Return *value* as an ISO 8601 string with its offset.
    """
    return value.isoformat()


_RELATIVE_UNITS: Final = (
    "years",
    "months",
    "days",
    "leapdays",
    "hours",
    "minutes",
    "seconds",
    "microseconds",
)
_ABSOLUTE_UNITS: Final = (
    "year",
    "month",
    "day",
    "weekday",
    "hour",
    "minute",
    "second",
    "microsecond",
)
_ZERO: Final = timedelta(0)


def span_problem(value: object) -> str | None:
    """
    Return what is wrong with *value* as a span of time, or None when it is one.

    A span is a `timedelta` of at least 0, or a `relativedelta` with no
    negative part and no absolute year, month, day or weekday.
    """
    if type(value) is timedelta and value >= _ZERO:
        return None
    if not isinstance(value, timedelta | relativedelta):
        return "expected a timedelta or a dateutil relativedelta"
    if isinstance(value, timedelta):
        wrong = value < _ZERO
    else:
        # `not >= 0` also refuses a NaN, which no comparison holds for.
        wrong = any(not getattr(value, unit) >= 0 for unit in _RELATIVE_UNITS) or any(
            getattr(value, unit) is not None for unit in _ABSOLUTE_UNITS
        )
    if wrong:
        return (
            "expected a span of time of at least 0, like timedelta(days=30) or "
            "relativedelta(months=6) (no negative part, no absolute year, month, day or weekday)"
        )
    return None


END: Final = datetime.max.replace(tzinfo=UTC)
"""
The last instant a `datetime` holds: a span that would end after it ends here.
"""


def within(since: datetime | None, at: datetime, span: Duration) -> bool:
    """
    Whether *at* lies in the span that began at *since*: ``since <= at < since + span``.

    A span that would end after the last instant a `datetime` holds ends
    there, as `shift` has it.
    """
    if since is None or at < since:
        return False
    try:
        return at < since + span
    except (OverflowError, ValueError):
        return at < END


def shift(at: datetime, span: Duration) -> datetime:
    """
    Return ``at + span``, or `END` when that falls after the last instant a `datetime` holds.

    A `relativedelta` of whole years, months and days only (as the legal
    windows are) is added here with the same result as `relativedelta`'s
    general path: the day of the month kept, or the month's last day when it
    has fewer. Any other span is added as it is.
    """
    try:
        return _shift(at, span)
    except (OverflowError, ValueError):
        return END


def _shift(at: datetime, span: Duration) -> datetime:
    if type(span) is timedelta:
        return at + span
    if (
        type(span) is not relativedelta
        or span.leapdays
        or span.hours
        or span.minutes
        or span.seconds
        or span.microseconds
        or span.weekday is not None
        or span.year is not None
        or span.month is not None
        or span.day is not None
        or span.hour is not None
        or span.minute is not None
        or span.second is not None
        or span.microsecond is not None
        or not -12 <= span.months <= 12  # noqa: PLR2004
    ):
        return at + span
    year = at.year + span.years
    month = at.month + span.months
    # relativedelta keeps months within a year of zero, carrying the rest into years.
    if month > 12:  # noqa: PLR2004
        year += 1
        month -= 12
    elif month < 1:
        year -= 1
        month += 12
    moved = at.replace(year=year, month=month, day=min(monthrange(year, month)[1], at.day))
    return moved + timedelta(days=span.days) if span.days else moved
