"""
The parts a policy is made of: `Request` (what is asked) and `Rule` (one check).
"""

from __future__ import annotations

import ast

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, NamedTuple, TypeAlias
from zoneinfo import ZoneInfo

import attrs

from ._conditions import Checked, Conditions, Denial, compile_rule
from ._time import shift
from ._values import Action, Channel, Purpose, PurposeLike, encodable, enum_value, plain
from .exceptions import InvalidInteraction, InvalidRequest


if TYPE_CHECKING:
    from ._decision import Reason
    from ._policy import Policy
    from ._relationship import Relationship

__all__ = [
    "COMMERCIAL_ACTIONS",
    "CONDITIONS",
    "REQUEST_ONLY",
    "SILENT",
    "USUALLY_REQUEST_ONLY",
    "Codes",
    "DenialTest",
    "ObligationCheck",
    "Request",
    "Rule",
    "RuleCheck",
    "allowed_when",
    "denial_test",
    "denied_when",
    "is_electronic",
    "next_call_time",
    "request_only",
    "request_only_unless",
]

COMMERCIAL_ACTIONS = frozenset({Action.PITCH, Action.ADD_TO_LIST, Action.SEND_MARKETING})
"""
The actions that are commercial on any channel (a ``call`` is only with purpose ``sales``).
"""


class Request(NamedTuple):
    """
    What a guard is asked, with the defaults resolved.

    Attributes:
        action: The action.
        at: The time, aware, in UTC.
        channel: The channel; None when unknown.
        purpose: The purpose; None when the action has none.
        group: The group, for ``promote_in_group``.
    """

    action: Action
    at: datetime
    channel: Channel | None
    purpose: PurposeLike | None
    group: str | None

    @property
    def electronic(self) -> bool:
        """
        Whether the action goes to an electronic address; an unknown channel is (fail closed).
        """
        return is_electronic(self.channel)

    @property
    def commercial(self) -> bool:
        """
        Whether the action is commercial (a pitch, list or marketing, or a sales call).
        """
        return self.action in COMMERCIAL_ACTIONS or (
            self.action is Action.CALL and self.purpose == Purpose.SALES
        )


RuleCheck: TypeAlias = (
    "Callable[[Relationship, Request, Policy], Sequence[Reason] | Iterator[Reason]]"
)
"""
A rule's check: a pure function of the relationship, the request and the
policy's settings, returning the `Reason` values it finds (empty to pass),
as a list, a tuple or a generator (never a set, whose order is not its own).
"""

ObligationCheck: TypeAlias = (
    "Callable[[Relationship, Request, Policy], Sequence[str] | Iterator[str]]"
)
"""
What a rule obliges the sender to do when the action is allowed, as a list,
a tuple or a generator of strings.
"""


Codes: TypeAlias = tuple[str, ...]
"""
Reason codes, each once, in the order a rule reports them.
"""

DenialTest: TypeAlias = "Callable[[Relationship, Request, Policy], Codes]"
"""
A rule's denial test: the codes of the denying reasons its check would find,
answered without building the reasons; empty (false) when it allows.
Warnings never deny, so their codes are never given.
"""

CONDITIONS: dict[RuleCheck, Conditions] = {}
"""
The denial conditions of rule checks, by check; `denied_when` fills it.

A guard that only needs to know whether an action is allowed, or why not by
code (`check` before it builds reasons, `screen` for an audience, the
suggestions of a denied decision), evaluates the conditions of a plan's
rules, fused into one function, and runs the check of a rule without them.
The conditions must agree with their check on every input: the test suite
holds them to that.
"""

SILENT: set[RuleCheck] = set()
"""
The rule checks that never warn: those registered by `denied_when` without ``warns``.

An allowed decision's warnings come only from the other rules, so a plan of
silent rules has none to look for.
"""


_VARIABLES = frozenset({"rel", "policy", "req", *Request._fields})
# The names a rule's expressions read as variables, which a let must not hide.


