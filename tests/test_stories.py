"""
The seed stories of permission networking, told through the guards.
"""

from __future__ import annotations

from datetime import UTC, datetime

from permission_networking import (
    Action,
    Policy,
    RelationshipState,
    check,
)
from timeline import Log, day


ETIQUETTE = Policy.etiquette()


def codes(decision: object) -> set[str]:
    """
    Return the reason codes of a decision as a set.
    """
    return {reason.code for reason in decision.reasons}  # type: ignore[attr-defined]


class TestLinkedInIsNotAnOptIn:
    def test_connection_is_not_consent_to_market(self, connected: Log) -> None:
        """A connection alone does not permit marketing email."""
        decision = check(connected.relationship(), "send_marketing", at=day(1), policy=ETIQUETTE)

        assert not decision
        assert {"no_consent"} == codes(decision)

    def test_friendly_replies_are_not_consent(self, connected: Log) -> None:
        """An engaged contact still has not consented to marketing."""
        rel = connected.inbound("message", 1).relationship()

        decision = check(rel, "send_marketing", at=day(2), policy=ETIQUETTE)

        assert RelationshipState.ENGAGED == decision.state
        assert {"no_consent"} == codes(decision)

    def test_interest_permits_asking_for_an_opt_in(self, connected: Log) -> None:
        """An inquiry makes a request for an opt-in allowed."""
        rel = connected.inbound("message", 1).inbound("inquiry", 2).relationship()

        decision = check(rel, "request_opt_in", at=day(3), policy=ETIQUETTE)

        assert decision.allowed
        assert () == decision.reasons

    def test_opt_in_permits_marketing_with_unsubscribe(self, connected: Log) -> None:
        """An express marketing opt-in on email makes the contact opted in and marketing allowed."""
        rel = (
            connected.inbound("inquiry", 2)
            .add("opt_in_requested", 3, channel="email")
            .inbound("opt_in_granted", 4, purpose="marketing", channel="email")
            .relationship()
        )

        decision = check(rel, "send_marketing", at=day(5), policy=ETIQUETTE)

        assert RelationshipState.OPTED_IN == rel.state
        assert decision.allowed
        assert "include_unsubscribe" in decision.obligations
        assert "identify_sender" in decision.obligations

    def test_opt_out_ends_marketing_but_not_the_relationship(self, connected: Log) -> None:
        """After an opt-out marketing is withdrawn, messages stay allowed, the contact engaged."""
        rel = (
            connected.inbound("inquiry", 2)
            .inbound("opt_in_granted", 4, purpose="marketing", channel="email")
            .inbound("opt_out", 10, purpose="marketing", channel="email")
            .relationship()
        )

        marketing = check(rel, "send_marketing", at=day(11), policy=ETIQUETTE)
        message = check(rel, "message", at=day(11), policy=ETIQUETTE)

        assert {"consent_withdrawn"} == codes(marketing)
        assert message.allowed
        assert RelationshipState.ENGAGED == rel.state_at(day(11))

    def test_email_consent_does_not_cover_sms(self, connected: Log) -> None:
        """Consent to marketing by email is not consent to marketing by SMS."""
        rel = connected.inbound("opt_in_granted", 4, purpose="marketing", channel="email")

        decision = check(
            rel.relationship(), "send_marketing", at=day(5), channel="sms", policy=ETIQUETTE
        )

        assert {"no_consent"} == codes(decision)


class TestConnectingIsNotPermissionToSell:
    def test_pitch_right_after_connecting_is_denied(self, connected: Log) -> None:
        """A pitch the hour after connecting is denied: no engagement, no interest."""
        decision = check(connected.relationship(), "pitch", at=day(0, hour=10), policy=ETIQUETTE)

        assert {"not_engaged", "no_interest"} == codes(decision)

    def test_thanks_for_connecting_is_not_interest(self, connected: Log) -> None:
        """A friendly reply engages the contact but is not interest in buying."""
        rel = connected.inbound("message", 1, metadata={"text": "thanks for connecting"})

        decision = check(rel.relationship(), "pitch", at=day(2), policy=ETIQUETTE)

        assert {"no_interest"} == codes(decision)

    def test_pitch_to_someone_who_inquired_is_fine(self, connected: Log) -> None:
        """A pitch answering the contact's inquiry is allowed."""
        rel = connected.inbound("inquiry", 3).relationship()

        assert check(rel, "pitch", at=day(4), policy=ETIQUETTE).allowed

    def test_favor_on_day_two_waits_for_cooling_off(self, connected: Log) -> None:
        """A favour asked on day 2 is denied cooling_off until day 14, the retry time."""
        rel = connected.inbound("message", 1).add("shared_content", 1).relationship()

        decision = check(rel, "ask_favor", at=day(2), policy=ETIQUETTE)

        assert {"cooling_off"} == codes(decision)
        assert day(14) == decision.reasons[0].until
        assert day(14) == decision.retry_at

    def test_favor_without_giving_first_is_denied(self, connected: Log) -> None:
        """Asking before giving anything is denied reciprocity."""
        rel = connected.inbound("message", 1).relationship()

        decision = check(rel, "ask_favor", at=day(20), policy=ETIQUETTE)

        assert {"reciprocity"} == codes(decision)
        assert decision.retry_at is None

    def test_favor_after_giving_and_waiting_is_allowed(self, connected: Log) -> None:
        """Once engaged, after the cooling-off and a gift, a favour may be asked."""
        rel = connected.inbound("message", 1).add("shared_content", 2).inbound("reaction", 3)

        assert check(rel.relationship(), "ask_favor", at=day(20), policy=ETIQUETTE).allowed


