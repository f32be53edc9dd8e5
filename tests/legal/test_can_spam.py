"""
Tests for Policy.can_spam(), row by row of the CAN-SPAM preset.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, NamedTuple

import pytest

from permission_networking import Evidence, Policy, check
from timeline import Log, day


CAN_SPAM = Policy.can_spam()
OBLIGED = ("include_unsubscribe", "identify_as_advertisement", "include_postal_address")


def nothing(log: Log) -> Log:
    """
    Leave the log as it is.
    """
    return log


def unsubscribed(log: Log) -> Log:
    """
    The contact opts out of marketing by email on day 1.
    """
    return log.inbound("opt_out", 1, purpose="marketing", channel="email")


def unsubscribed_everywhere(log: Log) -> Log:
    """
    The contact opts out of every purpose on every channel on day 1.
    """
    return log.inbound("opt_out", 1)


class Row(NamedTuple):
    name: str
    steps: Callable[[Log], Log]
    action: str
    kwargs: dict[str, Any]
    codes: list[str]
    obligations: tuple[str, ...]


ROWS = [
    Row("no consent needed: marketing", nothing, "send_marketing", {}, [], OBLIGED),
    Row("no consent needed: list", nothing, "add_to_list", {}, [], OBLIGED),
    Row("no consent needed: pitch", nothing, "pitch", {"channel": "email"}, [], OBLIGED),
    Row("an unknown channel may be email", nothing, "pitch", {}, [], OBLIGED),
    Row("not email: linkedin", nothing, "pitch", {"channel": "linkedin"}, [], ()),
    Row("not email: sms", nothing, "send_marketing", {"channel": "sms"}, [], ()),
    Row("not commercial", nothing, "message", {"channel": "email"}, [], ()),
    Row(
        "an opt-out is final: marketing",
        unsubscribed,
        "send_marketing",
        {},
        ["consent_withdrawn"],
        (),
    ),
    Row("an opt-out is final: list", unsubscribed, "add_to_list", {}, ["consent_withdrawn"], ()),
    Row(
        "a marketing opt-out stops commercial pitches",
        unsubscribed,
        "pitch",
        {"channel": "email"},
        ["consent_withdrawn"],
        (),
    ),
    Row(
        "an opt-out covers an unknown channel",
        unsubscribed,
        "pitch",
        {},
        ["consent_withdrawn"],
        (),
    ),
    Row(
        "an email opt-out leaves linkedin",
        unsubscribed,
        "pitch",
        {"channel": "linkedin"},
        [],
        (),
    ),
    Row(
        "an opt-out of everything",
        unsubscribed_everywhere,
        "send_marketing",
        {},
        ["consent_withdrawn"],
        (),
    ),
    Row(
        "an opt-out leaves personal messages",
        unsubscribed,
        "message",
        {"channel": "email"},
        [],
        (),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_preset_table(row: Row) -> None:
    """Each row of the CAN-SPAM table allows or denies with its codes and obligations."""
    rel = row.steps(Log()).relationship()

    decision = check(rel, row.action, at=day(2), policy=CAN_SPAM, **row.kwargs)

    assert row.codes == list(decision.codes)
    assert row.obligations == decision.obligations
    assert "can_spam" == decision.policy


def test_an_opt_out_is_honoured_at_once() -> None:
    """The opt-out applies from its own instant: no 10-business-day grace to keep sending."""
    rel = unsubscribed(Log()).relationship()

    just_before = check(rel, "send_marketing", at=day(1) - timedelta(seconds=1), policy=CAN_SPAM)
    at_once = check(rel, "send_marketing", at=day(1), policy=CAN_SPAM)

    assert just_before.allowed
    assert ["consent_withdrawn"] == list(at_once.codes)
    assert at_once.retry_at is None


def test_an_sms_opt_out_leaves_email() -> None:
    """An opt-out on another channel does not stop commercial email."""
    rel = Log().inbound("opt_out", 1, purpose="marketing", channel="sms").relationship()

    assert check(rel, "send_marketing", at=day(2), policy=CAN_SPAM).allowed


def test_a_new_opt_in_after_the_opt_out() -> None:
    """A new express consent after the opt-out allows commercial email again."""
    log = unsubscribed(Log()).inbound(
        "opt_in_granted", 3, purpose="marketing", channel="email", evidence=Evidence("web_form")
    )

    assert check(log.relationship(), "send_marketing", at=day(4), policy=CAN_SPAM).allowed


def test_a_complaint_stops_commercial_email() -> None:
    """A spam complaint is an opt-out too."""
    rel = Log().inbound("complaint", 1).relationship()

    assert ["consent_withdrawn"] == list(
        check(rel, "send_marketing", at=day(2), policy=CAN_SPAM).codes
    )


def test_a_sales_opt_out_leaves_marketing() -> None:
    """An opt-out of sales pitches is not an opt-out of the marketing list."""
    rel = Log().inbound("opt_out", 1, purpose="sales", channel="email").relationship()

    assert check(rel, "send_marketing", at=day(2), policy=CAN_SPAM).allowed
    assert ["consent_withdrawn"] == list(
        check(rel, "pitch", at=day(2), channel="email", policy=CAN_SPAM).codes
    )


def test_a_sales_consent_outlives_a_marketing_opt_out() -> None:
    """Express consent to sales emails still holds after an unsubscribe from marketing."""
    log = Log().inbound(
        "opt_in_granted", 0, purpose="sales", channel="email", evidence=Evidence("web_form")
    )
    rel = unsubscribed(log).relationship()

    assert check(rel, "pitch", at=day(2), channel="email", policy=CAN_SPAM).allowed
    assert not check(rel, "send_marketing", at=day(2), policy=CAN_SPAM).allowed
