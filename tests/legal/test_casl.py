"""
Tests for Policy.casl(), row by row of the CASL preset, with the edges of its windows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest

from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from permission_networking import Evidence, Policy, check
from permission_networking._legal import _span
from timeline import Log, day


CASL = Policy.casl()
WEB_FORM = Evidence("web_form")


def nothing(log: Log) -> Log:
    """
    Leave the log as it is.
    """
    return log


def express(log: Log) -> Log:
    """
    The contact gives express consent to marketing by email on day 0.
    """
    return log.inbound("opt_in_granted", 0, purpose="marketing", channel="email", evidence=WEB_FORM)


def purchase(log: Log) -> Log:
    """
    The contact buys on day 0.
    """
    return log.inbound("purchase", 0)


def inquiry(log: Log) -> Log:
    """
    The contact asks about the offer on day 0.
    """
    return log.inbound("inquiry", 0)


def referral(log: Log) -> Log:
    """
    Cy, who knows both, introduces the two on day 0.
    """
    return log.add("introduced", 0, metadata={"introducer": "Cy"})


class Row(NamedTuple):
    name: str
    steps: Callable[[Log], Log]
    action: str
    kwargs: dict[str, Any]
    at: datetime
    codes: list[str]
    obligations: tuple[str, ...]


OBLIGED = ("identify_sender", "include_unsubscribe")
REFERRED = (*OBLIGED, "name_referrer")

ROWS = [
    Row("express consent", express, "send_marketing", {}, day(1), [], OBLIGED),
    Row("express consent never lapses", express, "send_marketing", {}, day(3650), [], OBLIGED),
    Row("no consent: marketing", nothing, "send_marketing", {}, day(1), ["no_consent"], ()),
    Row("no consent: list", nothing, "add_to_list", {}, day(1), ["no_consent"], ()),
    Row("no consent: pitch", nothing, "pitch", {"channel": "linkedin"}, day(1), ["no_consent"], ()),
    Row(
        "a consent request by email is a CEM",
        nothing,
        "request_opt_in",
        {"channel": "email"},
        day(1),
        ["no_consent"],
        (),
    ),
    Row(
        "a consent request by an unknown channel is a CEM",
        nothing,
        "request_opt_in",
        {},
        day(1),
        ["no_consent"],
        (),
    ),
    Row("an unknown channel is electronic", nothing, "pitch", {}, day(1), ["no_consent"], ()),
    Row("a phone pitch is not a CEM", nothing, "pitch", {"channel": "phone"}, day(1), [], ()),
    Row(
        "a consent request in person is not a CEM",
        nothing,
        "request_opt_in",
        {"channel": "in_person"},
        day(1),
        [],
        (),
    ),
    Row("a sales call is not a CEM", nothing, "call", {"purpose": "sales"}, day(1), [], ()),
    Row("a message is not commercial", nothing, "message", {}, day(1), [], ()),
    Row(
        "express consent on email does not cover sms",
        express,
        "send_marketing",
        {"channel": "sms"},
        day(1),
        ["no_consent"],
        (),
    ),
    Row(
        "express marketing consent does not cover sales",
        express,
        "pitch",
        {"channel": "email"},
        day(1),
        ["no_consent"],
        (),
    ),
    Row("implied by a purchase", purchase, "send_marketing", {}, day(700), [], OBLIGED),
    Row("implied by a purchase: list", purchase, "add_to_list", {}, day(700), [], OBLIGED),
    Row(
        "implied by a purchase: pitch", purchase, "pitch", {"channel": "email"}, day(1), [], OBLIGED
    ),
    Row(
        "implied by a purchase: consent request",
        purchase,
        "request_opt_in",
        {"channel": "email"},
        day(1),
        [],
        OBLIGED,
    ),
    Row("implied by an inquiry", inquiry, "send_marketing", {}, day(150), [], OBLIGED),
    Row("referral: first pitch", referral, "pitch", {"channel": "email"}, day(1), [], REFERRED),
    Row("referral: first marketing", referral, "send_marketing", {}, day(1), [], REFERRED),
    Row(
        "referral: first consent request",
        referral,
        "request_opt_in",
        {"channel": "linkedin"},
        day(1),
        [],
        REFERRED,
    ),
    Row("referral: not a list", referral, "add_to_list", {}, day(1), ["no_consent"], ()),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_preset_table(row: Row) -> None:
    """Each row of the CASL table allows or denies with its codes and obligations."""
    decision = check(
        row.steps(Log()).relationship(), row.action, at=row.at, policy=CASL, **row.kwargs
    )

    assert row.codes == list(decision.codes)
    assert row.obligations == decision.obligations
    assert "casl" == decision.policy


class TestImpliedWindows:
    @pytest.mark.parametrize(
        ("fact", "since", "lapses"),
        [
            (
                "purchase",
                datetime(2024, 3, 10, 15, 0, tzinfo=UTC),
                datetime(2026, 3, 10, 15, 0, tzinfo=UTC),
            ),
            (
                "purchase",
                datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
                datetime(2026, 2, 28, 12, 0, tzinfo=UTC),
            ),
            (
                "inquiry",
                datetime(2025, 9, 10, 8, 0, tzinfo=UTC),
                datetime(2026, 3, 10, 8, 0, tzinfo=UTC),
            ),
            (
                "inquiry",
                datetime(2025, 8, 31, 8, 0, tzinfo=UTC),
                datetime(2026, 2, 28, 8, 0, tzinfo=UTC),
            ),
        ],
    )
    def test_window_lapses_on_the_calendar_day(
        self, fact: str, since: datetime, lapses: datetime
    ) -> None:
        """Implied consent holds until 2 calendar years (purchase) or 6 calendar months (inquiry) later."""
        rel = Log().inbound(fact, since).relationship()

        before = check(rel, "send_marketing", at=lapses - timedelta(seconds=1), policy=CASL)
        after = check(rel, "send_marketing", at=lapses, policy=CASL)

        assert before.allowed
        assert ["consent_expired"] == list(after.codes)

    def test_lapsed_consent_says_when_and_has_no_until(self) -> None:
        """A lapsed implied consent names the day it lapsed; time alone does not bring it back."""
        since = datetime(2024, 3, 10, 15, 0, tzinfo=UTC)
        rel = Log().inbound("purchase", since).relationship()

        decision = check(rel, "send_marketing", at=datetime(2026, 6, 1, tzinfo=UTC), policy=CASL)

        reason = decision.reasons[0]
        assert "consent_expired" == reason.code
        assert "2026-03-10" in reason.message
        assert "2 years" in reason.message
        assert reason.until is None
        assert decision.retry_at is None

    def test_the_later_lapse_is_reported(self) -> None:
        """With a lapsed purchase and a lapsed inquiry, the message names the later lapse."""
        rel = Log().inbound("purchase", 0).inbound("inquiry", 600).relationship()

        decision = check(rel, "send_marketing", at=day(1000), policy=CASL)

        assert ["consent_expired"] == list(decision.codes)
        assert "inquiry" in decision.reasons[0].message

    def test_the_purchase_is_named_when_it_lapsed_last(self) -> None:
        """With an inquiry that lapsed before the purchase, the message names the purchase."""
        rel = Log().inbound("purchase", 0).inbound("inquiry", 0).relationship()

        decision = check(rel, "send_marketing", at=day(1000), policy=CASL)

        assert "purchase" in decision.reasons[0].message

    def test_a_new_purchase_restarts_the_clock(self) -> None:
        """Each purchase restarts the 2-year window."""
        rel = Log().inbound("purchase", 0).inbound("purchase", 700).relationship()

        assert check(rel, "send_marketing", at=day(1200), policy=CASL).allowed

    def test_a_new_inquiry_restarts_the_clock(self) -> None:
        """Each inquiry restarts the 6-month window."""
        rel = Log().inbound("inquiry", 0).inbound("inquiry", 170).relationship()

        assert check(rel, "send_marketing", at=day(300), policy=CASL).allowed

    def test_an_inquiry_after_the_decision_time_does_not_count(self) -> None:
        """Facts later than the time decided for give no consent then."""
        rel = Log().inbound("inquiry", 10).relationship()

        assert ["no_consent"] == list(check(rel, "send_marketing", at=day(5), policy=CASL).codes)

    def test_windows_are_settings(self) -> None:
        """inquiry_window and purchase_window can be overridden; the later lapse is named."""
        rel = Log().inbound("inquiry", 0).inbound("purchase", 0).relationship()
        short = Policy.casl(
            inquiry_window=relativedelta(months=1), purchase_window=timedelta(days=10)
        )

        decision = check(rel, "send_marketing", at=day(40), policy=short)

        assert ["consent_expired"] == list(decision.codes)
        assert "(1 month later)" in decision.reasons[0].message

    def test_express_consent_outlives_implied(self) -> None:
        """Express consent needs no window even after implied consent lapsed."""
        rel = express(Log()).inbound("purchase", 0).relationship()

        assert check(rel, "send_marketing", at=day(2000), policy=CASL).allowed

    def test_an_expired_express_consent_falls_back_to_implied(self) -> None:
        """An express consent that lapsed by express_consent_ttl still leaves implied consent."""
        rel = express(Log()).inbound("purchase", 100).relationship()
        policy = Policy.casl(express_consent_ttl=relativedelta(months=1))

        assert check(rel, "send_marketing", at=day(200), policy=policy).allowed

    def test_an_expired_express_consent_without_implied(self) -> None:
        """An express consent that lapsed with nothing else is consent_expired."""
        rel = express(Log()).relationship()
        policy = Policy.casl(express_consent_ttl=relativedelta(months=1))

        decision = check(rel, "send_marketing", at=day(60), policy=policy)

        assert ["consent_expired"] == list(decision.codes)
        assert decision.reasons[0].message.endswith(
            f"given on {day(0):%Y-%m-%d}, lapsed on {day(0) + relativedelta(months=1):%Y-%m-%d}"
        )


class TestReferral:
    def test_only_the_first_commercial_message(self) -> None:
        """After one electronic commercial message the referral exemption is spent."""
        rel = referral(Log()).add("pitch", 1, channel="email").relationship()

        decision = check(rel, "pitch", at=day(2), channel="email", policy=CASL)

        assert ["no_consent"] == list(decision.codes)
        assert "Cy" in decision.reasons[0].message

    def test_a_phone_pitch_does_not_spend_it(self) -> None:
        """A pitch by phone is not an electronic message, so the exemption remains."""
        rel = referral(Log()).add("pitch", 1, channel="phone").relationship()

        decision = check(rel, "pitch", at=day(2), channel="email", policy=CASL)

        assert decision.allowed
        assert "name_referrer" in decision.obligations

    @pytest.mark.parametrize("ended_by", ["disconnected", "blocked"])
    def test_a_removed_connection_ends_the_exemption(self, ended_by: str) -> None:
        """After a disconnect or a block the introduction no longer grounds a message."""
        rel = referral(Log()).add(ended_by, 1).relationship()

        decision = check(rel, "pitch", at=day(2), channel="email", policy=CASL)

        assert not decision.allowed
        assert "name_referrer" not in decision.obligations

    def test_an_introduction_without_introducer_is_no_referral(self) -> None:
        """An introduction that names nobody gives no referral exemption."""
        rel = Log().add("introduced", 0).relationship()

        assert ["no_consent"] == list(
            check(rel, "pitch", at=day(1), channel="email", policy=CASL).codes
        )

    def test_implied_consent_needs_no_referrer(self) -> None:
        """When implied consent holds, the referrer need not be named."""
        rel = referral(Log()).inbound("purchase", 0).relationship()

        decision = check(rel, "pitch", at=day(1), channel="email", policy=CASL)

        assert OBLIGED == decision.obligations

    def test_express_consent_needs_no_referrer(self) -> None:
        """Express consent comes before the referral exemption, so the referrer need not be named."""
        rel = express(referral(Log())).relationship()

        decision = check(rel, "send_marketing", at=day(1), policy=CASL)

        assert OBLIGED == decision.obligations


class TestWithdrawal:
    def test_an_opt_out_withdraws_express_consent(self) -> None:
        """An opt-out ends express consent."""
        rel = express(Log()).inbound("opt_out", 5, purpose="marketing").relationship()

        assert ["consent_withdrawn"] == list(
            check(rel, "send_marketing", at=day(6), policy=CASL).codes
        )

    def test_an_opt_out_ends_implied_consent(self) -> None:
        """An opt-out ends implied consent from a purchase, at once."""
        rel = purchase(Log()).inbound("opt_out", 5, purpose="marketing").relationship()

        assert ["consent_withdrawn"] == list(
            check(rel, "send_marketing", at=day(5), policy=CASL).codes
        )

    def test_a_marketing_opt_out_covers_sales_pitches(self) -> None:
        """Unsubscribing from marketing also stops commercial pitches resting on implied consent."""
        rel = purchase(Log()).inbound("opt_out", 5, purpose="marketing").relationship()

        assert ["consent_withdrawn"] == list(
            check(rel, "pitch", at=day(6), channel="email", policy=CASL).codes
        )

    def test_an_opt_out_ends_the_referral_exemption(self) -> None:
        """An opt-out also ends the referral exemption."""
        rel = referral(Log()).inbound("opt_out", 1).relationship()

        assert ["consent_withdrawn"] == list(
            check(rel, "pitch", at=day(2), channel="email", policy=CASL).codes
        )

    def test_a_complaint_ends_implied_consent(self) -> None:
        """A spam complaint is a withdrawal, also for a preset used alone."""
        rel = purchase(Log()).inbound("complaint", 5).relationship()

        assert ["consent_withdrawn"] == list(
            check(rel, "pitch", at=day(6), channel="email", policy=CASL).codes
        )

    def test_a_block_ends_implied_consent(self) -> None:
        """Being blocked withdraws consent, also for a preset used alone."""
        rel = purchase(Log()).inbound("blocked", 5).relationship()

        assert ["consent_withdrawn"] == list(
            check(rel, "send_marketing", at=day(6), policy=CASL).codes
        )

    def test_a_block_still_ends_implied_consent_after_reconnecting(self) -> None:
        """A block stands as an opt-out once a reconnection cleared do_not_contact."""
        rel = purchase(Log()).inbound("blocked", 5).inbound("connection_accepted", 6)

        decision = check(rel.relationship(), "send_marketing", at=day(7), policy=CASL)

        assert ["consent_withdrawn"] == list(decision.codes)

    def test_a_block_ends_the_referral_exemption_for_good(self) -> None:
        """After a block and a reconnection, the referral exemption does not come back."""
        rel = referral(Log()).inbound("blocked", 1).inbound("connection_accepted", 2)

        decision = check(rel.relationship(), "pitch", at=day(3), channel="email", policy=CASL)

        assert ["consent_withdrawn"] == list(decision.codes)

    def test_a_later_opt_out_does_not_hide_an_earlier_one(self) -> None:
        """Asked about a time between two opt-outs of marketing, the first one stands."""
        log = purchase(Log()).inbound("opt_out", 5, purpose="marketing")
        rel = log.inbound("opt_out", 20, purpose="marketing").relationship()

        decision = check(rel, "send_marketing", at=day(10), policy=CASL)

        assert ["consent_withdrawn"] == list(decision.codes)
        assert [day(5), day(20)] == [opt_out.at for opt_out in rel.opt_outs]

    def test_a_new_express_consent_after_an_opt_out(self) -> None:
        """A new express consent given after the opt-out allows again."""
        rel = express(Log()).inbound("opt_out", 5, purpose="marketing")
        rel = rel.inbound(
            "opt_in_granted", 9, purpose="marketing", channel="email", evidence=WEB_FORM
        )

        assert check(rel.relationship(), "send_marketing", at=day(10), policy=CASL).allowed

    def test_an_opt_out_on_another_channel_leaves_email(self) -> None:
        """An opt-out of sms marketing leaves email marketing on implied consent."""
        rel = (
            purchase(Log()).inbound("opt_out", 5, purpose="marketing", channel="sms").relationship()
        )

        assert check(rel, "send_marketing", at=day(6), policy=CASL).allowed


@given(
    since=st.integers(min_value=0, max_value=2000),
    offset=st.integers(min_value=0, max_value=2000),
)
def test_implied_purchase_consent_is_exactly_two_calendar_years(since: int, offset: int) -> None:
    """A purchase allows marketing exactly while at < purchase + 2 calendar years."""
    bought = day(since)
    at = bought + timedelta(days=offset)
    rel = Log().inbound("purchase", bought).relationship()

    decision = check(rel, "send_marketing", at=at, policy=CASL)

    assert (at < bought + relativedelta(years=2)) == decision.allowed


@pytest.mark.parametrize(
    ("duration", "said"),
    [
        (relativedelta(years=2), "2 years"),
        (relativedelta(months=6), "6 months"),
        (relativedelta(months=12), "1 year"),
        (
            relativedelta(years=1, months=2, days=3, hours=4, minutes=5),
            "1 year, 2 months, 3 days, 4 hours, 5 minutes",
        ),
        (relativedelta(), "0 days"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=90), "90 days"),
        (timedelta(hours=36), "1 day, 12:00:00"),
    ],
)
def test_windows_are_said_the_way_people_say_them(
    duration: timedelta | relativedelta, said: str
) -> None:
    """Messages state a window in calendar units: 2 years, 6 months, 90 days."""
    assert said == _span(duration)
