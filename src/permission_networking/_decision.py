"""
`Decision` and `Reason`: what a guard answers, and why.
"""

from __future__ import annotations

import enum

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Self

import attrs

from ._time import format_instant
from ._values import (
    Action,
    RelationshipState,
    check_iterable,
    check_keys,
    encodable,
    enum_value,
    instant_value,
    required_text,
    to_action,
    to_actions,
    to_at,
    to_retry_at,
    to_state,
    to_until,
)
from .exceptions import InvalidInteraction


__all__ = [
    "WARNING_CODES",
    "Decision",
    "Reason",
    "ReasonCode",
    "checked_obligations",
    "checked_reasons",
    "defer_decision",
    "fill_decision",
    "make_reason",
    "set_allowed",
    "set_pending",
]


class ReasonCode(enum.StrEnum):
    """
    The stable codes of `Reason`: branch on these, not on messages.
    """

    DO_NOT_CONTACT = "do_not_contact"
    NOT_CONNECTED = "not_connected"
    NOT_ENGAGED = "not_engaged"
    COOLING_OFF = "cooling_off"
    NO_INTEREST = "no_interest"
    UNANSWERED_LIMIT = "unanswered_limit"
    RECIPROCITY = "reciprocity"
    RECENT_REFUSAL = "recent_refusal"
    ALREADY_CONNECTED = "already_connected"
    REQUEST_PENDING = "request_pending"
    RECENTLY_DECLINED = "recently_declined"
    NO_CONSENT = "no_consent"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CONSENT_EXPIRED = "consent_expired"
    CONSENT_UNCONFIRMED = "consent_unconfirmed"
    CONSENT_UNPROVEN = "consent_unproven"
    UNDELIVERABLE = "undeliverable"
    QUIET_HOURS = "quiet_hours"
    TIMEZONE_UNKNOWN = "timezone_unknown"
    NOT_INTRODUCED = "not_introduced"
    NO_OWNER_PERMISSION = "no_owner_permission"
    NO_SHARED_CONTEXT = "no_shared_context"
    JURISDICTION_UNKNOWN = "jurisdiction_unknown"
    RULE_ERROR = "rule_error"


WARNING_CODES = frozenset({ReasonCode.NO_SHARED_CONTEXT, ReasonCode.JURISDICTION_UNKNOWN})
"""
The codes that warn (allowed, but discouraged) instead of denying.
"""


def _to_code(value: str) -> str:
    # A reason code, as a plain string (a ReasonCode or any non-empty code of one's own).
    return required_text("code", value)


