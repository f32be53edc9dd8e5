"""
Tests for Policy.pecr(), row by row of the PECR preset: GDPR's rule with consent per channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import attrs
import pytest

from permission_networking import Evidence, Policy, check
from timeline import Log, day


PECR = Policy.pecr()
PROOF = Evidence("web_form", text="Send me offers by email", source="https://shop.example/form")


def nothing(log: Log) -> Log:
    """
    Leave the log as it is.
    """
    return log


def email(log: Log) -> Log:
    """
    Demonstrable consent to marketing by email on day 0.
    """
    return log.inbound("opt_in_granted", 0, purpose="marketing", channel="email", evidence=PROOF)


def everywhere(log: Log) -> Log:
    """
    Demonstrable consent to marketing on every channel on day 0.
    """
    return log.inbound("opt_in_granted", 0, purpose="marketing", evidence=PROOF)


def email_unproven(log: Log) -> Log:
    """
    Consent to marketing by email without evidence on day 0.
    """
    return log.inbound("opt_in_granted", 0, purpose="marketing", channel="email")


def soft(log: Log) -> Log:
    """
    A purchase on day 0 at which the soft opt-in was offered.
    """
    return log.inbound("purchase", 0, metadata={"soft_opt_in": "offered"})


class Row(NamedTuple):
    name: str
    steps: Callable[[Log], Log]
    action: str
    kwargs: dict[str, Any]
    codes: list[str]
    obligations: tuple[str, ...]


UNSUBSCRIBE = ("include_unsubscribe",)

ROWS = [
    Row("consent for the channel", email, "send_marketing", {}, [], UNSUBSCRIBE),
    Row(
        "email consent is not sms consent",
        email,
        "send_marketing",
        {"channel": "sms"},
        ["no_consent"],
        (),
    ),
    Row(
        "consent for every channel counts for none",
        everywhere,
        "send_marketing",
        {},
        ["no_consent"],
        (),
    ),
    Row("consent for an unknown channel", email, "pitch", {}, ["no_consent"], ()),
    Row("consent without evidence", email_unproven, "send_marketing", {}, ["consent_unproven"], ()),
    Row("no consent", nothing, "add_to_list", {}, ["no_consent"], ()),
    Row("soft opt-in", soft, "send_marketing", {"channel": "sms"}, [], UNSUBSCRIBE),
    Row("soft opt-in: pitch", soft, "pitch", {"channel": "email"}, [], UNSUBSCRIBE),
    Row(
        "a pitch answering an inquiry",
        lambda log: log.inbound("inquiry", 0),
        "pitch",
        {"channel": "email"},
        [],
        UNSUBSCRIBE,
    ),
    Row(
        "an objection is absolute",
        lambda log: soft(email(log)).inbound("opt_out", 1, purpose="marketing", channel="email"),
        "send_marketing",
        {},
        ["consent_withdrawn"],
        (),
    ),
    Row(
        "a phone pitch is not electronic marketing", nothing, "pitch", {"channel": "phone"}, [], ()
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_preset_table(row: Row) -> None:
    """Each row of the PECR table allows or denies with its codes and obligations."""
    rel = row.steps(Log()).relationship()

    decision = check(rel, row.action, at=day(2), policy=PECR, **row.kwargs)

    assert row.codes == list(decision.codes)
    assert row.obligations == decision.obligations
    assert "pecr" == decision.policy


def test_no_consent_explains_the_channel_rule() -> None:
    """Denying a consent for every channel says that PECR consent is specific to the channel."""
    rel = everywhere(Log()).relationship()

    decision = check(rel, "send_marketing", at=day(2), policy=PECR)

    assert "specific to the channel" in decision.reasons[0].message


def test_no_consent_for_an_unknown_channel_asks_to_name_it() -> None:
    """Denying an unknown channel asks for the channel to be named."""
    decision = check(email(Log()).relationship(), "pitch", at=day(2), policy=PECR)

    assert "name it" in decision.reasons[0].message


def test_the_same_log_is_allowed_under_gdpr() -> None:
    """Consent for every channel is enough under GDPR but not under PECR."""
    rel = everywhere(Log()).relationship()

    assert check(rel, "send_marketing", at=day(2), policy=Policy.gdpr()).allowed
    assert not check(rel, "send_marketing", at=day(2), policy=PECR).allowed


def test_withdrawn_channel_consent() -> None:
    """A consent withdrawn on its channel is consent_withdrawn."""
    rel = email(Log()).inbound("opt_out", 1, purpose="marketing", channel="email").relationship()

    assert ["consent_withdrawn"] == list(check(rel, "send_marketing", at=day(2), policy=PECR).codes)


def test_a_block_withdraws_channel_consent() -> None:
    """A block withdraws every consent: consent_withdrawn."""
    rel = email(Log()).inbound("blocked", 1).relationship()

    assert ["consent_withdrawn"] == list(check(rel, "send_marketing", at=day(2), policy=PECR).codes)


def test_expired_channel_consent() -> None:
    """A consent for the channel that ran out is consent_expired."""
    rel = (
        Log()
        .inbound(
            "opt_in_granted",
            0,
            purpose="marketing",
            channel="email",
            evidence=PROOF,
            metadata={"expires_at": day(1).isoformat()},
        )
        .relationship()
    )

    decision = check(rel, "send_marketing", at=day(2), policy=PECR)

    assert ["consent_expired"] == list(decision.codes)
    assert decision.reasons[0].message.endswith(
        f"given on {day(0):%Y-%m-%d}, lapsed on {day(1):%Y-%m-%d}"
    )


def test_an_earlier_lapsed_consent_does_not_hide_a_newer_one() -> None:
    """The newest consent for the channel decides, not an older one that lapsed."""
    log = Log().inbound(
        "opt_in_granted",
        0,
        purpose="marketing",
        channel="email",
        evidence=PROOF,
        metadata={"expires_at": day(1).isoformat()},
    )
    log.inbound(
        "opt_in_granted", 3, purpose="marketing", channel="email", group="g1", evidence=PROOF
    )

    assert check(log.relationship(), "send_marketing", at=day(4), policy=PECR).allowed


def test_the_newest_lapsed_consent_is_reported_whatever_its_order() -> None:
    """Among lapsed consents for the channel, the newest decides, in whatever order they are stored."""
    log = Log()
    for start, group in ((0, None), (1, "g1")):
        log.inbound(
            "opt_in_granted",
            start,
            purpose="marketing",
            channel="email",
            group=group,
            evidence=PROOF,
            metadata={"expires_at": day(start + 1).isoformat()},
        )
    rel = log.relationship()
    reordered = attrs.evolve(rel, permissions=rel.permissions[::-1])

    for each in (rel, reordered):
        assert ["consent_expired"] == list(
            check(each, "send_marketing", at=day(3), policy=PECR).codes
        )
