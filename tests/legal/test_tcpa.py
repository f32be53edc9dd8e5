"""
Tests for Policy.tcpa(): calling hours in the contact's zone (daylight-saving days too) and written consent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest

from hypothesis import given
from hypothesis import strategies as st

from permission_networking import Evidence, Policy, check
from timeline import Log, day


TCPA = Policy.tcpa()
NEW_YORK = "America/New_York"
WRITTEN = Evidence(
    "written", text="I agree to receive marketing texts; not a condition of purchase"
)


def utc(year: int, month: int, mday: int, hour: int, minute: int) -> datetime:
    """
    Return the UTC time of the given year, month, day, hour and minute.
    """
    return datetime(year, month, mday, hour, minute, tzinfo=UTC)


def in_zone(zone: str | None) -> Log:
    """
    A log whose contact lives in *zone* (unknown when None), recorded on 2026-01-01.
    """
    log = Log()
    if zone is not None:
        log.add("profile_updated", utc(2026, 1, 1, 0, 0), metadata={"timezone": zone})
    return log


class HoursRow(NamedTuple):
    name: str
    at: datetime
    retry_at: datetime | None


HOURS = [
    HoursRow("winter: 08:00 EST opens", utc(2026, 1, 15, 13, 0), None),
    HoursRow("winter: 07:59 EST is early", utc(2026, 1, 15, 12, 59), utc(2026, 1, 15, 13, 0)),
    HoursRow("winter: 20:59 EST is late enough", utc(2026, 1, 16, 1, 59), None),
    HoursRow(
        "winter: 21:00 EST closes until tomorrow", utc(2026, 1, 16, 2, 0), utc(2026, 1, 16, 13, 0)
    ),
    HoursRow("summer: 08:00 EDT opens", utc(2026, 7, 15, 12, 0), None),
    HoursRow("summer: 07:59 EDT is early", utc(2026, 7, 15, 11, 59), utc(2026, 7, 15, 12, 0)),
    HoursRow(
        "spring forward: 01:30 EST opens at 08:00 EDT",
        utc(2026, 3, 8, 6, 30),
        utc(2026, 3, 8, 12, 0),
    ),
    HoursRow("spring forward: 07:59 EDT is early", utc(2026, 3, 8, 11, 59), utc(2026, 3, 8, 12, 0)),
    HoursRow("spring forward: 08:00 EDT opens", utc(2026, 3, 8, 12, 0), None),
    HoursRow("spring forward eve: 21:00 EST closes", utc(2026, 3, 8, 2, 0), utc(2026, 3, 8, 12, 0)),
    HoursRow(
        "fall back eve: 21:30 EDT opens at 08:00 EST",
        utc(2026, 11, 1, 1, 30),
        utc(2026, 11, 1, 13, 0),
    ),
    HoursRow("fall back: 07:30 EST is early", utc(2026, 11, 1, 12, 30), utc(2026, 11, 1, 13, 0)),
    HoursRow("fall back: 08:00 EST opens", utc(2026, 11, 1, 13, 0), None),
    HoursRow("fall back: 20:59 EST", utc(2026, 11, 2, 1, 59), None),
    HoursRow("fall back: 21:00 EST closes", utc(2026, 11, 2, 2, 0), utc(2026, 11, 2, 13, 0)),
]


@pytest.mark.parametrize("row", HOURS, ids=[row.name for row in HOURS])
def test_calling_hours_in_new_york(row: HoursRow) -> None:
    """A call is allowed only 08:00-21:00 New York time, and retry_at is the next local 08:00."""
    decision = check(in_zone(NEW_YORK).relationship(), "call", at=row.at, policy=TCPA)

    assert (row.retry_at is None) == decision.allowed
    assert row.retry_at == decision.retry_at
    if row.retry_at is not None:
        assert ["quiet_hours"] == list(decision.codes)
        assert row.retry_at == decision.reasons[0].until


def test_the_next_opening_is_local_eight_oclock() -> None:
    """retry_at is 08:00 on the contact's wall clock, whatever the UTC offset that day."""
    decision = check(
        in_zone(NEW_YORK).relationship(), "call", at=utc(2026, 3, 8, 6, 30), policy=TCPA
    )

    assert decision.retry_at is not None
    local = decision.retry_at.astimezone(ZoneInfo(NEW_YORK))
    assert (8, 0, "EDT") == (local.hour, local.minute, local.tzname())