def denied_when(
    *denials: Denial,
    unless: str | None = None,
    applies: str | None = None,
    lets: Sequence[tuple[str, str]] = (),
    warns: bool = False,
) -> Callable[[RuleCheck], RuleCheck]:
    """
    Register the denial conditions of the decorated rule check.

    The expressions read the names `compile_plan` documents, and the globals
    of the check's module. *unless* is an expression under which the rule
    denies nothing; *applies*, one over ``action`` and ``channel`` alone,
    without which it denies nothing (a plan leaves the rule out when it
    does not hold for the plan's action and channel); *lets* names values
    the other expressions read, each with its expression, which a plan
    works out once for all its rules that name the same; *warns* says
    whether the check may give warnings, and the test suite holds a check
    registered without it to giving none.
    """
    lets = tuple(lets)
    for name, _ in lets:
        if not name.isidentifier() or name.startswith("_") or name in _VARIABLES:
            msg = f"a let must be named by a new public identifier, not {name!r}"
            raise ValueError(msg)

    def register(check: RuleCheck) -> RuleCheck:
        conditions = Conditions(
            denials, unless, getattr(check, "__globals__", {}), check, applies=applies, lets=lets
        )
        for expression in conditions.expressions():
            ast.parse(expression.strip(), mode="eval")
        CONDITIONS[check] = conditions
        if not warns:
            SILENT.add(check)
        return check

    return register


REQUEST_ONLY: set[ObligationCheck] = set()
"""
The obligation checks that `request_only` marks.
"""


def request_only(obligations: ObligationCheck) -> ObligationCheck:
    """
    Mark *obligations* as depending on the request and the policy alone, never failing.

    A guard then works them out once for a request, not for every relationship.
    """
    REQUEST_ONLY.add(obligations)
    return obligations


USUALLY_REQUEST_ONLY: dict[ObligationCheck, Callable[[Relationship], bool]] = {}
"""
The obligation checks that `request_only_unless` marks, each with its exception.
"""


def request_only_unless(
    depends: Callable[[Relationship], bool],
) -> Callable[[ObligationCheck], ObligationCheck]:
    """
    Mark obligations as `request_only` for every relationship for which *depends* is false.

    A guard works them out once for a request, and again for each
    relationship for which *depends* holds. *depends* must be a cheap test
    of the relationship that never fails.
    """

    def register(obligations: ObligationCheck) -> ObligationCheck:
        USUALLY_REQUEST_ONLY[obligations] = depends
        return obligations

    return register


def allowed_when(condition: str, *, applies: str | None = None) -> Callable[[RuleCheck], RuleCheck]:
    """
    Register an expression under which the decorated rule check allows; otherwise it is run.

    For a rule whose denials are too involved to repeat as conditions: the
    guards skip its check whenever *condition* holds, which must imply that
    the check finds no denying reason (the test suite holds it to that).
    *applies* is as for `denied_when`.
    """
    return denied_when(Checked(), unless=condition, applies=applies)


_TESTS: dict[RuleCheck, DenialTest] = {}


def denial_test(check: RuleCheck) -> DenialTest | None:
    """
    Return the denial test compiled from *check*'s conditions, or None when it has none.
    """
    test = _TESTS.get(check)
    if test is None:
        conditions = CONDITIONS.get(check)
        if conditions is None:
            return None
        test = _TESTS[check] = compile_rule(conditions, getattr(check, "__name__", "a rule"))
    return test


def _actions(value: Action | str | Iterable[Action | str]) -> frozenset[Action]:
    # One action, or several; a plain string is one action, never its letters.
    if isinstance(value, str):
        value = (value,)
    try:
        actions = frozenset(enum_value(Action, "actions", action) for action in value)
    except TypeError:
        raise InvalidRequest(
            "actions", value, "expected actions, e.g. ('message', 'pitch')"
        ) from None
    except InvalidInteraction as e:
        raise InvalidRequest("actions", e.value, e.detail) from None
    if not actions:
        raise InvalidRequest("actions", value, "a rule applies to at least one action")
    return actions


