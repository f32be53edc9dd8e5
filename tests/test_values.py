"""
Tests for the vocabulary and the values: enums, Interaction, Evidence, Permission.
"""

from __future__ import annotations

import enum
import json
import pickle

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Any

import attrs
import pytest

from hypothesis import given
from hypothesis import strategies as st

from permission_networking import (
    Action,
    Basis,
    Channel,
    Decision,
    Direction,
    Evidence,
    Interaction,
    InteractionKind,
    InvalidInteraction,
    InvalidRequest,
    OptOut,
    Permission,
    Policy,
    Purpose,
    Reason,
    Relationship,
    RelationshipState,
    Screening,
    Transition,
    check,
    replay,
)


AT = "2026-03-02T09:00:00+00:00"


def make(kind: str = "message", **kw: object) -> Interaction:
    """
    Build an interaction of *kind* between ana and bo.
    """
    return Interaction("i1", "ana", "bo", kind, AT, **kw)  # type: ignore[arg-type]


class TestEnums:
    def test_values_are_the_specified_strings(self) -> None:
        """Every enum carries exactly the string values of the spec."""
        assert ["stranger", "connected", "engaged", "opted_in"] == list(RelationshipState)
        assert ["outbound", "inbound"] == list(Direction)
        assert [
            "email", "linkedin", "twitter", "facebook", "group", "phone", "sms",
            "in_person", "video", "other",
        ] == list(Channel)  # fmt: skip
        assert ["marketing", "sales", "group_promotion"] == list(Purpose)
        assert ["express", "implied_purchase", "implied_inquiry", "soft_opt_in"] == list(Basis)
        assert 32 == len(InteractionKind)

    def test_states_are_ordered_by_progress(self) -> None:
        """States compare by how far the relationship has come, also against strings."""
        s = RelationshipState
        assert s.STRANGER < s.CONNECTED < s.ENGAGED < s.OPTED_IN
        assert s.OPTED_IN > "engaged"
        assert s.CONNECTED <= "connected"
        assert s.ENGAGED >= s.CONNECTED
        assert not s.STRANGER > s.CONNECTED
        assert 3 == s.OPTED_IN.rank

    def test_state_comparison_with_other_types_is_refused(self) -> None:
        """Comparing a state with a non-string raises TypeError."""
        with pytest.raises(TypeError):
            _ = RelationshipState.ENGAGED < 1  # type: ignore[operator]
        with pytest.raises(TypeError):
            _ = RelationshipState.ENGAGED <= 1  # type: ignore[operator]
        with pytest.raises(TypeError):
            _ = RelationshipState.ENGAGED > 1  # type: ignore[operator]
        with pytest.raises(TypeError):
            _ = RelationshipState.ENGAGED >= 1  # type: ignore[operator]

    def test_each_action_records_its_interaction(self) -> None:
        """Action.records maps each action to the interaction it records."""
        expected = {
            "connect": "connection_requested",
            "message": "message",
            "share_value": "shared_content",
            "ask_favor": "ask",
            "pitch": "pitch",
            "request_opt_in": "opt_in_requested",
            "add_to_list": "added_to_list",
            "send_marketing": "marketing_sent",
            "call": "call_attempted",
            "request_meeting": "meeting_requested",
            "promote_in_group": "group_promoted",
        }
        assert expected == {a.value: a.records.value for a in Action}

    def test_electronic_channels(self) -> None:
        """Every channel but phone and in_person is electronic."""
        assert {Channel.PHONE, Channel.IN_PERSON} == {c for c in Channel if not c.is_electronic}