def test_an_unknown_zone_denies_calls_without_retry() -> None:
    """Without the contact's zone calling hours cannot be kept: timezone_unknown, no retry_at."""
    decision = check(in_zone(None).relationship(), "call", at=utc(2026, 1, 15, 15, 0), policy=TCPA)

    assert ["timezone_unknown"] == list(decision.codes)
    assert decision.reasons[0].until is None
    assert decision.retry_at is None


def test_call_hours_are_a_setting() -> None:
    """Policy.tcpa(call_hours=(8, 20)) closes at 20:00 local time."""
    rel = in_zone(NEW_YORK).relationship()
    at = utc(2026, 1, 16, 1, 30)  # 20:30 EST

    assert check(rel, "call", at=at, policy=TCPA).allowed
    assert ["quiet_hours"] == list(
        check(rel, "call", at=at, policy=Policy.tcpa(call_hours=(8, 20))).codes
    )


def test_other_zones() -> None:
    """The contact's own zone decides: 09:00 in Los Angeles is 17:00 UTC."""
    rel = in_zone("America/Los_Angeles").relationship()

    assert check(rel, "call", at=utc(2026, 1, 15, 17, 0), policy=TCPA).allowed
    assert not check(rel, "call", at=utc(2026, 1, 15, 15, 0), policy=TCPA).allowed


@given(minute=st.integers(min_value=0, max_value=366 * 24 * 60))
def test_calls_are_allowed_exactly_in_local_hours(minute: int) -> None:
    """Across a year of minutes, a call is allowed exactly when the local hour is 8 to 20."""
    at = datetime.fromtimestamp(utc(2026, 1, 1, 0, 0).timestamp() + minute * 60, UTC)
    decision = check(in_zone(NEW_YORK).relationship(), "call", at=at, policy=TCPA)

    local = at.astimezone(ZoneInfo(NEW_YORK))
    assert (8 <= local.hour < 21) == decision.allowed
    if not decision.allowed:
        assert decision.retry_at is not None
        opens = decision.retry_at.astimezone(ZoneInfo(NEW_YORK))
        assert (8, 0) == (opens.hour, opens.minute)
        assert at < decision.retry_at


def written(channel: str | None, purpose: str) -> Callable[[Log], Log]:
    """
    Return a step: written consent to *purpose* on *channel* (None: every channel) on day 0.
    """
    return lambda log: log.inbound(
        "opt_in_granted", 0, purpose=purpose, channel=channel or "other", evidence=WRITTEN
    )


def nothing(log: Log) -> Log:
    """
    Leave the log as it is.
    """
    return log


class ConsentRow(NamedTuple):
    name: str
    steps: Callable[[Log], Log]
    action: str
    kwargs: dict[str, Any]
    codes: list[str]


CONSENT = [
    ConsentRow(
        "marketing text with written consent",
        written("sms", "marketing"),
        "send_marketing",
        {"channel": "sms"},
        [],
    ),
    ConsentRow(
        "marketing text without consent",
        nothing,
        "send_marketing",
        {"channel": "sms"},
        ["no_consent"],
    ),
    ConsentRow(
        "marketing text on web-form consent",
        lambda log: log.inbound(
            "opt_in_granted", 0, purpose="marketing", channel="sms", evidence=Evidence("web_form")
        ),
        "send_marketing",
        {"channel": "sms"},
        ["consent_unproven"],
    ),
    ConsentRow(
        "marketing text on consent without evidence",
        lambda log: log.inbound("opt_in_granted", 0, purpose="marketing", channel="sms"),
        "send_marketing",
        {"channel": "sms"},
        ["consent_unproven"],
    ),
    ConsentRow(
        "written consent for every channel covers a text",
        written(None, "marketing"),
        "send_marketing",
        {"channel": "sms"},
        [],
    ),
    ConsentRow(
        "written consent for every channel covers a sales call",
        written(None, "sales"),
        "call",
        {"purpose": "sales"},
        [],
    ),
    ConsentRow(
        "written consent for every channel covers a pitch on an unknown channel",
        written(None, "sales"),
        "pitch",
        {},
        [],
    ),
    ConsentRow(
        "written consent for every channel without evidence in writing",
        lambda log: log.inbound(
            "opt_in_granted", 0, purpose="marketing", evidence=Evidence("web_form")
        ),
        "send_marketing",
        {"channel": "sms"},
        ["consent_unproven"],
    ),
    ConsentRow(
        "email consent is not text consent",
        written("email", "marketing"),
        "send_marketing",
        {"channel": "sms"},
        ["no_consent"],
    ),
    ConsentRow(
        "pitch by text with written consent",
        written("sms", "sales"),
        "pitch",
        {"channel": "sms"},
        [],
    ),
    ConsentRow(
        "pitch by text without consent", nothing, "pitch", {"channel": "sms"}, ["no_consent"]
    ),
    ConsentRow("a pitch on an unknown channel may be a text", nothing, "pitch", {}, ["no_consent"]),
    ConsentRow("a pitch by email is not TCPA's", nothing, "pitch", {"channel": "email"}, []),
    ConsentRow("marketing email is not TCPA's", nothing, "send_marketing", {}, []),
    ConsentRow("a list is not a text", nothing, "add_to_list", {"channel": "sms"}, []),
    ConsentRow(
        "sales call with written consent",
        written("phone", "sales"),
        "call",
        {"purpose": "sales"},
        [],
    ),
    ConsentRow("sales call without consent", nothing, "call", {"purpose": "sales"}, ["no_consent"]),
    ConsentRow(
        "sales call on text consent",
        written("sms", "sales"),
        "call",
        {"purpose": "sales"},
        ["no_consent"],
    ),
    ConsentRow("a call without a sales purpose", nothing, "call", {}, []),
    ConsentRow(
        "a revocation is final",
        lambda log: written("sms", "marketing")(log).inbound(
            "opt_out", 1, purpose="marketing", channel="sms"
        ),
        "send_marketing",
        {"channel": "sms"},
        ["consent_withdrawn"],
    ),
    ConsentRow(
        "a revocation of everything",
        lambda log: log.inbound("opt_out", 1),
        "call",
        {"purpose": "sales"},
        ["consent_withdrawn"],
    ),
    ConsentRow(
        "a marketing revocation stops sales texts",
        lambda log: log.inbound("opt_out", 1, purpose="marketing", channel="sms"),
        "pitch",
        {"channel": "sms"},
        ["consent_withdrawn"],
    ),
]


