"""
An opt-out under the legal presets: the channel it covers, and the time from which a new consent lifts it.
"""

from __future__ import annotations

import pytest

from permission_networking import Evidence, Policy, check
from timeline import Log, day


WEB_FORM = Evidence("web_form")


def sms_opt_out(*, consented_everywhere: bool) -> Log:
    """
    A buyer (offered the soft opt-in) who opts out of marketing by SMS, maybe after consenting on every channel.
    """
    log = Log().inbound("purchase", 0, metadata={"soft_opt_in": "offered"})
    if consented_everywhere:
        log.inbound("opt_in_granted", 1, purpose="marketing", evidence=WEB_FORM)
    return log.inbound("opt_out", 2, purpose="marketing", channel="sms")


@pytest.mark.parametrize("policy", [Policy.casl(), Policy.gdpr()], ids=lambda p: p.name)
@pytest.mark.parametrize("consented_everywhere", [False, True])
def test_an_opt_out_on_one_channel_leaves_implied_consent_on_another(
    policy: Policy,
    consented_everywhere: bool,  # noqa: FBT001
) -> None:
    """The purchase still stands for email, whether or not a consent for every channel was withdrawn."""
    relationship = sms_opt_out(consented_everywhere=consented_everywhere).relationship()

    by_email = check(relationship, "send_marketing", at=day(3), policy=policy, channel="email")
    by_sms = check(relationship, "send_marketing", at=day(3), policy=policy, channel="sms")

    assert by_email.allowed
    assert ("consent_withdrawn",) == by_sms.codes


def test_without_implied_consent_a_consent_withdrawn_on_another_channel_is_withdrawn() -> None:
    """With no purchase to fall back on, the withdrawn consent for every channel is withdrawn for email too."""
    log = Log().inbound("opt_in_granted", 1, purpose="marketing", evidence=WEB_FORM)
    relationship = log.inbound("opt_out", 2, purpose="marketing", channel="sms").relationship()

    for policy in (Policy.casl(), Policy.gdpr(), Policy.etiquette()):
        decision = check(relationship, "send_marketing", at=day(3), policy=policy, channel="email")

        assert ("consent_withdrawn",) == decision.codes


@pytest.mark.parametrize("earlier_email_consent", [False, True])
def test_under_pecr_a_consent_for_every_channel_lifts_no_objection(
    earlier_email_consent: bool,  # noqa: FBT001
) -> None:
    """Consent is specific to the channel: after an email objection, only an email consent lifts it."""
    log = Log()
    if earlier_email_consent:
        log.inbound("opt_in_granted", 0, purpose="marketing", channel="email", evidence=WEB_FORM)
    log.inbound("opt_out", 1, purpose="marketing", channel="email")
    log.inbound("opt_in_granted", 2, purpose="marketing", evidence=WEB_FORM)
    log.inbound("purchase", 3, metadata={"soft_opt_in": "offered"})

    denied = check(log.relationship(), "send_marketing", at=day(4), policy=Policy.pecr())
    log.inbound("opt_in_granted", 5, purpose="marketing", channel="email", evidence=WEB_FORM)
    allowed = check(log.relationship(), "send_marketing", at=day(6), policy=Policy.pecr())

    assert ("consent_withdrawn",) == denied.codes
    assert allowed


@pytest.mark.parametrize(
    "policy",
    [Policy.can_spam(), Policy.casl(), Policy.gdpr(), Policy.pecr(), Policy.etiquette()],
    ids=lambda p: p.name,
)
def test_a_consent_dated_later_lifts_an_opt_out_only_from_then(policy: Policy) -> None:
    """Asked for a time between an opt-out and a new consent recorded ahead of it, the opt-out stands."""
    log = Log().inbound("purchase", 0, metadata={"soft_opt_in": "offered"})
    log.inbound("opt_out", 1, purpose="marketing")
    log.inbound("opt_in_granted", 5, purpose="marketing", channel="email", evidence=WEB_FORM)
    relationship = log.relationship()

    between = check(relationship, "send_marketing", at=day(2), policy=policy, channel="email")
    after = check(relationship, "send_marketing", at=day(6), policy=policy, channel="email")

    assert ("consent_withdrawn",) == between.codes
    assert relationship.opted_out("marketing", "email", day(2))
    assert not relationship.opted_out("marketing", "email", day(6))
    assert after.allowed


@pytest.mark.parametrize(
    "policy",
    [Policy.can_spam(), Policy.casl(), Policy.gdpr(), Policy.pecr(), Policy.etiquette()],
    ids=lambda p: p.name,
)
def test_a_later_consent_that_lapsed_lifts_the_opt_out_no_more(policy: Policy) -> None:
    """A consent given after an opt-out for a limited time lifts it while in force, not after.

    Before, once such a consent lapsed, what the opt-out had ended came back:
    CAN-SPAM's email, CASL's implied consent and GDPR's soft opt-in from the sale.
    """
    log = Log().inbound("purchase", 0, metadata={"soft_opt_in": "offered"})
    log.inbound("opt_out", 1, purpose="marketing")
    log.inbound(
        "opt_in_granted", 2, purpose="marketing", channel="email", evidence=WEB_FORM,
        metadata={"expires_at": day(5).isoformat()},
    )  # fmt: skip
    relationship = log.relationship()

    during = check(relationship, "send_marketing", at=day(3), policy=policy, channel="email")
    after = check(relationship, "send_marketing", at=day(6), policy=policy, channel="email")

    assert during.allowed
    assert not relationship.opted_out("marketing", "email", day(3))
    assert relationship.opted_out("marketing", "email", day(6))
    assert not after.allowed
    # Etiquette says what the contact said last: the consent lapsed.
    expected = "consent_expired" if policy.name == "etiquette" else "consent_withdrawn"
    assert expected in after.codes
