"""
Tests for Policy.gdpr(), row by row of the GDPR/ePrivacy preset, with the soft opt-in's edges.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest

from dateutil.relativedelta import relativedelta

from permission_networking import Evidence, Policy, check, policy_for
from timeline import Log, day


GDPR = Policy.gdpr()
OFFERED = {"soft_opt_in": "offered"}


def nothing(log: Log) -> Log:
    """
    Leave the log as it is.
    """
    return log


def proven(log: Log) -> Log:
    """
    Consent to marketing on every channel with evidence (a double opt-in) on day 0.
    """
    return log.inbound("opt_in_granted", 0, purpose="marketing", evidence=Evidence("double_opt_in"))


def unproven(log: Log) -> Log:
    """
    Consent to marketing on every channel with no evidence kept, on day 0.
    """
    return log.inbound("opt_in_granted", 0, purpose="marketing")


def sales_proven(log: Log) -> Log:
    """
    Consent to sales offers by email with evidence on day 0.
    """
    return log.inbound(
        "opt_in_granted", 0, purpose="sales", channel="email", evidence=Evidence("web_form")
    )


def soft(log: Log) -> Log:
    """
    A purchase on day 0 at which the soft opt-in was offered.
    """
    return log.inbound("purchase", 0, metadata=OFFERED)


def sale_only(log: Log) -> Log:
    """
    A purchase on day 0 without the soft opt-in being offered.
    """
    return log.inbound("purchase", 0)


def asked(log: Log) -> Log:
    """
    The contact asks about the offer on day 0.
    """
    return log.inbound("inquiry", 0)


def objected(log: Log) -> Log:
    """
    Consent, a soft opt-in sale and an inquiry, then an objection to everything on day 2.
    """
    return asked(soft(proven(log))).inbound("opt_out", 2)


class Row(NamedTuple):
    name: str
    steps: Callable[[Log], Log]
    action: str
    kwargs: dict[str, Any]
    at: float
    codes: list[str]
    obligations: tuple[str, ...]


UNSUBSCRIBE = ("include_unsubscribe",)

ROWS = [
    Row("demonstrable consent", proven, "send_marketing", {}, 5, [], UNSUBSCRIBE),
    Row(
        "consent for every channel covers sms",
        proven,
        "send_marketing",
        {"channel": "sms"},
        5,
        [],
        UNSUBSCRIBE,
    ),
    Row("demonstrable consent: list", proven, "add_to_list", {}, 5, [], UNSUBSCRIBE),
    Row(
        "demonstrable consent: pitch",
        sales_proven,
        "pitch",
        {"channel": "email"},
        5,
        [],
        UNSUBSCRIBE,
    ),
    Row("consent never lapses by time", proven, "send_marketing", {}, 3650, [], UNSUBSCRIBE),
    Row("consent without evidence", unproven, "send_marketing", {}, 5, ["consent_unproven"], ()),
    Row("consent without evidence: list", unproven, "add_to_list", {}, 5, ["consent_unproven"], ()),
    Row("no consent", nothing, "send_marketing", {}, 5, ["no_consent"], ()),
    Row("no consent: pitch", nothing, "pitch", {"channel": "linkedin"}, 5, ["no_consent"], ()),
    Row("an unknown channel is electronic", nothing, "pitch", {}, 5, ["no_consent"], ()),
    Row("soft opt-in: marketing", soft, "send_marketing", {}, 500, [], UNSUBSCRIBE),
    Row("soft opt-in: list", soft, "add_to_list", {}, 5, [], UNSUBSCRIBE),
    Row("soft opt-in: pitch", soft, "pitch", {"channel": "email"}, 5, [], UNSUBSCRIBE),
    Row(
        "a sale without the soft opt-in offered",
        sale_only,
        "send_marketing",
        {},
        5,
        ["no_consent"],
        (),
    ),
    Row(
        "a soft opt-in covers unproven consent",
        lambda log: soft(unproven(log)),
        "send_marketing",
        {},
        5,
        [],
        UNSUBSCRIBE,
    ),
    Row("a pitch answering an inquiry", asked, "pitch", {"channel": "email"}, 5, [], UNSUBSCRIBE),
    Row("an inquiry is not a marketing list", asked, "add_to_list", {}, 5, ["no_consent"], ()),
    Row(
        "an inquiry is not consent to marketing", asked, "send_marketing", {}, 5, ["no_consent"], ()
    ),
    Row(
        "an objection is absolute: marketing",
        objected,
        "send_marketing",
        {},
        5,
        ["consent_withdrawn"],
        (),
    ),
    Row(
        "an objection is absolute: pitch",
        objected,
        "pitch",
        {"channel": "email"},
        5,
        ["consent_withdrawn"],
        (),
    ),
    Row(
        "an objection is absolute: list", objected, "add_to_list", {}, 5, ["consent_withdrawn"], ()
    ),
    Row(
        "a phone pitch is not electronic marketing",
        nothing,
        "pitch",
        {"channel": "phone"},
        5,
        [],
        (),
    ),
    Row(
        "an opt-in request is not governed here",
        nothing,
        "request_opt_in",
        {"channel": "email"},
        5,
        [],
        (),
    ),
    Row("a personal message is not marketing", nothing, "message", {"channel": "email"}, 5, [], ()),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_preset_table(row: Row) -> None:
    """Each row of the GDPR table allows or denies with its codes and obligations."""
    rel = row.steps(Log()).relationship()

    decision = check(rel, row.action, at=day(row.at), policy=GDPR, **row.kwargs)

    assert row.codes == list(decision.codes)
    assert row.obligations == decision.obligations
    assert "gdpr" == decision.policy


class TestInquiry:
    def test_the_answer_lasts_interest_ttl(self) -> None:
        """A pitch answers the inquiry only within the policy's interest_ttl."""
        rel = asked(Log()).relationship()

        inside = check(
            rel, "pitch", at=day(90) - timedelta(seconds=1), channel="email", policy=GDPR
        )
        outside = check(rel, "pitch", at=day(90), channel="email", policy=GDPR)

        assert inside.allowed
        assert ["no_consent"] == list(outside.codes)

    def test_interest_ttl_is_a_setting(self) -> None:
        """interest_ttl can be overridden."""
        rel = asked(Log()).relationship()

        decision = check(
            rel,
            "pitch",
            at=day(20),
            channel="email",
            policy=Policy.gdpr(interest_ttl=timedelta(days=14)),
        )

        assert ["no_consent"] == list(decision.codes)