@pytest.mark.parametrize("row", CONSENT, ids=[row.name for row in CONSENT])
def test_written_consent_table(row: ConsentRow) -> None:
    """Marketing texts and sales calls need prior express written consent for that channel."""
    rel = row.steps(in_zone(NEW_YORK)).relationship()

    decision = check(rel, row.action, at=utc(2026, 3, 4, 15, 0), policy=TCPA, **row.kwargs)

    assert row.codes == list(decision.codes)
    assert () == decision.obligations
    assert "tcpa" == decision.policy


def test_the_evidence_method_is_read_loosely() -> None:
    """An evidence method written as 'Written ' still counts as written consent."""
    rel = (
        in_zone(NEW_YORK)
        .inbound(
            "opt_in_granted", 0, purpose="sales", channel="phone", evidence=Evidence("Written ")
        )
        .relationship()
    )

    assert check(rel, "call", at=utc(2026, 3, 4, 15, 0), purpose="sales", policy=TCPA).allowed


def test_unproven_names_the_method() -> None:
    """consent_unproven says which evidence method was recorded instead of 'written'."""
    rel = (
        in_zone(NEW_YORK)
        .inbound("opt_in_granted", 0, purpose="sales", channel="phone", evidence=Evidence("verbal"))
        .relationship()
    )

    decision = check(rel, "call", at=utc(2026, 3, 4, 15, 0), purpose="sales", policy=TCPA)

    assert ["consent_unproven"] == list(decision.codes)
    assert "verbal" in decision.reasons[0].message


def test_a_night_sales_call_without_consent_has_no_retry() -> None:
    """quiet_hours has an until but no_consent has none, so retry_at is None."""
    rel = in_zone(NEW_YORK).relationship()

    decision = check(rel, "call", at=utc(2026, 3, 4, 3, 0), purpose="sales", policy=TCPA)

    assert ["quiet_hours", "no_consent"] == list(decision.codes)
    assert decision.retry_at is None


@pytest.mark.parametrize("order", ["unproven first", "written first"])
def test_any_written_consent_in_force_counts(order: str) -> None:
    """A written consent for the channel allows whether or not an unproven one came first."""
    log = in_zone(NEW_YORK)
    unproven = {"purpose": "marketing", "channel": "sms", "group": "g1"}
    proven = {"purpose": "marketing", "channel": "sms", "evidence": WRITTEN}
    for grant in (unproven, proven) if order == "unproven first" else (proven, unproven):
        log.inbound("opt_in_granted", len(log.items), **grant)

    decision = check(log.relationship(), "send_marketing", at=day(5), channel="sms", policy=TCPA)

    assert decision.allowed
