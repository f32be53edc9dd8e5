"""
Tests for check, require, the can_* guards, Decision and the etiquette table row by row.
"""

from __future__ import annotations

import dataclasses
import enum
import json

from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from dateutil.relativedelta import relativedelta

import permission_networking as pn

from permission_networking import (
    Action,
    Decision,
    InvalidInteraction,
    InvalidRequest,
    PermissionDenied,
    Policy,
    PolicySettings,
    Reason,
    Relationship,
    RelationshipState,
    Request,
    Rule,
    check,
    policy_for,
    require,
    screen,
)
from timeline import Log, day


ETIQUETTE = Policy.etiquette()


@dataclasses.dataclass
class _Unhashable:
    """
    A callable rule check that, as a plain dataclass, cannot be hashed.
    """

    limit: int = 1

    def __call__(self, rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:  # noqa: ARG002
        return ()


@dataclasses.dataclass(frozen=True)
class _AtMost:
    """
    A parametrised rule check: deny once the sender has asked *limit* times.
    """

    limit: int

    def __call__(self, rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:  # noqa: ARG002
        if rel.asks >= self.limit:
            return [Reason("reciprocity", f"asked {rel.asks} times", "at_most")]
        return []


@dataclasses.dataclass(frozen=True)
class _Worded:
    """
    A rule check that denies with its own wording, which equality leaves out.
    """

    wording: str = dataclasses.field(compare=False)

    def __call__(self, rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:  # noqa: ARG002
        return [Reason("not_engaged", self.wording, "worded")]


def codes(decision: Decision) -> list[str]:
    """
    Return the reason codes of *decision*, in order.
    """
    return [reason.code for reason in decision.reasons]


def engaged() -> Log:
    """
    A contact who accepted on day 0 and replied on day 1.
    """
    return Log().inbound("connection_accepted", 0).inbound("message", 1)


class TestConnect:
    def test_cold_request_is_allowed_with_a_warning(self, log: Log) -> None:
        """A request to a stranger nobody introduced is allowed but warns no_shared_context."""
        decision = check(log.relationship(), "connect", at=day(0), policy=ETIQUETTE)

        assert decision.allowed
        assert ["no_shared_context"] == [w.code for w in decision.warnings]
        assert () == decision.obligations

    @pytest.mark.parametrize(
        "step",
        [
            lambda log: log.add("introduced", 0, metadata={"introducer": "Cy"}),
            lambda log: log.inbound("comment", 0),
            lambda log: log.inbound("connection_requested", 0),
        ],
    )
    def test_shared_context_removes_the_warning(self, log: Log, step: object) -> None:
        """An introduction, the contact reaching out or their own request is shared context."""
        step(log)  # type: ignore[operator]

        decision = check(log.relationship(), "connect", at=day(1), policy=ETIQUETTE)

        assert decision.allowed
        assert () == decision.warnings

    @pytest.mark.parametrize("kind", ["connection_accepted", "met_in_person", "call", "meeting"])
    def test_already_connected(self, log: Log, kind: str) -> None:
        """A request to someone already connected is denied."""
        decision = check(log.add(kind, 0).relationship(), "connect", at=day(1), policy=ETIQUETTE)

        assert ["already_connected"] == codes(decision)

    def test_disconnect_allows_a_new_request(self, log: Log) -> None:
        """After a disconnect, a connection request is possible again."""
        rel = log.add("connection_accepted", 0).add("disconnected", 1).relationship()

        assert check(rel, "connect", at=day(2), policy=ETIQUETTE).allowed

    def test_pending_request(self, log: Log) -> None:
        """A request still pending denies another until the request TTL passes."""
        rel = log.add("connection_requested", 0).relationship()

        pending = check(rel, "connect", at=day(1), policy=ETIQUETTE)

        assert ["request_pending"] == codes(pending)
        assert day(90) == pending.retry_at
        assert check(rel, "connect", at=day(90), policy=ETIQUETTE).allowed

    def test_recently_declined(self, log: Log) -> None:
        """A declined request holds off the next for decline_backoff."""
        rel = log.add("connection_requested", 0).inbound("connection_declined", 1).relationship()

        declined = check(rel, "connect", at=day(2), policy=ETIQUETTE)

        assert ["recently_declined"] == codes(declined)
        assert day(181) == declined.retry_at
        assert check(rel, "connect", at=day(181), policy=ETIQUETTE).allowed


class TestMessage:
    def test_stranger_is_not_connected(self, log: Log) -> None:
        """A message to a stranger is denied not_connected, with connect suggested."""
        decision = check(log.relationship(), "message", at=day(0), policy=ETIQUETTE)

        assert ["not_connected"] == codes(decision)
        assert (Action.CONNECT,) == decision.suggestions

    def test_introduced_may_be_messaged(self, log: Log) -> None:
        """An introduction is enough to message and share."""
        rel = log.add("introduced", 0).relationship()

        assert check(rel, "message", at=day(1), policy=ETIQUETTE).allowed
        assert check(rel, "share_value", at=day(1), policy=ETIQUETTE).allowed

    @pytest.mark.parametrize(
        ("kind", "closing"),
        [
            ("introduced", "disconnected"),
            ("met_in_person", "disconnected"),
            ("introduced", "blocked"),
        ],
    )
    def test_a_disconnect_ends_what_an_introduction_or_meeting_allowed(
        self, log: Log, kind: str, closing: str
    ) -> None:
        """After a disconnect or a block the contact is a stranger again, however they were met."""
        rel = log.add(kind, 0).inbound("connection_accepted", 1).inbound(closing, 2).relationship()

        assert RelationshipState.STRANGER == rel.state
        assert "not_connected" in codes(check(rel, "message", at=day(3), policy=ETIQUETTE))

    def test_limit_is_a_setting(self) -> None:
        """max_unanswered is read from the policy."""
        rel = Log().inbound("connection_accepted", 0).add("message", 1).relationship()
        strict = Policy.etiquette(max_unanswered=1)

        assert ["unanswered_limit"] == codes(check(rel, "share_value", at=day(2), policy=strict))

    def test_undeliverable_channel(self) -> None:
        """A message on a channel whose address bounced is denied undeliverable."""
        rel = Log().inbound("connection_accepted", 0).add("bounced", 1, channel="email")

        on_email = check(rel.relationship(), "message", at=day(2), channel="email")
        elsewhere = check(rel.relationship(), "message", at=day(2), channel="linkedin")

        assert ["undeliverable"] == codes(on_email)
        assert elsewhere.allowed


class TestAskFavor:
    def test_not_engaged(self) -> None:
        """A favour from a mere connection is denied not_engaged."""
        rel = Log().inbound("connection_accepted", 0).add("shared_content", 1).relationship()

        assert ["not_engaged"] == codes(check(rel, "ask_favor", at=day(20), policy=ETIQUETTE))

    def test_cooling_off_is_a_setting(self) -> None:
        """cooling_off can be overridden, also as a relativedelta."""
        rel = engaged().add("shared_content", 1).relationship()
        week = Policy.etiquette(cooling_off=relativedelta(days=7))

        assert check(rel, "ask_favor", at=day(7), policy=week).allowed
        assert ["cooling_off"] == codes(check(rel, "ask_favor", at=day(6), policy=week))

    def test_reciprocity_counts_asks(self) -> None:
        """Gives must exceed asks."""
        rel = engaged().add("shared_content", 1).add("ask", 20).inbound("message", 21)

        decision = check(rel.relationship(), "ask_favor", at=day(22), policy=ETIQUETTE)

        assert ["reciprocity"] == codes(decision)


class TestPitch:
    def test_sales_permission_replaces_engagement_and_interest(self, log: Log) -> None:
        """An active sales permission permits a pitch without engagement or interest."""
        rel = log.inbound("opt_in_granted", 0, purpose="sales").add("disconnected", 1)

        assert check(rel.relationship(), "pitch", at=day(2), policy=ETIQUETTE).allowed

    def test_a_sales_permission_older_than_express_consent_ttl_does_not(self, log: Log) -> None:
        """Past express_consent_ttl a sales permission no longer stands in for interest.

        Nor does it make the contact opted in, hence engaged, under that
        policy: the decision's state and the rules that ask for engagement
        see what the policy sees.
        """
        rel = log.inbound("opt_in_granted", 0, purpose="sales").add("disconnected", 1)
        monthly = Policy.etiquette(express_consent_ttl=timedelta(days=30))

        assert check(rel.relationship(), "pitch", at=day(29), policy=monthly).allowed
        decision = check(rel.relationship(), "pitch", at=day(30), policy=monthly)
        assert ["not_engaged", "no_interest"] == codes(decision)
        assert RelationshipState.STRANGER is decision.state
        assert RelationshipState.OPTED_IN is rel.relationship().state_at(day(30))
        for action in ("ask_favor", "request_meeting", "call"):
            assert (
                "not_engaged" in check(rel.relationship(), action, at=day(30), policy=monthly).codes
            )
        combined = check(rel.relationship(), "pitch", at=day(30), policy=monthly & Policy.casl())
        assert RelationshipState.STRANGER is combined.state

    def test_interest_lapses(self) -> None:
        """An inquiry counts as interest for interest_ttl only."""
        rel = engaged().inbound("inquiry", 1).relationship()

        assert check(rel, "pitch", at=day(90), policy=ETIQUETTE).allowed
        assert ["no_interest"] == codes(check(rel, "pitch", at=day(91), policy=ETIQUETTE))

    @pytest.mark.parametrize(
        ("opt_out", "expected"),
        [
            ({"purpose": "sales"}, ["consent_withdrawn"]),
            ({}, ["consent_withdrawn"]),
            ({"purpose": "sales", "channel": "email"}, ["consent_withdrawn"]),
            ({"purpose": "sales", "channel": "linkedin"}, []),
            ({"purpose": "marketing"}, []),
        ],
    )
    def test_an_opt_out_of_sales_since_the_inquiry_ends_the_interest(
        self, opt_out: dict[str, str], expected: list[str]
    ) -> None:
        """An opt-out covering sales on the channel, after the last inquiry, denies a pitch."""
        rel = engaged().inbound("inquiry", 1).inbound("opt_out", 2, **opt_out).relationship()

        decision = check(rel, "pitch", at=day(3), channel="email", policy=ETIQUETTE)

        assert expected == codes(decision)
        assert decision.retry_at is None

    def test_an_unknown_channel_is_covered_by_an_opt_out_on_any(self) -> None:
        """A pitch without a channel is denied by an opt-out of sales on one channel."""
        rel = engaged().inbound("inquiry", 1).inbound("opt_out", 2, purpose="sales", channel="sms")

        assert ["consent_withdrawn"] == codes(check(rel.relationship(), "pitch", at=day(3)))

    def test_a_new_inquiry_or_grant_after_the_opt_out_restores_the_pitch(self) -> None:
        """Interest shown again, or a new sales permission, lifts the opt-out's hold on pitches."""

        def opted_out() -> Log:
            return engaged().inbound("inquiry", 1).inbound("opt_out", 2, purpose="sales")

        asked = opted_out().inbound("inquiry", 5).relationship()
        granted = opted_out().inbound("opt_in_granted", 4, purpose="sales").relationship()
        denied = check(opted_out().relationship(), "pitch", at=day(3), policy=ETIQUETTE)

        assert check(asked, "pitch", at=day(6), policy=ETIQUETTE).allowed
        assert check(granted, "pitch", at=day(6), policy=ETIQUETTE).allowed
        (reason,) = denied.reasons
        assert f"bo opted out of sales on an unknown channel on {day(2):%Y-%m-%d}" in reason.message


class TestRequestOptIn:
    def test_permission_does_not_replace_interest(self) -> None:
        """An existing permission does not stand in for interest."""
        rel = engaged().inbound("opt_in_granted", 1, purpose="sales").relationship()

        assert ["no_interest"] == codes(check(rel, "request_opt_in", at=day(2), policy=ETIQUETTE))

    def test_pending_request(self) -> None:
        """An unanswered opt-in request is pending for request_ttl."""
        rel = engaged().inbound("inquiry", 2).add("opt_in_requested", 3).relationship()

        pending = check(rel, "request_opt_in", at=day(4), policy=ETIQUETTE)

        assert ["request_pending"] == codes(pending)
        assert day(33) == pending.retry_at
        assert check(rel, "request_opt_in", at=day(33), policy=ETIQUETTE).allowed

    def test_answered_request_is_not_pending(self) -> None:
        """An answer ends the pending request."""
        rel = (
            engaged()
            .inbound("inquiry", 2)
            .add("opt_in_requested", 3)
            .inbound("message", 4)
            .relationship()
        )

        assert check(rel, "request_opt_in", at=day(5), policy=ETIQUETTE).allowed

    @pytest.mark.parametrize(("reply", "asked"), [("a", "b"), ("b", "a")])
    def test_an_answer_at_the_instant_of_the_request_leaves_it_pending(
        self, reply: str, asked: str
    ) -> None:
        """A reply at the very instant of a request does not answer it, in either order."""
        log = engaged().inbound("inquiry", 2).items
        log.append(pn.Interaction(reply, "ana", "bo", "message", day(3), direction="inbound"))
        log.append(pn.Interaction(asked, "ana", "bo", "opt_in_requested", day(3)))

        decision = check(pn.replay(log), "request_opt_in", at=day(4), policy=ETIQUETTE)

        assert ["request_pending"] == codes(decision)

    def test_refused_request(self) -> None:
        """A refusal after a request holds off the next for opt_in_backoff."""
        rel = (
            engaged()
            .inbound("inquiry", 2)
            .add("opt_in_requested", 3)
            .inbound("refusal", 4)
            .add("shared_content", 5)
            .inbound("inquiry", 40)
            .relationship()
        )

        declined = check(rel, "request_opt_in", at=day(41), policy=ETIQUETTE)

        assert ["recently_declined"] == codes(declined)
        assert day(94) == declined.retry_at


class TestMarketing:
    @pytest.fixture(name="granted")
    def _granted(self) -> Log:
        return engaged().inbound("opt_in_granted", 2, purpose="marketing", channel="email")

    def test_add_to_list_follows_the_same_rule(self, granted: Log) -> None:
        """add_to_list needs the same consent as send_marketing."""
        decision = check(granted.relationship(), "add_to_list", at=day(3), policy=ETIQUETTE)

        assert decision.allowed
        assert ("include_unsubscribe", "identify_sender") == decision.obligations
        assert "marketing" == decision.purpose
        assert "email" == decision.channel

    def test_double_opt_in(self, granted: Log) -> None:
        """With double_opt_in the permission must be confirmed."""
        strict = Policy.etiquette(double_opt_in=True)

        unconfirmed = check(granted.relationship(), "send_marketing", at=day(3), policy=strict)
        granted.inbound("opt_in_confirmed", 3)
        confirmed = check(granted.relationship(), "send_marketing", at=day(4), policy=strict)

        assert ["consent_unconfirmed"] == codes(unconfirmed)
        assert confirmed.allowed

    def test_double_opt_in_finds_the_confirmed_permission(self) -> None:
        """A confirmed permission in force allows, though an unconfirmed one was granted first."""
        strict = Policy.etiquette(double_opt_in=True)
        log = engaged().inbound("opt_in_granted", 2, purpose="marketing")
        log.inbound("opt_in_granted", 3, purpose="marketing", channel="email")
        log.inbound("opt_in_confirmed", 4, purpose="marketing", channel="email")

        assert check(log.relationship(), "send_marketing", at=day(5), policy=strict).allowed
        assert screen([log.relationship()], "send_marketing", at=day(5), policy=strict).allowed

    def test_express_consent_ttl(self, granted: Log) -> None:
        """express_consent_ttl makes old consent lapse as consent_expired."""
        two_years = Policy.etiquette(express_consent_ttl=relativedelta(months=24))
        rel = granted.relationship()

        assert check(rel, "send_marketing", at=day(2) + relativedelta(months=24, days=-1),
                     policy=two_years).allowed  # fmt: skip
        expired = check(rel, "send_marketing", at=day(2) + relativedelta(months=24),
                        policy=two_years)  # fmt: skip
        assert ["consent_expired"] == codes(expired)
        assert (
            f"bo's consent to marketing on email, given on {day(2):%Y-%m-%d}, lapsed on "
            f"{day(2) + relativedelta(months=24):%Y-%m-%d}"
        ) == expired.reasons[0].message

    def test_expired_permission(self) -> None:
        """A permission past its expires_at is consent_expired, and says when it lapsed."""
        rel = engaged().inbound(
            "opt_in_granted", 2, purpose="marketing", metadata={"expires_at": day(5).isoformat()}
        )

        decision = check(rel.relationship(), "send_marketing", at=day(6), policy=ETIQUETTE)

        assert ["consent_expired"] == codes(decision)
        assert (
            f"bo's consent to marketing on email, given on {day(2):%Y-%m-%d}, "
            f"lapsed on {day(5):%Y-%m-%d}"
        ) == decision.reasons[0].message

    @pytest.mark.parametrize(("expires", "ttl", "lapsed"), [(5, 30, 5), (40, 30, 32)])
    def test_a_permission_lapses_at_the_earlier_of_its_expiry_and_the_ttl(
        self, expires: int, ttl: int, lapsed: int
    ) -> None:
        """With an expires_at and an express_consent_ttl, the message names the earlier end."""
        rel = engaged().inbound(
            "opt_in_granted",
            2,
            purpose="marketing",
            metadata={"expires_at": day(expires).isoformat()},
        )
        policy = Policy.etiquette(express_consent_ttl=timedelta(days=ttl))

        decision = check(rel.relationship(), "send_marketing", at=day(50), policy=policy)

        assert ["consent_expired"] == codes(decision)
        assert decision.reasons[0].message.endswith(f"lapsed on {day(lapsed):%Y-%m-%d}")

    def test_opt_out_without_permission_is_withdrawn(self) -> None:
        """An opt-out reads as consent_withdrawn even when nothing was granted."""
        rel = engaged().inbound("opt_out", 2, purpose="marketing").relationship()

        assert ["consent_withdrawn"] == codes(check(rel, "send_marketing", at=day(3)))

    def test_suggestions_are_not_decided_on_a_default_channel(self) -> None:
        """A denial on its action's default channel suggests each action on its own default."""
        rel = engaged().add("bounced", 2, channel="email").relationship()

        by_default = check(rel, "send_marketing", at=day(3), policy=ETIQUETTE)
        on_linkedin = check(rel, "send_marketing", at=day(3), policy=ETIQUETTE, channel="linkedin")

        assert ["undeliverable", "no_consent"] == codes(by_default)
        assert ("share_value", "message", "request_meeting") == by_default.suggestions
        assert ["no_consent"] == codes(on_linkedin)
        assert by_default.suggestions == on_linkedin.suggestions

    @pytest.mark.parametrize(("action", "channel"), [("message", "email"), ("pitch", "email")])
    def test_suggestions_are_decided_on_the_channel_named(self, action: str, channel: str) -> None:
        """A denial on a channel the caller named suggests only what that channel allows."""
        rel = engaged().add("bounced", 2, channel="email").relationship()
        decision = check(rel, action, at=day(3), policy=ETIQUETTE, channel=channel)

        assert "undeliverable" in codes(decision)
        assert () == decision.suggestions

    @pytest.mark.parametrize(
        ("action", "channel"), [("send_marketing", "email"), ("call", "phone")]
    )
    def test_naming_the_default_channel_is_the_same_request(
        self, action: str, channel: str
    ) -> None:
        """A request on its action's default channel decides alike, named or not, suggestions too."""
        rel = engaged().add("bounced", 2, channel=channel).relationship()

        by_default = check(rel, action, at=day(3), policy=ETIQUETTE)
        named = check(rel, action, at=day(3), policy=ETIQUETTE, channel=channel)

        assert "undeliverable" in codes(named)
        assert ("share_value", "message", "request_meeting") == named.suggestions
        assert by_default == named
        assert (
            screen([rel], action, at=day(3), policy=ETIQUETTE, channel=channel).denied["bo"]
            == named
        )

    def test_a_bounced_phone_still_suggests_a_message(self) -> None:
        """A call to a bounced number, whose channel defaults to phone, suggests a message."""
        rel = engaged().add("bounced", 2, channel="phone").relationship()
        decision = check(rel, "call", at=day(3), policy=ETIQUETTE)

        assert ["undeliverable"] == codes(decision)
        assert ("share_value", "message", "request_meeting") == decision.suggestions

    def test_a_stranger_with_a_bounced_email_is_suggested_a_connection(self) -> None:
        """A connection request is suggested after a bounce: it is not sent by email."""
        rel = Log().add("bounced", 0, channel="email").relationship()

        assert ("connect",) == check(rel, "send_marketing", at=day(1)).suggestions

    def test_own_purpose(self, granted: Log) -> None:
        """A marketing permission does not cover a purpose of the integrator's own."""
        decision = check(granted.relationship(), "send_marketing", at=day(3), purpose="newsletter")

        assert ["no_consent"] == codes(decision)


class TestCallAndMeeting:
    def test_call_inside_hours_is_allowed(self) -> None:
        """A call to an engaged contact inside their hours is allowed."""
        rel = engaged().add("profile_updated", 1, metadata={"timezone": "Europe/Berlin"})

        assert check(rel.relationship(), "call", at=day(2, hour=12), policy=ETIQUETTE).allowed

    def test_call_hours_are_a_setting(self) -> None:
        """call_hours can be narrowed."""
        rel = engaged().add("profile_updated", 1, metadata={"timezone": "Europe/Berlin"})
        narrow = Policy.etiquette(call_hours=(10, 12))

        decision = check(rel.relationship(), "call", at=day(2, hour=7), policy=narrow)

        assert ["quiet_hours"] == codes(decision)
        assert day(2, hour=9) == decision.retry_at  # 10:00 in Berlin (UTC+1)

    def test_unknown_zone_skips_the_hours(self) -> None:
        """Without a known zone, etiquette does not judge the hour."""
        assert check(engaged().relationship(), "call", at=day(2, hour=3), policy=ETIQUETTE)

    def test_old_meeting_request_lapses(self, connected: Log) -> None:
        """The contact's meeting request counts for engagement_ttl."""
        rel = connected.inbound("meeting_requested", 1).relationship()
        short = Policy.etiquette(engagement_ttl=timedelta(days=30))

        assert not check(rel, "call", at=day(40), policy=short)


class TestGroup:
    def test_without_a_group_both_codes(self, connected: Log) -> None:
        """promote_in_group without a group is denied with both codes."""
        decision = check(connected.relationship(), "promote_in_group", at=day(1))

        assert ["not_introduced", "no_owner_permission"] == codes(decision)

    @pytest.mark.parametrize("granted_on", ["other", "group", "linkedin"])
    @pytest.mark.parametrize("asked_on", [None, "group"])
    def test_the_owner_permission_is_for_the_group_whatever_its_channel(
        self, connected: Log, granted_on: str, asked_on: str | None
    ) -> None:
        """The owner's permission for the group counts on any channel it was given on."""
        log = connected.add("group_introduced", 1, group="founders").inbound(
            "opt_in_granted", 2, purpose="group_promotion", group="founders", channel=granted_on
        )

        allowed = check(
            log.relationship(), "promote_in_group", at=day(3), group="founders", channel=asked_on
        )
        elsewhere = check(log.relationship(), "promote_in_group", at=day(3), group="makers")

        assert allowed
        assert ["not_introduced", "no_owner_permission"] == codes(elsewhere)

    def test_a_withdrawn_owner_permission_does_not_count(self, connected: Log) -> None:
        """Once the owner opts out of group promotion, promoting there is denied again."""
        log = (
            connected.add("group_introduced", 1, group="founders")
            .inbound("opt_in_granted", 2, purpose="group_promotion", group="founders")
            .inbound("opt_out", 3, purpose="group_promotion")
        )

        decision = check(log.relationship(), "promote_in_group", at=day(4), group="founders")

        assert ["no_owner_permission"] == codes(decision)

    def test_express_consent_ttl_ends_the_owners_permission_too(self, connected: Log) -> None:
        """Under a policy whose express consent lasts 30 days, an owner's older permission lapses."""
        log = connected.add("group_introduced", 1, group="founders").inbound(
            "opt_in_granted", 2, purpose="group_promotion", group="founders"
        )
        monthly = Policy.etiquette(express_consent_ttl=timedelta(days=30))
        relationship = log.relationship()

        within = check(
            relationship, "promote_in_group", at=day(31), group="founders", policy=monthly
        )
        after = check(
            relationship, "promote_in_group", at=day(32), group="founders", policy=monthly
        )
        screened = screen(
            [relationship], "promote_in_group", at=day(32), group="founders", policy=monthly
        )

        assert within
        assert ["no_owner_permission"] == codes(after)
        assert "longer ago than this policy's consent lasts" in after.reasons[0].message
        assert after == screened.denied[relationship.contact]
        assert check(relationship, "promote_in_group", at=day(400), group="founders")


class TestTies:
    """
    Two interactions at the same instant, in either order of their ids.
    """

    @staticmethod
    def tied(
        first: tuple[str, dict[str, Any]], second: tuple[str, dict[str, Any]]
    ) -> list[list[pn.Interaction]]:
        """
        Return the engaged log with *first* and *second* on day 3, in both orders of their ids.
        """
        logs = []
        for ids in (("a", "b"), ("b", "a")):
            log = engaged().inbound("inquiry", 2).add("shared_content", 2).items
            for (kind, kw), id_ in zip((first, second), ids, strict=True):
                log.append(pn.Interaction(id_, "ana", "bo", kind, day(3), **kw))
            logs.append(log)
        return logs

    @pytest.mark.parametrize(
        ("first", "second", "action", "code"),
        [
            (("refusal", {}), ("shared_content", {}), "ask_favor", "recent_refusal"),
            (("opt_in_requested", {}), ("refusal", {}), "request_opt_in", "recently_declined"),
            (("opt_out", {"purpose": "sales"}), ("inquiry", {}), "pitch", "consent_withdrawn"),
        ],
    )
    def test_a_tie_protects_the_contact(
        self,
        first: tuple[str, dict[str, Any]],
        second: tuple[str, dict[str, Any]],
        action: str,
        code: str,
    ) -> None:
        """A gift, refusal or inquiry at the instant of what it would follow does not follow it."""
        for log in self.tied(first, second):
            decision = check(pn.replay(log), action, at=day(40), policy=ETIQUETTE)

            assert code in decision.codes

    @pytest.mark.parametrize("policy", [ETIQUETTE, policy_for("DE"), policy_for("US")])
    def test_a_grant_and_an_opt_out_at_one_instant_follow_their_ids(self, policy: Policy) -> None:
        """The one whose id sorts later stands, in the fold and in every rule alike."""
        granted = ("opt_in_granted", {"purpose": "sales", "evidence": pn.Evidence("written")})
        regranted, opted_out = self.tied(("opt_out", {}), granted)  # ids a, b; then b, a

        for relationship, stands in ((pn.replay(opted_out), False), (pn.replay(regranted), True)):
            decision = check(relationship, "pitch", at=day(4), policy=policy)

            assert stands == bool(relationship.permissions_at(day(4), "sales"))
            assert stands is not relationship.opted_out("sales", None, day(4))
            assert stands is (RelationshipState.OPTED_IN is relationship.state_at(day(4)))
            assert stands is ("consent_withdrawn" not in decision.codes)


class TestDecision:
    def test_a_combination_whose_parts_disagree_on_engagement_states_the_lower(
        self, log: Log
    ) -> None:
        """The state a combined decision gives is the lowest any part sees, in either order."""
        rel = log.add("meeting", 0).relationship()
        short = Policy.etiquette(engagement_ttl=timedelta(days=30))

        for policy in (Policy.casl() & short, short & Policy.casl()):
            decision = check(rel, "ask_favor", at=day(60), policy=policy)
            assert RelationshipState.CONNECTED == decision.state
            assert "not_engaged" in codes(decision)

    def test_a_combinations_own_settings_do_not_lower_its_state(self, log: Log) -> None:
        """A combination built by hand with settings of its own states what its parts see."""
        rel = log.add("meeting", 0).relationship()
        parts = (Policy.etiquette(), Policy.casl())
        policy = Policy(name="mine", parts=parts, engagement_ttl=timedelta(days=30))

        decision = check(rel, "ask_favor", at=day(60), policy=policy)

        assert RelationshipState.ENGAGED == decision.state
        assert "not_engaged" not in codes(decision)

    def test_retry_at_is_none_when_one_reason_does_not_lapse(self) -> None:
        """retry_at is the latest until, or None as soon as one reason has none."""
        rel = engaged().relationship()

        decision = check(rel, "ask_favor", at=day(2), policy=ETIQUETTE)

        assert ["cooling_off", "reciprocity"] == codes(decision)
        assert decision.retry_at is None

    def test_explain_says_why(self, connected: Log) -> None:
        """explain() has a summary line and a line per reason, warning and suggestion."""
        denied = check(connected.relationship(), "pitch", at=day(1))
        text = denied.explain()

        assert text.startswith("pitch ana -> bo: denied (policy etiquette, state connected")
        assert "[not_engaged]" in text
        assert "[no_interest]" in text
        assert "[jurisdiction_unknown]" in text
        assert "time alone will not change this" in text
        assert "allowed now instead: share_value, message" in text

    def test_explain_allowed(self) -> None:
        """An allowed decision explains its obligations and when a denial lapses."""
        rel = engaged().inbound("opt_in_granted", 2, purpose="marketing").relationship()

        assert "when you act: include_unsubscribe" in check(rel, "send_marketing").explain()
        cooling = check(engaged().add("shared_content", 1).relationship(), "ask_favor", at=day(2))
        assert "ask again at 2026-03-16T09:00:00+00:00" in cooling.explain()

    @pytest.mark.parametrize("direction", ["inbound", "outbound"])
    @pytest.mark.parametrize("policy", [ETIQUETTE, Policy.casl(), Policy.gdpr()])
    def test_a_block_is_explained_whoever_blocked(self, direction: str, policy: Policy) -> None:
        """The reason for a block does not say the contact blocked when the sender did."""
        rel = engaged().add("blocked", 2, direction=direction).relationship()
        message = check(rel, "pitch", at=day(3), policy=policy).reasons[0].message

        assert message.startswith("one of you blocked the other, or bo reported")

    def test_round_trips_through_json(self, connected: Log) -> None:
        """Decision.to_dict is JSON-safe and from_dict restores it."""
        decision = check(connected.relationship(), "ask_favor", at=day(1))

        assert decision == Decision.from_dict(json.loads(json.dumps(decision.to_dict())))
        assert not bool(decision)
        assert decision.decision_id is None

    def test_a_decision_built_with_enums_keeps_their_values(self, connected: Log) -> None:
        """Built by hand with enum members for its texts, a decision equals and round-trips as one with strings."""
        decision = check(connected.relationship(), "send_marketing", at=day(1))
        with_enums = attrs.evolve(decision, channel=pn.Channel.EMAIL, purpose=pn.Purpose.MARKETING)

        assert decision == with_enums
        assert type(with_enums.channel) is str
        assert with_enums == Decision.from_dict(json.loads(json.dumps(with_enums.to_dict())))
        with pytest.raises(InvalidInteraction) as raised:
            attrs.evolve(decision, policy=None)  # type: ignore[arg-type]
        assert "policy" == raised.value.field

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"allowed": "false"}, "allowed"),
            ({"allowed": None}, "allowed"),
            ({"policy": None}, "policy"),
            ({"reasons": None}, "reasons"),
            ({"reasons": [1]}, "reason"),
            ({"reasons": [{"code": "x"}]}, "reason"),
            ({"suggestions": ["poke"]}, "suggestions"),
            ({"obligations": [3]}, "obligations"),
            ({"sender": 5}, "sender"),
            ({"verdict": "yes"}, "decision"),
        ],
    )
    def test_from_dict_refuses_what_to_dict_never_writes(
        self, connected: Log, change: dict[str, object], field: str
    ) -> None:
        """A value of the wrong type, or a key missing or unknown, raises InvalidInteraction."""
        written = check(connected.relationship(), "ask_favor", at=day(1)).to_dict()

        with pytest.raises(InvalidInteraction) as raised:
            Decision.from_dict({**written, **change})

        assert field == raised.value.field

    def test_from_dict_names_a_missing_key(self, connected: Log) -> None:
        """A decision, a reason or an opt-out without a required key says which."""
        written = check(connected.relationship(), "ask_favor", at=day(1)).to_dict()
        del written["allowed"]

        with pytest.raises(InvalidInteraction, match="missing keys: allowed"):
            Decision.from_dict(written)
        with pytest.raises(InvalidInteraction, match="missing keys: code, message, rule"):
            Reason.from_dict({})
        with pytest.raises(InvalidInteraction, match="missing keys: at, channel, purpose, source"):
            pn.OptOut.from_dict({})

    def test_check_takes_strings(self, connected: Log) -> None:
        """Actions, channels and times may be given as strings."""
        decision = check(connected.relationship(), "message", at="2026-03-03T09:00:00Z",
                         channel="linkedin")  # fmt: skip

        assert (Action.MESSAGE, "linkedin", day(1)) == (
            decision.action,
            decision.channel,
            decision.at,
        )

    @pytest.mark.parametrize(
        ("kw", "field"),
        [
            ({"action": "poke"}, "action"),
            ({"channel": "pigeon"}, "channel"),
            ({"purpose": ""}, "purpose"),
            ({"purpose": "news\ud800"}, "purpose"),
            ({"group": ""}, "group"),
            ({"group": "g\ud800"}, "group"),
            ({"at": "noon"}, "at"),
            ({"at": "2026-03-02T09:00:00"}, "at"),
            ({"at": "9999-12-31T23:00:00-05:00"}, "at"),
            ({"at": "0001-01-01T01:00:00+05:00"}, "at"),
        ],
    )
    def test_bad_arguments_raise(self, connected: Log, kw: dict[str, object], field: str) -> None:
        """Invalid arguments raise InvalidRequest naming the argument."""
        args: dict[str, object] = {"action": "message"} | kw
        action = args.pop("action")

        with pytest.raises(InvalidRequest) as e:
            check(connected.relationship(), action, **args)  # type: ignore[arg-type]

        assert field == e.value.field

    def test_an_action_is_refused_whatever_was_decided_before(self, connected: Log) -> None:
        """A tuple is no action, even one shaped like a request decided before on the policy."""
        policy = Policy.etiquette()
        check(connected.relationship(), "pitch", purpose="sales", policy=policy)

        with pytest.raises(InvalidRequest) as e:
            check(connected.relationship(), ("pitch", None, "sales", None), policy=policy)  # type: ignore[arg-type]

        assert "action" == e.value.field

    @pytest.mark.parametrize(
        ("kw", "field"),
        [
            ({"action": pn.InteractionKind.INQUIRY}, "action"),
            ({"channel": pn.Direction.INBOUND}, "channel"),
            ({"channel": Action.CALL}, "channel"),
        ],
    )
    def test_an_enum_member_of_another_kind_is_named_once(
        self, connected: Log, kw: dict[str, object], field: str
    ) -> None:
        """The message shows the value once, then what is expected."""
        args: dict[str, object] = {"action": "message"} | kw
        action = args.pop("action")

        with pytest.raises(InvalidRequest) as e:
            check(connected.relationship(), action, **args)  # type: ignore[arg-type]

        value = kw[field]
        assert str(e.value).startswith(f"{field}={value!r}: expected one of: ")
        assert str(e.value).count(repr(value)) == 1

    @pytest.mark.parametrize("policy", ["etiquette", 3, Policy.etiquette().rules])
    def test_policy_must_be_a_policy(self, connected: Log, policy: object) -> None:
        """Check, require, screen and a store's check refuse what is not a Policy, naming it."""
        relationship = connected.relationship()
        with pn.MemoryStore() as store:
            for guard in (
                lambda: check(relationship, "message", policy=policy),  # type: ignore[arg-type]
                lambda: require(relationship, "message", policy=policy),  # type: ignore[arg-type]
                lambda: screen([relationship], "message", policy=policy),  # type: ignore[arg-type]
                lambda: store.check("ana", "bo", "message", policy=policy),  # type: ignore[arg-type]
            ):
                with pytest.raises(InvalidRequest, match="expected a Policy") as e:
                    guard()
                assert "policy" == e.value.field

    def test_relationship_must_be_a_relationship(self) -> None:
        """Check refuses what is not a Relationship."""
        with pytest.raises(InvalidRequest, match="relationship"):
            check({"sender": "ana"}, "message")  # type: ignore[arg-type]

    def test_at_defaults_to_now(self, connected: Log) -> None:
        """Without at, a guard decides for the current time."""
        decision = check(connected.relationship(), "message")

        assert decision.at > day(200)


