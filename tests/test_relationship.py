"""
Tests for the fold: replay, apply and the state machine's rules.
"""

from __future__ import annotations

import json

from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from permission_networking import (
    Channel,
    ConflictError,
    Evidence,
    Interaction,
    InvalidInteraction,
    InvalidRequest,
    OptOut,
    Permission,
    Policy,
    Purpose,
    Relationship,
    RelationshipState,
    check,
    replay,
)
from timeline import DAY0, Log, day


S = RelationshipState


def _granted(basis: str = "express") -> Permission:
    return Permission("sales", None, basis, "bo", DAY0)


class TestReplay:
    def test_empty_log_needs_the_pair(self) -> None:
        """An empty log without sender= and contact= is refused; with them it is strangers."""
        with pytest.raises(InvalidInteraction, match="sender= and contact="):
            replay([])

        rel = replay([], sender="ana", contact="bo")

        assert ("ana", "bo", 0, None) == (rel.sender, rel.contact, rel.version, rel.as_of)
        assert S.STRANGER is rel.state

    def test_a_log_names_its_pair_even_when_at_leaves_it_all_out(self, connected: Log) -> None:
        """A log cut before its first interaction is that pair as strangers."""
        rel = replay(connected.items, at=day(-1))

        assert ("ana", "bo", 0) == (rel.sender, rel.contact, rel.version)

    def test_mixed_pairs_are_refused(self, connected: Log) -> None:
        """A log mixing pairs raises InvalidInteraction."""
        other = Interaction("x", "ana", "cy", "message", DAY0)

        with pytest.raises(InvalidInteraction, match="mixes pairs"):
            replay([*connected.items, other])
        with pytest.raises(InvalidInteraction, match="mixes pairs"):
            replay(connected.items, contact="cy")

    def test_non_interactions_are_refused(self) -> None:
        """Items that are not interactions raise InvalidInteraction."""
        with pytest.raises(InvalidInteraction, match="expected Interaction"):
            replay([{"id": "x"}])  # type: ignore[list-item]

    def test_repeated_interactions_count_once(self, connected: Log) -> None:
        """The same interaction twice is applied once; a different one with its id conflicts."""
        item = connected.items[0]
        clash = Interaction(item.id, "ana", "bo", "message", DAY0)

        assert 1 == replay([item, item]).version
        with pytest.raises(ConflictError):
            replay([item, clash])

    def test_at_leaves_out_what_came_later(self, connected: Log) -> None:
        """replay(at=T) ignores interactions after T."""
        connected.inbound("message", 5)

        assert S.CONNECTED is replay(connected.items, at=day(4)).state
        assert S.ENGAGED is replay(connected.items, at=day(5).isoformat()).state

    @given(st.permutations(range(8)))
    def test_arrival_order_does_not_matter(self, order: list[int]) -> None:
        """Every arrival order of a log replays to the same relationship."""
        log = (
            Log()
            .inbound("connection_accepted", 0)
            .add("message", 1)
            .inbound("message", 1)
            .inbound("inquiry", 2)
            .add("opt_in_requested", 3)
            .inbound("opt_in_granted", 3, purpose="marketing")
            .inbound("opt_out", 4, purpose="marketing", channel="email")
            .add("message", 4)
        )

        assert replay(log.items) == replay([log.items[i] for i in order])


class TestApply:
    def test_apply_in_order_equals_replay(self, connected: Log) -> None:
        """Applying interactions one by one gives what replay gives."""
        connected.inbound("message", 1).add("shared_content", 2)
        rel = replay([], sender="ana", contact="bo")
        for item in connected.items:
            rel = rel.apply(item)

        assert replay(connected.items) == rel

    def test_apply_out_of_order_is_refused(self, connected: Log) -> None:
        """Apply refuses an interaction that does not sort after the last one."""
        rel = connected.inbound("message", 5).relationship()
        early = Interaction("early", "ana", "bo", "message", day(1))

        with pytest.raises(InvalidInteraction, match="replay"):
            rel.apply(early)
        with pytest.raises(InvalidInteraction, match="replay"):
            rel.apply(connected.items[-1])

    def test_apply_of_another_pair_is_refused(self, connected: Log) -> None:
        """Apply refuses an interaction of another pair."""
        with pytest.raises(InvalidInteraction, match="belongs to"):
            connected.relationship().apply(Interaction("x", "ana", "cy", "message", day(9)))