class TestWaitUntilTheyComeToYou:
    def test_meeting_request_to_a_connection_is_denied(self, connected: Log) -> None:
        """Asking a mere connection for a meeting is denied, with gentler suggestions."""
        decision = check(connected.relationship(), "request_meeting", at=day(3), policy=ETIQUETTE)

        assert {"not_engaged"} == codes(decision)
        assert (Action.SHARE_VALUE, Action.MESSAGE) == decision.suggestions

    def test_meeting_request_after_theirs_is_allowed(self, connected: Log) -> None:
        """When the contact asks for a meeting first, the sender may ask back."""
        rel = connected.inbound("meeting_requested", 2).relationship()

        assert check(rel, "request_meeting", at=day(3), policy=ETIQUETTE).allowed


class TestPickUpThePhoneDoNotFlood:
    def test_fourth_unanswered_message_is_denied_until_an_answer(self, connected: Log) -> None:
        """After 3 unanswered messages the 4th is denied, with no retry time, until a reply."""
        for n in (1, 2, 3):
            connected.add("message", n)

        denied = check(connected.relationship(), "message", at=day(4), policy=ETIQUETTE)
        connected.inbound("message", 5)
        allowed = check(connected.relationship(), "message", at=day(6), policy=ETIQUETTE)

        assert {"unanswered_limit"} == codes(denied)
        assert denied.retry_at is None
        assert allowed.allowed

    def test_call_at_night_waits_for_the_morning(self, connected: Log) -> None:
        """A call at 22:00 contact time is denied quiet_hours, retry at 08:00 their time."""
        rel = (
            connected.add("profile_updated", 0, metadata={"timezone": "America/New_York"})
            .inbound("message", 1)
            .relationship()
        )
        at = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)  # 22:00 on 4 March in New York

        decision = check(rel, "call", at=at, policy=ETIQUETTE)

        assert {"quiet_hours"} == codes(decision)
        assert datetime(2026, 3, 5, 13, 0, tzinfo=UTC) == decision.retry_at


class TestGroupsAndRefusals:
    def test_promotion_needs_introduction_and_owner_permission(self, connected: Log) -> None:
        """Promoting in a group without an introduction and the owner's consent is denied."""
        decision = check(
            connected.relationship(), "promote_in_group", at=day(2), group="g1", policy=ETIQUETTE
        )

        assert {"not_introduced", "no_owner_permission"} == codes(decision)

    def test_promotion_with_both_is_allowed_in_that_group_only(self, connected: Log) -> None:
        """With an introduction and the owner's permission, promotion is allowed there only."""
        rel = (
            connected.add("group_joined", 1, group="g1")
            .add("group_introduced", 2, group="g1")
            .inbound("opt_in_granted", 3, purpose="group_promotion", group="g1")
            .relationship()
        )

        here = check(rel, "promote_in_group", at=day(4), group="g1", policy=ETIQUETTE)
        elsewhere = check(rel, "promote_in_group", at=day(4), group="g2", policy=ETIQUETTE)

        assert here.allowed
        assert {"not_introduced", "no_owner_permission"} == codes(elsewhere)

    def test_refusal_holds_off_pitches_then_needs_a_gift(self, connected: Log) -> None:
        """A refusal denies pitches for 30 days and then until something was given."""
        connected.inbound("inquiry", 1).inbound("refusal", 5)

        within = check(connected.relationship(), "pitch", at=day(10), policy=ETIQUETTE)
        after = check(connected.relationship(), "pitch", at=day(40), policy=ETIQUETTE)
        connected.add("shared_content", 12)
        given_within = check(connected.relationship(), "pitch", at=day(20), policy=ETIQUETTE)
        given_after = check(connected.relationship(), "pitch", at=day(36), policy=ETIQUETTE)

        assert {"recent_refusal"} == codes(within)
        assert within.retry_at is None
        assert {"recent_refusal"} == codes(after)
        assert {"recent_refusal"} == codes(given_within)
        assert day(35) == given_within.retry_at
        assert given_after.allowed


class TestDoNotContact:
    def test_block_denies_every_action(self, connected: Log) -> None:
        """After a block, every action is denied do_not_contact."""
        rel = connected.inbound("message", 1).inbound("blocked", 2).relationship()

        for action in Action:
            decision = check(rel, action, at=day(3), group="g1", policy=ETIQUETTE)
            assert "do_not_contact" in codes(decision), action

    def test_complaint_ends_marketing_until_a_new_opt_in(self, connected: Log) -> None:
        """A spam complaint ends marketing; a later opt-in restores it."""
        connected.inbound("opt_in_granted", 1, purpose="marketing", channel="email")
        connected.inbound("complaint", 5, channel="email")
        ended = check(connected.relationship(), "send_marketing", at=day(6), policy=ETIQUETTE)
        connected.inbound("opt_in_granted", 30, purpose="marketing", channel="email")
        restored = check(connected.relationship(), "send_marketing", at=day(31), policy=ETIQUETTE)

        assert {"do_not_contact", "consent_withdrawn"} == codes(ended)
        assert restored.allowed
