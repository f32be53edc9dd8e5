"""
The vocabulary and the immutable values: enums, `Interaction`, `Evidence`, `Permission`.
"""

from __future__ import annotations

import enum

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Final, Self, TypeAlias, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from ._time import Instant, format_instant, parse_instant
from .exceptions import InvalidInteraction, InvalidRequest


__all__ = [
    "Action",
    "Basis",
    "Channel",
    "Direction",
    "Evidence",
    "Interaction",
    "InteractionKind",
    "Permission",
    "Purpose",
    "PurposeLike",
    "RelationshipState",
]


class RelationshipState(enum.StrEnum):
    """
    How far a relationship has come, ordered ``STRANGER < CONNECTED < ENGAGED < OPTED_IN``.

    Comparisons use that order, not the alphabet, and accept the plain strings:

    >>> RelationshipState.ENGAGED >= "connected"
    True
    """

    STRANGER = "stranger"
    CONNECTED = "connected"
    ENGAGED = "engaged"
    OPTED_IN = "opted_in"

    @property
    def rank(self) -> int:
        """
        The position in the order, 0 for a stranger and 3 when opted in.
        """
        return _STATE_RANK[self]

    def _other_rank(self, other: object) -> int | None:
        if isinstance(other, RelationshipState):
            return _STATE_RANK[other]
        if isinstance(other, str):
            return _STATE_RANK[RelationshipState(other)]
        return None

    def __lt__(self, other: str) -> bool:
        rank = self._other_rank(other)
        if rank is None:
            return NotImplemented
        return _STATE_RANK[self] < rank

    def __le__(self, other: str) -> bool:
        rank = self._other_rank(other)
        if rank is None:
            return NotImplemented
        return _STATE_RANK[self] <= rank

    def __gt__(self, other: str) -> bool:
        rank = self._other_rank(other)
        if rank is None:
            return NotImplemented
        return _STATE_RANK[self] > rank

    def __ge__(self, other: str) -> bool:
        rank = self._other_rank(other)
        if rank is None:
            return NotImplemented
        return _STATE_RANK[self] >= rank


_STATE_RANK = {state: rank for rank, state in enumerate(RelationshipState)}


class Direction(enum.StrEnum):
    """
    Who did it: the sender (``outbound``) or the contact (``inbound``).
    """

    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Channel(enum.StrEnum):
    """
    Where an interaction happened or an action goes.
    """

    EMAIL = "email"
    LINKEDIN = "linkedin"
    TWITTER = "twitter"
    FACEBOOK = "facebook"
    GROUP = "group"
    PHONE = "phone"
    SMS = "sms"
    IN_PERSON = "in_person"
    VIDEO = "video"
    OTHER = "other"

    @property
    def is_electronic(self) -> bool:
        """
        Whether a message on this channel goes to an electronic address.

        Every channel but ``phone`` and ``in_person`` is electronic.
        """
        return self not in _NOT_ELECTRONIC


_NOT_ELECTRONIC = frozenset({Channel.PHONE, Channel.IN_PERSON})


class InteractionKind(enum.StrEnum):
    """
    What happened between a sender and a contact.
    """

    CONNECTION_REQUESTED = "connection_requested"
    CONNECTION_ACCEPTED = "connection_accepted"
    CONNECTION_DECLINED = "connection_declined"
    INTRODUCED = "introduced"
    MET_IN_PERSON = "met_in_person"
    DISCONNECTED = "disconnected"
    BLOCKED = "blocked"
    MESSAGE = "message"
    COMMENT = "comment"
    REACTION = "reaction"
    SHARED_CONTENT = "shared_content"
    CALL = "call"
    CALL_ATTEMPTED = "call_attempted"
    MEETING = "meeting"
    MEETING_REQUESTED = "meeting_requested"
    ASK = "ask"
    PITCH = "pitch"
    INQUIRY = "inquiry"
    PURCHASE = "purchase"
    REFUSAL = "refusal"
    ADDED_TO_LIST = "added_to_list"
    MARKETING_SENT = "marketing_sent"
    COMPLAINT = "complaint"
    BOUNCED = "bounced"
    OPT_IN_REQUESTED = "opt_in_requested"
    OPT_IN_GRANTED = "opt_in_granted"
    OPT_IN_CONFIRMED = "opt_in_confirmed"
    OPT_OUT = "opt_out"
    GROUP_JOINED = "group_joined"
    GROUP_INTRODUCED = "group_introduced"
    GROUP_PROMOTED = "group_promoted"
    PROFILE_UPDATED = "profile_updated"

    @property
    def contact_only(self) -> bool:
        """
        Whether only the contact can do this (so the direction is always inbound).
        """
        return self in CONTACT_ONLY_KINDS