class TestStates:
    def test_a_time_may_be_an_iso_string(self, log: Log) -> None:
        """state_at and permissions_at take an ISO 8601 string with an offset, as the guards do."""
        rel = log.inbound("opt_in_granted", 0, purpose="marketing").relationship()
        text = day(1).isoformat()

        assert rel.state_at(day(1)) is rel.state_at(text) is S.OPTED_IN
        assert rel.permissions_at(day(1)) == rel.permissions_at(text) == rel.permissions

    @pytest.mark.parametrize("at", ["noon", "2026-03-02T09:00:00", datetime(2026, 3, 2), 3])  # noqa: DTZ001
    def test_a_naive_or_unknown_time_is_refused(self, log: Log, at: object) -> None:
        """A naive time, or no time at all, raises InvalidRequest naming at."""
        rel = log.inbound("message", 0).relationship()

        for query in (rel.state_at, rel.permissions_at):
            with pytest.raises(InvalidRequest) as e:
                query(at)  # type: ignore[arg-type]
            assert "at" == e.value.field

    @pytest.mark.parametrize(
        "ttl", [timedelta(days=-1), relativedelta(months=-1), relativedelta(day=1), 365, "1y", None]
    )
    def test_an_engagement_ttl_that_is_not_a_span_is_refused(self, log: Log, ttl: object) -> None:
        """state_at refuses what Policy refuses as engagement_ttl, naming it."""
        rel = log.inbound("message", 0).relationship()

        with pytest.raises(InvalidRequest) as e:
            rel.state_at(day(1), engagement_ttl=ttl)  # type: ignore[arg-type]
        assert "engagement_ttl" == e.value.field
        with pytest.raises(InvalidRequest):
            Policy.etiquette(engagement_ttl=ttl)  # type: ignore[arg-type]

    def test_express_consent_ttl_ends_what_a_permission_does_for_the_state(self, log: Log) -> None:
        """Given express_consent_ttl, a permission counts for the state that long after its grant."""
        rel = log.inbound("opt_in_granted", 0, purpose="marketing").relationship()
        month = timedelta(days=30)

        assert S.OPTED_IN is rel.state_at(day(29), express_consent_ttl=month)
        assert S.CONNECTED is rel.state_at(day(400), express_consent_ttl=month)
        assert S.OPTED_IN is rel.state_at(day(400))
        with pytest.raises(InvalidRequest) as e:
            rel.state_at(day(1), express_consent_ttl=timedelta(days=-1))
        assert "express_consent_ttl" == e.value.field

    @pytest.mark.parametrize("purpose", ["", 1, ["sales"], "s\ud800"])
    def test_permissions_at_refuses_what_is_not_a_purpose(self, log: Log, purpose: object) -> None:
        """A bad purpose raises instead of reading as no permission."""
        rel = log.inbound("opt_in_granted", 0, purpose="sales").relationship()

        with pytest.raises(InvalidInteraction) as e:
            rel.permissions_at(day(1), purpose)  # type: ignore[arg-type]
        assert "purpose" == e.value.field

    def test_outbound_alone_does_not_raise_the_state(self, log: Log) -> None:
        """Messages, pitches and requests from the sender leave a stranger a stranger."""
        for n, kind in enumerate(["connection_requested", "message", "pitch", "ask", "comment"]):
            log.add(kind, n)

        assert S.STRANGER is log.relationship().state

    @pytest.mark.parametrize("kind", ["message", "comment", "inquiry", "purchase"])
    def test_contact_reaching_out_connects_and_engages(self, log: Log, kind: str) -> None:
        """An inbound message, comment, inquiry or purchase makes the pair engaged."""
        rel = log.inbound(kind, 0).relationship()

        assert S.ENGAGED is rel.state
        assert DAY0 == rel.connected_at
        assert rel.connection_at is None

    @pytest.mark.parametrize("kind", ["call", "meeting", "met_in_person"])
    def test_joint_acts_connect_and_engage_either_way(self, log: Log, kind: str) -> None:
        """A call, a meeting or meeting in person connects and engages, whoever recorded it."""
        rel = log.add(kind, 0).relationship()

        assert S.ENGAGED is rel.state
        assert DAY0 == rel.connection_at

    def test_engagement_goes_cold(self, connected: Log) -> None:
        """Without a new signal an engaged contact falls back to connected after the TTL."""
        rel = connected.inbound("message", 1).relationship()

        assert S.ENGAGED is rel.state_at(day(365))
        assert S.CONNECTED is rel.state_at(day(366))
        assert S.CONNECTED is rel.state_at(day(31), engagement_ttl=timedelta(days=30))
        assert S.STRANGER is rel.state_at(day(-1))

    def test_disconnect_forgets_earlier_engagement(self, connected: Log) -> None:
        """After a disconnect the pair is strangers; a new connection starts cold."""
        connected.inbound("message", 1).add("disconnected", 2)
        assert S.STRANGER is connected.relationship().state

        connected.inbound("connection_accepted", 3)
        rel = connected.relationship()

        assert S.CONNECTED is rel.state
        assert day(3) == rel.connected_at

    def test_block_withdraws_everything_and_sets_do_not_contact(self, connected: Log) -> None:
        """A block makes strangers, withdraws every permission and sets do_not_contact."""
        rel = (
            connected.inbound("opt_in_granted", 1, purpose="marketing")
            .add("blocked", 2)
            .relationship()
        )

        assert S.STRANGER is rel.state
        assert rel.do_not_contact
        assert () == rel.permissions_at(day(3))

    def test_a_block_stands_as_an_opt_out_of_everything(self, connected: Log) -> None:
        """A block is an opt-out of every purpose on every channel, lifted only by new consent."""
        connected.inbound("blocked", 1).inbound("connection_accepted", 2)
        connected.inbound("opt_in_granted", 3, purpose="marketing", channel="email")
        rel = connected.relationship()

        assert [(None, None, day(1))] == [(o.purpose, o.channel, o.at) for o in rel.opt_outs]
        assert not rel.do_not_contact
        assert rel.opted_out("sales", Channel.EMAIL, day(4))
        assert rel.opted_out("marketing", Channel.SMS, day(4))
        assert not rel.opted_out("marketing", Channel.EMAIL, day(4))

    def test_a_complaint_stands_as_an_opt_out_of_marketing(self, connected: Log) -> None:
        """A complaint is an opt-out of marketing on every channel, not of sales."""
        rel = connected.inbound("complaint", 1).relationship()

        assert [("marketing", None)] == [(o.purpose, o.channel) for o in rel.opt_outs]
        assert rel.opted_out("marketing", Channel.PHONE, day(3))
        assert not rel.opted_out("sales", Channel.PHONE, day(3))

    def test_inbound_acceptance_clears_do_not_contact(self, connected: Log) -> None:
        """A later inbound connection_accepted clears do_not_contact; outbound does not."""
        connected.inbound("blocked", 1).add("connection_accepted", 2)
        assert connected.relationship().do_not_contact

        connected.inbound("connection_accepted", 3)
        assert not connected.relationship().do_not_contact

    def test_express_commercial_permission_makes_opted_in(self, log: Log) -> None:
        """Only an active express permission for marketing or sales makes opted_in."""
        log.inbound("opt_in_granted", 0, purpose="group_promotion", group="g")
        assert S.ENGAGED is log.relationship().state

        log.inbound("opt_in_granted", 1, purpose="sales", channel="phone")
        assert S.OPTED_IN is log.relationship().state

    def test_expiring_consent_falls_back(self, connected: Log) -> None:
        """A permission with expires_at stops making the contact opted in when it expires."""
        rel = connected.inbound(
            "opt_in_granted", 1, purpose="marketing", metadata={"expires_at": day(10).isoformat()}
        ).relationship()

        assert S.OPTED_IN is rel.state_at(day(9))
        assert S.ENGAGED is rel.state_at(day(10))
        assert day(10) == rel.permissions[0].expires_at

    def test_implied_consent_never_raises_the_state(self, connected: Log) -> None:
        """A purchase implies consent under some laws but does not make opted_in."""
        rel = connected.inbound("purchase", 1, metadata={"soft_opt_in": "offered"})

        assert S.ENGAGED is rel.relationship().state
        assert day(1) == rel.relationship().soft_opt_in_at


