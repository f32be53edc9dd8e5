"""
`Relationship`: the state of one ``(sender, contact)`` pair, and `replay`, the fold that makes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import compress, count, islice
from operator import attrgetter, eq, gt, itemgetter
from typing import Any, Final, Self, cast

import attrs

from ._machine import kinds_where
from ._time import Duration, Instant, format_instant, shift, span_problem, within
from ._values import (
    COMMERCIAL_PURPOSES,
    Basis,
    Channel,
    Direction,
    Interaction,
    InteractionKind,
    Permission,
    Purpose,
    PurposeLike,
    RelationshipState,
    check_iterable,
    check_keys,
    encodable,
    enum_value,
    instant_value,
    is_zone,
    purpose_value,
    query_at,
    required_text,
    to_at,
    to_channel,
    to_channels,
    to_optional_purpose,
)
from .exceptions import ConflictError, InvalidInteraction, InvalidRequest


__all__ = ["DEFAULT_ENGAGEMENT_TTL", "OptOut", "Relationship", "extend", "granted_after", "replay"]

DEFAULT_ENGAGEMENT_TTL: Final = timedelta(days=365)
"""
How long an engagement signal keeps a relationship ``engaged`` unless a policy says otherwise.
"""

_K = InteractionKind
_IN = Direction.INBOUND
_OUT = Direction.OUTBOUND
_S = RelationshipState
# Module constants: looking a member up on its enum class costs more than a global.
_STRANGER: Final = _S.STRANGER
_CONNECTED: Final = _S.CONNECTED
_ENGAGED: Final = _S.ENGAGED
_OPTED_IN: Final = _S.OPTED_IN

# Derived from TRANSITIONS, so the fold cannot disagree with the diagram.
_CONNECTS = kinds_where(target=_S.CONNECTED, source=_S.STRANGER) | kinds_where(
    target=_S.ENGAGED, source=_S.STRANGER
)
_MUTUAL = kinds_where(target=_S.CONNECTED, source=_S.STRANGER, either_direction=True) | kinds_where(
    target=_S.ENGAGED, source=_S.STRANGER, either_direction=True
)
_ENGAGES = kinds_where(target=_S.ENGAGED, source=_S.CONNECTED)
_RESETS = kinds_where(target=_S.STRANGER, source=_S.CONNECTED)

_FACTS = frozenset({_K.PROFILE_UPDATED, _K.BOUNCED})
_JOINT = frozenset(kind for kind, _ in _MUTUAL if kind is not _K.CONNECTION_ACCEPTED)
_COUNTED_OUTBOUND = frozenset(
    {
        _K.MESSAGE,
        _K.SHARED_CONTENT,
        _K.PITCH,
        _K.ASK,
        _K.OPT_IN_REQUESTED,
        _K.MEETING_REQUESTED,
        _K.CALL_ATTEMPTED,
    }
)
_COMMERCIAL_MESSAGES = frozenset({_K.PITCH, _K.MARKETING_SENT, _K.OPT_IN_REQUESTED})


def _to_source(value: str) -> str:
    return required_text("source", value)


@attrs.frozen
class OptOut:
    """
    A withdrawal the contact made: of *purpose* (None: every purpose) on *channel* (None: all).

    Attributes:
        purpose: What they withdrew; None for everything.
        channel: Where; None for every channel.
        at: When.
        source: The id of the interaction that recorded it.
    """

    purpose: PurposeLike | None = attrs.field(converter=to_optional_purpose)
    channel: Channel | None = attrs.field(converter=to_channel)
    at: datetime = attrs.field(converter=to_at)
    source: str = attrs.field(converter=_to_source)

    def covers(self, purpose: PurposeLike | None, channel: Channel | str | None) -> bool:
        """
        Whether this opt-out applies to *purpose* on *channel* (None: unknown, so any).

        Raises:
            InvalidInteraction: *channel* is not a channel.
        """
        if self.purpose is not None and self.purpose != purpose:
            return False
        if self.channel is None or channel is None or self.channel is channel:
            return True
        return type(channel) is not Channel and self.channel is enum_value(
            Channel, "channel", channel
        )

    def to_dict(self) -> dict[str, Any]:
        """
        Return a JSON-safe dict.
        """
        return {
            "purpose": None if self.purpose is None else str(self.purpose),
            "channel": None if self.channel is None else self.channel.value,
            "at": format_instant(self.at),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build an `OptOut` from the output of `to_dict`.

        Raises:
            InvalidInteraction: A key is missing or unknown, or a value is invalid.
        """
        check_keys("opt_out", data, required=_OPT_OUT_KEYS, allowed=_OPT_OUT_KEYS)
        purpose = data["purpose"]
        channel = data["channel"]
        return cls(
            None if purpose is None else purpose_value("purpose", purpose),
            None if channel is None else enum_value(Channel, "channel", channel),
            instant_value("at", data["at"]),
            required_text("source", data["source"]),
        )


_OPT_OUT_KEYS = frozenset({"purpose", "channel", "at", "source"})


def _to_permissions(value: Iterable[Permission]) -> tuple[Permission, ...]:
    check_iterable("permissions", value, Permission)
    return tuple(value)


def _to_opt_outs(value: Iterable[OptOut]) -> tuple[OptOut, ...]:
    check_iterable("opt_outs", value, OptOut)
    return tuple(value)


def _to_groups(value: Iterable[str]) -> frozenset[str]:
    check_iterable("groups_introduced", value, str)
    return frozenset(value)