def _named(_rule: Rule, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(attribute.name, value, "a rule is named by a non-empty string")
    if not encodable(value):
        raise InvalidRequest(attribute.name, value, "not text: it holds a lone surrogate")


def _callable(_rule: Rule, attribute: attrs.Attribute[RuleCheck], value: object) -> None:
    if not callable(value):
        raise InvalidRequest(attribute.name, value, "expected a function of (rel, req, policy)")
    try:
        hash(value)
    except TypeError:
        # Policies are values: equal ones share their compiled plans, which
        # needs their rules, and so their checks, to be hashable.
        raise InvalidRequest(
            attribute.name,
            value,
            "expected a hashable callable: a function, or an instance of a frozen "
            "dataclass or attrs class",
        ) from None


def _callable_or_none(
    _rule: Rule, attribute: attrs.Attribute[ObligationCheck | None], value: object
) -> None:
    if value is not None:
        _callable(_rule, attribute, value)  # type: ignore[arg-type]


@attrs.frozen
class Rule:
    """
    One rule of a policy.

    Attributes:
        name: A short name: the `Reason.rule` of a ``rule_error`` it
            causes, and the one its check should give its own reasons.
        actions: The actions it applies to.
        check: Returns the reasons it finds, a list, tuple or generator of
            `Reason` values (empty when it finds nothing); reasons with a
            warning code warn instead of denying. Returning anything else
            (a set or a mapping too, whose order is not the rule's), or
            raising, denies with ``rule_error``.
        obligations: Returns what the sender must do when the action is
            allowed, a list, tuple or generator of non-empty strings;
            anything else denies with ``rule_error``. None (the field) for
            nothing.
    """

    name: str = attrs.field(converter=plain, validator=_named)
    actions: frozenset[Action] = attrs.field(converter=_actions)
    check: RuleCheck = attrs.field(validator=_callable)
    obligations: ObligationCheck | None = attrs.field(default=None, validator=_callable_or_none)


def is_electronic(channel: Channel | None) -> bool:
    """
    Whether *channel* reaches an electronic address; an unknown channel does (fail closed).
    """
    return channel is None or channel.is_electronic


def next_call_time(at: datetime, zone: str, hours: tuple[int, int]) -> datetime | None:
    """
    Return when calling hours next begin if *at* is outside *hours* in *zone*, else None.

    The start is local wall time, so daylight-saving changes are honoured.
    """
    tz = ZoneInfo(zone)
    start, end = hours
    try:
        local = at.astimezone(tz)
        if start <= local.hour < end:
            return None
        day = local.date()
        if local.hour >= end:
            day = day.fromordinal(day.toordinal() + 1)
        opens = datetime(day.year, day.month, day.day, start, tzinfo=tz).astimezone(at.tzinfo)
        if opens.astimezone(tz).utcoffset() != local.utcoffset():
            # The clocks change on the way: the opening hour may be skipped
            # or come twice, or the change itself may open the hours.
            opens = _next_call_across_changes(at, tz, hours)
    except (OverflowError, ValueError):
        return _next_call_by_clock(at, tz, hours)
    return opens


_HOUR = timedelta(hours=1)


def _next_call_across_changes(at: datetime, tz: ZoneInfo, hours: tuple[int, int]) -> datetime:
    # From *at*, go from one change of the local hour to the next, each the
    # next full hour on the local clock or a change of offset before it,
    # until the local hour is one of *hours*.
    start, end = hours
    now = at
    for _ in range(_MOST_STEPS):
        local = now.astimezone(tz)
        if start <= local.hour < end:
            break
        offset = local.utcoffset()
        into = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
        step = now + (_HOUR - into)
        if step.astimezone(tz).utcoffset() != offset:
            step = _offset_change(now, step, tz)
        now = step
    return now


# Calling hours open within two days, whatever the clocks do: a bound a zone
# that never opens them (none does) cannot turn into a loop without end.
_MOST_STEPS: Final = 24 * 14


def _offset_change(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    # The first instant in (before, after] at the offset *after* has: zones
    # change offsets on whole seconds, so halve the span down to one.
    offset = before.astimezone(tz).utcoffset()
    low, high = before, after
    while high - low > _SECOND:
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == offset:
            low = middle
        else:
            high = middle
    whole = high.replace(microsecond=0)
    if whole > low and whole.astimezone(tz).utcoffset() != offset:
        return whole
    return high


_DAY = 24 * 3600
_SECOND = timedelta(seconds=1)


def _next_call_by_clock(at: datetime, tz: ZoneInfo, hours: tuple[int, int]) -> datetime | None:
    # Within a day of the first or the last instant a datetime holds, where
    # the local date cannot be written: read the local hour off the clock at
    # the zone's offset, and wait whole seconds for the next opening.
    offset = tz.utcoffset(at.replace(tzinfo=None)) or timedelta()
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    second = (at - midnight + offset) // _SECOND % _DAY
    start, end = hours
    if start * 3600 <= second < end * 3600:
        return None
    return shift(at.replace(microsecond=0), timedelta(seconds=(start * 3600 - second) % _DAY))