class TestCounters:
    def test_unanswered_counts_outbound_until_an_answer(self, connected: Log) -> None:
        """Outbound messages and the like count until the contact answers or a call happens."""
        connected.add("message", 1).add("pitch", 1).add("call_attempted", 1).add("reaction", 1)
        assert 3 == connected.relationship().unanswered

        connected.add("profile_updated", 2, metadata={"timezone": "Europe/Berlin"})
        connected.add("bounced", 2, channel="email")
        assert 3 == connected.relationship().unanswered

        connected.add("call", 3)
        assert 0 == connected.relationship().unanswered

        connected.add("message", 4).inbound("reaction", 5)
        assert 0 == connected.relationship().unanswered

    def test_gives_and_asks(self, connected: Log) -> None:
        """Outbound shares count as gives, outbound asks as asks."""
        rel = (
            connected.add("shared_content", 1)
            .add("shared_content", 2)
            .add("ask", 3)
            .inbound("ask", 4)
            .relationship()
        )

        assert (2, 1, day(2)) == (rel.gives, rel.asks, rel.last_given_at)

    def test_profile_facts(self, log: Log) -> None:
        """profile_updated records the contact's zone and jurisdiction."""
        rel = log.add(
            "profile_updated", 0, metadata={"timezone": "America/Toronto", "jurisdiction": "CA"}
        ).relationship()

        assert ("America/Toronto", "CA") == (rel.timezone, rel.jurisdiction)

    @pytest.mark.parametrize("blank", ["", " ", "\t"])
    def test_a_blank_jurisdiction_keeps_the_known_one(self, log: Log, blank: str) -> None:
        """A profile_updated with a blank jurisdiction leaves the contact's law as it was."""
        log.add("profile_updated", 0, metadata={"jurisdiction": "DE"})
        rel = log.add("profile_updated", 1, metadata={"jurisdiction": blank}).relationship()

        assert "DE" == rel.jurisdiction

    def test_introductions_and_referrals(self, log: Log) -> None:
        """An introduction with an introducer opens the referral until a commercial message."""
        log.add("introduced", 0, metadata={"introducer": "Cy Doe"})
        rel = log.relationship()
        assert (day(0), "Cy Doe", True) == (
            rel.introduced_at,
            rel.introducer,
            rel.referral_available,
        )

        log.add("pitch", 1, channel="phone")
        assert log.relationship().referral_available

        log.add("pitch", 2, channel="email")
        assert not log.relationship().referral_available

    def test_connection_requests(self, log: Log) -> None:
        """Outbound requests stay pending until answered; declines are remembered."""
        log.add("connection_requested", 0).inbound("connection_requested", 0)
        rel = log.relationship()
        assert (day(0), day(0)) == (rel.connection_requested_at, rel.inbound_request_at)

        log.inbound("connection_declined", 1).add("connection_declined", 1)
        rel = log.relationship()
        assert (None, None, day(1)) == (
            rel.connection_requested_at,
            rel.inbound_request_at,
            rel.declined_at,
        )