class TestInteraction:
    def test_strings_are_coerced(self) -> None:
        """Kinds, directions, channels and times given as strings become values."""
        i = make("message", direction="inbound", channel="email")

        assert InteractionKind.MESSAGE is i.kind
        assert Direction.INBOUND is i.direction
        assert Channel.EMAIL is i.channel
        assert datetime(2026, 3, 2, 9, tzinfo=UTC) == i.at

    def test_times_are_stored_in_utc(self) -> None:
        """An offset time is stored as the same instant in UTC."""
        at = datetime(2026, 3, 2, 10, tzinfo=timezone(timedelta(hours=1)))
        i = Interaction("i1", "ana", "bo", "message", at)

        assert UTC == i.at.tzinfo
        assert at == i.at

    @pytest.mark.parametrize("z", ["Z", "z"])
    def test_z_suffix_is_accepted(self, z: str) -> None:
        """An ISO string ending in Z (or RFC 3339's lowercase z) is UTC."""
        i = Interaction("i1", "ana", "bo", "message", f"2026-03-02T09:00:00{z}")

        assert datetime(2026, 3, 2, 9, tzinfo=UTC) == i.at

    @pytest.mark.parametrize(
        ("kw", "field"),
        [
            ({"at": datetime(2026, 3, 2, 9)}, "at"),  # noqa: DTZ001
            ({"at": "2026-03-02T09:00:00"}, "at"),
            ({"at": "yesterday"}, "at"),
            ({"at": 12}, "at"),
            ({"id": ""}, "id"),
            ({"id": 7}, "id"),
            ({"sender": ""}, "sender"),
            ({"contact": None}, "contact"),
            ({"kind": "poke"}, "kind"),
            ({"direction": "sideways"}, "direction"),
            ({"channel": "pigeon"}, "channel"),
            ({"purpose": ""}, "purpose"),
            ({"group": ""}, "group"),
            ({"metadata": {"a": 1}}, "metadata"),
            ({"metadata": {1: "a"}}, "metadata"),
            ({"metadata": ["a"]}, "metadata"),
            ({"evidence": "web_form"}, "evidence"),
        ],
    )
    def test_invalid_fields_are_refused_by_name(self, kw: dict[str, object], field: str) -> None:
        """An invalid field raises InvalidInteraction naming the field and the value."""
        args: dict[str, object] = {
            "id": "i1", "sender": "ana", "contact": "bo", "kind": "message", "at": AT
        }  # fmt: skip
        args.update(kw)

        with pytest.raises(InvalidInteraction) as e:
            Interaction(**args)  # type: ignore[arg-type]

        assert field == e.value.field
        assert field in str(e.value)
        assert isinstance(e.value, ValueError)

    @pytest.mark.parametrize(
        "kind",
        ["inquiry", "purchase", "refusal", "complaint", "opt_in_confirmed", "opt_out"],
    )
    def test_contact_only_kinds_are_inbound(self, kind: str) -> None:
        """What only the contact can do defaults to inbound and refuses outbound."""
        assert Direction.INBOUND is make(kind).direction
        with pytest.raises(InvalidInteraction, match="only the contact"):
            make(kind, direction="outbound")

    @pytest.mark.parametrize(
        ("field", "value"), [("channel", ""), ("channel", 0), ("metadata", 0), ("metadata", [])]
    )
    def test_from_dict_reads_only_none_as_left_out(self, field: str, value: object) -> None:
        """An empty or false value is not a missing one: it is checked, and refused."""
        data = {**make().to_dict(), field: value}

        with pytest.raises(InvalidInteraction, match=field):
            Interaction.from_dict(data)

    def test_an_action_is_not_a_kind(self) -> None:
        """Action.CALL is refused as a kind: it shares its value with a call that took place."""
        with pytest.raises(InvalidInteraction, match="call_attempted"):
            make(Action.CALL)

    def test_other_kinds_default_to_outbound(self) -> None:
        """Every other kind defaults to outbound."""
        assert Direction.OUTBOUND is make("message").direction

    def test_contact_only_names_the_seven_kinds_the_contact_alone_does(self) -> None:
        """InteractionKind.contact_only holds for the spec's seven kinds, and no other."""
        expected = {
            "inquiry", "purchase", "refusal", "complaint",
            "opt_in_granted", "opt_in_confirmed", "opt_out",
        }  # fmt: skip

        assert expected == {kind.value for kind in InteractionKind if kind.contact_only}

    def test_opt_in_needs_a_purpose(self) -> None:
        """An opt_in_granted without a purpose is refused."""
        with pytest.raises(InvalidInteraction, match="purpose"):
            make("opt_in_granted")

    def test_group_kinds_need_a_group(self) -> None:
        """A group interaction without a group is refused."""
        with pytest.raises(InvalidInteraction, match="group"):
            make("group_introduced")

    def test_bad_metadata_values_are_refused(self) -> None:
        """An unparsable expiry or an unknown time zone is refused at the boundary."""
        with pytest.raises(InvalidInteraction, match=r"metadata\.expires_at"):
            make("opt_in_granted", purpose="marketing", metadata={"expires_at": "soon"})
        with pytest.raises(InvalidInteraction, match=r"metadata\.timezone"):
            make("profile_updated", metadata={"timezone": "Mars/Olympus"})

    @pytest.mark.parametrize("field", ["id", "sender", "contact"])
    def test_an_identifier_has_at_most_800_bytes(self, field: str) -> None:
        """Ids, senders and contacts longer than every store can index are refused, naming them."""
        fields = {"id": "i1", "sender": "ana", "contact": "bo"}
        as_long = Interaction(**(fields | {field: "é" * 400}), kind="message", at=AT)  # type: ignore[arg-type]

        assert 800 == len(getattr(as_long, field).encode())
        with pytest.raises(InvalidInteraction) as raised:
            Interaction(**(fields | {field: "é" * 400 + "x"}), kind="message", at=AT)  # type: ignore[arg-type]
        assert field == raised.value.field
        assert "800 bytes" in str(raised.value)

    def test_purposes(self) -> None:
        """Well-known purposes become Purpose members; others stay strings."""
        assert Purpose.MARKETING is make("opt_out", purpose="marketing").purpose
        assert "newsletter" == make("opt_out", purpose="newsletter").purpose

    def test_metadata_is_read_only(self) -> None:
        """Metadata is a read-only copy of what was given."""
        given = {"k": "v"}
        i = make(metadata=given)
        given["k"] = "changed"

        assert {"k": "v"} == dict(i.metadata)
        assert isinstance(i.metadata, MappingProxyType)
        with pytest.raises(TypeError):
            i.metadata["k"] = "x"  # type: ignore[index]

    def test_metadata_given_as_an_empty_proxy_is_copied(self) -> None:
        """An empty read-only view of the caller's dict does not let later changes in."""
        given: dict[str, object] = {}
        i = make("introduced", metadata=MappingProxyType(given))
        given["introducer"] = "carl"
        given["n"] = 1

        assert {} == dict(i.metadata)
        assert i == Interaction.from_dict(i.to_dict())

    def test_round_trips_through_json(self) -> None:
        """to_dict is JSON-safe and from_dict gives back an equal interaction."""
        i = make(
            "opt_in_granted",
            purpose="newsletter",
            channel="email",
            group="g",
            evidence=Evidence("web_form", AT, "Yes, send me news", "https://x.test/form"),
            metadata={"expires_at": "2027-01-01T00:00:00Z"},
        )

        data = json.loads(json.dumps(i.to_dict()))

        assert i == Interaction.from_dict(data)
        assert "2026-03-02T09:00:00+00:00" == data["at"]
        assert hash(i) == hash(Interaction.from_dict(data))

    def test_pickles(self) -> None:
        """An interaction survives pickling, for multiprocessing and distributed screening."""
        i = make(metadata={"k": "v"}, evidence=Evidence("written", AT, "yes", "form-1"))

        assert i == pickle.loads(pickle.dumps(i))  # noqa: S301

    def test_from_dict_refuses_missing_and_unknown_keys(self) -> None:
        """from_dict names missing and unknown keys."""
        with pytest.raises(InvalidInteraction, match="missing keys: at"):
            Interaction.from_dict({"id": "i", "sender": "a", "contact": "b", "kind": "message"})
        with pytest.raises(InvalidInteraction, match="unknown keys: colour"):
            Interaction.from_dict(make().to_dict() | {"colour": "red"})
        with pytest.raises(InvalidInteraction, match="expected a mapping"):
            Interaction.from_dict(["id"])  # type: ignore[arg-type]

    def test_interactions_sort_by_time_then_id(self) -> None:
        """Interactions order by (at, id)."""
        a = Interaction("b", "ana", "bo", "message", "2026-03-01T00:00:00Z")
        b = Interaction("a", "ana", "bo", "message", "2026-03-02T00:00:00Z")
        c = Interaction("c", "ana", "bo", "message", "2026-03-02T00:00:00Z")

        assert [a, b, c] == sorted([c, b, a])
        assert a < b <= c
        assert c > b >= a
        assert (a.at, "b") == a.key

    def test_interactions_do_not_order_against_other_types(self) -> None:
        """Ordering against a non-interaction raises TypeError."""
        with pytest.raises(TypeError):
            _ = make() < 1  # type: ignore[operator]
        with pytest.raises(TypeError):
            _ = make() <= 1  # type: ignore[operator]
        with pytest.raises(TypeError):
            _ = make() > 1  # type: ignore[operator]
        with pytest.raises(TypeError):
            _ = make() >= 1  # type: ignore[operator]