class TestSoftOptInWindow:
    def test_no_window_by_default(self) -> None:
        """Without soft_opt_in_window the soft opt-in holds until the customer objects."""
        rel = soft(Log()).relationship()

        assert check(rel, "send_marketing", at=day(3650), policy=GDPR).allowed

    def test_window_lapses_on_the_calendar_day(self) -> None:
        """With a 12-month window, the soft opt-in lapses 12 calendar months after the sale."""
        sale = datetime(2025, 8, 31, 10, 0, tzinfo=UTC)
        rel = Log().inbound("purchase", sale, metadata=OFFERED).relationship()
        policy = Policy.gdpr(soft_opt_in_window=relativedelta(months=12))

        before = check(
            rel, "send_marketing", at=datetime(2026, 8, 31, 9, 59, tzinfo=UTC), policy=policy
        )
        after = check(
            rel, "send_marketing", at=datetime(2026, 8, 31, 10, 0, tzinfo=UTC), policy=policy
        )

        assert before.allowed
        assert ["consent_expired"] == list(after.codes)
        assert "2026-08-31" in after.reasons[0].message
        assert after.reasons[0].until is None

    def test_a_new_sale_restarts_the_window(self) -> None:
        """A later purchase with the soft opt-in offered restarts the window."""
        rel = soft(Log()).inbound("purchase", 300, metadata=OFFERED).relationship()
        policy = Policy.gdpr(soft_opt_in_window=relativedelta(months=12))

        assert check(rel, "send_marketing", at=day(500), policy=policy).allowed

    @pytest.mark.parametrize(
        ("kind", "channel", "sent", "allowed"),
        [
            ("marketing_sent", "email", 100, True),
            ("pitch", "sms", 364, True),
            ("opt_in_requested", "email", 100, True),
            ("marketing_sent", "email", 366, False),
            ("marketing_sent", "phone", 100, False),
            ("message", "email", 100, False),
        ],
    )
    def test_a_first_message_within_the_window_keeps_the_soft_opt_in(
        self,
        kind: str,
        channel: str,
        sent: int,
        allowed: bool,  # noqa: FBT001
    ) -> None:
        """Once the first commercial message went out electronically in the window, it holds."""
        rel = soft(Log()).add(kind, sent, channel=channel).relationship()
        policy = policy_for("IE").leaves[1]

        decision = check(rel, "send_marketing", at=day(800), policy=policy)

        assert allowed == decision.allowed
        assert rel.soft_opt_in_used_at == (
            None if kind == "message" or channel == "phone" else day(sent)
        )
        if not allowed:
            assert ["consent_expired"] == list(decision.codes)
            assert "no marketing sent before then" in decision.reasons[0].message

    def test_a_new_sale_starts_a_new_window_for_the_first_message(self) -> None:
        """A later soft opt-in sale waits for a first message of its own."""
        log = soft(Log()).add("marketing_sent", 30, channel="email")
        policy = Policy.gdpr(soft_opt_in_window=relativedelta(months=12))

        again = log.inbound("purchase", 400, metadata=OFFERED).relationship()
        answered = log.inbound("purchase", 400, metadata=OFFERED).add(
            "marketing_sent", 500, channel="email"
        )

        assert again.soft_opt_in_used_at is None
        assert ["consent_expired"] == list(
            check(again, "send_marketing", at=day(800), policy=policy).codes
        )
        assert check(answered.relationship(), "send_marketing", at=day(800), policy=policy).allowed

    def test_a_lapsed_window_with_unproven_consent(self) -> None:
        """Unproven consent after the soft opt-in lapsed is reported as unproven."""
        rel = soft(unproven(Log())).relationship()
        policy = Policy.gdpr(soft_opt_in_window=relativedelta(months=12))

        assert ["consent_unproven"] == list(
            check(rel, "send_marketing", at=day(400), policy=policy).codes
        )

    def test_a_sale_after_the_decision_time_does_not_count(self) -> None:
        """A soft opt-in sale later than the time decided for gives nothing then."""
        rel = Log().inbound("purchase", 10, metadata=OFFERED).relationship()

        assert ["no_consent"] == list(check(rel, "send_marketing", at=day(5), policy=GDPR).codes)