@attrs.frozen(kw_only=True)
class Relationship:
    """
    The state of one ``(sender, contact)`` pair after a log of interactions.

    Build one with `replay` (or a store); every field is derived from the log,
    and precomputed so that guards only compare.

    Attributes:
        sender: Who acts.
        contact: Who they act towards.
        connected_at: When the current connection began (a connection, a
            meeting, a call, or the contact reaching out); None when there is none.
        connection_at: When the current two-sided connection (an accepted
            request, a meeting in person, a call or meeting) began.
        engaged_at: The last engagement signal since the connection began.
        last_inbound_at: The last thing the contact did.
        last_outbound_at: The last thing the sender did.
        last_answer_at: The last answer: an inbound interaction or a joint act.
        unanswered: Outbound messages, shares, pitches, asks, opt-in and meeting
            requests and call attempts since the last answer.
        gives: Outbound ``shared_content`` so far.
        asks: Outbound ``ask`` so far.
        last_given_at: The last outbound ``shared_content``.
        interest_at: The last inbound ``inquiry``.
        last_purchase_at: The last ``purchase``.
        soft_opt_in_at: The last ``purchase`` whose metadata says
            ``soft_opt_in`` is ``offered``.
        soft_opt_in_used_at: The first electronic commercial message
            (``pitch``, ``marketing_sent``, ``opt_in_requested``) since then.
        last_refusal_at: The last ``refusal``.
        introduced_at: The last introduction since the connection began.
        introducer: Who made the last introduction that named one.
        referral_available: Whether an introduction with an introducer has
            not yet been followed by an electronic commercial message, nor
            by a disconnect or a block.
        connection_requested_at: The sender's connection request still open.
        inbound_request_at: The contact's connection request still open.
        declined_at: When the contact last declined a connection request.
        opt_in_requested_at: The sender's last ``opt_in_requested``.
        meeting_requested_at: The contact's last ``meeting_requested``
            since the connection began.
        do_not_contact: Blocked, or a spam complaint, not since cleared.
        undeliverable: Channels whose address bounced.
        permissions: Express permissions, one per ``(purpose, channel, group)``.
        opt_outs: The contact's withdrawals, in order (a later one does not hide an earlier).
        groups_introduced: Groups in which the sender introduced themself.
        timezone: The contact's IANA time zone, when known.
        jurisdiction: The contact's jurisdiction (ISO 3166), when known.
        version: How many interactions it reflects.
        as_of: The time of the last one; None for an empty log.
        last_id: The id of the last one.
    """

    sender: str
    contact: str
    connected_at: datetime | None = None
    connection_at: datetime | None = None
    engaged_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    last_answer_at: datetime | None = None
    unanswered: int = 0
    gives: int = 0
    asks: int = 0
    last_given_at: datetime | None = None
    interest_at: datetime | None = None
    last_purchase_at: datetime | None = None
    soft_opt_in_at: datetime | None = None
    soft_opt_in_used_at: datetime | None = None
    last_refusal_at: datetime | None = None
    introduced_at: datetime | None = None
    introducer: str | None = None
    referral_available: bool = False
    connection_requested_at: datetime | None = None
    inbound_request_at: datetime | None = None
    declined_at: datetime | None = None
    opt_in_requested_at: datetime | None = None
    meeting_requested_at: datetime | None = None
    do_not_contact: bool = False
    undeliverable: frozenset[Channel] = attrs.field(default=frozenset(), converter=to_channels)
    permissions: tuple[Permission, ...] = attrs.field(default=(), converter=_to_permissions)
    opt_outs: tuple[OptOut, ...] = attrs.field(default=(), converter=_to_opt_outs)
    groups_introduced: frozenset[str] = attrs.field(default=frozenset(), converter=_to_groups)
    timezone: str | None = None
    jurisdiction: str | None = None
    version: int = 0
    as_of: datetime | None = None
    last_id: str | None = None

    def __attrs_post_init__(self) -> None:
        # A relationship built by hand (or by attrs.evolve) is checked here;
        # the fold and from_dict build theirs through the slots, from values
        # they checked themselves.
        for name, value in zip(_FIELD_NAMES, _fields(self), strict=True):
            _check_field(name, value)
            if name in _TIME_FIELDS and value is not None and value.tzinfo is not UTC:
                # Kept in UTC, as the fold keeps them: a span added to a time
                # in a zone with daylight saving would move by its wall clock.
                object.__setattr__(self, name, instant_value(name, value))
        _check_items("permissions", self.permissions, Permission)
        _check_permissions(self.permissions)
        _check_items("opt_outs", self.opt_outs, OptOut)
        _check_groups(self.groups_introduced)

    @property
    def state(self) -> RelationshipState:
        """
        The state as of the last interaction, ``state_at(as_of)``.
        """
        if self.as_of is None:
            return RelationshipState.STRANGER
        return self.state_at(self.as_of)

    def state_at(
        self,
        at: Instant,
        *,
        engagement_ttl: Duration = DEFAULT_ENGAGEMENT_TTL,
        express_consent_ttl: Duration | None = None,
    ) -> RelationshipState:
        """
        Return the state at *at*: engagement goes cold, permissions expire.

        Engagement counts for *engagement_ttl* after the last signal, and an
        express permission, when *express_consent_ttl* is given, for that
        long after it was granted; guards pass their policy's. *at* is an
        aware `datetime` or an ISO 8601 string with an offset.

        >>> Relationship(sender="ana", contact="bo").state_at("2026-01-01T00:00:00Z")
        <RelationshipState.STRANGER: 'stranger'>

        Raises:
            InvalidRequest: *at* is naive or not a time, or a TTL is not a
                span of time.
        """
        if type(at) is not datetime or at.tzinfo is not UTC:
            at = query_at(at)
        if engagement_ttl is not DEFAULT_ENGAGEMENT_TTL:
            _check_span("engagement_ttl", engagement_ttl)
        if express_consent_ttl is not None:
            _check_span("express_consent_ttl", express_consent_ttl)
        for permission in self.permissions:
            if (
                permission.purpose in COMMERCIAL_PURPOSES
                and permission.is_active(at)
                and (
                    express_consent_ttl is None
                    or at < shift(permission.granted_at, express_consent_ttl)
                )
            ):
                return _OPTED_IN
        connected_at = self.connected_at
        if connected_at is None or connected_at > at:
            return _STRANGER
        return _ENGAGED if within(self.engaged_at, at, engagement_ttl) else _CONNECTED

    def permissions_at(
        self,
        at: Instant,
        purpose: PurposeLike | None = None,
        channel: Channel | str | None = None,
    ) -> tuple[Permission, ...]:
        """
        Return the permissions active at *at*, for *purpose* and covering *channel* when given.

        Raises:
            InvalidRequest: *at* is naive or not a time.
            InvalidInteraction: *purpose* is not a non-empty string, or
                *channel* is not a channel.
        """
        if type(at) is not datetime or at.tzinfo is not UTC:
            at = query_at(at)
        if purpose is not None:
            purpose = purpose_value("purpose", purpose)
        if channel is not None:
            channel = enum_value(Channel, "channel", channel)
        return tuple(
            p
            for p in self.permissions
            if p.is_active(at)
            and (purpose is None or p.purpose == purpose)
            and (channel is None or p.channel is None or p.channel is channel)
        )

    def opted_out(
        self, purpose: PurposeLike | None, channel: Channel | str | None, at: Instant
    ) -> bool:
        """
        Whether an opt-out covering *purpose* on *channel* stands at *at*.

        An opt-out stands until the contact grants a new express permission
        covering that purpose and channel, and while that permission is in
        force at *at* (one dated later lifts it only from then; one that has
        expired or was withdrawn lifts it no more). A block stands as an opt-out of
        every purpose on every channel, and a spam complaint as one of
        ``marketing`` on every channel, also once ``do_not_contact`` is cleared.

        Raises:
            InvalidRequest: *at* is naive or not a time.
            InvalidInteraction: *channel* is not a channel.
        """
        if type(at) is not datetime or at.tzinfo is not UTC:
            at = query_at(at)
        if channel is not None and type(channel) is not Channel:
            channel = enum_value(Channel, "channel", channel)
        for opt_out in self.opt_outs:
            if opt_out.at > at or not opt_out.covers(purpose, channel):
                continue
            if not any(
                granted_after(p, opt_out)
                and p.is_active(at)
                and p.purpose == purpose
                and p.covers(channel)
                for p in self.permissions
            ):
                return True
        return False

    def apply(self, interaction: Interaction) -> Relationship:
        """
        Return the relationship after *interaction*, which must sort after the last one applied.

        Raises:
            InvalidInteraction: It is not an `Interaction`, belongs to another
                pair, or does not sort after the last interaction (use `replay`
                for out-of-order logs).
        """
        if not isinstance(interaction, Interaction):
            raise InvalidInteraction("interaction", interaction, "expected an Interaction")
        return extend(self, (interaction,))

    def to_dict(self) -> dict[str, Any]:
        """
        Return a JSON-safe dict that `from_dict` turns back into an equal relationship.
        """
        return _plain(self, dict(zip(_FIELD_NAMES, _fields(self), strict=True)), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build a relationship from the output of `to_dict`.

        Fields left out take their defaults.

        Raises:
            InvalidInteraction: A field is unknown, ``sender`` or ``contact``
                is missing, or a value is invalid.
        """
        trusted = _as_written(data)
        if trusted is not None and cls is Relationship:
            return cast("Self", trusted)
        return cls(**_checked(data))


_FIELD_NAMES = tuple(field.name for field in attrs.fields(Relationship))
_TIME_FIELDS = frozenset(
    field.name for field in attrs.fields(Relationship) if "datetime" in str(field.type)
)
_FIELD_SET = frozenset(_FIELD_NAMES)
_TIME_FIELD_NAMES = tuple(name for name in _FIELD_NAMES if name in _TIME_FIELDS)
_SCALAR_FIELDS = tuple(
    name
    for name in _FIELD_NAMES
    if name not in {"undeliverable", "permissions", "opt_outs", "groups_introduced"}
)
_fields = attrgetter(*_FIELD_NAMES)

# What each field that is neither a time nor a collection holds, as to_dict
# writes it and the constructor takes it: a name, a counter, a flag, or a
# text that may be missing.
_NAMES: Final = frozenset({"sender", "contact"})
_COUNTERS: Final = frozenset({"unanswered", "gives", "asks", "version"})
_FLAGS: Final = frozenset({"referral_available", "do_not_contact"})
_TEXTS: Final = frozenset({"introducer", "timezone", "jurisdiction", "last_id"})
_COLLECTIONS: Final = frozenset({"undeliverable", "groups_introduced", "permissions", "opt_outs"})


def _valid(name: str, value: object) -> bool:
    # Whether *value* may be the relationship's field *name* (a time aware).
    if name in _NAMES:
        return type(value) is str and bool(value) and encodable(value)
    if name in _COUNTERS:
        return type(value) is int and value >= 0
    if name in _FLAGS:
        return type(value) is bool
    if name in _TEXTS:
        return value is None or (
            type(value) is str
            and bool(value)
            and encodable(value)
            and (name != "timezone" or is_zone(value))
        )
    if name in _TIME_FIELDS:
        return value is None or (isinstance(value, datetime) and value.utcoffset() is not None)
    return True


_EXPECTED: Final = {
    **dict.fromkeys(_NAMES, "a non-empty string"),
    **dict.fromkeys(_COUNTERS, "a whole number of at least 0"),
    **dict.fromkeys(_FLAGS, "true or false"),
    **dict.fromkeys(_TEXTS, "a non-empty string or None"),
    "timezone": "an IANA time zone name (e.g. Europe/Berlin) or None",
    **dict.fromkeys(_TIME_FIELDS, "an aware datetime or None"),
}


def granted_after(permission: Permission, opt_out: OptOut) -> bool:
    """
    Whether *permission* was granted after *opt_out*, in the log's ``(at, id)`` order.

    At the same instant the ids decide, as they decide which of the two the
    fold applied last: a grant whose id sorts after lifts the opt-out.
    """
    if permission.granted_at != opt_out.at:
        return permission.granted_at > opt_out.at
    return permission.source is not None and permission.source > opt_out.source


def _check_span(name: str, value: object) -> None:
    problem = span_problem(value)
    if problem is not None:
        raise InvalidRequest(name, value, problem)


def _check_field(name: str, value: object) -> None:
    if not _valid(name, value):
        raise InvalidInteraction(name, value, f"expected {_EXPECTED[name]}")


def _check_groups(groups: Iterable[object]) -> None:
    for group in groups:
        if type(group) is not str or not group:
            raise InvalidInteraction("groups_introduced", group, "expected non-empty strings")


def _check_list(name: str, value: object) -> None:
    # A collection field of a dict, as to_dict writes it: a list (a tuple or set will do).
    if type(value) not in {list, tuple, set, frozenset}:
        raise InvalidInteraction(name, value, "expected a list")


def _check_items(name: str, value: object, kind: type) -> None:
    for item in value:  # type: ignore[attr-defined]
        if not isinstance(item, kind):
            raise InvalidInteraction(name, item, f"expected {kind.__name__} values")


def _check_permissions(permissions: tuple[Permission, ...]) -> None:
    # What consent interactions granted, as the fold keeps it: express, and
    # one per (purpose, channel, group); implied consent is no permission.
    keys: set[tuple[object, ...]] = set()
    for permission in permissions:
        if permission.basis is not Basis.EXPRESS:
            raise InvalidInteraction(
                "permissions",
                permission,
                "a relationship holds express permissions only: the laws derive implied "
                "consent from purchases and inquiries",
            )
        key = (permission.purpose, permission.channel, permission.group)
        if key in keys:
            raise InvalidInteraction(
                "permissions", permission, "a second permission for one (purpose, channel, group)"
            )
        keys.add(key)


class _Fold:
    """
    The mutable accumulator of the fold: a `Relationship` being built.
    """

    __slots__ = (*_FIELD_NAMES, "perms", "outs", "groups", "bounced")

    sender: str
    contact: str
    connected_at: datetime | None
    connection_at: datetime | None
    engaged_at: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    last_answer_at: datetime | None
    unanswered: int
    gives: int
    asks: int
    last_given_at: datetime | None
    interest_at: datetime | None
    last_purchase_at: datetime | None
    soft_opt_in_at: datetime | None
    soft_opt_in_used_at: datetime | None
    last_refusal_at: datetime | None
    introduced_at: datetime | None
    introducer: str | None
    referral_available: bool
    connection_requested_at: datetime | None
    inbound_request_at: datetime | None
    declined_at: datetime | None
    opt_in_requested_at: datetime | None
    meeting_requested_at: datetime | None
    do_not_contact: bool
    timezone: str | None
    jurisdiction: str | None
    version: int
    as_of: datetime | None
    last_id: str | None
    perms: dict[tuple[PurposeLike, Channel | None, str | None], Permission]
    outs: list[OptOut]
    groups: set[str]
    bounced: set[Channel]

    def __init__(self, sender: str, contact: str) -> None:
        # A pair with an empty log: Relationship's defaults (the tests hold the two equal).
        self.sender = sender
        self.contact = contact
        self.connected_at = None
        self.connection_at = None
        self.engaged_at = None
        self.last_inbound_at = None
        self.last_outbound_at = None
        self.last_answer_at = None
        self.unanswered = 0
        self.gives = 0
        self.asks = 0
        self.last_given_at = None
        self.interest_at = None
        self.last_purchase_at = None
        self.soft_opt_in_at = None
        self.soft_opt_in_used_at = None
        self.last_refusal_at = None
        self.introduced_at = None
        self.introducer = None
        self.referral_available = False
        self.connection_requested_at = None
        self.inbound_request_at = None
        self.declined_at = None
        self.opt_in_requested_at = None
        self.meeting_requested_at = None
        self.do_not_contact = False
        self.timezone = None
        self.jurisdiction = None
        self.version = 0
        self.as_of = None
        self.last_id = None
        self.perms = {}
        self.outs = []
        self.groups = set()
        self.bounced = set()

    @classmethod
    def thaw(cls, relationship: Relationship) -> _Fold:
        fold = cls.__new__(cls)
        for set_slot, value in zip(_FOLD_SETTERS, _scalars(relationship), strict=True):
            set_slot(fold, value)
        fold.perms = {(p.purpose, p.channel, p.group): p for p in relationship.permissions}
        fold.outs = list(relationship.opt_outs)
        fold.groups = set(relationship.groups_introduced)
        fold.bounced = set(relationship.undeliverable)
        return fold

    def freeze(self) -> Relationship:
        # As Relationship(...) would build it (its checks pass what the fold
        # holds, and its converters leave it as it is), through the slots'
        # descriptors: about twice as fast.
        relationship = _new(Relationship)
        for set_field, value in zip(_SCALAR_SETTERS, _scalars(self), strict=True):
            set_field(relationship, value)
        _set_permissions(relationship, tuple(self.perms.values()))
        _set_opt_outs(relationship, tuple(self.outs))
        _set_groups_introduced(relationship, frozenset(self.groups))
        _set_undeliverable(relationship, frozenset(self.bounced))
        return relationship

    def follow(self, interaction: Interaction) -> None:
        """
        Step on *interaction*, which must be of this pair and sort after the last one.

        Raises:
            InvalidInteraction: It does not; the fold is left as it was.
        """
        if interaction.sender != self.sender or interaction.contact != self.contact:
            raise InvalidInteraction(
                "interaction",
                interaction.id,
                f"belongs to ({interaction.sender!r}, {interaction.contact!r}), "
                f"not ({self.sender!r}, {self.contact!r})",
            )
        if self.as_of is not None and (interaction.at, interaction.id) <= (
            self.as_of,
            self.last_id or "",
        ):
            raise InvalidInteraction(
                "at",
                interaction.at.isoformat(),
                f"interaction {interaction.id!r} does not sort after the last one applied "
                f"({self.last_id!r} at {self.as_of.isoformat()}); use replay() for "
                "logs that arrive out of order",
            )
        self.step(interaction)

    def step(self, i: Interaction) -> None:  # noqa: C901, PLR0912
        at = i.at
        inbound = i.direction is _IN
        fact, counted, joint, transition, engages, commercial, handler = (
            _INBOUND_EFFECTS if inbound else _OUTBOUND_EFFECTS
        )[i.kind]
        self.version += 1
        self.as_of = at
        self.last_id = i.id
        if not fact:
            if inbound:
                self.last_inbound_at = at
                self.last_answer_at = at
                self.unanswered = 0
                if self.bounced:
                    self.bounced.discard(i.channel)
            else:
                self.last_outbound_at = at
                if counted:
                    self.unanswered += 1
            if joint:
                self.last_answer_at = at
                self.unanswered = 0
        if transition:
            if transition == _RESET:
                self.reset()
            else:
                if self.connected_at is None:
                    self.connected_at = at
                if transition == _MUTUAL_CONNECT:
                    if self.connection_at is None:
                        self.connection_at = at
                    self.connection_requested_at = None
                    self.inbound_request_at = None
                if engages:
                    self.engaged_at = at
        if commercial and i.channel.is_electronic:
            self.referral_available = False
            if self.soft_opt_in_used_at is None and self.soft_opt_in_at is not None:
                self.soft_opt_in_used_at = at
        if handler is not None:
            handler(self, i)

    def reset(self) -> None:
        self.connected_at = None
        self.connection_at = None
        self.engaged_at = None
        self.introduced_at = None
        # A removed connection ends what the introduction allowed, CASL's
        # referral exemption included.
        self.referral_available = False
        self.connection_requested_at = None
        self.inbound_request_at = None
        self.meeting_requested_at = None

    def withdraw(
        self,
        at: datetime,
        *,
        purpose: PurposeLike | None = None,
        channel: Channel | None = None,
        group: str | None = None,
    ) -> None:
        for key, permission in self.perms.items():
            if permission.withdrawn_at is not None:
                continue
            if purpose is not None and permission.purpose != purpose:
                continue
            if channel is not None and permission.channel not in {None, channel}:
                continue
            if group is not None and permission.group != group:
                continue
            self.perms[key] = attrs.evolve(permission, withdrawn_at=at)

    def add_opt_out(
        self, i: Interaction, purpose: PurposeLike | None, channel: Channel | None
    ) -> None:
        # Every opt-out is kept: one asked about a time before a later one
        # of the same purpose and channel stands then.
        self.outs.append(OptOut(purpose, channel, i.at, i.id))


def _consent_channel(channel: Channel) -> Channel | None:
    return None if channel is Channel.OTHER else channel


def _on_connection_requested(fold: _Fold, i: Interaction) -> None:
    if i.direction is _OUT:
        fold.connection_requested_at = i.at
    else:
        fold.inbound_request_at = i.at


def _on_connection_accepted(fold: _Fold, i: Interaction) -> None:
    if i.direction is _IN:
        fold.do_not_contact = False


def _on_connection_declined(fold: _Fold, i: Interaction) -> None:
    if i.direction is _IN:
        fold.declined_at = i.at
        fold.connection_requested_at = None
    else:
        fold.inbound_request_at = None


def _on_introduced(fold: _Fold, i: Interaction) -> None:
    fold.introduced_at = i.at
    introducer = i.metadata.get("introducer")
    if introducer:
        fold.introducer = introducer
        fold.referral_available = True


def _on_blocked(fold: _Fold, i: Interaction) -> None:
    fold.do_not_contact = True
    fold.withdraw(i.at)
    fold.add_opt_out(i, None, None)


def _on_shared_content(fold: _Fold, i: Interaction) -> None:
    if i.direction is _OUT:
        fold.gives += 1
        fold.last_given_at = i.at


def _on_ask(fold: _Fold, i: Interaction) -> None:
    if i.direction is _OUT:
        fold.asks += 1


def _on_meeting_requested(fold: _Fold, i: Interaction) -> None:
    if i.direction is _IN:
        fold.meeting_requested_at = i.at


def _on_inquiry(fold: _Fold, i: Interaction) -> None:
    fold.interest_at = i.at


def _on_purchase(fold: _Fold, i: Interaction) -> None:
    fold.last_purchase_at = i.at
    if i.metadata.get("soft_opt_in") == "offered":
        fold.soft_opt_in_at = i.at
        fold.soft_opt_in_used_at = None


def _on_refusal(fold: _Fold, i: Interaction) -> None:
    fold.last_refusal_at = i.at


def _on_complaint(fold: _Fold, i: Interaction) -> None:
    fold.do_not_contact = True
    fold.withdraw(i.at, purpose=Purpose.MARKETING)
    fold.add_opt_out(i, Purpose.MARKETING, None)


def _on_bounced(fold: _Fold, i: Interaction) -> None:
    fold.bounced.add(i.channel)


def _on_opt_in_requested(fold: _Fold, i: Interaction) -> None:
    if i.direction is _OUT:
        fold.opt_in_requested_at = i.at


def _on_opt_in_granted(fold: _Fold, i: Interaction) -> None:
    assert i.purpose is not None  # noqa: S101
    channel = _consent_channel(i.channel)
    expires = i.metadata.get("expires_at")
    key = (i.purpose, channel, i.group)
    fold.perms.pop(key, None)
    fold.perms[key] = Permission(
        purpose=i.purpose,
        channel=channel,
        basis=Basis.EXPRESS,
        grantor=i.contact,
        granted_at=i.at,
        expires_at=None if expires is None else instant_value("metadata.expires_at", expires),
        group=i.group,
        source=i.id,
        evidence=i.evidence,
    )
    fold.do_not_contact = False
    if channel is None:
        fold.bounced.clear()


def _on_opt_in_confirmed(fold: _Fold, i: Interaction) -> None:
    channel = _consent_channel(i.channel)
    for key, permission in fold.perms.items():
        if permission.confirmed_at is not None or permission.withdrawn_at is not None:
            continue
        if i.purpose is not None and permission.purpose != i.purpose:
            continue
        if channel is not None and permission.channel is not channel:
            continue
        if i.group is not None and permission.group != i.group:
            continue
        fold.perms[key] = attrs.evolve(
            permission, confirmed_at=i.at, evidence=permission.evidence or i.evidence
        )
    if channel is None:
        fold.bounced.clear()


def _on_opt_out(fold: _Fold, i: Interaction) -> None:
    # A group narrows an opt-out of one purpose (an owner taking back a group's
    # promotion); an opt-out of every purpose withdraws every permission.
    group = None if i.purpose is None else i.group
    fold.withdraw(i.at, purpose=i.purpose, channel=_consent_channel(i.channel), group=group)
    fold.add_opt_out(i, i.purpose, _consent_channel(i.channel))


def _on_group_introduced(fold: _Fold, i: Interaction) -> None:
    if i.direction is _OUT:
        assert i.group is not None  # noqa: S101
        fold.groups.add(i.group)


def _on_profile_updated(fold: _Fold, i: Interaction) -> None:
    zone = i.metadata.get("timezone")
    if zone:
        fold.timezone = zone
    jurisdiction = i.metadata.get("jurisdiction")
    if jurisdiction and not jurisdiction.isspace():
        fold.jurisdiction = jurisdiction


_HANDLERS: dict[InteractionKind, Callable[[_Fold, Interaction], None]] = {
    _K.CONNECTION_REQUESTED: _on_connection_requested,
    _K.CONNECTION_ACCEPTED: _on_connection_accepted,
    _K.CONNECTION_DECLINED: _on_connection_declined,
    _K.INTRODUCED: _on_introduced,
    _K.BLOCKED: _on_blocked,
    _K.SHARED_CONTENT: _on_shared_content,
    _K.ASK: _on_ask,
    _K.MEETING_REQUESTED: _on_meeting_requested,
    _K.INQUIRY: _on_inquiry,
    _K.PURCHASE: _on_purchase,
    _K.REFUSAL: _on_refusal,
    _K.COMPLAINT: _on_complaint,
    _K.BOUNCED: _on_bounced,
    _K.OPT_IN_REQUESTED: _on_opt_in_requested,
    _K.OPT_IN_GRANTED: _on_opt_in_granted,
    _K.OPT_IN_CONFIRMED: _on_opt_in_confirmed,
    _K.OPT_OUT: _on_opt_out,
    _K.GROUP_INTRODUCED: _on_group_introduced,
    _K.PROFILE_UPDATED: _on_profile_updated,
}


_NO_TRANSITION: Final = 0
_RESET: Final = 1
_CONNECT: Final = 2
_MUTUAL_CONNECT: Final = 3

_Effect = tuple[bool, bool, bool, int, bool, bool, "Callable[[_Fold, Interaction], None] | None"]


def _effect(kind: InteractionKind, direction: Direction) -> _Effect:
    """
    What an interaction of *kind* in *direction* does to the fold, worked out once.

    The flags, in `_Fold.step`'s order: a fact about the contact (no answer,
    no outbound); an outbound that counts as unanswered; a joint act that
    answers; the transition (none, reset, connect, mutual connect); whether
    it engages; a commercial outbound message (ends the referral exemption
    when electronic); the kind's handler.
    """
    pair = (kind, direction)
    if pair in _RESETS:
        transition = _RESET
    elif pair in _CONNECTS:
        transition = _MUTUAL_CONNECT if pair in _MUTUAL else _CONNECT
    else:
        transition = _NO_TRANSITION
    return (
        kind in _FACTS,
        kind in _COUNTED_OUTBOUND,
        kind in _JOINT,
        transition,
        transition in {_CONNECT, _MUTUAL_CONNECT} and pair in _ENGAGES,
        kind in _COMMERCIAL_MESSAGES and direction is _OUT,
        _HANDLERS.get(kind),
    )


_INBOUND_EFFECTS: Final = {kind: _effect(kind, _IN) for kind in InteractionKind}
_OUTBOUND_EFFECTS: Final = {kind: _effect(kind, _OUT) for kind in InteractionKind}

_new = object.__new__
_scalars = attrgetter(*_SCALAR_FIELDS)
_SCALAR_SETTERS: Final = tuple(Relationship.__dict__[name].__set__ for name in _SCALAR_FIELDS)
_FOLD_SETTERS: Final = tuple(_Fold.__dict__[name].__set__ for name in _SCALAR_FIELDS)
_set_permissions = Relationship.__dict__["permissions"].__set__
_set_opt_outs = Relationship.__dict__["opt_outs"].__set__
_set_groups_introduced = Relationship.__dict__["groups_introduced"].__set__
_set_undeliverable = Relationship.__dict__["undeliverable"].__set__


_times = attrgetter(*_TIME_FIELD_NAMES)
_NONE_BY_DEFAULT: Final = frozenset(
    field.name for field in attrs.fields(Relationship) if field.default is None
)
_SETTERS: Final = tuple(Relationship.__dict__[name].__set__ for name in _FIELD_NAMES)
_DEFAULT_VALUES: Final = tuple(field.default for field in attrs.fields(Relationship))
_INDEX: Final = {name: index for index, name in enumerate(_FIELD_NAMES)}
_TIME_INDEX_SET: Final = frozenset(_INDEX[name] for name in _TIME_FIELD_NAMES)
_SENDER: Final = _INDEX["sender"]
_CONTACT: Final = _INDEX["contact"]
_UNDELIVERABLE: Final = _INDEX["undeliverable"]
_PERMISSIONS: Final = _INDEX["permissions"]
_OPT_OUTS: Final = _INDEX["opt_outs"]
_GROUPS_INTRODUCED: Final = _INDEX["groups_introduced"]
_TIMEZONE: Final = _INDEX["timezone"]
_counters: Final = itemgetter(
    *(_INDEX[name] for name in ("unanswered", "gives", "asks", "version"))
)
_texts: Final = itemgetter(*(_INDEX[name] for name in sorted(_TEXTS)))
_TYPES: Final = tuple(
    frozenset({str})
    if name in _NAMES
    else frozenset({int})
    if name in _COUNTERS
    else frozenset({bool})
    if name in _FLAGS
    else frozenset({str, type(None)})
    if name in _TEXTS
    else frozenset({list, tuple})
    if name in _COLLECTIONS
    else frozenset()
    for name in _FIELD_NAMES
)
_fromisoformat = datetime.fromisoformat


def _plain(
    relationship: Relationship,
    out: dict[str, Any],
    origin: tuple[Relationship, Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """
    Finish *out*, fields of *relationship* by name, into what `Relationship.to_dict` gives.

    A time is formatted once however many fields hold it. With *origin*, a
    relationship and the dict it was read from, a time still shared with it
    (the same object, as a fold leaves what it does not change) is copied
    from that dict instead of formatted again.
    """
    texts: dict[int, str] = {}
    if origin is not None:
        before, data = origin
        for name, value in zip(_TIME_FIELD_NAMES, _times(before), strict=True):
            text = data.get(name)
            if value is not None and type(text) is str:
                texts[id(value)] = text
    for name in _TIME_FIELD_NAMES:
        value = out.get(name)
        if value is not None:
            text = texts.get(id(value))
            if text is None:
                text = texts[id(value)] = format_instant(value)
            out[name] = text
    out["undeliverable"] = sorted(relationship.undeliverable)
    out["groups_introduced"] = sorted(relationship.groups_introduced)
    out["permissions"] = [item.to_dict() for item in relationship.permissions]
    out["opt_outs"] = [item.to_dict() for item in relationship.opt_outs]
    return out


def snapshot_dict(
    relationship: Relationship, origin: tuple[Relationship, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """
    Return `Relationship.to_dict` of *relationship* less the fields that are None by default and now.

    `Relationship.from_dict` gives the fields left out their default, None.
    *origin* is a relationship *relationship* was folded from and the dict
    that one was read from: the times they share are copied, not formatted.
    """
    out = {
        name: value
        for name, value in zip(_FIELD_NAMES, _fields(relationship), strict=True)
        if value is not None or name not in _NONE_BY_DEFAULT
    }
    return _plain(relationship, out, origin)


def _checked(data: Mapping[str, Any]) -> dict[str, Any]:
    """
    Return the fields in *data*, as `Relationship.from_dict` reads it, by name; raise if one is invalid.
    """
    if not isinstance(data, Mapping):
        raise InvalidInteraction("relationship", data, "expected a mapping")
    for name in ("sender", "contact"):
        if name not in data:
            raise InvalidInteraction("relationship", name, "missing field")
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _FIELD_SET:
            raise InvalidInteraction("relationship", name, "unknown field")
        if value is not None and name in _TIME_FIELDS:
            values[name] = instant_value(name, value)
        elif name in _COLLECTIONS:
            values[name] = _collection(name, value)
        else:
            _check_field(name, value)
            values[name] = value
    return values


def _written(values: list[Any]) -> bool:
    """
    Whether the fields in *values*, each of the type `Relationship.to_dict` writes, hold what it writes.
    """
    sender, contact = values[_SENDER], values[_CONTACT]
    unanswered, gives, asks, version = _counters(values)
    groups = values[_GROUPS_INTRODUCED]
    return bool(
        type(sender) is str  # not missing (attrs.NOTHING)
        and type(contact) is str
        and sender
        and contact
        and unanswered >= 0
        and gives >= 0
        and asks >= 0
        and version >= 0
        and "" not in _texts(values)
        and encodable(sender)
        and encodable(contact)
        and all(text is None or encodable(text) for text in _texts(values))
        and (values[_TIMEZONE] is None or is_zone(values[_TIMEZONE]))
        and (not groups or all(type(group) is str and group for group in groups))
    )


def _collection(name: str, value: object) -> object:
    # A collection field of a dict, checked and converted as the constructor holds it.
    _check_list(name, value)
    assert isinstance(value, list | tuple | set | frozenset)  # noqa: S101
    if name == "undeliverable":
        return frozenset(enum_value(Channel, name, c) for c in value)
    if name == "groups_introduced":
        _check_groups(value)
        return frozenset(value)
    if name == "permissions":
        return tuple(Permission.from_dict(p) for p in value)
    return tuple(OptOut.from_dict(o) for o in value)


def _as_written(data: Mapping[str, Any]) -> Relationship | None:
    """
    Return the relationship in *data* if it is as `Relationship.to_dict` writes it, times in UTC.

    None when `Relationship.from_dict` must look closer: to convert a value,
    or to say what is wrong with it.
    """
    if type(data) is not dict:
        return None
    values: list[Any] = list(_DEFAULT_VALUES)
    try:
        for name, value in data.items():
            index = _INDEX[name]
            if index in _TIME_INDEX_SET:
                if value is not None:
                    instant = _fromisoformat(value)
                    if instant.tzinfo is not UTC:
                        return None
                    values[index] = instant
                    continue
            elif type(value) not in _TYPES[index]:
                return None
            values[index] = value
        if not _written(values):
            return None
        values[_UNDELIVERABLE] = frozenset(map(Channel, values[_UNDELIVERABLE]))
        values[_GROUPS_INTRODUCED] = frozenset(values[_GROUPS_INTRODUCED])
    except (KeyError, TypeError, ValueError):
        return None
    values[_PERMISSIONS] = tuple(Permission.from_dict(p) for p in values[_PERMISSIONS])
    _check_permissions(values[_PERMISSIONS])
    values[_OPT_OUTS] = tuple(OptOut.from_dict(o) for o in values[_OPT_OUTS])
    relationship = _new(Relationship)
    for set_field, value in zip(_SETTERS, values, strict=True):
        set_field(relationship, value)
    return relationship


_order = attrgetter("_order")
_key = attrgetter("at", "id")


def _in_order(items: list[Interaction]) -> None:
    """
    Sort *items* in place by ``(at, id)``.

    They are sorted by their times as POSIX seconds first: floats compare
    several times faster than datetimes, and faster still than ``(at, id)``
    tuples. A later time never has a smaller float, so only runs of equal
    floats (the same time, or, centuries from now, times less than a float's
    precision apart) are then put in ``(at, id)`` order.
    """
    keys = list(map(_order, items))
    if any(map(gt, keys, islice(keys, 1, None))):
        items.sort(key=_order)
        keys = list(map(_order, items))
    tied = list(compress(count(), map(eq, keys, islice(keys, 1, None))))
    if not tied:
        return
    start = end = tied[0]
    for index in tied[1:]:
        if index != end + 1:
            items[start : end + 2] = sorted(items[start : end + 2], key=_key)
            start = index
        end = index
    items[start : end + 2] = sorted(items[start : end + 2], key=_key)


def extend(relationship: Relationship, interactions: Iterable[Interaction]) -> Relationship:
    """
    Return *relationship* after *interactions*, each sorting after the one before.

    The same as `Relationship.apply` of each in turn, folded at once: a store
    that appends a batch to a pair's snapshot pays for one new relationship,
    not one per interaction.

    Raises:
        InvalidInteraction: One belongs to another pair or does not sort after
            the one before (use `replay` for logs that arrive out of order).
    """
    fold = _Fold.thaw(relationship)
    follow = fold.follow
    for interaction in interactions:
        follow(interaction)
    return fold.freeze()


def replay(
    interactions: Iterable[Interaction],
    *,
    at: Instant | None = None,
    sender: str | None = None,
    contact: str | None = None,
) -> Relationship:
    """
    Fold a log of one pair, in any arrival order, into its `Relationship`.

    Interactions apply in ``(at, id)`` order, so every order of the same log
    gives the same result. An interaction repeated with the same id and
    content counts once.

    Args:
        interactions: The log of one ``(sender, contact)`` pair.
        at: Leave out what happened after this time.
        sender: The pair's sender; required when the log is empty.
        contact: The pair's contact; required when the log is empty.

    Raises:
        InvalidInteraction: The log mixes pairs, disagrees with *sender* or
            *contact*, or is empty without them.
        ConflictError: Two interactions share an id but not their content.

    >>> log = [
    ...     Interaction("2", "ana", "bo", "message", "2026-01-02T09:00:00Z", direction="inbound"),
    ...     Interaction("1", "ana", "bo", "connection_accepted", "2026-01-01T09:00:00Z"),
    ... ]
    >>> replay(log).state
    <RelationshipState.ENGAGED: 'engaged'>
    """
    check_iterable("interactions", interactions, Interaction)
    if sender is not None:
        sender = required_text("sender", sender)
    if contact is not None:
        contact = required_text("contact", contact)
    items = list(interactions)
    if items:
        items, sender, contact = _one_pair(items, sender, contact)
    if sender is None or contact is None:
        raise InvalidInteraction(
            "interactions", [], "an empty log needs the sender= and contact= keywords"
        )
    if at is not None:
        cutoff = instant_value("at", at)
        items = [item for item in items if item.at <= cutoff]
    _in_order(items)
    fold = _Fold(sender, contact)
    step = fold.step
    for item in items:
        step(item)
    return fold.freeze()


def _one_pair(
    items: list[Interaction], sender: str | None, contact: str | None
) -> tuple[list[Interaction], str, str]:
    # Check, in one pass, that *items* are interactions of one pair; return
    # them with each id once, and the pair.
    for item in items:
        if not isinstance(item, Interaction):
            raise InvalidInteraction("interactions", item, "expected Interaction values")
    first = items[0]
    sender = first.sender if sender is None else sender
    contact = first.contact if contact is None else contact
    seen: dict[str, Interaction] = {}
    keep = seen.setdefault
    for item in items:
        if item.sender != sender or item.contact != contact:
            raise InvalidInteraction(
                "interactions",
                item.id,
                f"the log mixes pairs: ({item.sender!r}, {item.contact!r}) "
                f"beside ({sender!r}, {contact!r})",
            )
        other = keep(item.id, item)
        if other is not item and other != item:
            raise ConflictError(item.id)
    if len(seen) < len(items):
        items = list(seen.values())
    return items, sender, contact