class TestEvidenceAndPermission:
    def test_evidence_needs_a_method(self) -> None:
        """Evidence without a method is refused."""
        with pytest.raises(InvalidInteraction, match=r"evidence\.method"):
            Evidence("")

    def test_evidence_from_dict_refuses_unknown_keys(self) -> None:
        """Evidence.from_dict names unknown keys."""
        with pytest.raises(InvalidInteraction, match="unknown keys: ip"):
            Evidence.from_dict({"method": "import", "ip": "1.2.3.4"})

    def test_permission_is_active_between_grant_and_end(self) -> None:
        """A permission is active from its grant until it expires or is withdrawn."""
        t = datetime(2026, 1, 1, tzinfo=UTC)
        p = Permission(
            purpose=Purpose.MARKETING,
            channel=Channel.EMAIL,
            basis=Basis.EXPRESS,
            grantor="bo",
            granted_at=t,
            expires_at=t + timedelta(days=10),
        )

        assert not p.is_active(t - timedelta(seconds=1))
        assert p.is_active(t)
        assert not p.is_active(t + timedelta(days=10))
        withdrawn = Permission(
            purpose="marketing", channel=None, basis=Basis.EXPRESS, grantor="bo",
            granted_at=t, withdrawn_at=t + timedelta(days=1),
        )  # fmt: skip
        assert not withdrawn.is_active(t + timedelta(days=1))

    def test_confirmation_can_be_required(self) -> None:
        """With require_confirmation a permission counts only from its confirmation."""
        t = datetime(2026, 1, 1, tzinfo=UTC)
        p = Permission(
            purpose="marketing", channel=None, basis=Basis.EXPRESS, grantor="bo", granted_at=t
        )
        confirmed = Permission(
            purpose="marketing", channel=None, basis=Basis.EXPRESS, grantor="bo",
            granted_at=t, confirmed_at=t + timedelta(days=1),
        )  # fmt: skip

        assert not p.is_active(t, require_confirmation=True)
        assert not confirmed.is_active(t, require_confirmation=True)
        assert confirmed.is_active(t + timedelta(days=1), require_confirmation=True)

    def test_permission_round_trips(self) -> None:
        """Permission.to_dict and from_dict round-trip."""
        t = datetime(2026, 1, 1, tzinfo=UTC)
        p = Permission(
            purpose="marketing", channel=Channel.SMS, basis=Basis.EXPRESS, grantor="bo",
            granted_at=t, confirmed_at=t, expires_at=t, withdrawn_at=t, group="g",
            source="i1", evidence=Evidence("written"),
        )  # fmt: skip

        assert p == Permission.from_dict(json.loads(json.dumps(p.to_dict())))

    @pytest.mark.parametrize("field", ["purpose", "grantor", "group", "source"])
    def test_permission_from_dict_refuses_a_lone_surrogate(self, field: str) -> None:
        """Text that cannot be written as UTF-8 is refused as the constructor refuses it."""
        t = datetime(2026, 1, 1, tzinfo=UTC)
        p = Permission(purpose="marketing", channel=None, basis=Basis.EXPRESS, grantor="bo",
                       granted_at=t, group="g", source="i1")  # fmt: skip
        data = p.to_dict() | {field: "x\ud800"}

        with pytest.raises(InvalidInteraction):
            Permission.from_dict(data)
        with pytest.raises(InvalidInteraction):
            Permission.from_dict(p.to_dict() | {"evidence": {"method": "web\ud800",
                                 "captured_at": None, "text": None, "source": None}})  # fmt: skip

    def test_a_purpose_from_an_enum_of_ones_own_is_its_value(self) -> None:
        """A member of an integrator's (str, Enum) is kept as the string it holds."""

        class Newsletter(str, enum.Enum):  # noqa: UP042 (the old style is the point)
            WEEKLY = "weekly-newsletter"

        i = make("opt_in_granted", purpose=Newsletter.WEEKLY)

        assert "weekly-newsletter" == i.purpose
        assert type(i.purpose) is str
        assert i == Interaction.from_dict(json.loads(json.dumps(i.to_dict())))

    def test_texts_from_an_enum_of_ones_own_are_their_values(self) -> None:
        """Ids, pair, group and metadata given as (str, Enum) members are kept as plain strings."""

        class Mine(str, enum.Enum):  # noqa: UP042 (the old style is the point)
            ID = "i-1"
            GROUP = "founders"
            KEY = "source"

        i = Interaction(
            Mine.ID, Mine.KEY, Mine.GROUP, "group_joined", "2026-01-01T00:00:00Z",
            group=Mine.GROUP, metadata={Mine.KEY: Mine.GROUP},
        )  # fmt: skip

        texts = (i.id, i.sender, i.contact, i.group, *i.metadata, *i.metadata.values())
        assert all(type(text) is str for text in texts)
        assert {"source": "founders"} == i.to_dict()["metadata"]
        assert i == Interaction.from_dict(i.to_dict())

        p = Permission(
            purpose="group_promotion", channel=None, basis="express", grantor=Mine.KEY,
            granted_at="2026-01-01T00:00:00Z", group=Mine.GROUP, source=Mine.ID,
        )  # fmt: skip

        assert all(type(text) is str for text in (p.grantor, p.group, p.source))
        assert {"grantor": "source", "group": "founders", "source": "i-1"}.items() <= (
            p.to_dict().items()
        )
        assert p == Permission.from_dict(p.to_dict())

        r = replay([], sender=Mine.KEY, contact=Mine.GROUP)
        long = replay([], sender="a" * 900, contact="b")

        assert "a" * 900 == long.sender == Relationship(sender="a" * 900, contact="b").sender

        assert ("source", "founders") == (r.sender, r.contact)
        assert (str, str) == (type(r.sender), type(r.contact))
        assert r == Relationship.from_dict(r.to_dict())