def _string_field(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _string(attribute.name, value)


def _bool_field(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not bool:
        raise InvalidInteraction(attribute.name, value, "expected True or False")


@attrs.frozen
class Reason:
    """
    Why an action is denied or discouraged.

    Attributes:
        code: A stable code, one of the `ReasonCode` values, as a plain string.
        message: The reason in plain English.
        rule: The name of the rule that gave it.
        until: When it lapses by time alone; None when time alone does not end it.
    """

    code: str = attrs.field(converter=_to_code)
    message: str = attrs.field(validator=_string_field)
    rule: str = attrs.field(validator=_string_field)
    until: datetime | None = attrs.field(default=None, converter=to_until)

    def to_dict(self) -> dict[str, Any]:
        """
        Return a JSON-safe dict.
        """
        return {
            "code": str(self.code),
            "message": self.message,
            "rule": self.rule,
            "until": None if self.until is None else format_instant(self.until),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build a reason from the output of `to_dict`.

        Raises:
            InvalidInteraction: A key is missing or unknown, or a value is invalid.
        """
        check_keys("reason", data, required=_REASON_REQUIRED, allowed=_REASON_KEYS)
        until = data.get("until")
        return cls(
            required_text("code", data["code"]),
            _string("message", data["message"]),
            _string("rule", data["rule"]),
            None if until is None else instant_value("until", until),
        )


def checked_reasons(found: object) -> list[Reason] | tuple[Reason, ...]:
    """
    Return what a rule check *found*, when it is a sequence of `Reason` values.

    Raises:
        TypeError: It is anything else (None, False, a string, a `Reason`
            not in a sequence, or holding something that is not a `Reason`),
            so that the guard denies with ``rule_error`` instead of allowing.
    """
    return _sequence("a rule check", found, _is_reason, "Reason values, in text UTF-8 can hold")


def checked_obligations(found: object) -> list[str] | tuple[str, ...]:
    """
    Return what an obligation check *found*, when it is a sequence of non-empty strings.

    Raises:
        TypeError: It is anything else (None, one string, or holding
            something that is not a non-empty string), so that the guard
            denies with ``rule_error`` instead of allowing.
    """
    found = _sequence("an obligation check", found, _is_text, "non-empty strings UTF-8 can hold")
    if all(type(item) is str for item in found):
        return found
    return tuple(str.__str__(item) for item in found)


def _is_reason(item: object) -> bool:
    # Text that UTF-8 can hold, so that a store logging the decision can write it.
    return (
        isinstance(item, Reason)
        and encodable(item.code)
        and encodable(item.message)
        and encodable(item.rule)
    )


def _is_text(item: object) -> bool:
    return isinstance(item, str) and bool(item) and encodable(item)


def _sequence(
    who: str, found: object, valid: Callable[[object], bool], expected: str
) -> list[Any] | tuple[Any, ...]:
    # A list or tuple (or another iterable in an order of its own: not text,
    # a set or a mapping, whose order would make equal decisions differ) of
    # what *valid* accepts.
    if type(found) is not list and type(found) is not tuple:
        if isinstance(found, str | bytes | AbstractSet | Mapping) or not isinstance(
            found, Iterable
        ):
            msg = f"{who} returned {found!r}; return a list or tuple of {expected}, or an empty one"
            raise TypeError(msg)
        found = tuple(found)
    for item in found:
        if not valid(item):
            msg = f"{who} returned {item!r} among its results; expected {expected}"
            raise TypeError(msg)
    return found


def _reason_tuple(field: str, value: Iterable[Reason]) -> tuple[Reason, ...]:
    check_iterable(field, value, Reason)
    reasons = tuple(value)
    for reason in reasons:
        if not isinstance(reason, Reason):
            raise InvalidInteraction(field, reason, "expected Reason values")
    return reasons


def _to_reasons(value: Iterable[Reason]) -> tuple[Reason, ...]:
    return _reason_tuple("reasons", value)


def _to_warnings(value: Iterable[Reason]) -> tuple[Reason, ...]:
    return _reason_tuple("warnings", value)


def _to_strings(value: Iterable[str]) -> tuple[str, ...]:
    check_iterable("obligations", value, str)
    return tuple(_plain("obligations", item) for item in value)


def _plain(field: str, value: object) -> str:
    # A string as a decision keeps it: plain, so that an enum member given
    # for a channel or purpose equals, hashes and round-trips as its value.
    if not isinstance(value, str):
        raise InvalidInteraction(field, value, "expected a string")
    return value if type(value) is str else str.__str__(value)


_TEXTS: Final = ("policy", "decision_id", "sender", "contact", "channel", "purpose", "group")
# The decision's text fields (all but policy may be None), kept plain strings.


class _Pending:
    """
    The base of `Decision`: a slot for the work that completes a decision a guard defers.
    """

    __slots__ = ("_pending",)


@attrs.frozen
class Decision(_Pending):
    """
    The answer of a guard: may this sender do this action to this contact now?

    ``bool(decision)`` is `allowed`.

    A guard decides `allowed` at once and works out the other fields the
    first time one of them is read, from the same immutable relationship,
    request and policy: an allowed check that only asks ``if decision:``
    builds no reasons, state or suggestions. Reading, comparing, hashing,
    printing or pickling a decision gives the same values either way.

    Attributes:
        action: The action asked about.
        allowed: Whether it may be taken.
        state: The relationship's state at `at` under the policy's ``engagement_ttl``.
        at: When it was decided for.
        policy: The name of the policy, e.g. ``"etiquette & casl"``.
        reasons: Why it is denied; empty when allowed.
        warnings: Allowed but discouraged, or worth knowing.
        obligations: What the sender must do when acting (e.g.
            ``include_unsubscribe``); empty when denied.
        retry_at: When every denying reason lapses by time alone (the latest
            ``until``); None when allowed or when some reason has no ``until``.
        suggestions: When denied, the actions among ``share_value``,
            ``message``, ``request_meeting``, ``request_opt_in`` and ``connect``
            that the same policy allows now, in that order. Each is decided
            on the request's channel, or, when that is the denied action's
            default (named or not), on its own default: after an email
            bounced, a marketing email still suggests a connection request,
            and a message named on ``channel="email"`` suggests nothing.
        decision_id: The id in an auditing store's decision log, else None.
        sender: The relationship's sender.
        contact: The relationship's contact.
        channel: The channel decided for, None when unknown.
        purpose: The purpose decided for, None when there is none.
        group: The group decided for, if any.
    """

    action: Action = attrs.field(converter=to_action)
    allowed: bool = attrs.field(validator=_bool_field)
    state: RelationshipState = attrs.field(converter=to_state)
    at: datetime = attrs.field(converter=to_at)
    policy: str
    reasons: tuple[Reason, ...] = attrs.field(default=(), converter=_to_reasons)
    warnings: tuple[Reason, ...] = attrs.field(default=(), converter=_to_warnings)
    obligations: tuple[str, ...] = attrs.field(default=(), converter=_to_strings)
    retry_at: datetime | None = attrs.field(default=None, converter=to_retry_at)
    suggestions: tuple[Action, ...] = attrs.field(default=(), converter=to_actions)
    decision_id: str | None = None
    sender: str | None = None
    contact: str | None = None
    channel: str | None = None
    purpose: str | None = None
    group: str | None = None

    def __attrs_post_init__(self) -> None:
        # Built by hand (the guards set the slots themselves, with plain
        # strings): an enum member given for a channel or purpose is kept as
        # its value, so that equal decisions hash alike and round-trip.
        for name in _TEXTS:
            value = getattr(self, name)
            if value is not None or name == "policy":
                object.__setattr__(self, name, _plain(name, value))

    def __bool__(self) -> bool:
        return self.allowed

    if not TYPE_CHECKING:  # Hidden from type checkers, which would accept any name.

        def __getattr__(self, name: str) -> Any:
            # Called only for a field whose slot is unset: a deferred decision's.
            if name in _FIELD_NAMES:
                try:
                    pending = _get_pending(self, Decision)
                except AttributeError:
                    pending = None
                if pending is not None:
                    pending[0](self, *pending[1:])
                    set_pending(self, None)
            # Completed now, or by another thread since this lookup began; else
            # the usual AttributeError.
            return _getattribute(self, name)

    @property
    def codes(self) -> tuple[str, ...]:
        """
        The codes of `reasons`, in order.
        """
        return tuple(reason.code for reason in self.reasons)

    def explain(self) -> str:
        """
        Return the decision in plain English: a summary line, then one line per reason.
        """
        who = f" {self.sender} -> {self.contact}" if self.sender and self.contact else ""
        verdict = "allowed" if self.allowed else "denied"
        summary = (
            f"{self.action.value}{who}: {verdict} "
            f"(policy {self.policy}, state {self.state.value}, at {format_instant(self.at)})"
        )
        lines = [summary]
        lines.extend(f"  denied because {r.message} [{r.code}]" for r in self.reasons)
        lines.extend(f"  warning: {r.message} [{r.code}]" for r in self.warnings)
        if self.obligations:
            lines.append(f"  when you act: {', '.join(self.obligations)}")
        if self.retry_at is not None:
            lines.append(f"  ask again at {format_instant(self.retry_at)}")
        elif not self.allowed:
            lines.append("  time alone will not change this")
        if self.suggestions:
            lines.append(f"  allowed now instead: {', '.join(self.suggestions)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """
        Return a JSON-safe dict that `from_dict` turns back into an equal decision.
        """
        return {
            "action": self.action.value,
            "allowed": self.allowed,
            "state": self.state.value,
            "at": format_instant(self.at),
            "policy": self.policy,
            "reasons": [r.to_dict() for r in self.reasons],
            "warnings": [r.to_dict() for r in self.warnings],
            "obligations": list(self.obligations),
            "retry_at": None if self.retry_at is None else format_instant(self.retry_at),
            "suggestions": [a.value for a in self.suggestions],
            "decision_id": self.decision_id,
            "sender": self.sender,
            "contact": self.contact,
            "channel": self.channel,
            "purpose": self.purpose,
            "group": self.group,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build a decision from the output of `to_dict`.

        Raises:
            InvalidInteraction: A key is missing or unknown, or a value is invalid.
        """
        check_keys("decision", data, required=_DECISION_REQUIRED, allowed=_DECISION_KEYS)
        allowed = data["allowed"]
        if type(allowed) is not bool:
            raise InvalidInteraction("allowed", allowed, "expected true or false")
        retry_at = data.get("retry_at")
        return cls(
            action=enum_value(Action, "action", data["action"]),
            allowed=allowed,
            state=enum_value(RelationshipState, "state", data["state"]),
            at=instant_value("at", data["at"]),
            policy=_string("policy", data["policy"]),
            reasons=tuple(Reason.from_dict(r) for r in _items("reasons", data)),
            warnings=tuple(Reason.from_dict(r) for r in _items("warnings", data)),
            obligations=tuple(_string("obligations", o) for o in _items("obligations", data)),
            retry_at=None if retry_at is None else instant_value("retry_at", retry_at),
            suggestions=tuple(
                enum_value(Action, "suggestions", a) for a in _items("suggestions", data)
            ),
            decision_id=_optional_text("decision_id", data),
            sender=_optional_text("sender", data),
            contact=_optional_text("contact", data),
            channel=_optional_text("channel", data),
            purpose=_optional_text("purpose", data),
            group=_optional_text("group", data),
        )


_REASON_REQUIRED = frozenset({"code", "message", "rule"})
_REASON_KEYS = _REASON_REQUIRED | {"until"}
_DECISION_REQUIRED = frozenset({"action", "allowed", "state", "at", "policy"})
_DECISION_KEYS = _DECISION_REQUIRED | {
    "reasons",
    "warnings",
    "obligations",
    "retry_at",
    "suggestions",
    "decision_id",
    "sender",
    "contact",
    "channel",
    "purpose",
    "group",
}


def _items(field: str, data: Mapping[str, Any]) -> list[Any] | tuple[Any, ...]:
    # A list field of a decision's dict, which may be left out.
    value = data.get(field, ())
    if type(value) not in {list, tuple}:
        raise InvalidInteraction(field, value, "expected a list")
    return value  # type: ignore[no-any-return]


def _optional_text(field: str, data: Mapping[str, Any]) -> str | None:
    value = data.get(field)
    return None if value is None else _string(field, value)


def _string(field: str, value: object) -> str:
    # Any string, as a value may hold it: a message or a name may be empty.
    if type(value) is not str:
        raise InvalidInteraction(field, value, "expected a string")
    return value


# A guard builds a Decision for every check. attrs' __init__ of a frozen
# slotted class sets each field through object.__setattr__, which looks the
# name up again for every field; setting the slots through their member
# descriptors does the same work in about half the time. Neither class has
# validators or a post-init hook, and the guards give every field as its
# converter would leave it (Reason's `code` a plain str, the times aware and
# in UTC, the collections tuples), so the result is the same value.
_new = object.__new__
_getattribute = object.__getattribute__
_FIELD_NAMES = frozenset(field.name for field in attrs.fields(Decision))
_get_pending = _Pending.__dict__["_pending"].__get__
set_pending = _Pending.__dict__["_pending"].__set__
(
    _set_action,
    set_allowed,
    _set_state,
    _set_at,
    _set_policy,
    _set_reasons,
    _set_warnings,
    _set_obligations,
    _set_retry_at,
    _set_suggestions,
    _set_decision_id,
    _set_sender,
    _set_contact,
    _set_channel,
    _set_purpose,
    _set_group,
) = (Decision.__dict__[field.name].__set__ for field in attrs.fields(Decision))
_set_code, _set_message, _set_rule, _set_until = (
    Reason.__dict__[field.name].__set__ for field in attrs.fields(Reason)
)


def defer_decision(allowed: bool, pending: tuple[Any, ...]) -> Decision:  # noqa: FBT001
    """
    Return a `Decision` of which only `allowed` is set yet.

    *pending* is ``(complete, *args)``: the first read of any other field
    calls ``complete(decision, *args)``, which must set them all with
    `fill_decision`; it is then let go. A guard that defers inline sets the
    same two slots, with `set_allowed` and `set_pending`.
    """
    decision = _new(Decision)
    set_allowed(decision, allowed)
    set_pending(decision, pending)
    return decision


def fill_decision(  # noqa: PLR0913, PLR0917
    decision: Decision,
    action: Action,
    state: RelationshipState,
    at: datetime,
    policy: str,
    reasons: tuple[Reason, ...],
    warnings: tuple[Reason, ...],
    obligations: tuple[str, ...],
    retry_at: datetime | None,
    suggestions: tuple[Action, ...],
    sender: str | None,
    contact: str | None,
    channel: str | None,
    purpose: str | None,
    group: str | None,
) -> None:
    """
    Set every field of *decision* but `allowed`, which is already set; no ``decision_id``.
    """
    _set_action(decision, action)
    _set_state(decision, state)
    _set_at(decision, at)
    _set_policy(decision, policy)
    _set_reasons(decision, reasons)
    _set_warnings(decision, warnings)
    _set_obligations(decision, obligations)
    _set_retry_at(decision, retry_at)
    _set_suggestions(decision, suggestions)
    _set_decision_id(decision, None)
    _set_sender(decision, sender)
    _set_contact(decision, contact)
    _set_channel(decision, channel)
    _set_purpose(decision, purpose)
    _set_group(decision, group)


def make_reason(code: str, message: str, rule: str, until: datetime | None = None) -> Reason:
    """
    Return ``Reason(code, message, rule, until)`` built faster; *code* must be a plain `str`.
    """
    reason = _new(Reason)
    _set_code(reason, code)
    _set_message(reason, message)
    _set_rule(reason, rule)
    _set_until(reason, until)
    return reason
