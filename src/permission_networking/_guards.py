"""
The guards: `check`, `require` and the `can_*` shortcuts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from types import FunctionType
from typing import Final, NamedTuple, Protocol, TypeAlias

from ._conditions import (
    Entries,
    PlanCodes,
    PlanPasses,
    Suggest,
    codes_of,
    compile_plan,
    compile_suggestions,
)
from ._decision import (
    WARNING_CODES,
    Decision,
    Reason,
    ReasonCode,
    checked_obligations,
    checked_reasons,
    defer_decision,
    fill_decision,
    set_allowed,
    set_pending,
)
from ._jurisdiction import policy_for
from ._policy import Policy
from ._relationship import Relationship
from ._rules import (
    CONDITIONS,
    REQUEST_ONLY,
    SILENT,
    USUALLY_REQUEST_ONLY,
    Codes,
    DenialTest,
    Request,
    Rule,
    RuleCheck,
    denial_test,
)
from ._time import Instant, now, parse_instant
from ._values import Action, Channel, Purpose, PurposeLike, encodable, enum_value, purpose_value
from .exceptions import InvalidInteraction, InvalidRequest, PermissionDenied


__all__ = [
    "Guard",
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
_request = partial(_new_request, Request)


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
        raise InvalidRequest(e.field, e.value, e.detail) from None
    if group is not None and (not isinstance(group, str) or not group):  # type: ignore[redundant-expr, unused-ignore]
        raise InvalidRequest("group", group, "expected a non-empty string")
    if group is not None and not encodable(group):
        raise InvalidRequest("group", group, "not text: it holds a lone surrogate")
    return (act, chan, purp, None if group is None else str.__str__(group))


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
    # The error's text as UTF-8 can hold it (a lone surrogate escaped), so that
    # a store logging the decision can write it.
    text = f"{error}".encode("utf-8", "backslashreplace").decode("utf-8")
    return Reason(
        ReasonCode.RULE_ERROR,
        f"the rule {rule!r} failed ({type(error).__name__}: {text}); denied to be safe",
        rule,
    )


Rules: TypeAlias = "tuple[tuple[Policy, Rule], ...]"
"""
Rules of a plan, each with the part of the policy it belongs to.
"""

Tests: TypeAlias = "tuple[tuple[Policy, DenialTest | None, Rule], ...]"
"""
A plan's rules, each with its part and its denial test (None: run the check).
"""


class Plan(NamedTuple):
    """
    What deciding one action under one policy takes, worked out once.

    Attributes:
        action: The action.
        rules: Every rule that decides the action, in order.
        tests: The same, each with its rule's denial test (None: run the check).
        warners: The rules that may warn.
        obligations: The rules that oblige the sender.
        compiled: The plan's denial conditions fused by `compile_plan`, by
            channel, filled as channels are asked for.
        suggest: What a denial suggests, fused by `compile_suggestions`, by
            the channel the suggestions are decided on, likewise.
    """

    action: Action
    rules: Rules
    tests: Tests
    warners: Rules
    obligations: Rules
    compiled: dict[Channel | None, tuple[PlanPasses, PlanCodes]]
    suggest: dict[Channel | None, Suggest]


# Plans by id(policy); each entry keeps its policy alive, so the id cannot be reused.
_PLANS: dict[int, tuple[Policy, dict[Action, Plan]]] = {}
# The same by value, so that a policy built anew for every check (with the same
# rules and settings) finds the plans, and the functions compiled for them, of
# the equal policy before it.
_PLANS_BY_VALUE: dict[Policy, dict[Action, Plan]] = {}
_PLANS_MAX = 256


def _plans(policy: Policy) -> dict[Action, Plan]:
    entry = _PLANS.get(id(policy))
    if entry is not None and entry[0] is policy:
        return entry[1]
    shared = _shareable(policy)
    plans = _PLANS_BY_VALUE.get(policy) if shared else None
    if plans is None:
        plans = _plan(policy)
        if shared:
            if len(_PLANS_BY_VALUE) >= _PLANS_MAX:
                _PLANS_BY_VALUE.clear()
            _PLANS_BY_VALUE[policy] = plans
    if len(_PLANS) >= _PLANS_MAX:
        _PLANS.clear()
    _PLANS[id(policy)] = (policy, plans)
    return plans


def _shareable(policy: Policy) -> bool:
    # Whether an equal policy decides alike, so that the two may share plans:
    # when every check and obligation function is a function, which equals
    # only itself. Callable objects may be equal yet behave apart (a field
    # left out of the comparison), so a policy with one keeps its own plans.
    return all(
        isinstance(rule.check, FunctionType)
        and (rule.obligations is None or isinstance(rule.obligations, FunctionType))
        for leaf in policy.leaves
        for rule in leaf.rules
    )


def _plan(policy: Policy) -> dict[Action, Plan]:
    return {
        action: Plan(
            action,
            policy.plan(action),
            tuple((leaf, denial_test(rule.check), rule) for leaf, rule in policy.plan(action)),
            tuple((leaf, rule) for leaf, rule in policy.plan(action) if rule.check not in SILENT),
            tuple(
                (leaf, rule) for leaf, rule in policy.plan(action) if rule.obligations is not None
            ),
            {},
            {},
        )
        for action in Action
    }


def plan_for(policy: Policy, action: Action) -> Plan:
    """
    Return what deciding *action* under *policy* takes, worked out once per policy.
    """
    return _plans(policy)[action]


def _checked(check: RuleCheck) -> DenialTest:
    # The denial test of a rule without conditions: its check, reduced to codes.
    def test(relationship: Relationship, request: Request, policy: Policy) -> Codes:
        return codes_of(check(relationship, request, policy))

    return test


def _entries(plan: Plan) -> Entries:
    # Each rule with its conditions, or a test that checks it when it has none.
    return tuple(
        (leaf, rule, CONDITIONS.get(rule.check) or _checked(rule.check))
        for leaf, rule in plan.rules
    )


def compiled(plan: Plan, channel: Channel | None) -> tuple[PlanPasses, PlanCodes]:
    """
    Return *plan*'s rules fused into ``(passes, codes)`` for *channel*, compiled once.

    A rule with denial conditions is evaluated inline; one without is checked.
    """
    found = plan.compiled.get(channel)
    if found is None:
        found = compile_plan(_entries(plan), plan.action, channel, _request)
        plan.compiled[channel] = found
    return found


def _suggest(policy: Policy, plan: Plan, channel: Channel | None) -> Suggest:
    # Each suggested action is decided as `check` decides it given the
    # channel the request names, or given none (each on its own default).
    found = plan.suggest.get(channel)
    if found is None:
        plans = _plans(policy)
        alternatives = [
            (
                other,
                DEFAULT_CHANNEL.get(other) if channel is None else channel,
                DEFAULT_PURPOSE.get(other),
                _entries(plans[other]),
            )
            for other in SUGGESTED
            if other is not plan.action
        ]
        found = compile_suggestions(alternatives, _request)
        obliging = {
            other: (chan, purpose, plans[other].obligations)
            for other, chan, purpose, _ in alternatives
            if any(_may_fail(rule) for _, rule in plans[other].obligations)
        }
        if obliging:
            found = _obliged(found, obliging)
        plan.suggest[channel] = found
    return found


def _may_fail(rule: Rule) -> bool:
    # An obligations function of one's own: the library's own never fail.
    return rule.obligations not in REQUEST_ONLY and rule.obligations not in USUALLY_REQUEST_ONLY


def _obliged(
    suggest: Suggest, obliging: Mapping[Action, tuple[Channel | None, PurposeLike | None, Rules]]
) -> Suggest:
    # Suggestions without the actions whose obligations fail, which `check` denies.
    def suggest_obliged(
        relationship: Relationship, at: datetime, group: str | None
    ) -> tuple[Action, ...]:
        found = suggest(relationship, at, group)
        kept = tuple(a for a in found if a not in obliging or _obliges(relationship, at, group, a))
        return found if len(kept) == len(found) else kept

    def _obliges(
        relationship: Relationship, at: datetime, group: str | None, action: Action
    ) -> bool:
        channel, purpose, rules = obliging[action]
        try:
            _obligations(relationship, _request((action, at, channel, purpose, group)), rules)
        except Exception:  # noqa: BLE001
            return False
        return True

    return suggest_obliged


def evaluate(
    relationship: Relationship, request: Request, policy: Policy
) -> tuple[list[Reason], list[Reason]]:
    """
    Run the policy's rules; return the denying reasons and the warnings.

    A rule that raises denies with ``rule_error``: never allow on error.
    """
    return _evaluate(relationship, request, _plans(policy)[request.action].rules)


def _evaluate(
    relationship: Relationship, request: Request, rules: Rules
) -> tuple[list[Reason], list[Reason]]:
    reasons: list[Reason] = []
    warnings: list[Reason] = []
    for leaf, rule in rules:
        try:
            for reason in checked_reasons(rule.check(relationship, request, leaf)):
                if reason.code in WARNING_CODES:
                    warnings.append(reason)
                else:
                    reasons.append(reason)
        except Exception as error:  # noqa: BLE001
            reasons.append(_rule_error(rule.name, error))
    return reasons, warnings


def denying_codes(relationship: Relationship, request: Request, tests: Tests) -> Codes:
    """
    Return the codes a plan's *tests* deny *request* with, each once; empty when allowed.

    Rule by rule: a rule with a denial test gives its codes without building
    reasons, a rule without one is checked, and a rule that raises gives
    ``rule_error``, as in `evaluate`. What `screen` counts when a plan's
    fused conditions fail.
    """
    codes: Codes = ()
    for leaf, test, rule in tests:
        try:
            found = (test or _checked(rule.check))(relationship, request, leaf)
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


def _obligations(relationship: Relationship, request: Request, rules: Rules) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for leaf, rule in rules:
        assert rule.obligations is not None  # noqa: S101
        found.update(
            dict.fromkeys(checked_obligations(rule.obligations(relationship, request, leaf)))
        )
    return tuple(found)


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


def _fill(  # noqa: PLR0913, PLR0917
    decision: Decision,
    relationship: Relationship,
    request: Request,
    policy: Policy,
    reasons: tuple[Reason, ...],
    warnings: Sequence[Reason],
    obligations: tuple[str, ...],
    suggestions: tuple[Action, ...],
) -> None:
    retry_at = None
    for reason in reasons:
        until = reason.until
        if until is None:
            retry_at = None
            break
        if retry_at is None or until > retry_at:
            retry_at = until
    at = request.at
    # The policies that decide: a combination's own settings decide nothing.
    leaves = policy.leaves if policy.parts else (policy,)
    ttl, consent = leaves[0].engagement_ttl, leaves[0].express_consent_ttl
    state = relationship.state_at(at, engagement_ttl=ttl, express_consent_ttl=consent)
    for part in leaves[1:]:
        # Parts that disagree on how long engagement or consent lasts: the
        # state is the lowest any part sees, as the rules that deny on it do.
        if part.engagement_ttl != ttl or part.express_consent_ttl != consent:
            state = min(
                state,
                relationship.state_at(
                    at,
                    engagement_ttl=part.engagement_ttl,
                    express_consent_ttl=part.express_consent_ttl,
                ),
            )
    fill_decision(
        decision,
        request.action,
        state,
        at,
        policy.name,
        reasons,
        # A tuple, and the shared empty one when there is none: a screening holds many.
        _unique(warnings) if warnings else (),
        obligations,
        retry_at,
        suggestions,
        relationship.sender,
        relationship.contact,
        _text(request.channel),
        _text(request.purpose),
        request.group,
    )


def denial(
    relationship: Relationship, request: Request, rules: Rules
) -> tuple[list[Reason], list[Reason]]:
    """
    Return the reasons and the warnings of a request its fused conditions deny.

    Should the rules then find no reason (a rule that answers differently
    when asked again), the one reason is ``rule_error``: denied to be safe.
    """
    reasons, warnings = _evaluate(relationship, request, rules)
    if not reasons:
        reasons = [_DISAGREED]
    return reasons, warnings


_DISAGREED: Final = Reason(
    ReasonCode.RULE_ERROR,
    "the rules denied, then found no reason when asked again; denied to be safe",
    "rules",
)


class Prepared(NamedTuple):
    """
    What deciding one request under one policy takes, but the relationship and the time.

    Attributes:
        policy: The policy.
        plan: Its plan for the action.
        action: The resolved action.
        channel: The resolved channel.
        suggest_on: The channel a denial's suggestions are decided on (see
            `suggested_on`).
        purpose: The resolved purpose.
        group: The group.
        passes: The plan's fused conditions for the channel: whether allowed.
        codes: The same: the codes it is denied with.
        obligations: What an allowed decision obliges the sender to, when
            that depends on the request alone; None when it is worked out
            for each relationship.
        usual: When the obligations depend on the request alone but for
            some relationships (`request_only_unless`): what they usually
            are, and the test of a relationship for which they are worked
            out instead; None otherwise.
    """

    policy: Policy
    plan: Plan
    action: Action
    channel: Channel | None
    suggest_on: Channel | None
    purpose: PurposeLike | None
    group: str | None
    passes: PlanPasses
    codes: PlanCodes
    obligations: tuple[str, ...] | None
    usual: tuple[tuple[str, ...], Callable[[Relationship], bool]] | None = None

    def request(self, at: datetime) -> Request:
        """
        Return the request at *at*.
        """
        return _request((self.action, at, self.channel, self.purpose, self.group))

    def suggestions(self, relationship: Relationship, at: datetime) -> tuple[Action, ...]:
        """
        Return what a denial suggests: the actions the policy allows now, in their order.
        """
        return _suggest(self.policy, self.plan, self.suggest_on)(relationship, at, self.group)


def _complete_allowed(
    decision: Decision,
    relationship: Relationship,
    at: datetime,
    prepared: Prepared,
    obligations: tuple[str, ...],
) -> None:
    # The conditions found nothing; the rules that may warn run again for their warnings.
    request = prepared.request(at)
    warners = prepared.plan.warners
    warnings = _evaluate(relationship, request, warners)[1] if warners else ()
    _fill(decision, relationship, request, prepared.policy, (), warnings, obligations, ())


def complete_denied(  # noqa: PLR0913, PLR0917
    decision: Decision,
    relationship: Relationship,
    at: datetime,
    prepared: Prepared,
    reasons: Sequence[Reason] | None = None,
    warnings: Sequence[Reason] = (),
) -> None:
    """
    Complete a deferred denial: with its *reasons* and *warnings* when known, else from the rules.
    """
    request = prepared.request(at)
    if reasons is None:
        reasons, warnings = denial(relationship, request, prepared.plan.rules)
    _fill(
        decision,
        relationship,
        request,
        prepared.policy,
        _unique(reasons),
        warnings,
        (),
        prepared.suggestions(relationship, at),
    )


def decide(relationship: Relationship, request: Request, policy: Policy) -> Decision:
    """
    Build the whole `Decision` for *request* at once, every rule checked.
    """
    prepared = prepare(request, policy)
    plan = prepared.plan
    reasons, warnings = _evaluate(relationship, request, plan.rules)
    obligations: tuple[str, ...] = ()
    if not reasons and plan.obligations:
        try:
            obligations = _obligations(relationship, request, plan.obligations)
        except Exception as error:  # noqa: BLE001
            reasons = [_rule_error("obligations", error)]
    decision = _new_decision(Decision)
    set_allowed(decision, not reasons)
    if reasons:
        suggested = prepared.suggestions(relationship, request.at)
        _fill(decision, relationship, request, policy, _unique(reasons), warnings, (), suggested)
    else:
        _fill(decision, relationship, request, policy, (), warnings, obligations, ())
    return decision


def obliged(relationship: Relationship, at: datetime, prepared: Prepared) -> Decision:
    """
    Decide a request the conditions allow, working out its obligations for *relationship* now.

    They are part of the decision, and a rule that fails to give them denies.
    """
    usual = prepared.usual
    if usual is not None and not usual[1](relationship):
        return defer_decision(True, (_complete_allowed, relationship, at, prepared, usual[0]))  # noqa: FBT003
    request = prepared.request(at)
    plan = prepared.plan
    try:
        obligations = _obligations(relationship, request, plan.obligations)
    except Exception as error:  # noqa: BLE001
        warnings = _evaluate(relationship, request, plan.rules)[1]
        return defer_decision(
            False,  # noqa: FBT003
            (
                complete_denied,
                relationship,
                at,
                prepared,
                (_rule_error("obligations", error),),
                warnings,
            ),
        )
    return defer_decision(True, (_complete_allowed, relationship, at, prepared, obligations))  # noqa: FBT003


def check(  # noqa: PLR0913
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
    # This is the path every guarded send takes: what the request needs is
    # looked up in the policy's own cache, one call decides, and the rest of
    # the decision is worked out when first read.
    try:
        prepared, passes, purp, grp, obligations = policy._guards[  # noqa: SLF001
            action
            if channel is None and purpose is None and group is None
            else (_MORE, action, channel, purpose, group)
        ]
    except (KeyError, TypeError, AttributeError):
        prepared, passes, purp, grp, obligations = _prepared(
            action, channel, purpose, group, policy
        )
    try:
        ok = passes(relationship, at, purp, grp)
    except Exception:  # noqa: BLE001
        ok = False
    decision = _new_decision(Decision)
    if ok:
        if obligations is None:
            return obliged(relationship, at, prepared)
        set_allowed(decision, True)  # noqa: FBT003
        set_pending(decision, (_complete_allowed, relationship, at, prepared, obligations))
    else:
        set_allowed(decision, False)  # noqa: FBT003
        set_pending(decision, (complete_denied, relationship, at, prepared))
    return decision


_Entry: TypeAlias = tuple[
    Prepared, PlanPasses, "PurposeLike | None", "str | None", "tuple[str, ...] | None"
]
"""
What `check` keeps in a policy's cache for a request: the prepared request,
and the parts of it that every check reads.
"""

_ENTRIES_MAX = 4096

_MORE: Final = object()
# Heads the cache key of a request with more than its action, so that no
# action given (a tuple, say, which is refused) can be mistaken for one.


def _prepared(
    action: Action | str,
    channel: Channel | str | None,
    purpose: PurposeLike | None,
    group: str | None,
    policy: Policy,
) -> _Entry:
    if not isinstance(policy, Policy):
        raise InvalidRequest("policy", policy, "expected a Policy, e.g. Policy.etiquette()")
    request = make_request(action, _EPOCH, channel, purpose, group)
    plan = _plans(policy)[request.action]
    passes, codes = compiled(plan, request.channel)
    prepared = Prepared(
        policy,
        plan,
        request.action,
        request.channel,
        suggested_on(request),
        request.purpose,
        request.group,
        passes,
        codes,
        _constant_obligations(request, plan),
        _usual_obligations(request, plan),
    )
    entry: _Entry = (
        prepared,
        passes,
        prepared.purpose,
        prepared.group,
        prepared.obligations,
    )
    # Every argument is hashable here: make_request refuses the others.
    cache = policy._guards  # noqa: SLF001
    if len(cache) >= _ENTRIES_MAX:
        cache.clear()
    key = (
        action
        if channel is None and purpose is None and group is None
        else (_MORE, action, channel, purpose, group)
    )
    cache[key] = entry
    return entry


_NOBODY: Final = Relationship(sender="-", contact="-")


def _constant_obligations(request: Request, plan: Plan) -> tuple[str, ...] | None:
    # The obligations of an allowed decision, when every obliging rule gives
    # them from the request alone (and does not fail): the same for everyone.
    rules = plan.obligations
    if any(rule.obligations not in REQUEST_ONLY for _, rule in rules):
        return None
    try:
        return _obligations(_NOBODY, request, rules)
    except Exception:  # noqa: BLE001
        return None


def _usual_obligations(
    request: Request, plan: Plan
) -> tuple[tuple[str, ...], Callable[[Relationship], bool]] | None:
    # What the obligations are for most relationships, and the test of those
    # for which they are worked out, when some obliging rule is request-only
    # but for them (`request_only_unless`) and every other one request-only.
    tests: list[Callable[[Relationship], bool]] = []
    for _, rule in plan.obligations:
        depends = USUALLY_REQUEST_ONLY.get(rule.obligations)  # type: ignore[arg-type]
        if depends is not None:
            tests.append(depends)
        elif rule.obligations not in REQUEST_ONLY:
            return None
    if not tests or any(test(_NOBODY) for test in tests):
        return None
    try:
        usual = _obligations(_NOBODY, request, plan.obligations)
    except Exception:  # noqa: BLE001
        return None
    if len(tests) == 1:
        return usual, tests[0]
    return usual, lambda relationship: any(test(relationship) for test in tests)


def suggested_on(request: Request) -> Channel | None:
    """
    Return the channel a denial of *request* has its suggestions decided on.

    That is the request's channel, unless it is the action's default (named
    or not, the same request): then None, each suggested action on its own
    default, so that a marketing email denied for a bounced address still
    suggests a connection request.
    """
    channel = request.channel
    return None if channel is DEFAULT_CHANNEL.get(request.action) else channel


def prepare(request: Request, policy: Policy) -> Prepared:
    """
    Return what deciding *request*'s action, channel, purpose and group under *policy* takes.
    """
    channel = suggested_on(request)
    key = (
        request.action
        if channel is None and request.purpose is None and (request.group is None)
        else (_MORE, request.action, channel, request.purpose, request.group)
    )
    try:
        entry = policy._guards.get(key)  # noqa: SLF001
    except AttributeError:
        entry = None
    if entry is None:
        entry = _prepared(request.action, channel, request.purpose, request.group, policy)
    return entry[0]


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
    A `check` with its action bound: the type of `can_message` and the other ``can_*`` functions.

    >>> from permission_networking import Action, can_message, can_pitch
    >>> guards: dict[Action, Guard] = {Action.MESSAGE: can_message, Action.PITCH: can_pitch}
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