class TestConsent:
    def test_a_new_grant_replaces_the_old(self, connected: Log) -> None:
        """A grant for the same (purpose, channel, group) replaces the earlier one."""
        rel = (
            connected.inbound("opt_in_granted", 1, purpose="marketing", channel="email")
            .inbound("opt_in_granted", 2, purpose="marketing", channel="email")
            .inbound("opt_in_granted", 3, purpose="marketing", channel="sms")
            .relationship()
        )

        assert [(Channel.EMAIL, day(2)), (Channel.SMS, day(3))] == [
            (p.channel, p.granted_at) for p in rel.permissions
        ]

    def test_channel_other_means_every_channel(self, connected: Log) -> None:
        """A grant on channel other covers every channel; its permission has channel None."""
        rel = connected.inbound("opt_in_granted", 1, purpose="marketing").relationship()

        assert rel.permissions[0].channel is None
        assert 1 == len(rel.permissions_at(day(2), "marketing", "sms"))

    def test_confirmation_confirms_pending_permissions(self, connected: Log) -> None:
        """opt_in_confirmed without a purpose confirms every pending permission."""
        rel = (
            connected.inbound("opt_in_granted", 1, purpose="marketing", channel="email")
            .inbound("opt_in_granted", 1, purpose="sales", channel="email")
            .inbound("opt_in_confirmed", 2, evidence=Evidence("double_opt_in"))
            .relationship()
        )

        assert [day(2), day(2)] == [p.confirmed_at for p in rel.permissions]
        assert ["double_opt_in"] * 2 == [p.evidence.method for p in rel.permissions if p.evidence]

    def test_confirmation_with_purpose_and_channel_is_specific(self, connected: Log) -> None:
        """opt_in_confirmed for a purpose and channel confirms only those."""
        rel = (
            connected.inbound("opt_in_granted", 1, purpose="marketing", channel="email")
            .inbound("opt_in_granted", 1, purpose="marketing", channel="sms")
            .inbound("opt_in_granted", 1, purpose="sales", channel="email")
            .inbound("opt_in_granted", 1, purpose="group_promotion", group="g")
            .inbound("opt_in_confirmed", 2, purpose="marketing", channel="email", group="g")
            .inbound("opt_in_confirmed", 3, purpose="marketing", channel="email")
            .relationship()
        )

        assert [day(3), None, None, None] == [p.confirmed_at for p in rel.permissions]

    def test_opt_out_without_purpose_withdraws_everything(self, connected: Log) -> None:
        """An opt-out with no purpose on channel other withdraws every permission."""
        rel = (
            connected.inbound("opt_in_granted", 1, purpose="marketing", channel="email")
            .inbound("opt_in_granted", 1, purpose="sales", channel="sms")
            .inbound("opt_out", 2)
            .relationship()
        )

        assert () == rel.permissions_at(day(3))
        assert rel.opted_out("anything", None, day(3))

    def test_opt_out_on_a_channel(self, connected: Log) -> None:
        """An email opt-out withdraws email and all-channel permissions, not SMS ones."""
        rel = (
            connected.inbound("opt_in_granted", 1, purpose="marketing", channel="email")
            .inbound("opt_in_granted", 1, purpose="marketing", channel="sms")
            .inbound("opt_in_granted", 1, purpose="marketing")
            .inbound("opt_out", 2, purpose="marketing", channel="email")
            .relationship()
        )

        assert [Channel.SMS] == [p.channel for p in rel.permissions_at(day(3))]
        assert rel.opted_out(Purpose.MARKETING, Channel.EMAIL, day(3))
        assert not rel.opted_out(Purpose.MARKETING, Channel.SMS, day(3))
        assert not rel.opted_out(Purpose.MARKETING, Channel.EMAIL, day(1))

    def test_a_new_grant_lifts_an_opt_out(self, connected: Log) -> None:
        """An express grant after an opt-out stands; the opt-out no longer does."""
        rel = (
            connected.inbound("opt_out", 1, purpose="marketing")
            .inbound("opt_in_granted", 2, purpose="marketing", channel="email")
            .relationship()
        )

        assert not rel.opted_out(Purpose.MARKETING, Channel.EMAIL, day(3))
        assert rel.opted_out(Purpose.MARKETING, Channel.SMS, day(3))

    def test_group_opt_out_withdraws_that_group_only(self, connected: Log) -> None:
        """An opt-out naming a group withdraws that group's permission only."""
        rel = (
            connected.inbound("opt_in_granted", 1, purpose="group_promotion", group="g1")
            .inbound("opt_in_granted", 1, purpose="group_promotion", group="g2")
            .inbound("opt_out", 2, purpose="group_promotion", group="g1")
            .relationship()
        )

        assert ["g2"] == [p.group for p in rel.permissions_at(day(3))]

    def test_an_opt_out_of_every_purpose_ignores_its_group(self, connected: Log) -> None:
        """An opt-out without a purpose withdraws every permission, whatever group it names."""
        rel = (
            connected.inbound("opt_in_granted", 1, purpose="group_promotion", group="g1")
            .inbound("opt_in_granted", 1, purpose="group_promotion", group="g2")
            .inbound("opt_in_granted", 1, purpose="marketing", channel="email")
            .inbound("opt_out", 2, group="g1")
            .relationship()
        )

        assert () == rel.permissions_at(day(3))
        assert S.ENGAGED is rel.state_at(day(3))

    def test_a_confirmation_for_every_channel_clears_every_bounce(self, connected: Log) -> None:
        """An opt_in_confirmed on channel other, like a grant there, is consent on every channel."""
        connected.inbound("opt_in_granted", 1, purpose="marketing", channel="email")
        connected.add("bounced", 2, channel="email").add("bounced", 2, channel="sms")

        connected.inbound("opt_in_confirmed", 3)

        assert frozenset() == connected.relationship().undeliverable

    def test_bounce_marks_the_channel_until_the_contact_answers_there(self, connected: Log) -> None:
        """A bounce marks its channel undeliverable until inbound activity or consent there."""
        connected.add("bounced", 1, channel="email").add("bounced", 1, channel="sms")
        assert {Channel.EMAIL, Channel.SMS} == connected.relationship().undeliverable

        connected.inbound("message", 2, channel="email")
        assert {Channel.SMS} == connected.relationship().undeliverable

        connected.inbound("opt_in_granted", 3, purpose="marketing")
        assert frozenset() == connected.relationship().undeliverable

    def test_permissions_at_filters(self, connected: Log) -> None:
        """permissions_at filters active permissions by purpose and channel."""
        rel = (
            connected.inbound("opt_in_granted", 1, purpose="marketing", channel="email")
            .inbound("opt_in_granted", 1, purpose="sales", channel="phone")
            .relationship()
        )

        assert 2 == len(rel.permissions_at(day(2)))
        assert ["sales"] == [p.purpose for p in rel.permissions_at(day(2), "sales")]
        assert [] == list(rel.permissions_at(day(2), "marketing", Channel.PHONE))
        assert [] == list(rel.permissions_at(day(0)))