class TestConstructorsTakeStrings:
    """Every constructor that takes an enum takes its string value, and an aware time as a string."""

    T = datetime(2026, 1, 1, tzinfo=UTC)

    def test_permission(self) -> None:
        """A permission built from strings is the one built from enums, and it counts."""
        plain = Permission(
            purpose="marketing", channel="email", basis="express", grantor="bo",
            granted_at="2026-01-01T01:00:00+01:00", expires_at="2027-01-01T00:00:00Z",
        )  # fmt: skip
        typed = Permission(
            purpose=Purpose.MARKETING, channel=Channel.EMAIL, basis=Basis.EXPRESS, grantor="bo",
            granted_at=self.T, expires_at=datetime(2027, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        relationship = Relationship(
            sender="ana", contact="bo", connected_at=self.T, permissions=[plain]
        )

        assert typed == plain
        assert plain.channel is Channel.EMAIL
        assert plain.purpose is Purpose.MARKETING
        assert plain.granted_at.tzinfo is UTC
        assert plain.covers(Channel.EMAIL)
        assert relationship.permissions == (typed,)
        assert check(relationship, "send_marketing", at=self.T, policy=Policy.etiquette())

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("channel", "carrier_pigeon"),
            ("basis", "assumed"),
            ("purpose", ""),
            ("granted_at", datetime(2026, 1, 1)),  # noqa: DTZ001
            ("granted_at", "yesterday"),
            ("withdrawn_at", "2026-01-01T00:00:00"),
            ("grantor", ""),
            ("group", ""),
            ("source", 5),
            ("evidence", "web_form"),
        ],
    )
    def test_permission_refuses_bad_values(self, field: str, value: object) -> None:
        """A permission refuses an unknown enum string or a naive or unparsable time, naming it."""
        fields: dict[str, object] = {
            "purpose": "marketing", "channel": None, "basis": "express", "grantor": "bo",
            "granted_at": self.T,
        }  # fmt: skip

        with pytest.raises(InvalidInteraction, match=f"^{field}="):
            Permission(**{**fields, field: value})  # type: ignore[arg-type]

    @pytest.mark.parametrize("zone", ["Europe", "Mars/Olympus", "a" * 300, "../etc/passwd"])
    def test_a_zone_that_is_not_one_is_refused_everywhere(self, zone: str) -> None:
        """A time zone name that names no zone is refused by an interaction and a relationship."""
        with pytest.raises(InvalidInteraction, match=r"^metadata\.timezone="):
            Interaction("1", "ana", "bo", "profile_updated", self.T, metadata={"timezone": zone})
        with pytest.raises(InvalidInteraction, match=r"^timezone="):
            Relationship(sender="ana", contact="bo", timezone=zone)
        with pytest.raises(InvalidInteraction, match=r"^timezone="):
            Relationship.from_dict({"sender": "ana", "contact": "bo", "timezone": zone})

    def test_reason_and_decision_name_a_naive_time(self) -> None:
        """A naive time in a reason or a decision is refused, naming its field."""
        naive = datetime(2026, 1, 1)  # noqa: DTZ001

        with pytest.raises(InvalidInteraction, match=r"^until="):
            Reason("cooling_off", "too soon", "etiquette", until=naive)
        with pytest.raises(InvalidInteraction, match=r"^at="):
            Decision("message", True, "connected", naive, "etiquette")  # noqa: FBT003
        with pytest.raises(InvalidInteraction, match=r"^retry_at="):
            Decision("message", False, "connected", self.T, "etiquette", retry_at=naive)  # noqa: FBT003

    def test_the_questions_about_a_channel_take_its_value(self) -> None:
        """Both covers and opted_out answer a channel's value as they answer the channel."""
        email = Permission(
            purpose="marketing", channel="email", basis="express", grantor="bo", granted_at=self.T
        )
        out = OptOut("sales", "sms", self.T, "1")
        relationship = Relationship(sender="ana", contact="bo", opt_outs=[out])

        assert [True, False, True] == [email.covers(c) for c in ("email", "sms", Channel.EMAIL)]
        assert [True, False, True] == [out.covers("sales", c) for c in ("sms", "email", None)]
        assert relationship.opted_out("sales", "sms", "2026-01-02T00:00:00Z")
        assert not relationship.opted_out("sales", "email", "2026-01-02T00:00:00Z")

    def test_the_questions_about_a_channel_refuse_an_unknown_one(self) -> None:
        """Each question about a channel refuses a string that is not one, naming the field."""
        email = Permission(
            purpose="marketing", channel="email", basis="express", grantor="bo", granted_at=self.T
        )
        out = OptOut("sales", "sms", self.T, "1")
        relationship = Relationship(sender="ana", contact="bo", opt_outs=[out])

        with pytest.raises(InvalidInteraction, match="channel"):
            email.covers("carrier_pigeon")
        with pytest.raises(InvalidInteraction, match="channel"):
            out.covers("sales", "carrier_pigeon")
        with pytest.raises(InvalidInteraction, match="channel"):
            relationship.opted_out("sales", "carrier_pigeon", "2026-01-02T00:00:00Z")

    def test_is_active_takes_a_time_as_text_and_refuses_a_naive_one(self) -> None:
        """Permission.is_active reads an ISO 8601 time and refuses a naive one, as the queries do."""
        email = Permission(
            purpose="marketing", channel="email", basis="express", grantor="bo", granted_at=self.T
        )

        assert email.is_active("2026-01-01T00:00:00Z")
        assert not email.is_active("2025-12-31T23:59:59Z")
        with pytest.raises(InvalidRequest, match="offset"):
            email.is_active(datetime(2026, 1, 2))  # noqa: DTZ001

    def test_opted_out_refuses_a_naive_time(self) -> None:
        """opted_out refuses a naive time, as permissions_at does."""
        relationship = Relationship(sender="ana", contact="bo")

        with pytest.raises(InvalidRequest):
            relationship.opted_out("sales", None, datetime(2026, 1, 1))  # noqa: DTZ001

    def test_decision(self) -> None:
        """A decision built from strings is the one built from enums, and explains itself."""
        reason = Reason("not_connected", "bo is not connected", "message")
        plain = Decision(
            action="message", allowed=False, state="stranger", at="2026-01-01T00:00:00Z",
            policy="etiquette", reasons=[reason], suggestions=["connect"],
        )  # fmt: skip
        typed = Decision(
            action=Action.MESSAGE, allowed=False, state=RelationshipState.STRANGER, at=self.T,
            policy="etiquette", reasons=(reason,), suggestions=(Action.CONNECT,),
        )  # fmt: skip

        assert typed == plain
        assert plain.action is Action.MESSAGE
        assert plain.suggestions == (Action.CONNECT,)
        assert plain.to_dict() == typed.to_dict()
        assert plain.explain() == typed.explain()
        with pytest.raises(InvalidInteraction, match="action"):
            Decision(action="spam", allowed=False, state="stranger", at=self.T, policy="p")

    def test_opt_out_transition_screening_and_undeliverable(self) -> None:
        """The other values with enum fields take the string values too."""
        assert OptOut(Purpose.MARKETING, Channel.SMS, self.T, "i1") == OptOut(
            "marketing", "sms", "2026-01-01T00:00:00Z", "i1"
        )
        assert Transition(
            (RelationshipState.STRANGER,), RelationshipState.CONNECTED,
            InteractionKind.CONNECTION_ACCEPTED, Direction.INBOUND,
        ) == Transition(["stranger"], "connected", "connection_accepted", "inbound")  # fmt: skip
        screening = Screening("message", "2026-01-01T00:00:00Z", ["bo"], {}, {})
        assert screening == Screening(Action.MESSAGE, self.T, ("bo",), {}, {})
        relationship = Relationship(sender="ana", contact="bo", undeliverable={"email"})
        assert relationship.undeliverable == frozenset({Channel.EMAIL})


_TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]),
)
_TEXT = st.text(min_size=1, max_size=8)
_EVIDENCE = st.builds(
    Evidence,
    _TEXT,
    st.none() | _TIMES,
    st.none() | st.text(max_size=8).filter(bool),
    st.none() | _TEXT,
)
_PERMISSIONS = st.builds(
    Permission,
    purpose=st.sampled_from(list(Purpose)) | _TEXT,
    channel=st.none() | st.sampled_from(list(Channel)),
    basis=st.sampled_from(list(Basis)),
    grantor=_TEXT,
    granted_at=_TIMES,
    confirmed_at=st.none() | _TIMES,
    expires_at=st.none() | _TIMES,
    withdrawn_at=st.none() | _TIMES,
    group=st.none() | _TEXT,
    source=st.none() | _TEXT,
    evidence=st.none() | _EVIDENCE,
)


class TestPermissionFromDict:
    """A permission reads back from what to_dict writes, checked either way."""

    @given(_PERMISSIONS)
    def test_what_to_dict_writes_reads_back_equal(self, permission: Permission) -> None:
        """The dict as written, and the same dict read by the checked path, give the permission."""
        written = json.loads(json.dumps(permission.to_dict()))

        read = Permission.from_dict(written)
        checked = Permission.from_dict(MappingProxyType(written))

        assert permission == read == checked
        assert type(read.purpose) is type(checked.purpose)
        assert read.to_dict() == permission.to_dict()

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"granted_at": None}, "granted_at"),
            ({"granted_at": "2026-01-01T00:00:00"}, "granted_at"),
            ({"channel": "pigeon"}, "channel"),
            ({"basis": "assumed"}, "basis"),
            ({"grantor": ""}, "grantor"),
            ({"purpose": ""}, "purpose"),
            ({"group": 3}, "group"),
            (
                {"evidence": {"method": "", "captured_at": None, "text": None, "source": None}},
                "method",
            ),
            ({"evidence": {"method": "web_form", "ip": "1.2.3.4"}}, "unknown keys"),
            ({"colour": "red"}, "unknown keys"),
        ],
    )
    def test_anything_else_is_checked_and_refused(
        self, change: dict[str, object], message: str
    ) -> None:
        """A dict that is not as written goes through the checks, which name what is wrong."""
        written = Permission(
            purpose="marketing", channel="email", basis="express", grantor="bo",
            granted_at=datetime(2026, 1, 1, tzinfo=UTC),
        ).to_dict()  # fmt: skip

        with pytest.raises(InvalidInteraction, match=message):
            Permission.from_dict({**written, **change})

    def test_a_subclass_reads_through_the_checks_into_itself(self) -> None:
        """A subclass of Permission gets an instance of itself, equal in every field."""

        @attrs.frozen
        class Marked(Permission):
            pass

        written = Permission(
            purpose="sales", channel=None, basis="express", grantor="bo",
            granted_at=datetime(2026, 1, 1, tzinfo=UTC),
        ).to_dict()  # fmt: skip

        read = Marked.from_dict(written)

        assert type(read) is Marked
        assert attrs.astuple(read) == attrs.astuple(Permission.from_dict(written))

    def test_a_time_with_another_offset_is_read_in_utc(self) -> None:
        """A time written with another offset is converted, as the checked path does."""
        granted = datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=2)))
        data = Permission(
            purpose="sales", channel=None, basis="express", grantor="bo", granted_at=granted
        ).to_dict()
        data["granted_at"] = granted.isoformat()

        read = Permission.from_dict(data)

        assert read.granted_at == granted
        assert read.granted_at.tzinfo is UTC