CONTACT_ONLY_KINDS = frozenset(
    {
        InteractionKind.INQUIRY,
        InteractionKind.PURCHASE,
        InteractionKind.REFUSAL,
        InteractionKind.COMPLAINT,
        InteractionKind.OPT_IN_GRANTED,
        InteractionKind.OPT_IN_CONFIRMED,
        InteractionKind.OPT_OUT,
    }
)
GROUP_KINDS: Final = frozenset(
    {
        InteractionKind.GROUP_JOINED,
        InteractionKind.GROUP_INTRODUCED,
        InteractionKind.GROUP_PROMOTED,
    }
)


class Purpose(enum.StrEnum):
    """
    The well-known purposes of a permission; any other non-empty string is valid too.
    """

    MARKETING = "marketing"
    SALES = "sales"
    GROUP_PROMOTION = "group_promotion"


PurposeLike: TypeAlias = Purpose | str
"""
A purpose: a `Purpose`, or any non-empty string for a purpose of your own.
"""

COMMERCIAL_PURPOSES = frozenset({Purpose.MARKETING, Purpose.SALES})


class Basis(enum.StrEnum):
    """
    How a permission came to be.
    """

    EXPRESS = "express"
    IMPLIED_PURCHASE = "implied_purchase"
    IMPLIED_INQUIRY = "implied_inquiry"
    SOFT_OPT_IN = "soft_opt_in"


class Action(enum.StrEnum):
    """
    What a tool is about to do to a contact.

    >>> Action.PITCH.records
    <InteractionKind.PITCH: 'pitch'>
    """

    CONNECT = "connect"
    MESSAGE = "message"
    SHARE_VALUE = "share_value"
    ASK_FAVOR = "ask_favor"
    PITCH = "pitch"
    REQUEST_OPT_IN = "request_opt_in"
    ADD_TO_LIST = "add_to_list"
    SEND_MARKETING = "send_marketing"
    CALL = "call"
    REQUEST_MEETING = "request_meeting"
    PROMOTE_IN_GROUP = "promote_in_group"

    @property
    def records(self) -> InteractionKind:
        """
        The kind of interaction that doing this action records.
        """
        return _RECORDS[self]


_RECORDS = {
    Action.CONNECT: InteractionKind.CONNECTION_REQUESTED,
    Action.MESSAGE: InteractionKind.MESSAGE,
    Action.SHARE_VALUE: InteractionKind.SHARED_CONTENT,
    Action.ASK_FAVOR: InteractionKind.ASK,
    Action.PITCH: InteractionKind.PITCH,
    Action.REQUEST_OPT_IN: InteractionKind.OPT_IN_REQUESTED,
    Action.ADD_TO_LIST: InteractionKind.ADDED_TO_LIST,
    Action.SEND_MARKETING: InteractionKind.MARKETING_SENT,
    Action.CALL: InteractionKind.CALL_ATTEMPTED,
    Action.REQUEST_MEETING: InteractionKind.MEETING_REQUESTED,
    Action.PROMOTE_IN_GROUP: InteractionKind.GROUP_PROMOTED,
}


E = TypeVar("E", bound=enum.StrEnum)