class TestSerialisation:
    def test_round_trip(self, connected: Log) -> None:
        """to_dict is JSON-safe and from_dict gives back an equal relationship."""
        rel = (
            connected.inbound("opt_in_granted", 1, purpose="marketing", channel="email")
            .inbound("opt_out", 2, purpose="marketing", channel="email")
            .add("bounced", 2, channel="sms")
            .add("group_introduced", 3, group="g")
            .relationship()
        )

        assert rel == Relationship.from_dict(json.loads(json.dumps(rel.to_dict())))
        # Any other mapping is read value by value, and reads the same.
        assert rel == Relationship.from_dict(MappingProxyType(rel.to_dict()))

    def test_unknown_fields_are_refused(self) -> None:
        """from_dict refuses unknown fields."""
        with pytest.raises(InvalidInteraction, match="unknown field"):
            Relationship.from_dict({"sender": "a", "contact": "b", "mood": "sunny"})

    @pytest.mark.parametrize(
        "written",
        [
            "2026-03-02T10:00:00+01:00",
            "2026-03-02T09:00:00Z",
            "2026-03-02T09:00:00+00:00",
            datetime(2026, 3, 2, 9, tzinfo=UTC),
            datetime(2026, 3, 2, 4, tzinfo=timezone(timedelta(hours=-5))),
        ],
    )
    def test_times_are_read_as_utc_however_written(self, written: object) -> None:
        """A time with any offset, as text or as a datetime, is read as the same instant in UTC."""
        rel = Relationship.from_dict({"sender": "a", "contact": "b", "connected_at": written})

        assert datetime(2026, 3, 2, 9, tzinfo=UTC) == rel.connected_at
        assert rel.connected_at is not None
        assert UTC is rel.connected_at.tzinfo
        assert "2026-03-02T09:00:00+00:00" == rel.to_dict()["connected_at"]

    @pytest.mark.parametrize("field", ["sender", "contact"])
    def test_sender_and_contact_are_required(self, field: str) -> None:
        """from_dict names a missing sender or contact."""
        data = {"sender": "a", "contact": "b", "connected_at": "2026-03-02T09:00:00+00:00"}
        del data[field]

        with pytest.raises(InvalidInteraction, match=f"missing field.*{field}|{field}.*missing"):
            Relationship.from_dict(data)

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"connected_at": "2026-03-02T09:00:00"}, "connected_at"),
            ({"connected_at": "yesterday"}, "connected_at"),
            ({"connected_at": 20260302}, "connected_at"),
            ({"undeliverable": ["email", "pigeon"]}, "undeliverable"),
        ],
    )
    def test_bad_values_are_refused_by_name(self, data: dict[str, object], field: str) -> None:
        """from_dict names the field of a naive or unreadable time, or of an unknown channel."""
        with pytest.raises(InvalidInteraction, match=field):
            Relationship.from_dict({"sender": "a", "contact": "b", **data})

    def test_any_mapping_is_read(self) -> None:
        """from_dict reads any mapping, not only a dict, and fills what it leaves out with defaults."""
        data = MappingProxyType({"sender": "a", "contact": "b", "undeliverable": ("sms",)})

        assert Relationship(
            sender="a", contact="b", undeliverable=frozenset({Channel.SMS})
        ) == Relationship.from_dict(data)

    @pytest.mark.parametrize("written", ["in full", "without them"])
    def test_none_fields_read_as_left_out(self, written: str) -> None:
        """A field given as None reads as one left out: its default."""
        rel = Relationship(sender="a", contact="b", connected_at=DAY0)
        data = {k: v for k, v in rel.to_dict().items() if written == "in full" or v is not None}

        assert rel == Relationship.from_dict(data)