class TestRequire:
    def test_require_raises_with_the_decision(self, log: Log) -> None:
        """Require raises PermissionDenied carrying the denying decision."""
        with pytest.raises(PermissionDenied) as e:
            require(log.relationship(), "message", at=day(0))

        assert ["not_connected"] == codes(e.value.decision)
        assert "message denied: not_connected" == str(e.value)
        assert isinstance(e.value, PermissionError)

    def test_require_returns_when_allowed(self, connected: Log) -> None:
        """Require returns the allowed decision."""
        assert require(connected.relationship(), "message", at=day(1)).allowed


class TestBoundGuards:
    @pytest.mark.parametrize("action", list(Action))
    def test_each_can_guard_is_check_with_its_action(self, action: Action) -> None:
        """can_<action> decides exactly what check(..., action) decides."""
        guard = getattr(pn, f"can_{action.value}")
        rel = engaged().relationship()

        assert check(rel, action, at=day(2), group="g") == guard(rel, at=day(2), group="g")
        assert f"can_{action.value}" == guard.__name__


class TestRulesAndPolicies:
    @pytest.mark.parametrize("actions", ["message", Action.MESSAGE, ["message"], {"message"}])
    def test_a_rule_names_its_actions_by_value_or_string(
        self, connected: Log, actions: object
    ) -> None:
        """One action as a string is that action, not its letters; a rule of it runs."""

        def deny(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
            return (Reason("not_engaged", "no", "mine"),)

        rule = Rule("mine", actions, deny)  # type: ignore[arg-type]
        decision = check(
            connected.relationship(), "message", at=day(1), policy=Policy("p", rules=[rule])
        )

        assert frozenset({Action.MESSAGE}) == rule.actions
        assert ["not_engaged"] == codes(decision)

    def test_a_rule_may_yield_its_reasons_and_obligations(self, connected: Log) -> None:
        """Generators type-check as a rule's check and obligations, and work as lists do."""

        def on_fridays(rel: Relationship, req: Request, policy: Policy) -> Iterator[Reason]:
            if req.at.weekday() == 4:
                yield Reason("quiet_hours", "not on Fridays", "no_fridays")

        def sign(rel: Relationship, req: Request, policy: Policy) -> Iterator[str]:
            yield "sign_with_full_name"

        policy = Policy("p", rules=[Rule("no_fridays", Action.MESSAGE, on_fridays, sign)])
        relationship = connected.relationship()
        friday = next(day(n) for n in range(1, 8) if day(n).weekday() == 4)

        assert ("sign_with_full_name",) == check(
            relationship, "message", at=friday - timedelta(days=1), policy=policy
        ).obligations
        assert ["quiet_hours"] == codes(check(relationship, "message", at=friday, policy=policy))

    def test_equal_checks_that_behave_apart_keep_their_own_plans(self, connected: Log) -> None:
        """Two policies equal by value but with checks that word their reasons apart decide apart."""
        relationship = connected.relationship()
        first, second = (
            Policy("p", rules=[Rule("worded", ["message"], _Worded(wording))])
            for wording in ("wording A", "wording B")
        )

        assert first == second
        assert "wording A" == check(relationship, "message", policy=first).reasons[0].message
        assert "wording B" == check(relationship, "message", policy=second).reasons[0].message

    def test_a_frozen_dataclass_may_be_a_rule_check(self, connected: Log) -> None:
        """A parametrised check, as an instance of a frozen dataclass, decides and screens."""
        policy = Policy("p", rules=[Rule("at_most", ["ask_favor", "message"], _AtMost(0))])
        relationship = connected.relationship()

        assert ["reciprocity"] == codes(check(relationship, "message", policy=policy))
        assert {"reciprocity": 1} == dict(screen([relationship], "message", policy=policy).counts)

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"actions": ["mesage"]}, "actions"),
            ({"actions": []}, "actions"),
            ({"actions": 3}, "actions"),
            ({"name": ""}, "name"),
            ({"name": None}, "name"),
            ({"check": None}, "check"),
            ({"obligations": "include_unsubscribe"}, "obligations"),
            ({"check": _Unhashable()}, "check"),
            ({"obligations": _Unhashable()}, "obligations"),
        ],
    )
    def test_a_rule_refuses_what_would_never_run(
        self, fields: dict[str, object], field: str
    ) -> None:
        """An unknown action, no action, no name or a check that is not a function is refused."""

        def fine(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
            return ()

        arguments: dict[str, object] = {"name": "mine", "actions": ["message"], "check": fine}

        with pytest.raises(InvalidRequest) as raised:
            Rule(**{**arguments, **fields})  # type: ignore[arg-type]

        assert field == raised.value.field

    def test_failing_rule_denies_with_rule_error(self, connected: Log) -> None:
        """A rule that raises denies with rule_error: never allow on error."""

        def broken(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
            raise RuntimeError("boom")

        policy = Policy(name="broken", rules=(Rule("broken", {Action.MESSAGE}, broken),))

        decision = check(connected.relationship(), "message", at=day(1), policy=policy)

        assert ["rule_error"] == codes(decision)
        assert "boom" in decision.reasons[0].message

    @pytest.mark.parametrize(
        "found",
        [
            *(None, False, 0, "", "not_engaged", Reason, [Reason], [None], ["not_engaged"], 3),
            *(set(), frozenset(), {}),
        ],
        ids=repr,
    )
    def test_a_rule_that_returns_what_is_not_reasons_denies_with_rule_error(
        self, connected: Log, tmp_path: Path, found: object
    ) -> None:
        """A check must return Reason values: anything else (None, when it forgot) fails closed, everywhere."""

        def odd(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
            return found  # type: ignore[return-value]

        policy = Policy(name="p", rules=(Rule("odd", {Action.MESSAGE}, odd),))
        relationship = connected.relationship()

        decision = check(relationship, "message", at=day(1), policy=policy)
        screened = screen([relationship], "message", at=day(1), policy=policy)

        assert ["rule_error"] == codes(decision)
        assert "a rule check returned" in decision.reasons[0].message
        assert {"rule_error": 1} == dict(screened.counts)
        assert decision == screened.denied[relationship.contact]
        json.dumps(decision.to_dict())
        with pn.SQLiteStore(tmp_path / "audited.db", audit=True) as store:
            store.record_many(connected.items)
            performed = store.perform("ana", "bo", "message", at=day(1), policy=policy)
            assert ["rule_error"] == codes(performed)
            assert [performed] == store.decisions()
            assert 1 == len(store.history("ana", "bo"))

    def test_texts_of_ones_own_enum_are_kept_as_their_values(self, connected: Log) -> None:
        """Names, groups, codes and obligations given as (str, Enum) members decide as their values."""

        class Mine(str, enum.Enum):  # noqa: UP042 (the old style is the point)
            NAME = "mine"
            GROUP = "g1"
            CODE = "my_code"
            DUTY = "say_hello"

        def deny(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
            return [Reason(Mine.CODE, "not on Fridays", "mine")] if req.action == "pitch" else []

        def fail(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
            raise RuntimeError("boom")

        def oblige(rel: Relationship, req: Request, policy: Policy) -> Sequence[str]:
            return [Mine.DUTY]

        rules = (
            Rule(Mine.NAME, Action, deny, oblige),
            Rule(Mine.NAME, {Action.ASK_FAVOR}, fail),
        )
        policy = Policy(name=Mine.NAME, rules=rules)
        relationship = connected.relationship()
        decisions = [
            check(relationship, action, at=day(1), policy=policy, group=Mine.GROUP)
            for action in ("message", "pitch", "ask_favor")
        ]

        assert ["my_code"] == codes(decisions[1])
        assert ["rule_error"] == codes(decisions[2])
        assert ("say_hello",) == decisions[0].obligations
        for decision in decisions:
            texts = (decision.policy, decision.group, *decision.obligations, *decision.codes)
            assert all(type(text) is str for text in texts)
            assert decision == Decision.from_dict(decision.to_dict())
            assert decision.explain() == attrs.evolve(decision).explain()
            assert "Mine." not in decision.explain()

    def test_a_plain_group_is_answered_in_plain_after_an_enum_one(self, connected: Log) -> None:
        """A cached request made with an enum member does not hand that member to a later caller."""

        class Team(str, enum.Enum):  # noqa: UP042 (the old style is the point)
            SALES = "team-sales"

        relationship = connected.relationship()
        check(relationship, "promote_in_group", at=day(1), group=Team.SALES)

        decision = check(relationship, "promote_in_group", at=day(1), group="team-sales")

        assert type(decision.group) is str

    def test_suggestions_leave_out_what_fails_its_obligations(self, connected: Log) -> None:
        """An action whose obligations fail is denied, so a denial does not suggest it."""

        def fine(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
            return ()

        def broken(rel: Relationship, req: Request, policy: Policy) -> Sequence[str]:
            raise RuntimeError("boom")

        mine = Policy(name="mine", rules=(Rule("mine", {Action.MESSAGE}, fine, broken),))
        relationship = connected.relationship()

        for policy in (ETIQUETTE & mine, mine & ETIQUETTE):
            denied = check(relationship, "pitch", at=day(1), policy=policy)
            screened = screen([relationship], "pitch", at=day(1), policy=policy)

            assert ["rule_error"] == codes(check(relationship, "message", at=day(1), policy=policy))
            assert (Action.SHARE_VALUE,) == denied.suggestions
            assert denied == screened.denied[relationship.contact]

    def test_a_rule_may_return_any_iterable_of_reasons(self, connected: Log) -> None:
        """A generator of Reason values is as good as a list."""
        reason = Reason("not_engaged", "not yet", "mine")

        def generated(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
            return (r for r in [reason])  # type: ignore[return-value]

        policy = Policy(name="p", rules=(Rule("mine", {Action.MESSAGE}, generated),))

        assert (reason,) == check(connected.relationship(), "message", policy=policy).reasons

    @pytest.mark.parametrize(
        "found",
        ["include_unsubscribe", [None], [3], [""], [b"x"], None, {"include_unsubscribe"}],
        ids=repr,
    )
    def test_an_obligation_check_that_returns_what_is_not_strings_denies(
        self, connected: Log, tmp_path: Path, found: object
    ) -> None:
        """Obligations must be non-empty strings: anything else denies, in every store alike."""

        def fine(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
            return ()

        def odd(rel: Relationship, req: Request, policy: Policy) -> Sequence[str]:
            return found  # type: ignore[return-value]

        policy = Policy(name="p", rules=(Rule("r", {Action.MESSAGE}, fine, odd),))
        relationship = connected.relationship()

        decision = check(relationship, "message", at=day(1), policy=policy)
        screened = screen([relationship], "message", at=day(1), policy=policy)

        assert ["rule_error"] == codes(decision)
        assert () == screened.allowed
        for store in (pn.MemoryStore(audit=True), pn.SQLiteStore(tmp_path / "a.db", audit=True)):
            with store:
                store.record_many(connected.items)
                performed = store.perform("ana", "bo", "message", at=day(1), policy=policy)
                assert ["rule_error"] == codes(performed)
                assert [performed] == store.decisions()
                assert 1 == len(store.history("ana", "bo"))

    def test_failing_obligation_denies(self, connected: Log) -> None:
        """An obligation function that raises denies with rule_error."""

        def fine(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
            return ()

        def broken(rel: Relationship, req: Request, policy: Policy) -> Sequence[str]:
            raise RuntimeError("boom")

        policy = Policy(name="p", rules=(Rule("r", {Action.MESSAGE}, fine, broken),))
        relationship = connected.relationship()

        decision = check(relationship, "message", at=day(1), policy=policy)
        screened = screen([relationship], "message", at=day(1), policy=policy)

        assert ["rule_error"] == codes(decision)
        assert not decision
        assert () == decision.obligations
        assert () == screened.allowed
        assert {"rule_error": 1} == dict(screened.counts)
        assert decision == screened.denied[relationship.contact]
        with pn.MemoryStore() as store:
            store.record_many(connected.items)
            stored = store.check("ana", "bo", "message", at=day(1), policy=policy)
        assert decision == stored

    def test_policy_settings_types_every_setting(self) -> None:
        """PolicySettings names exactly the settings a preset takes, each with its field's type."""
        not_settings = {"name", "rules", "parts"}
        fields = {
            f.name: f.type for f in attrs.fields(Policy) if f.init and f.name not in not_settings
        }

        typed = {
            name: getattr(hint, "__forward_arg__", hint)
            for name, hint in PolicySettings.__annotations__.items()
        }

        assert fields == typed
        assert PolicySettings.__optional_keys__ == frozenset(fields)

    def test_unknown_settings_are_refused(self) -> None:
        """An unknown or invalid setting raises InvalidRequest naming it."""
        with pytest.raises(InvalidRequest, match="cooling"):
            Policy.etiquette(cooling=timedelta(days=1))  # type: ignore[call-arg]
        for name, value in [
            ("cooling_off", 7),
            ("max_unanswered", 0),
            ("max_unanswered", True),
            ("double_opt_in", "yes"),
            ("call_hours", (21, 8)),
            ("call_hours", (8, 25)),
            ("call_hours", [8, 21]),
            ("express_consent_ttl", "2y"),
            ("cooling_off", timedelta(days=-5)),
            ("refusal_backoff", relativedelta(months=-1)),
            ("interest_ttl", relativedelta(year=2020)),
            ("express_consent_ttl", relativedelta(weekday=0)),
        ]:
            with pytest.raises(InvalidRequest) as e:
                Policy.etiquette(**{name: value})  # type: ignore[arg-type]
            assert name == e.value.field

    @pytest.mark.parametrize(
        ("arguments", "field"),
        [
            ({"name": None}, "name"),
            ({"name": " "}, "name"),
            ({"rules": [1]}, "rules"),
            ({"rules": None}, "rules"),
            ({"parts": ["etiquette"]}, "parts"),
        ],
    )
    def test_a_policy_refuses_what_is_not_a_name_or_rules(
        self, arguments: dict[str, object], field: str
    ) -> None:
        """A policy without a name, or with rules that are not Rule values, is refused."""
        with pytest.raises(InvalidRequest) as raised:
            Policy(**{"name": "mine", **arguments})  # type: ignore[arg-type]

        assert field == raised.value.field

    @pytest.mark.parametrize(
        ("build", "field"),
        [
            (lambda: Reason(None, "m", "r"), "code"),  # type: ignore[arg-type]
            (lambda: Reason("", "m", "r"), "code"),
            (lambda: Reason("x", None, "r"), "message"),  # type: ignore[arg-type]
            (lambda: Reason("x", "m", "r", "tomorrow"), "until"),
            (
                lambda: Decision(
                    action="message",
                    allowed="no",  # type: ignore[arg-type]
                    state="stranger",
                    at=day(1),
                    policy="p",
                ),
                "allowed",
            ),
        ],
    )
    def test_reasons_and_decisions_refuse_values_of_another_kind(
        self, build: Callable[[], object], field: str
    ) -> None:
        """A reason or a decision built by hand is checked as its dict is."""
        with pytest.raises(InvalidInteraction) as raised:
            build()

        assert field == raised.value.field

    def test_a_span_of_nothing_is_a_setting(self) -> None:
        """A zero span is allowed: an engagement_ttl of 0 makes no one engaged."""
        assert timedelta(0) == Policy.etiquette(engagement_ttl=timedelta(0)).engagement_ttl

    def test_combination_keeps_each_code_once_with_the_later_until(self) -> None:
        """Combined, the same code from two parts is kept once, with the later until."""
        rel = engaged().add("shared_content", 1).relationship()
        combined = Policy.etiquette() & Policy.etiquette(cooling_off=timedelta(days=20))

        decision = check(rel, "ask_favor", at=day(2), policy=combined)

        assert "etiquette & etiquette" == decision.policy
        assert ["cooling_off"] == codes(decision)
        assert day(20) == decision.retry_at

    def test_combination_of_three_flattens(self) -> None:
        """Combining combinations lists every part once, in order."""
        a, b, c = (Policy.etiquette(max_unanswered=n) for n in (1, 2, 3))

        combined = (a & b) & c

        assert "etiquette & etiquette & etiquette" == combined.name
        assert [1, 2, 3] == [p.max_unanswered for p in combined.leaves]
        assert NotImplemented == a.__and__("x")  # type: ignore[operator]

    def test_unknown_jurisdiction_warns_on_commercial_actions(self) -> None:
        """policy_for(None) is the etiquette warning jurisdiction_unknown on commercial actions."""
        rel = engaged().inbound("inquiry", 1).relationship()

        pitch = check(rel, "pitch", at=day(2), policy=policy_for(None))
        message = check(rel, "message", at=day(2), policy=policy_for(None))
        sales_call = check(rel, "call", at=day(2), purpose="sales", policy=policy_for(None))

        assert pitch.allowed
        assert ["jurisdiction_unknown"] == [w.code for w in pitch.warnings]
        assert () == message.warnings
        assert ["jurisdiction_unknown"] == [w.code for w in sales_call.warnings]
        assert RelationshipState.ENGAGED == pitch.state