def enum_value(cls: type[E], field: str, value: object) -> E:
    """
    Return *value* as a member of *cls*, or raise `InvalidInteraction` naming *field*.
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        try:
            return cls(value)
        except ValueError:
            pass
    choices = ", ".join(member.value for member in cls)
    raise InvalidInteraction(field, value, f"expected one of: {choices}")


def query_at(at: object) -> datetime:
    """
    Return the time a question about a relationship is asked for, or raise `InvalidRequest`.
    """
    try:
        return parse_instant(at)
    except (TypeError, ValueError) as e:
        raise InvalidRequest("at", at, str(e)) from None


def purpose_value(field: str, value: object) -> PurposeLike:
    """
    Return *value* as a purpose (a `Purpose` when it is a well-known one).
    """
    if not isinstance(value, str) or not value:
        raise InvalidInteraction(field, value, "a purpose is a non-empty string")
    if type(value) is not str and type(value) is not Purpose:
        # A str subclass, such as a member of an integrator's own (str, Enum),
        # is kept as the plain string it holds: its str() may be its name.
        value = str.__str__(value)
    if not encodable(value):
        raise InvalidInteraction(field, value, "not text: it holds a lone surrogate")
    try:
        return Purpose(value)
    except ValueError:
        return value


def instant_value(field: str, value: object) -> datetime:
    """
    Return *value* as an aware UTC `datetime`, or raise `InvalidInteraction` naming *field*.
    """
    try:
        return parse_instant(value)
    except (TypeError, ValueError) as e:
        raise InvalidInteraction(field, value, str(e)) from None


# Converters of the public values' fields, so that every constructor that
# takes an enum also takes its string value, and refuses a naive time. Each
# time field has its own, which takes an aware `datetime` or an ISO 8601
# string, returns an aware UTC `datetime`, and refuses anything else with
# `InvalidInteraction` naming its field.


def _optional_instant(field: str, value: object) -> datetime | None:
    if value is None or (type(value) is datetime and value.tzinfo is UTC):
        return value
    return instant_value(field, value)


def to_at(value: Instant) -> datetime:
    """
    Converter of a field ``at``.
    """
    if type(value) is datetime and value.tzinfo is UTC:
        return value
    return instant_value("at", value)


def to_granted_at(value: Instant) -> datetime:
    """
    Converter of ``granted_at``.
    """
    if type(value) is datetime and value.tzinfo is UTC:
        return value
    return instant_value("granted_at", value)


def to_confirmed_at(value: Instant | None) -> datetime | None:
    """
    Converter of ``confirmed_at``, None kept.
    """
    return _optional_instant("confirmed_at", value)


def to_expires_at(value: Instant | None) -> datetime | None:
    """
    Converter of ``expires_at``, None kept.
    """
    return _optional_instant("expires_at", value)


def to_withdrawn_at(value: Instant | None) -> datetime | None:
    """
    Converter of ``withdrawn_at``, None kept.
    """
    return _optional_instant("withdrawn_at", value)


def to_until(value: Instant | None) -> datetime | None:
    """
    Converter of ``until``, None kept.
    """
    return _optional_instant("until", value)


def to_retry_at(value: Instant | None) -> datetime | None:
    """
    Converter of ``retry_at``, None kept.
    """
    return _optional_instant("retry_at", value)


def to_action(value: Action | str) -> Action:
    """
    Converter: an `Action` or its string value.
    """
    return enum_value(Action, "action", value)


def to_actions(value: Iterable[Action | str]) -> tuple[Action, ...]:
    """
    Converter: actions or their string values, as a tuple.
    """
    return tuple(enum_value(Action, "action", action) for action in value)


def to_state(value: RelationshipState | str) -> RelationshipState:
    """
    Converter: a `RelationshipState` or its string value.
    """
    return enum_value(RelationshipState, "state", value)


def to_channel(value: Channel | str | None) -> Channel | None:
    """
    Converter: a `Channel` or its string value; None kept (every channel, or unknown).
    """
    if value is None or type(value) is Channel:
        return value
    return enum_value(Channel, "channel", value)


def to_channels(value: Iterable[Channel | str]) -> frozenset[Channel]:
    """
    Converter: channels or their string values, as a frozenset.
    """
    return frozenset(enum_value(Channel, "channel", channel) for channel in value)


def to_purpose(value: PurposeLike) -> PurposeLike:
    """
    Converter: a purpose, a `Purpose` when it is a well-known one.
    """
    return value if type(value) is Purpose else purpose_value("purpose", value)


def to_optional_purpose(value: PurposeLike | None) -> PurposeLike | None:
    """
    Converter: as `to_purpose`, with None kept (every purpose).
    """
    return None if value is None else to_purpose(value)


def _to_basis(value: Basis | str) -> Basis:
    return enum_value(Basis, "basis", value)


def _to_grantor(value: str) -> str:
    return required_text("grantor", value)


def _to_group(value: str | None) -> str | None:
    return _text("group", value, optional=True)


def _to_source(value: str | None) -> str | None:
    return _text("source", value, optional=True)


def _evidence_or_none(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, Evidence):
        raise InvalidInteraction(attribute.name, value, "expected an Evidence or None")


def check_iterable(
    field: str,
    value: object,
    item: type,
    error: type[InvalidInteraction | InvalidRequest] = InvalidInteraction,
) -> None:
    """
    Raise *error* naming *field* unless *value* is an iterable (not a string, not one *item*).
    """
    if not isinstance(value, Iterable) or isinstance(value, str | item):
        raise error(field, value, f"expected an iterable of {item.__name__} values")


def is_zone(name: str) -> bool:
    """
    Whether *name* is the name of an IANA time zone, e.g. ``Europe/Berlin``.
    """
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name that reads as a folder of the zone database ("Europe").
        return False
    return True


def plain(value: object) -> object:
    """
    Return a `str` subclass (a member of an integrator's own ``(str, Enum)``) as the plain string it holds; anything else as it is.

    Its ``str()`` may be its name, and an enum member would make equal values
    hash, print and round-trip apart.
    """
    if isinstance(value, str) and type(value) is not str:
        return str.__str__(value)
    return value


def encodable(text: str) -> bool:
    """
    Whether *text* can be written as UTF-8: it holds no lone surrogate.
    """
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(field: str, value: object, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInteraction(field, value, "expected a non-empty string")
    if not encodable(value):
        raise InvalidInteraction(field, value, "not text: it holds a lone surrogate")
    return value if type(value) is str else str.__str__(value)


MAX_IDENTIFIER_BYTES: Final = 800
"""
The longest an interaction's id, sender or contact may be, in bytes of UTF-8.

Each store indexes the three together; PostgreSQL refuses an index entry
longer than about 2,700 bytes, so every store refuses what one cannot hold.
"""


def identifier(field: str, value: object) -> str:
    """
    Return *value* as an id, sender or contact: a non-empty string of at most `MAX_IDENTIFIER_BYTES`.

    Raises:
        InvalidInteraction: It is not, naming *field*.
    """
    text = required_text(field, value)
    if len(text) > MAX_IDENTIFIER_BYTES // 4 and len(text.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise InvalidInteraction(
            field, value, f"longer than {MAX_IDENTIFIER_BYTES} bytes of UTF-8; give a shorter key"
        )
    return text


def required_text(field: str, value: object) -> str:
    """
    Return *value* if it is a non-empty string, else raise `InvalidInteraction` naming *field*.
    """
    text = _text(field, value)
    assert text is not None  # noqa: S101
    return text


@attrs.frozen(init=False)
class Evidence:
    """
    How a consent was obtained: the proof you keep.

    Args:
        method: How, e.g. ``web_form``, ``double_opt_in``, ``written``, ``verbal``, ``import``.
        captured_at: When the evidence was captured.
        text: The wording the contact saw or signed.
        source: Where: a URL, a form id, an IP address.
    """

    method: str
    captured_at: datetime | None
    text: str | None
    source: str | None

    def __init__(
        self,
        method: str,
        captured_at: Instant | None = None,
        text: str | None = None,
        source: str | None = None,
    ) -> None:
        self.__attrs_init__(
            required_text("evidence.method", method),
            None if captured_at is None else instant_value("evidence.captured_at", captured_at),
            _text("evidence.text", text, optional=True),
            _text("evidence.source", source, optional=True),
        )

    def to_dict(self) -> dict[str, str | None]:
        """
        Return a JSON-safe dict that `from_dict` turns back into an equal value.
        """
        return {
            "method": self.method,
            "captured_at": None if self.captured_at is None else format_instant(self.captured_at),
            "text": self.text,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build an `Evidence` from the output of `to_dict`.

        Raises:
            InvalidInteraction: A field is missing, unknown or invalid.
        """
        check_keys("evidence", data, required={"method"}, allowed=_EVIDENCE_KEYS)
        return cls(
            data["method"],
            captured_at=data.get("captured_at"),
            text=data.get("text"),
            source=data.get("source"),
        )


_EVIDENCE_KEYS = frozenset({"method", "captured_at", "text", "source"})


def check_keys(
    field: str, data: object, *, required: frozenset[str] | set[str], allowed: frozenset[str]
) -> None:
    """
    Raise `InvalidInteraction` naming *field* unless *data* is a mapping with exactly such keys.
    """
    if not isinstance(data, Mapping):
        raise InvalidInteraction(field, data, "expected a mapping")
    missing = sorted(required - data.keys())
    if missing:
        raise InvalidInteraction(field, dict(data), f"missing keys: {', '.join(missing)}")
    unknown = sorted(set(data.keys()) - allowed)
    if unknown:
        raise InvalidInteraction(field, dict(data), f"unknown keys: {', '.join(unknown)}")


def _metadata(kind: InteractionKind, value: object) -> MappingProxyType[str, str]:
    if value is _EMPTY:
        return _EMPTY
    if not isinstance(value, Mapping):
        raise InvalidInteraction("metadata", value, "expected a mapping of str to str")
    if not value:
        return _EMPTY
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise InvalidInteraction(
                "metadata", dict(value), f"keys and values must be str, got {key!r}: {item!r}"
            )
        if not (encodable(key) and encodable(item)):
            raise InvalidInteraction("metadata", {key: item}, "not text: it holds a lone surrogate")
    if kind is InteractionKind.OPT_IN_GRANTED and "expires_at" in value:
        instant_value("metadata.expires_at", value["expires_at"])
    if kind is InteractionKind.PROFILE_UPDATED and "timezone" in value:
        zone = value["timezone"]
        if not is_zone(zone):
            raise InvalidInteraction(
                "metadata.timezone", zone, "not an IANA time zone name, e.g. Europe/Berlin"
            )
    return MappingProxyType({str.__str__(key): str.__str__(item) for key, item in value.items()})


_EMPTY: MappingProxyType[str, str] = MappingProxyType({})


@attrs.frozen(init=False, order=False)
class Interaction:
    """
    One thing that happened between a sender and a contact: an entry of the log.

    Interactions sort by ``(at, id)``, the order in which they are applied.

    Args:
        id: The idempotency key: the same id may be recorded again only with
            the same content. At most 800 bytes of UTF-8, as are *sender*
            and *contact*: every store indexes the three together.
        sender: Who acts (your user, a team, a brand).
        contact: Who they act towards.
        kind: What happened (an `InteractionKind` or its string).
        at: When: an aware `datetime` or an ISO 8601 string with an offset;
            stored in UTC.
        direction: Who did it. Kinds only the contact can do (``inquiry``,
            ``purchase``, ``refusal``, ``complaint``, ``opt_in_granted``,
            ``opt_in_confirmed``, ``opt_out``) are inbound and refuse
            ``outbound``; every other kind defaults to outbound.
        channel: Where; on a consent kind ``other`` means every channel.
        purpose: What a consent is for; required on ``opt_in_granted``.
        group: The group of a group interaction or a group permission.
        evidence: How a consent was obtained.
        metadata: Extra facts as ``str`` to ``str``, stored read-only.

    Raises:
        InvalidInteraction: A field is invalid; the error names it and its value.

    >>> Interaction("i1", "ana", "bo", "inquiry", "2026-03-01T10:00:00Z").direction
    <Direction.INBOUND: 'inbound'>
    """

    id: str
    sender: str
    contact: str
    kind: InteractionKind
    at: datetime
    direction: Direction
    channel: Channel
    purpose: PurposeLike | None
    group: str | None
    evidence: Evidence | None
    metadata: Mapping[str, str] = attrs.field(hash=False)
    # The time as POSIX seconds: replay sorts a shuffled log by this float,
    # which compares several times faster than datetimes; it never decides
    # an order on its own (see _relationship._in_order).
    _order: float = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __init__(  # noqa: PLR0913
        self,
        id: str,  # noqa: A002
        sender: str,
        contact: str,
        kind: InteractionKind | str,
        at: Instant,
        *,
        direction: Direction | str | None = None,
        channel: Channel | str = Channel.OTHER,
        purpose: PurposeLike | None = None,
        group: str | None = None,
        evidence: Evidence | None = None,
        metadata: Mapping[str, str] = _EMPTY,
    ) -> None:
        if isinstance(kind, Action):
            # Action.CALL is "call" as is InteractionKind.CALL, a call that took place.
            raise InvalidInteraction(
                "kind", kind, f"an action, not what happened: doing it records {kind.records.value}"
            )
        kind = enum_value(InteractionKind, "kind", kind)
        if direction is None:
            direction = Direction.INBOUND if kind in CONTACT_ONLY_KINDS else Direction.OUTBOUND
        else:
            direction = enum_value(Direction, "direction", direction)
            if direction is Direction.OUTBOUND and kind in CONTACT_ONLY_KINDS:
                raise InvalidInteraction(
                    "direction", direction.value, f"only the contact can do {kind.value!r}"
                )
        if purpose is not None:
            purpose = purpose_value("purpose", purpose)
        elif kind is InteractionKind.OPT_IN_GRANTED:
            raise InvalidInteraction("purpose", None, "opt_in_granted needs a purpose")
        group = _text("group", group, optional=True)
        if group is None and kind in GROUP_KINDS:
            raise InvalidInteraction("group", None, f"{kind.value} needs a group")
        if evidence is not None and not isinstance(evidence, Evidence):
            raise InvalidInteraction("evidence", evidence, "expected an Evidence")
        at = instant_value("at", at)
        self.__attrs_init__(
            identifier("id", id),
            identifier("sender", sender),
            identifier("contact", contact),
            kind,
            at,
            direction,
            enum_value(Channel, "channel", channel),
            purpose,
            group,
            evidence,
            _metadata(kind, metadata),
        )
        _set_order(self, at.timestamp())

    @property
    def key(self) -> tuple[datetime, str]:
        """
        The sort key ``(at, id)``, the order in which interactions apply.
        """
        return (self.at, self.id)

    def __lt__(self, other: Interaction) -> bool:
        if not isinstance(other, Interaction):
            return NotImplemented
        return (self.at, self.id) < (other.at, other.id)

    def __le__(self, other: Interaction) -> bool:
        if not isinstance(other, Interaction):
            return NotImplemented
        return (self.at, self.id) <= (other.at, other.id)

    def __gt__(self, other: Interaction) -> bool:
        if not isinstance(other, Interaction):
            return NotImplemented
        return (self.at, self.id) > (other.at, other.id)

    def __ge__(self, other: Interaction) -> bool:
        if not isinstance(other, Interaction):
            return NotImplemented
        return (self.at, self.id) >= (other.at, other.id)

    def __reduce__(self) -> tuple[Any, ...]:
        # The read-only metadata view cannot be pickled; its JSON form can.
        return (_from_dict, (self.to_dict(),))

    def to_dict(self) -> dict[str, Any]:
        """
        Return a JSON-safe dict that `from_dict` turns back into an equal interaction.
        """
        return {
            "id": self.id,
            "sender": self.sender,
            "contact": self.contact,
            "kind": self.kind.value,
            "at": format_instant(self.at),
            "direction": self.direction.value,
            "channel": self.channel.value,
            "purpose": None if self.purpose is None else str(self.purpose),
            "group": self.group,
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build an interaction from the output of `to_dict`.

        Raises:
            InvalidInteraction: A key is missing or unknown, or a value is invalid.
        """
        check_keys("interaction", data, required=_REQUIRED_KEYS, allowed=_INTERACTION_KEYS)
        evidence = data.get("evidence")
        return cls(
            data["id"],
            data["sender"],
            data["contact"],
            data["kind"],
            data["at"],
            direction=data.get("direction"),
            channel=_or(data.get("channel"), Channel.OTHER),
            purpose=data.get("purpose"),
            group=data.get("group"),
            evidence=None if evidence is None else Evidence.from_dict(evidence),
            metadata=_or(data.get("metadata"), _EMPTY),
        )


def _or(value: object, default: object) -> Any:
    # A value left out (None) takes its default; any other goes to the checks.
    return default if value is None else value


def _from_dict(data: Mapping[str, Any]) -> Interaction:
    return Interaction.from_dict(data)


_REQUIRED_KEYS = frozenset({"id", "sender", "contact", "kind", "at"})
_INTERACTION_KEYS = _REQUIRED_KEYS | {
    "direction",
    "channel",
    "purpose",
    "group",
    "evidence",
    "metadata",
}


@attrs.frozen
class Permission:
    """
    A permission the contact granted: for a purpose, on a channel (None: any), maybe in a group.

    Attributes:
        purpose: What it is for.
        channel: The channel it covers; None covers every channel.
        basis: How it came to be; stored permissions are always ``express``.
        grantor: Who granted it (the contact, or for a group the group's owner).
        granted_at: When it was granted.
        confirmed_at: When it was confirmed (double opt-in), if it was.
        expires_at: When it lapses; None lasts until withdrawn.
        withdrawn_at: When it was withdrawn, if it was.
        group: The group a ``group_promotion`` permission is for.
        source: The id of the interaction that granted it.
        evidence: How it was obtained.
    """

    purpose: PurposeLike = attrs.field(converter=to_purpose)
    channel: Channel | None = attrs.field(converter=to_channel)
    basis: Basis = attrs.field(converter=_to_basis)
    grantor: str = attrs.field(converter=_to_grantor)
    granted_at: datetime = attrs.field(converter=to_granted_at)
    confirmed_at: datetime | None = attrs.field(default=None, converter=to_confirmed_at)
    expires_at: datetime | None = attrs.field(default=None, converter=to_expires_at)
    withdrawn_at: datetime | None = attrs.field(default=None, converter=to_withdrawn_at)
    group: str | None = attrs.field(default=None, converter=_to_group)
    source: str | None = attrs.field(default=None, converter=_to_source)
    evidence: Evidence | None = attrs.field(default=None, validator=_evidence_or_none)

    key_fields: ClassVar[tuple[str, ...]] = ("purpose", "channel", "group")

    def is_active(self, at: Instant, *, require_confirmation: bool = False) -> bool:
        """
        Whether the permission is in force at *at*.

        It is once granted, until it expires or is withdrawn; with
        *require_confirmation* only from its confirmation on.

        Raises:
            InvalidRequest: *at* is naive or not a time.
        """
        if type(at) is not datetime or at.tzinfo is not UTC:
            at = query_at(at)
        if self.granted_at > at:
            return False
        if self.withdrawn_at is not None and self.withdrawn_at <= at:
            return False
        if self.expires_at is not None and self.expires_at <= at:
            return False
        if require_confirmation:
            return self.confirmed_at is not None and self.confirmed_at <= at
        return True

    def covers(self, channel: Channel | str | None) -> bool:
        """
        Whether the permission covers *channel* (a `Channel` or its value).

        An unknown channel (None) is covered only by a permission for every channel.

        Raises:
            InvalidInteraction: *channel* is not a channel.
        """
        if self.channel is None or self.channel is channel:
            return True
        if channel is None or type(channel) is Channel:
            return False
        return self.channel is enum_value(Channel, "channel", channel)

    def to_dict(self) -> dict[str, Any]:
        """
        Return a JSON-safe dict that `from_dict` turns back into an equal permission.
        """

        def instant(value: datetime | None) -> str | None:
            return None if value is None else format_instant(value)

        return {
            "purpose": str(self.purpose),
            "channel": None if self.channel is None else self.channel.value,
            "basis": self.basis.value,
            "grantor": self.grantor,
            "granted_at": format_instant(self.granted_at),
            "confirmed_at": instant(self.confirmed_at),
            "expires_at": instant(self.expires_at),
            "withdrawn_at": instant(self.withdrawn_at),
            "group": self.group,
            "source": self.source,
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build a permission from the output of `to_dict`.

        Raises:
            InvalidInteraction: A key is missing or unknown, or a value is invalid.
        """
        if cls is Permission:
            written = _written_permission(data)
            if written is not None:
                return cast("Self", written)
        check_keys("permission", data, required=_PERMISSION_REQUIRED, allowed=_PERMISSION_KEYS)

        def instant(name: str) -> datetime | None:
            value = data.get(name)
            return None if value is None else instant_value(name, value)

        channel = data.get("channel")
        evidence = data.get("evidence")
        return cls(
            purpose=purpose_value("purpose", data["purpose"]),
            channel=None if channel is None else enum_value(Channel, "channel", channel),
            basis=enum_value(Basis, "basis", data["basis"]),
            grantor=required_text("grantor", data["grantor"]),
            granted_at=instant_value("granted_at", data["granted_at"]),
            confirmed_at=instant("confirmed_at"),
            expires_at=instant("expires_at"),
            withdrawn_at=instant("withdrawn_at"),
            group=_text("group", data.get("group"), optional=True),
            source=_text("source", data.get("source"), optional=True),
            evidence=None if evidence is None else Evidence.from_dict(evidence),
        )


_PERMISSION_REQUIRED = frozenset({"purpose", "channel", "basis", "grantor", "granted_at"})
_PERMISSION_KEYS = _PERMISSION_REQUIRED | {
    "confirmed_at",
    "expires_at",
    "withdrawn_at",
    "group",
    "source",
    "evidence",
}


# Reading a permission as Permission.to_dict writes it, which is how every
# store keeps its snapshots: each value is checked for what it must be and
# set through the slots' descriptors, as attrs' __init__ (whose converters
# would pass these values through) would set it, about three times faster.
_new = object.__new__
_fromisoformat = datetime.fromisoformat
_PURPOSES: Final = {purpose.value: purpose for purpose in Purpose}
_CHANNELS: Final = {channel.value: channel for channel in Channel}
_BASES: Final = {basis.value: basis for basis in Basis}
_PERMISSION_SETTERS: Final = tuple(
    Permission.__dict__[field.name].__set__ for field in attrs.fields(Permission)
)
_EVIDENCE_SETTERS: Final = tuple(
    Evidence.__dict__[field.name].__set__ for field in attrs.fields(Evidence)
)


class _NotWritten(Exception):
    """A value is not as `to_dict` writes it: the checked path reads it."""


def _written_time(value: object) -> datetime | None:
    if value is None:
        return None
    instant = _fromisoformat(value)  # type: ignore[arg-type]
    if instant.tzinfo is not UTC:
        raise _NotWritten
    return instant


def _written_string(value: object) -> bool:
    # A non-empty str that can be written as UTF-8 (no lone surrogate).
    return type(value) is str and bool(value) and encodable(value)


def _written_text(value: object) -> str | None:
    if value is None or _written_string(value):
        return value  # type: ignore[return-value]
    raise _NotWritten


def _written_evidence(data: object) -> Evidence | None:
    if data is None:
        return None
    if type(data) is not dict or data.keys() != _EVIDENCE_KEYS:
        raise _NotWritten
    method = data["method"]
    if not _written_string(method):
        raise _NotWritten
    evidence = _new(Evidence)
    for set_field, value in zip(
        _EVIDENCE_SETTERS,
        (
            method,
            _written_time(data["captured_at"]),
            _written_text(data["text"]),
            _written_text(data["source"]),
        ),
        strict=True,
    ):
        set_field(evidence, value)
    return evidence


def _written_permission(data: object) -> Permission | None:
    """
    Return the permission in *data* if it is as `Permission.to_dict` writes it, times in UTC.
    """
    if type(data) is not dict or data.keys() != _PERMISSION_KEYS:
        return None
    try:
        written = data["purpose"]
        grantor = data["grantor"]
        if not _written_string(written) or not _written_string(grantor):
            return None
        channel = data["channel"]
        values = (
            _PURPOSES.get(written, written),
            None if channel is None else _CHANNELS[channel],
            _BASES[data["basis"]],
            grantor,
            _written_time(data["granted_at"]),
            _written_time(data["confirmed_at"]),
            _written_time(data["expires_at"]),
            _written_time(data["withdrawn_at"]),
            _written_text(data["group"]),
            _written_text(data["source"]),
            _written_evidence(data["evidence"]),
        )
    except (_NotWritten, KeyError, TypeError, ValueError):
        return None
    if values[4] is None:
        return None
    permission = _new(Permission)
    for set_field, value in zip(_PERMISSION_SETTERS, values, strict=True):
        set_field(permission, value)
    return permission


_set_order = Interaction.__dict__["_order"].__set__