class TestObjection:
    def test_objection_to_marketing_also_stops_soft_opt_in_pitches(self) -> None:
        """An objection to marketing ends the soft opt-in for pitches too."""
        rel = soft(Log()).inbound("opt_out", 2, purpose="marketing").relationship()

        assert ["consent_withdrawn"] == list(
            check(rel, "pitch", at=day(3), channel="email", policy=GDPR).codes
        )

    def test_express_sales_consent_survives_a_marketing_objection(self) -> None:
        """A separate, demonstrable consent to sales offers still holds after a marketing opt-out."""
        rel = sales_proven(Log()).inbound("opt_out", 2, purpose="marketing").relationship()

        assert check(rel, "pitch", at=day(3), channel="email", policy=GDPR).allowed

    def test_withdrawn_unproven_consent(self) -> None:
        """A withdrawn consent is consent_withdrawn, not unproven."""
        rel = unproven(Log()).inbound("opt_out", 2, purpose="marketing").relationship()

        assert ["consent_withdrawn"] == list(
            check(rel, "send_marketing", at=day(3), policy=GDPR).codes
        )

    def test_a_complaint_is_an_objection(self) -> None:
        """A spam complaint ends the soft opt-in as an objection would."""
        rel = soft(Log()).inbound("complaint", 2).relationship()

        assert ["consent_withdrawn"] == list(
            check(rel, "pitch", at=day(3), channel="email", policy=GDPR).codes
        )

    def test_a_block_is_an_objection_that_outlasts_a_reconnection(self) -> None:
        """A block ends the soft opt-in, also once a reconnection cleared do_not_contact."""
        rel = soft(Log()).inbound("blocked", 2).inbound("connection_accepted", 3)

        decision = check(rel.relationship(), "send_marketing", at=day(4), policy=GDPR)

        assert ["consent_withdrawn"] == list(decision.codes)

    def test_an_objection_is_honoured_at_once(self) -> None:
        """The objection applies from its own instant."""
        rel = objected(Log()).relationship()

        assert ["consent_withdrawn"] == list(
            check(rel, "send_marketing", at=day(2), policy=GDPR).codes
        )


def test_expired_consent_is_reported() -> None:
    """A consent given for a limited time reports consent_expired once it ran out."""
    rel = (
        Log()
        .inbound(
            "opt_in_granted",
            0,
            purpose="marketing",
            evidence=Evidence("web_form"),
            metadata={"expires_at": day(30).isoformat()},
        )
        .relationship()
    )

    assert ["consent_expired"] == list(check(rel, "send_marketing", at=day(31), policy=GDPR).codes)


def test_proven_consent_leaves_only_etiquettes_reasons() -> None:
    """Denied by etiquette alone (a bounced address), proven consent gives no GDPR reason."""
    rel = proven(Log()).add("bounced", 1, channel="email").relationship()

    decision = check(rel, "send_marketing", at=day(2), policy=policy_for("DE"))

    assert ("undeliverable",) == decision.codes


@pytest.mark.parametrize("policy", [GDPR, Policy.pecr()], ids=["gdpr", "pecr"])
def test_a_proven_consent_counts_after_an_unproven_one(policy: Policy) -> None:
    """A consent with evidence in force allows, though an older one without evidence covers too."""
    rel = (
        unproven(Log())
        .inbound(
            "opt_in_granted", 1, purpose="marketing", channel="email", evidence=Evidence("web_form")
        )
        .relationship()
    )

    assert check(rel, "send_marketing", at=day(2), policy=policy).allowed
    assert check(rel, "send_marketing", at=day(2), policy=policy_for("DE")).allowed