class TestCollectionFields:
    """A collection field takes an iterable of its items, never a string split into letters."""

    T = datetime(2026, 1, 1, tzinfo=UTC)

    def test_relationship(self) -> None:
        """A relationship's groups, permissions and opt-outs refuse a string or a lone item."""
        with pytest.raises(InvalidInteraction, match="groups_introduced"):
            Relationship(sender="ana", contact="bo", groups_introduced="news")
        with pytest.raises(InvalidInteraction, match="permissions"):
            Relationship(sender="ana", contact="bo", permissions="marketing")  # type: ignore[arg-type]
        lone = OptOut("marketing", None, self.T, "o")
        with pytest.raises(InvalidInteraction, match="opt_outs"):
            Relationship(sender="ana", contact="bo", opt_outs=lone)  # type: ignore[arg-type]

        assert (
            frozenset({"news"})
            == Relationship(
                sender="ana", contact="bo", groups_introduced=["news"]
            ).groups_introduced
        )

    def test_decision(self) -> None:
        """A decision's reasons and warnings are Reason values, its obligations strings, never a string."""
        reason = Reason("not_connected", "not connected", "connection")

        def denial(**fields: Any) -> Decision:
            return Decision(
                "message", allowed=False, state="stranger", at=self.T, policy="p", **fields
            )

        with pytest.raises(InvalidInteraction, match="obligations"):
            denial(obligations="include_unsubscribe")
        with pytest.raises(InvalidInteraction, match="reasons"):
            denial(reasons=["not_connected"])
        with pytest.raises(InvalidInteraction, match="warnings"):
            denial(warnings=reason)

        decision = denial(reasons=[reason])
        assert (reason,) == decision.reasons
        assert decision == Decision.from_dict(decision.to_dict())

    def test_reason_code_is_text(self) -> None:
        """A reason code UTF-8 cannot hold is refused, as from_dict refuses it."""
        with pytest.raises(InvalidInteraction, match="code"):
            Reason("code\ud800", "message", "rule")

    def test_screening(self) -> None:
        """A screening refuses a string of contacts; its mappings are read-only copies of what was given."""
        with pytest.raises(InvalidInteraction, match="allowed"):
            Screening("message", self.T, "bo", {}, {})
        with pytest.raises(InvalidInteraction, match="denied"):
            Screening("message", self.T, (), [], {})  # type: ignore[arg-type]
        with pytest.raises(InvalidInteraction, match="denied"):
            Screening("message", self.T, (), {"cy": "not_connected"}, {})  # type: ignore[dict-item]
        with pytest.raises(InvalidInteraction, match="counts"):
            Screening("message", self.T, (), {}, [])  # type: ignore[arg-type]
        with pytest.raises(InvalidInteraction, match="allowed"):
            Screening("message", self.T, (1, 2), {}, {})  # type: ignore[arg-type]
        for bad in ({"not_connected": "1"}, {"not_connected": -3}, {"not_connected": 0}):
            with pytest.raises(InvalidInteraction, match="counts"):
                Screening("message", self.T, (), {}, bad)  # type: ignore[arg-type]

        denied: dict[str, Decision] = {}
        counts: dict[str, int] = {}
        screening = Screening("message", self.T, ("bo",), denied, counts)
        decision = check(Relationship(sender="ana", contact="cy"), "message", at=self.T)
        denied["cy"] = decision
        counts["not_connected"] = 1

        assert ({}, {}) == (dict(screening.denied), dict(screening.counts))
        with pytest.raises(TypeError):
            screening.counts["x"] = 1  # type: ignore[index]
        assert screening == pickle.loads(pickle.dumps(screening))  # noqa: S301


class _NoOffset(tzinfo):
    """A zone that knows no offset: a time in it is naive, as Python counts it."""

    def utcoffset(self, _dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, _dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, _dt: datetime | None) -> str | None:
        return None


def test_a_time_whose_zone_gives_no_offset_is_naive() -> None:
    """The questions a relationship and a permission answer refuse it with InvalidRequest."""
    naive = datetime(2026, 1, 1, tzinfo=_NoOffset())
    p = Permission(
        purpose="marketing", channel=None, basis="express", grantor="bo",
        granted_at="2026-01-01T00:00:00Z",
    )  # fmt: skip
    r = Relationship(sender="ana", contact="bo", permissions=[p])

    for question in (
        lambda: p.is_active(naive),
        lambda: r.state_at(naive),
        lambda: r.permissions_at(naive),
        lambda: r.opted_out("marketing", None, naive),
    ):
        with pytest.raises(InvalidRequest, match="offset"):
            question()