class TestFieldsAreChecked:
    """A relationship holds what a fold gives: built by hand or read from a dict, it is checked."""

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("referral_available", "false"),
            ("do_not_contact", 0),
            ("unanswered", "lots"),
            ("unanswered", -1),
            ("gives", True),
            ("introducer", 5),
            ("timezone", ""),
            ("sender", ""),
            ("contact", None),
            ("connected_at", "yesterday"),
            ("undeliverable", "email"),
            ("groups_introduced", [""]),
            ("permissions", 5),
            ("opt_outs", [{}]),
        ],
    )
    def test_from_dict_refuses_a_value_of_the_wrong_kind(self, field: str, value: object) -> None:
        """A value to_dict never writes raises InvalidInteraction; it never reaches a guard."""
        written = replay([], sender="ana", contact="bo").to_dict()

        with pytest.raises(InvalidInteraction):
            Relationship.from_dict({**written, field: value})

    def test_a_string_flag_does_not_pass_for_true(self) -> None:
        """'false' is not read as True: under CASL it would have made an unused introduction."""
        written = (
            Log().inbound("introduced", 0, metadata={"introducer": "cy"}).relationship().to_dict()
        )
        written["referral_available"] = "false"

        with pytest.raises(InvalidInteraction, match="referral_available"):
            Relationship.from_dict(written)

    @pytest.mark.parametrize(
        "fields",
        [
            {"sender": None},
            {"contact": 5},
            {"unanswered": None},
            {"connected_at": "2026-01-01T00:00:00Z"},
            {"connected_at": datetime(2026, 1, 1)},  # noqa: DTZ001
            {"permissions": ["marketing"]},
            {"permissions": [Permission("marketing", None, "implied_purchase", "bo", DAY0)]},
            {"permissions": [Permission("sales", None, "express", "bo", DAY0)] * 2},
            {"groups_introduced": {""}},
        ],
    )
    def test_the_constructor_refuses_what_a_fold_never_holds(
        self, fields: dict[str, object]
    ) -> None:
        """Relationship(...) checks its fields as from_dict does."""
        with pytest.raises(InvalidInteraction):
            Relationship(**{"sender": "ana", "contact": "bo", **fields})  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "change",
        [
            {"permissions": [_granted(), _granted()]},
            {"permissions": [_granted(basis="implied_purchase")]},
            {"introducer": "Cy\ud800"},
        ],
    )
    def test_from_dict_refuses_what_the_constructor_refuses(self, change: dict[str, Any]) -> None:
        """Written as to_dict writes it, a relationship no fold holds is refused all the same."""
        data = Relationship(sender="ana", contact="bo").to_dict()
        data |= {
            k: [p.to_dict() for p in v] if k == "permissions" else v for k, v in change.items()
        }

        with pytest.raises(InvalidInteraction):
            Relationship.from_dict(data)

    @pytest.mark.parametrize("source", ["", None, 5])
    def test_an_opt_out_names_the_interaction_that_recorded_it(self, source: object) -> None:
        """An OptOut's source is an interaction id: a non-empty string, as from_dict reads it."""
        with pytest.raises(InvalidInteraction, match="source"):
            OptOut("marketing", None, DAY0, source)  # type: ignore[arg-type]

    def test_times_given_in_a_zone_are_kept_in_utc(self) -> None:
        """A hand-built relationship decides as its round trip does, across a DST change."""
        new_york = ZoneInfo("America/New_York")
        connected = datetime(2026, 3, 1, 9, 30, tzinfo=new_york)
        rel = Relationship(
            sender="ana",
            contact="bo",
            connected_at=connected,
            connection_at=connected,
            engaged_at=connected,
            last_inbound_at=connected,
            gives=1,
        )
        at = datetime(2026, 3, 15, 14, 0, tzinfo=UTC)  # cooling off ends 14:30 UTC

        assert UTC is rel.connected_at.tzinfo  # type: ignore[union-attr]
        assert connected == rel.connected_at
        decision = check(rel, "ask_favor", at=at, policy=Policy.etiquette())
        assert decision == check(Relationship.from_dict(rel.to_dict()), "ask_favor", at=at)
        assert ("cooling_off",) == decision.codes
        assert datetime(2026, 3, 15, 14, 30, tzinfo=UTC) == decision.retry_at

    def test_a_time_that_leaves_the_calendar_in_utc_is_refused(self) -> None:
        """An aware time that falls before year 1 in UTC raises InvalidInteraction naming it."""
        early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))

        with pytest.raises(InvalidInteraction) as e:
            Relationship(sender="ana", contact="bo", as_of=early)
        assert "as_of" == e.value.field

    @pytest.mark.parametrize("data", [None, "bo", 5])
    def test_from_dict_refuses_what_is_not_a_mapping(self, data: object) -> None:
        """Anything but a mapping raises InvalidInteraction."""
        with pytest.raises(InvalidInteraction, match="expected a mapping"):
            Relationship.from_dict(data)  # type: ignore[arg-type]


class TestWhatIsNotALog:
    """The fold's entry points refuse what is not interactions, naming the argument."""

    @pytest.mark.parametrize("value", [None, 5, "message"])
    def test_replay_wants_an_iterable_of_interactions(self, value: object) -> None:
        """Replay refuses None, a number or a string (whose letters are no log)."""
        with pytest.raises(InvalidInteraction, match="interactions"):
            replay(value)  # type: ignore[arg-type]

    def test_replay_wants_names_for_the_pair(self) -> None:
        """sender= and contact= must be non-empty strings."""
        with pytest.raises(InvalidInteraction, match="sender"):
            replay([], sender=5, contact="bo")  # type: ignore[arg-type]
        with pytest.raises(InvalidInteraction, match="contact"):
            replay([], sender="ana", contact="")

    @pytest.mark.parametrize("value", [None, {"kind": "message"}])
    def test_apply_wants_an_interaction(self, value: object) -> None:
        """Apply refuses what is not an Interaction, a dict included."""
        with pytest.raises(InvalidInteraction, match="interaction"):
            replay([], sender="ana", contact="bo").apply(value)  # type: ignore[arg-type]
