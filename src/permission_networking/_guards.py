"""
The guards: `check`, `require` and the `can_*` shortcuts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, TypeAlias

from ._decision import (
    WARNING_CODES,
    Decision,
    Reason,
    ReasonCode,
    defer_decision,
    fill_decision,
)
from ._jurisdiction import policy_for
from ._relationship import Relationship
from ._rules import DENIAL_TESTS, SILENT, Codes, DenialTest, Request, Rule
from ._time import Instant, now, parse_instant
from ._values import Action, Channel, Purpose, PurposeLike, enum_value, purpose_value
from .exceptions import InvalidInteraction, InvalidRequest, PermissionDenied


if TYPE_CHECKING:
    from ._policy import Policy

__all__ = [
    "can_add_to_list",
    "can_ask_favor",
    "can_call",
    "can_connect",
    "can_message",
    "can_pitch",
    "can_promote_in_group",
    "can_request_meeting",
    "can_request_opt_in",
    "can_send_marketing",
    "can_share_value",
    "check",
    "require",
]

_A = Action
DEFAULT_PURPOSE: Final = {
    _A.PITCH: Purpose.SALES,
    _A.ADD_TO_LIST: Purpose.MARKETING,
    _A.SEND_MARKETING: Purpose.MARKETING,
    _A.REQUEST_OPT_IN: Purpose.MARKETING,
    _A.PROMOTE_IN_GROUP: Purpose.GROUP_PROMOTION,
}
DEFAULT_CHANNEL: Final = {
    _A.ADD_TO_LIST: Channel.EMAIL,
    _A.SEND_MARKETING: Channel.EMAIL,
    _A.CALL: Channel.PHONE,
}
SUGGESTED: Final = (_A.SHARE_VALUE, _A.MESSAGE, _A.REQUEST_MEETING, _A.REQUEST_OPT_IN, _A.CONNECT)


def resolve_at(at: Instant | None) -> datetime:
    """
    Return *at* as an aware UTC time, or now when it is None.

    Raises:
        InvalidRequest: *at* is naive or not a time.
    """
    if at is None:
        return now()
    if type(at) is datetime and at.tzinfo is UTC:
        return at
    try:
        return parse_instant(at)
    except (TypeError, ValueError) as e:
        raise InvalidRequest("at", at, str(e)) from None


_Resolved = tuple[Action, Channel | None, PurposeLike | None, str | None]
_RESOLVED: dict[tuple[object, object, object, object], _Resolved] = {}
_RESOLVED_MAX = 4096
_new_request = tuple.__new__


def _resolve(
    action: Action | str,
    channel: Channel | str | None,
    purpose: PurposeLike | None,
    group: str | None,
) -> _Resolved:
    try:
        act = enum_value(Action, "action", action)
        chan = (
            DEFAULT_CHANNEL.get(act) if channel is None else enum_value(Channel, "channel", channel)
        )
        purp = DEFAULT_PURPOSE.get(act) if purpose is None else purpose_value("purpose", purpose)
    except InvalidInteraction as e:
        raise InvalidRequest(e.field, e.value, str(e).split(": ", 1)[-1]) from None
    if group is not None and (not isinstance(group, str) or not group):  # type: ignore[redundant-expr]
        raise InvalidRequest("group", group, "expected a non-empty string")
    return (act, chan, purp, group)


def make_request(
    action: Action | str,
    at: datetime,
    channel: Channel | str | None,
    purpose: PurposeLike | None,
    group: str | None,
) -> Request:
    """
    Build a `Request`, filling the purpose and channel the action implies.

    Raises:
        InvalidRequest: An argument is not valid.
    """
    key = (action, channel, purpose, group)
    try:
        act, chan, purp, grp = _RESOLVED[key]
    except KeyError:
        act, chan, purp, grp = resolved = _resolve(action, channel, purpose, group)
        if len(_RESOLVED) >= _RESOLVED_MAX:
            _RESOLVED.clear()
        _RESOLVED[key] = resolved
    except TypeError:
        act, chan, purp, grp = _resolve(action, channel, purpose, group)
    return _new_request(Request, (act, at, chan, purp, grp))


def _rule_error(rule: str, error: Exception) -> Reason:
    return Reason(
        ReasonCode.RULE_ERROR,
        f"the rule {rule!r} failed ({type(error).__name__}: {error}); denied to be safe",
        rule,
    )


Tests: TypeAlias = "tuple[tuple[Policy, DenialTest | None, Rule], ...]"
"""
A plan's rules, each with its part and its denial test (None: run the check).
"""


Obligations: TypeAlias = "tuple[tuple[Policy, Rule], ...]"
"""
A plan's rules that oblige the sender, each with its part.
"""


class Plan(NamedTuple):
    """
    What deciding one action under one policy takes, worked out once.

    Attributes:
        rules: Every rule that decides the action, in order, as
            ``(part, None, rule)``: each check runs.
        tests: The same, each with its rule's denial test (None: run the check).
        warners: The rules that may warn, as ``(part, None, rule)``.
        explain: What explaining a denial runs: `tests` with the test left
            out (None) of the rules that may warn, whose checks always run.
        obligations: The ``(part, rule)`` pairs whose rules oblige the sender.
        suggested: The actions a denial suggests if allowed, each with its
            default channel, its purpose and its tests.
    """

    rules: Tests
    tests: Tests
    warners: Tests
    explain: Tests
    obligations: Obligations
    suggested: tuple[tuple[Action, Channel | None, PurposeLike | None, Tests], ...]


# Plans by id(policy); each entry keeps its policy alive, so the id cannot be reused.
_PLANS: dict[int, tuple[Policy, dict[Action, Plan]]] = {}
_PLANS_MAX = 256


def _plans(policy: Policy) -> dict[Action, Plan]:
    entry = _PLANS.get(id(policy))
    if entry is not None and entry[0] is policy:
        return entry[1]
    tests = {
        action: tuple(
            (leaf, DENIAL_TESTS.get(rule.check), rule) for leaf, rule in policy.plan(action)
        )
        for action in Action
    }
    plans = {
        action: Plan(
            tuple((leaf, None, rule) for leaf, rule in policy.plan(action)),
            tests[action],
            tuple(
                (leaf, None, rule) for leaf, rule in policy.plan(action) if rule.check not in SILENT
            ),
            tuple(
                (leaf, test if rule.check in SILENT else None, rule)
                for leaf, test, rule in tests[action]
            ),
            tuple(
                (leaf, rule) for leaf, rule in policy.plan(action) if rule.obligations is not None
            ),
            tuple(
                (other, DEFAULT_CHANNEL.get(other), DEFAULT_PURPOSE.get(other), tests[other])
                for other in SUGGESTED
                if other is not action
            ),
        )
        for action in Action
    }
    if len(_PLANS) >= _PLANS_MAX:
        _PLANS.clear()
    _PLANS[id(policy)] = (policy, plans)
    return plans


def evaluate(
    relationship: Relationship, request: Request, policy: Policy
) -> tuple[list[Reason], list[Reason]]:
    """
    Run the policy's rules; return the denying reasons and the warnings.

    A rule that raises denies with ``rule_error``: never allow on error.
    """
    return _evaluate(relationship, request, _plans(policy)[request.action].rules)


def _evaluate(
    relationship: Relationship, request: Request, rules: Tests
) -> tuple[list[Reason], list[Reason]]:
    # Each rule's check, but where its denial test is given and finds nothing.
    reasons: list[Reason] = []
    warnings: list[Reason] = []
    for leaf, test, rule in rules:
        try:
            if test is not None and not test(relationship, request, leaf):
                continue
            for reason in rule.check(relationship, request, leaf):
                if reason.code in WARNING_CODES:
                    warnings.append(reason)
                else:
                    reasons.append(reason)
        except Exception as error:  # noqa: BLE001
            reasons.append(_rule_error(rule.name, error))
    return reasons, warnings


def plan_for(policy: Policy, action: Action) -> Plan:
    """
    Return what deciding *action* under *policy* takes, worked out once per policy.
    """
    return _plans(policy)[action]


def passes(relationship: Relationship, request: Request, tests: Tests) -> bool:
    """
    Whether no rule of *tests* (a plan's) denies *request*: the allowed path without reasons.

    A rule that raises denies, as in `evaluate`.
    """
    try:
        for leaf, test, rule in tests:
            if test is not None:
                if test(relationship, request, leaf):
                    return False
            else:
                for reason in rule.check(relationship, request, leaf):
                    if reason.code not in WARNING_CODES:
                        return False
    except Exception:  # noqa: BLE001
        return False
    return True


def denying_codes(relationship: Relationship, request: Request, tests: Tests) -> Codes:
    """
    Return the codes a plan's *tests* deny *request* with, each once; empty when allowed.

    What `screen` counts: a rule with a denial test gives its codes without
    building reasons, a rule without one is checked, and a rule that raises
    gives ``rule_error``, as in `evaluate`.
    """
    codes: Codes = ()
    for leaf, test, rule in tests:
        try:
            if test is not None:
                found = test(relationship, request, leaf)
            else:
                found = tuple(
                    reason.code
                    for reason in rule.check(relationship, request, leaf)
                    if reason.code not in WARNING_CODES
                )
        except Exception:  # noqa: BLE001
            found = _RULE_ERROR
        if found:
            codes = found if not codes else codes + found
    if len(codes) > 1 and len(set(codes)) < len(codes):
        return tuple(dict.fromkeys(codes))
    return codes


_RULE_ERROR: Final = (str(ReasonCode.RULE_ERROR),)


def _unique(reasons: Sequence[Reason]) -> tuple[Reason, ...]:
    if len(reasons) < 2:  # noqa: PLR2004
        return tuple(reasons)
    kept: dict[str, Reason] = {}
    for reason in reasons:
        other = kept.get(reason.code)
        if other is None or (
            other.until is not None and (reason.until is None or reason.until > other.until)
        ):
            kept[reason.code] = reason
    return tuple(kept.values())


def _obligations(
    relationship: Relationship, request: Request, rules: tuple[tuple[Policy, Rule], ...]
) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for leaf, rule in rules:
        assert rule.obligations is not None  # noqa: S101
        found.update(dict.fromkeys(rule.obligations(relationship, request, leaf)))
    return tuple(found)


Alternatives: TypeAlias = "tuple[tuple[Action, Request, Tests], ...]"
"""
The suggested actions a denied request is checked for, each as its own request with its plan.
"""


def alternatives(request: Request, policy: Policy) -> Alternatives:
    """
    Return what `suggestions` checks for a denial of *request*; the same for a whole audience.
    """
    at = request.at
    channel = request.channel
    group = request.group
    return tuple(
        (
            action,
            _new_request(
                Request,
                (action, at, default if channel is None else channel, purpose, group),
            ),
            tests,
        )
        for action, default, purpose, tests in _plans(policy)[request.action].suggested
    )


_SUGGESTIONS: dict[tuple[Action, ...], tuple[Action, ...]] = {}


def suggestions(
    relationship: Relationship,
    request: Request,
    policy: Policy,
    checked: Alternatives | None = None,
) -> tuple[Action, ...]:
    """
    Return the suggested actions that *policy* allows now, in their order.

    *checked* is ``alternatives(request, policy)`` when already known. A rule
    that fails while suggesting only leaves its action out.
    """
    if checked is None:
        at = request.at
        channel = request.channel
        group = request.group
        found = [
            action
            for action, default, purpose, tests in _plans(policy)[request.action].suggested
            if passes(
                relationship,
                _new_request(
                    Request, (action, at, default if channel is None else channel, purpose, group)
                ),
                tests,
            )
        ]
    else:
        found = [action for action, other, tests in checked if passes(relationship, other, tests)]
    suggested = tuple(found)
    # Few distinct tuples exist (subsets of SUGGESTED): share one of each, so that a
    # screening's many denied decisions do not each hold, and the collector track, a copy.
    return _SUGGESTIONS.setdefault(suggested, suggested)


_TEXT: Final[dict[object, str]] = {
    **{channel: channel.value for channel in Channel},
    **{purpose: purpose.value for purpose in Purpose},
}


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = _TEXT.get(value)
    return str(value) if text is None else text


_new_decision = object.__new__
_set_allowed = Decision.__dict__["allowed"].__set__


def _fill_allowed(  # noqa: PLR0913, PLR0917
    decision: Decision,
    relationship: Relationship,
    request: Request,
    policy: Policy,
    warnings: Sequence[Reason],
    obligations: tuple[str, ...],
) -> None:
    at = request.at
    fill_decision(
        decision,
        request.action,
        relationship.state_at(at, engagement_ttl=policy.engagement_ttl),
        at,
        policy.name,
        (),
        _unique(warnings) if warnings else (),
        obligations,
        None,
        (),
        relationship.sender,
        relationship.contact,
        _text(request.channel),
        _text(request.purpose),
        request.group,
    )


def _fill_denied(  # noqa: PLR0913, PLR0917
    decision: Decision,
    relationship: Relationship,
    request: Request,
    policy: Policy,
    reasons: Sequence[Reason],
    warnings: Sequence[Reason],
    checked: Alternatives | None,
) -> None:
    unique = reasons if isinstance(reasons, tuple) else _unique(reasons)
    retry_at = None
    for reason in unique:
        until = reason.until
        if until is None:
            retry_at = None
            break
        if retry_at is None or until > retry_at:
            retry_at = until
    at = request.at
    fill_decision(
        decision,
        request.action,
        relationship.state_at(at, engagement_ttl=policy.engagement_ttl),
        at,
        policy.name,
        unique,
        _unique(warnings),
        (),
        retry_at,
        # Never raises: a rule that fails while suggesting only leaves its action out.
        suggestions(relationship, request, policy, checked),
        relationship.sender,
        relationship.contact,
        _text(request.channel),
        _text(request.purpose),
        request.group,
    )


def _complete_allowed(
    decision: Decision,
    relationship: Relationship,
    request: Request,
    policy: Policy,
    obligations: tuple[str, ...],
) -> None:
    # The denial tests found nothing; the rules that may warn run again for their warnings.
    warners = _plans(policy)[request.action].warners
    warnings = _evaluate(relationship, request, warners)[1] if warners else ()
    _fill_allowed(decision, relationship, request, policy, warnings, obligations)


def denial(
    relationship: Relationship, request: Request, explain: Tests
) -> tuple[tuple[Reason, ...], tuple[Reason, ...]]:
    """
    Return the reasons (one per code) and the warnings of a request its denial tests deny.

    *explain* is a plan's: only the checks of the rules whose tests deny, and
    of those that may warn, run; the others would find nothing. Should the
    rules then find no reason (a rule that answers differently when asked
    again), the one reason is ``rule_error``: denied to be safe.
    """
    reasons, warnings = _evaluate(relationship, request, explain)
    # A tuple, and the shared empty one when there is none: a screening holds many.
    kept = tuple(warnings) if warnings else ()
    if not reasons:
        return (_DISAGREED,), kept
    return _unique(reasons), kept


_DISAGREED: Final = Reason(
    ReasonCode.RULE_ERROR,
    "the rules denied, then found no reason when asked again; denied to be safe",
    "rules",
)


def complete_denied(  # noqa: PLR0913, PLR0917
    decision: Decision,
    relationship: Relationship,
    request: Request,
    policy: Policy,
    reasons: tuple[Reason, ...] | None,
    warnings: Sequence[Reason],
    checked: Alternatives | None,
) -> None:
    """
    Complete a deferred denial: with its *reasons* and *warnings* when known (else None, ()).
    """
    if reasons is None:
        reasons, warnings = denial(relationship, request, _plans(policy)[request.action].explain)
    _fill_denied(decision, relationship, request, policy, reasons, warnings, checked)


def decide(
    relationship: Relationship,
    request: Request,
    policy: Policy,
    found: tuple[list[Reason], list[Reason]] | None = None,
    checked: Alternatives | None = None,
) -> Decision:
    """
    Build the whole `Decision` for *request* (from *found*, the output of `evaluate`, when known).

    *checked* is ``alternatives(request, policy)`` when already known.
    """
    plan = _plans(policy)[request.action]
    reasons, warnings = _evaluate(relationship, request, plan.rules) if found is None else found
    obligations: tuple[str, ...] = ()
    if not reasons and plan.obligations:
        try:
            obligations = _obligations(relationship, request, plan.obligations)
        except Exception as error:  # noqa: BLE001
            reasons = [_rule_error("obligations", error)]
    decision = _new_decision(Decision)
    if reasons:
        _set_allowed(decision, False)  # noqa: FBT003
        _fill_denied(decision, relationship, request, policy, reasons, warnings, checked)
    else:
        _set_allowed(decision, True)  # noqa: FBT003
        _fill_allowed(decision, relationship, request, policy, warnings, obligations)
    return decision


def obliged(
    relationship: Relationship,
    request: Request,
    policy: Policy,
    plan: Plan,
    checked: Alternatives | None = None,
) -> Decision:
    # An allowed request whose plan obliges: its obligations, worked out now,
    # are part of the decision; a rule that fails to give them denies.
    try:
        obligations = _obligations(relationship, request, plan.obligations)
    except Exception as error:  # noqa: BLE001
        warnings = _evaluate(relationship, request, plan.rules)[1]
        return defer_decision(
            False,  # noqa: FBT003
            relationship,
            (
                complete_denied,
                request,
                policy,
                (_rule_error("obligations", error),),
                warnings,
                checked,
            ),
        )
    return defer_decision(
        True,  # noqa: FBT003
        relationship,
        (_complete_allowed, request, policy, obligations),
    )


def check(  # noqa: C901, PLR0913
    relationship: Relationship,
    action: Action | str,
    *,
    at: Instant | None = None,
    policy: Policy | None = None,
    channel: Channel | str | None = None,
    purpose: PurposeLike | None = None,
    group: str | None = None,
) -> Decision:
    """
    Decide whether the relationship permits *action* now (or at *at*).

    Args:
        relationship: The pair's relationship, as its log makes it.
        action: What the sender is about to do.
        at: When; None means now (UTC).
        policy: The rules; None means ``policy_for(relationship.jurisdiction)``.
        channel: Where; defaults to ``email`` for ``add_to_list`` and
            ``send_marketing``, ``phone`` for ``call``, else unknown.
        purpose: What for; defaults to ``sales`` for ``pitch``, ``marketing``
            for ``add_to_list``, ``send_marketing`` and ``request_opt_in``,
            ``group_promotion`` for ``promote_in_group``.
        group: The group, for ``promote_in_group``.

    Returns:
        The `Decision`, allowed or denied, with its reasons.

    Raises:
        InvalidRequest: An argument is invalid (never for a denial).
    """
    if type(relationship) is not Relationship and not isinstance(relationship, Relationship):
        raise InvalidRequest("relationship", relationship, "expected a Relationship")
    if at is None:
        at = now()
    elif type(at) is not datetime or at.tzinfo is not UTC:
        at = resolve_at(at)
    if policy is None:
        policy = policy_for(relationship.jurisdiction)
    key = (action, channel, purpose, group, id(policy))
    try:
        prepared = _PREPARED[key]
    except (KeyError, TypeError):
        prepared = _prepare(action, channel, purpose, group, policy)
    _, act, chan, purp, grp, tests, obliging = prepared
    request = _new_request(Request, (act, at, chan, purp, grp))
    # passes(), inlined: this is the path every guarded send takes.
    try:
        for leaf, test, rule in tests:
            if test is not None:
                if test(relationship, request, leaf):
                    break
            elif any(r.code not in WARNING_CODES for r in rule.check(relationship, request, leaf)):
                break
        else:
            if obliging:
                return obliged(relationship, request, policy, _plans(policy)[act])
            return defer_decision(
                True,  # noqa: FBT003
                relationship,
                (_complete_allowed, request, policy, ()),
            )
    except Exception:  # noqa: BLE001, S110
        pass
    return defer_decision(
        False,  # noqa: FBT003
        relationship,
        (complete_denied, request, policy, None, (), None),
    )


_Prepared: TypeAlias = tuple[
    "Policy", Action, Channel | None, PurposeLike | None, str | None, Tests, bool
]
# What check() works out once per (action, channel, purpose, group, policy):
# the resolved request fields, the plan's denial tests and whether any of its
# rules oblige. Keyed by id(policy): each entry keeps its policy alive, so
# the id cannot be another policy's while the entry stands.
_PREPARED: dict[tuple[object, ...], _Prepared] = {}


def _prepare(
    action: Action | str,
    channel: Channel | str | None,
    purpose: PurposeLike | None,
    group: str | None,
    policy: Policy,
) -> _Prepared:
    request = make_request(action, _EPOCH, channel, purpose, group)
    plan = _plans(policy)[request.action]
    prepared = (
        policy,
        request.action,
        request.channel,
        request.purpose,
        request.group,
        plan.tests,
        bool(plan.obligations),
    )
    key = (action, channel, purpose, group, id(policy))
    # Every argument is hashable here: make_request refuses the others.
    if len(_PREPARED) >= _RESOLVED_MAX:
        _PREPARED.clear()
    _PREPARED[key] = prepared
    return prepared


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def require(  # noqa: PLR0913
    relationship: Relationship,
    action: Action | str,
    *,
    at: Instant | None = None,
    policy: Policy | None = None,
    channel: Channel | str | None = None,
    purpose: PurposeLike | None = None,
    group: str | None = None,
) -> Decision:
    """
    Like `check`, but raise `PermissionDenied` when denied.

    Raises:
        PermissionDenied: The action is denied; its ``decision`` says why.
    """
    decision = check(
        relationship, action, at=at, policy=policy, channel=channel, purpose=purpose, group=group
    )
    if not decision.allowed:
        raise PermissionDenied(decision)
    return decision


class Guard(Protocol):
    """
    A `check` with its action bound.
    """

    def __call__(  # noqa: PLR0913
        self,
        relationship: Relationship,
        *,
        at: Instant | None = None,
        policy: Policy | None = None,
        channel: Channel | str | None = None,
        purpose: PurposeLike | None = None,
        group: str | None = None,
    ) -> Decision: ...


def _bound(action: Action) -> Guard:
    def guard(  # noqa: PLR0913
        relationship: Relationship,
        *,
        at: Instant | None = None,
        policy: Policy | None = None,
        channel: Channel | str | None = None,
        purpose: PurposeLike | None = None,
        group: str | None = None,
    ) -> Decision:
        return check(
            relationship,
            action,
            at=at,
            policy=policy,
            channel=channel,
            purpose=purpose,
            group=group,
        )

    guard.__name__ = guard.__qualname__ = f"can_{action.value}"
    guard.__doc__ = f"""
    Decide whether the relationship permits ``{action.value}``: `check` with the action bound.
    """
    return guard


can_connect: Guard = _bound(_A.CONNECT)
can_message: Guard = _bound(_A.MESSAGE)
can_share_value: Guard = _bound(_A.SHARE_VALUE)
can_ask_favor: Guard = _bound(_A.ASK_FAVOR)
can_pitch: Guard = _bound(_A.PITCH)
can_request_opt_in: Guard = _bound(_A.REQUEST_OPT_IN)
can_add_to_list: Guard = _bound(_A.ADD_TO_LIST)
can_send_marketing: Guard = _bound(_A.SEND_MARKETING)
can_call: Guard = _bound(_A.CALL)
can_request_meeting: Guard = _bound(_A.REQUEST_MEETING)
can_promote_in_group: Guard = _bound(_A.PROMOTE_IN_GROUP)
