"""
Tests that the hot path's shortcuts give exactly what the plain construction gives.
"""

from __future__ import annotations

import gc
import linecache
import pickle
import weakref

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from permission_networking import (
    WARNING_CODES,
    Action,
    Channel,
    Decision,
    Interaction,
    InteractionKind,
    InvalidInteraction,
    InvalidRequest,
    Policy,
    Reason,
    Relationship,
    RelationshipState,
    Request,
    Rule,
    _conditions,
    _guards,
    check,
    replay,
    screen,
)
from permission_networking._conditions import Conditions, Deny
from permission_networking._decision import defer_decision, fill_decision, make_reason
from permission_networking._etiquette import ETIQUETTE_RULES, JURISDICTION_UNKNOWN_RULE
from permission_networking._guards import decide, evaluate, make_request
from permission_networking._legal import (
    CAN_SPAM_RULES,
    CASL_RULES,
    GDPR_RULES,
    PECR_RULES,
    TCPA_RULES,
)
from permission_networking._relationship import _Fold, extend
from permission_networking._rules import CONDITIONS, SILENT, denial_test
from strategies import GROUPS, PURPOSES, logs
from timeline import DAY0, Log, day


POLICIES = [
    Policy.etiquette(),
    Policy.etiquette(
        double_opt_in=True,
        express_consent_ttl=timedelta(days=30),
        max_unanswered=1,
        cooling_off=timedelta(days=1),
        soft_opt_in_window=timedelta(days=20),
        purchase_window=timedelta(days=40),
        inquiry_window=timedelta(days=10),
        call_hours=(8, 20),
    ),
]
RULES = [
    *ETIQUETTE_RULES,
    JURISDICTION_UNKNOWN_RULE,
    *CASL_RULES,
    *CAN_SPAM_RULES,
    *GDPR_RULES,
    *PECR_RULES,
    *TCPA_RULES,
]
TIMES = st.integers(-24, 24 * 150).map(lambda hours: DAY0 + timedelta(hours=hours))


def test_only_the_rules_that_warn_are_looked_at_for_warnings() -> None:
    """Of the etiquette rules, connect and jurisdiction may warn; the rest are silent."""
    loud = {rule.name for rule in RULES if rule.check not in SILENT}

    assert {"connect", "jurisdiction"} == loud


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_every_preset_rule_has_denial_conditions(rule: Rule) -> None:
    """Each rule of the presets registers conditions, so no guard builds reasons to find it passes."""
    assert rule.check in CONDITIONS
    assert denial_test(rule.check) is denial_test(rule.check)


REQUESTS = st.builds(
    make_request,
    st.sampled_from(list(Action)),
    TIMES,
    st.none() | st.sampled_from(list(Channel)),
    st.none() | st.sampled_from(PURPOSES),
    st.none() | st.sampled_from(GROUPS),
)


def _agree(rules: list[Rule], relationship: Relationship, request: Request, policy: Policy) -> None:
    for rule in rules:
        if request.action not in rule.actions:
            continue
        found = rule.check(relationship, request, policy)
        denying = tuple(dict.fromkeys(r.code for r in found if r.code not in WARNING_CODES))
        test = denial_test(rule.check)
        assert test is not None
        assert denying == test(relationship, request, policy), rule.name
        if rule.check in SILENT:
            assert not [r for r in found if r.code in WARNING_CODES], rule.name


@settings(max_examples=1000)
@given(log=logs(), request=REQUESTS, policy=st.sampled_from(POLICIES))
def test_denial_tests_agree_with_their_checks(
    log: list[object], request: Request, policy: Policy
) -> None:
    """A rule's denial test gives exactly the codes of its check's denying reasons, in order."""
    _agree(RULES, replay(log, sender="ana", contact="bo"), request, policy)  # type: ignore[arg-type]


_K = InteractionKind
CONSENT_KINDS = [
    _K.PURCHASE,
    _K.INQUIRY,
    _K.OPT_IN_GRANTED,
    _K.OPT_IN_CONFIRMED,
    _K.OPT_OUT,
    _K.INTRODUCED,
    _K.PITCH,
    _K.MARKETING_SENT,
    _K.COMPLAINT,
]
CONSENT_CHANNELS = [Channel.EMAIL, Channel.SMS, Channel.PHONE]
COMMERCIAL_REQUESTS = st.builds(
    make_request,
    st.sampled_from([Action.PITCH, Action.ADD_TO_LIST, Action.SEND_MARKETING, Action.CALL]),
    TIMES,
    st.none() | st.sampled_from(CONSENT_CHANNELS),
    st.none() | st.sampled_from(["marketing", "sales"]),
    st.none(),
)
LAW_RULES = [*CASL_RULES, *CAN_SPAM_RULES, *GDPR_RULES, *PECR_RULES, *TCPA_RULES]


@settings(max_examples=1000)
@given(
    log=logs(
        max_size=6, kinds=CONSENT_KINDS, channels=CONSENT_CHANNELS, purposes=["marketing", "sales"]
    ),
    request=COMMERCIAL_REQUESTS,
    policy=st.sampled_from(POLICIES),
)
def test_the_laws_denial_tests_agree_with_their_checks_on_consent(
    log: list[object], request: Request, policy: Policy
) -> None:
    """Where the laws differ (consent, implied consent, soft opt-in, referral), tests and checks agree."""
    _agree(LAW_RULES, replay(log, sender="ana", contact="bo"), request, policy)  # type: ignore[arg-type]


@given(log=logs(), at=TIMES, action=st.sampled_from(list(Action)))
def test_screen_agrees_with_check(log: list[object], at: datetime, action: Action) -> None:
    """Screening takes the denial tests' shortcut and still agrees with check."""
    relationship = replay(log, sender="ana", contact="bo")  # type: ignore[arg-type]

    result = screen([relationship], action, at=at)

    decision = check(relationship, action, at=at)
    assert decision.allowed == (result.allowed == ("bo",))
    assert ({} if decision.allowed else {"bo": decision}) == dict(result.denied)
    assert dict.fromkeys(decision.codes, 1) == dict(result.counts)


def test_a_screened_denial_holds_its_relationship_until_read() -> None:
    """A denied contact's decision keeps what completes it until first read, then lets go."""
    relationship = replay(
        [Interaction("1", "ana", "bo", "connection_accepted", DAY0, direction="inbound")]
    )
    held = weakref.ref(relationship)
    result = screen([relationship], "send_marketing", at=DAY0)
    del relationship
    gc.collect()
    assert held() is not None

    assert ("no_consent",) == result.denied["bo"].codes
    gc.collect()
    assert held() is None
    assert "bo" == result.denied["bo"].contact


def test_a_rule_without_a_test_is_checked() -> None:
    """A custom rule with no denial test is run in full when screening, warnings still allow."""

    def warn(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
        return [Reason("no_shared_context", "a warning only", "warn")]

    def deny_all(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
        return [Reason("not_engaged", "never", "deny")]

    connected = Log(contact="bo").inbound("connection_accepted", 0).relationship()
    warns = Policy.etiquette() & Policy("warns", rules=[Rule("warn", Action, warn)])
    denies = Policy.etiquette() & Policy("denies", rules=[Rule("deny", Action, deny_all)])

    assert ("bo",) == screen([connected], "message", at=day(1), policy=warns).allowed
    assert {"not_engaged": 1} == dict(
        screen([connected], "message", at=day(1), policy=denies).counts
    )


def test_failing_denial_conditions_deny_with_rule_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Conditions that raise fail closed: only their rule says rule_error, the others still count."""

    def broken(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
        raise RuntimeError

    monkeypatch.setitem(
        CONDITIONS, broken, Conditions((Deny("not_engaged", "1 // 0 == 0"),), None, {})
    )
    policy = Policy.etiquette() & Policy("broken", rules=[Rule("broken", Action, broken)])
    stranger = replay([], sender="ana", contact="bo")

    result = screen([stranger], "message", at=day(1), policy=policy)
    decision = check(stranger, "message", at=day(1), policy=policy)

    assert () == result.allowed
    assert {"not_connected": 1, "rule_error": 1} == dict(result.counts)
    assert ("not_connected", "rule_error") == decision.codes
    assert decision == result.denied["bo"]


def test_a_test_that_denies_what_its_check_allows_denies_with_rule_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should conditions and their check disagree, check and screen both deny; the decision says rule_error."""

    def lenient(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
        return []

    monkeypatch.setitem(CONDITIONS, lenient, Conditions((Deny("not_engaged", "True"),), None, {}))

    policy = Policy("lenient", rules=[Rule("lenient", Action, lenient)])
    stranger = replay([], sender="ana", contact="bo")

    screened = screen([stranger], "message", at=day(1), policy=policy)
    decision = check(stranger, "message", at=day(1), policy=policy)

    assert () == screened.allowed
    assert {"not_engaged": 1} == dict(screened.counts)
    assert ("rule_error",) == decision.codes
    assert decision == screened.denied["bo"]


@given(
    allowed=st.booleans(),
    state=st.sampled_from(list(RelationshipState)),
    retry=st.none() | TIMES,
    channel=st.none() | st.sampled_from(["email", "sms"]),
)
def test_a_filled_decision_equals_the_constructor(
    allowed: bool,  # noqa: FBT001
    state: RelationshipState,
    retry: datetime | None,
    channel: str | None,
) -> None:
    """A deferred decision, once filled, equals Decision(...) field for field, hash and repr."""
    reason = make_reason("cooling_off", "wait", "favor", retry)
    fields = (
        Action.PITCH,
        state,
        DAY0,
        "etiquette",
        (reason,),
        (),
        ("include_unsubscribe",),
        retry,
        (Action.MESSAGE,),
        "ana",
        "bo",
        channel,
        "sales",
        None,
    )
    built = defer_decision(allowed, (fill_decision, *fields))
    plain = Decision(fields[0], allowed, *fields[1:9], None, *fields[9:])

    assert plain == built
    assert hash(plain) == hash(built)
    assert repr(plain) == repr(built)
    assert Reason("cooling_off", "wait", "favor", retry) == reason


def _deferred(allowed: bool) -> tuple[Decision, list[int]]:  # noqa: FBT001
    calls: list[int] = []

    def complete(decision: Decision, subject: str) -> None:
        assert "subject" == subject
        calls.append(1)
        fill_decision(decision, Action.MESSAGE, RelationshipState.CONNECTED, DAY0, "etiquette",
                      (), (), (), None, (), "ana", "bo", None, None, None)  # fmt: skip

    return defer_decision(allowed, (complete, "subject")), calls


def test_a_deferred_decision_is_completed_once_on_the_first_read() -> None:
    """bool() needs no completion; the first field read completes every field, once."""
    decision, calls = _deferred(True)  # noqa: FBT003

    assert decision
    assert [] == calls
    assert Action.MESSAGE == decision.action
    assert RelationshipState.CONNECTED == decision.state
    assert "bo" == decision.contact
    assert [1] == calls


def test_a_deferred_decision_is_frozen_and_has_no_other_names() -> None:
    """Unknown names raise AttributeError, and fields cannot be set, completed or not."""
    decision, calls = _deferred(False)  # noqa: FBT003

    with pytest.raises(AttributeError, match="no_such_field"):
        decision.no_such_field  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        decision.allowed = True  # type: ignore[misc]
    assert [] == calls
    assert not hasattr(decision, "_unknown")
    assert (RelationshipState.CONNECTED, False) == (decision.state, decision.allowed)


def test_a_field_completed_by_another_thread_is_read_as_is() -> None:
    """A read that finds the work already done (by another thread) returns the field."""
    decision, calls = _deferred(True)  # noqa: FBT003
    assert "etiquette" == decision.policy

    assert "etiquette" == Decision.__getattr__(decision, "policy")  # type: ignore[attr-defined]
    assert [1] == calls
    built = Decision(Action.MESSAGE, True, RelationshipState.CONNECTED, DAY0, "etiquette")  # noqa: FBT003
    assert "etiquette" == Decision.__getattr__(built, "policy")  # type: ignore[attr-defined]


@settings(max_examples=300)
@given(log=logs(), request=REQUESTS, policy=st.sampled_from(POLICIES))
def test_a_deferred_decision_equals_the_whole_decision(
    log: list[object], request: Request, policy: Policy
) -> None:
    """The deferred decision of check reads, compares, pickles and prints as the whole one."""
    relationship = replay(log, sender="ana", contact="bo")  # type: ignore[arg-type]
    whole = decide(relationship, request, policy)

    def deferred() -> Decision:
        return check(
            relationship,
            request.action,
            at=request.at,
            policy=policy,
            channel=request.channel,
            purpose=request.purpose,
            group=request.group,
        )

    assert whole.allowed is deferred().allowed
    assert whole == deferred()
    assert hash(whole) == hash(deferred())
    assert repr(whole) == repr(deferred())
    assert whole == pickle.loads(pickle.dumps(deferred()))  # noqa: S301


def test_the_empty_fold_is_the_default_relationship() -> None:
    """The fold of an empty log freezes into Relationship's defaults, field for field."""
    frozen = _Fold("ana", "bo").freeze()

    assert Relationship(sender="ana", contact="bo") == frozen
    assert attrs.asdict(Relationship(sender="ana", contact="bo")) == attrs.asdict(frozen)


@given(log=logs())
def test_thaw_and_freeze_round_trip(log: list[object]) -> None:
    """Thawing a relationship and freezing it again gives the same relationship."""
    relationship = replay(log, sender="ana", contact="bo")  # type: ignore[arg-type]

    assert relationship == _Fold.thaw(relationship).freeze()


def test_unhashable_arguments_are_still_checked() -> None:
    """An argument that cannot key the request cache is resolved, and refused, all the same."""
    stranger = replay([], sender="ana", contact="bo")

    with pytest.raises(InvalidRequest, match="group"):
        check(stranger, "promote_in_group", at=DAY0, group=["g1"])  # type: ignore[arg-type]


def test_full_caches_start_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the request and plan caches are full they are emptied, and decisions stay the same."""
    connected = Log(contact="bo").inbound("connection_accepted", 0).relationship()
    policy = Policy.etiquette(max_unanswered=97)
    monkeypatch.setattr(_guards, "_RESOLVED_MAX", 0)
    monkeypatch.setattr(_guards, "_PLANS_MAX", 0)
    monkeypatch.setattr(_conditions, "_REWRITTEN", {})
    monkeypatch.setattr(_conditions, "_REWRITTEN_MAX", 0)
    monkeypatch.setattr(_conditions, "_CODE", {})
    monkeypatch.setattr(_conditions, "_CODE_MAX", 0)

    first = check(connected, "message", at=day(1), group="emptied", policy=policy)

    assert 1 == len(_guards._RESOLVED)
    assert 1 == len(_guards._PLANS)
    assert 1 == len(_guards._PLANS_BY_VALUE)
    assert 1 == len(_conditions._CODE)
    assert 1 == len(_conditions._REWRITTEN)
    assert first == check(connected, "message", at=day(1), group="emptied", policy=policy)
    assert first == check(
        connected, "message", at=day(1), group="emptied", policy=Policy.etiquette()
    )
    assert first.allowed


def test_sources_of_forgotten_code_leave_linecache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled code kept for tracebacks is bounded with the code cache, not kept forever."""
    monkeypatch.setattr(_conditions, "_CODE", {})
    monkeypatch.setattr(_conditions, "_CODE_MAX", 2)
    connected = Log(contact="bo").inbound("connection_accepted", 0).relationship()

    def ours() -> set[str]:
        return {name for name in linecache.cache if name.startswith("<permission_networking")}

    before = ours()
    for unanswered in range(1, 8):
        rules = Policy.etiquette().rules[:unanswered]
        check(connected, "message", at=day(1), policy=Policy(name=f"p{unanswered}", rules=rules))

    assert len(ours() - before) <= 2


def test_evaluate_splits_reasons_and_warnings() -> None:
    """The engine's evaluate returns the denying reasons apart from the warnings."""
    stranger = replay([], sender="ana", contact="bo")
    request = make_request("connect", DAY0, None, None, None)

    reasons, warnings = evaluate(stranger, request, POLICIES[0])

    assert [] == reasons
    assert ["no_shared_context"] == [warning.code for warning in warnings]


def test_a_sales_permission_lets_a_pitch_through_the_screen() -> None:
    """A contact who allowed sales may be pitched without an inquiry, in screen as in check."""
    log = Log(contact="bo").inbound("connection_accepted", 0)
    log.inbound("opt_in_granted", 1, purpose="sales")
    relationship = log.relationship()

    assert check(relationship, "pitch", at=day(2)).allowed
    assert ("bo",) == screen([relationship], "pitch", at=day(2)).allowed
    (pitch,) = [rule for rule in RULES if rule.name == "pitch"]
    request = make_request("pitch", day(2), None, None, None)
    assert () == tuple(pitch.check(relationship, request, Policy.etiquette()))
    test = denial_test(pitch.check)
    assert test is not None
    assert () == test(relationship, request, Policy.etiquette())


def test_a_rule_that_fails_while_suggesting_leaves_its_action_out() -> None:
    """A suggested action whose rule raises is not suggested; the others still are."""

    def broken(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
        raise RuntimeError

    policy = Policy.etiquette() & Policy(
        "broken", rules=[Rule("broken", {Action.SHARE_VALUE}, broken)]
    )
    connected = Log(contact="bo").inbound("connection_accepted", 0).relationship()

    decision = check(connected, "pitch", at=day(1), policy=policy)

    assert not decision
    assert Action.MESSAGE in decision.suggestions
    assert Action.SHARE_VALUE not in decision.suggestions
    assert Action.SHARE_VALUE in check(connected, "pitch", at=day(1)).suggestions


def test_the_latest_lapsed_consent_is_reported() -> None:
    """Of lapsed consents granted at once, the denial reports withdrawal as the latest says."""
    log = Log(contact="bo").inbound("connection_accepted", 0)
    log.inbound("opt_in_granted", 1, purpose="marketing", channel="email")
    log.inbound("opt_in_granted", 1, purpose="marketing")
    log.inbound("opt_out", 2, purpose="marketing")

    decision = check(log.relationship(), "send_marketing", at=day(3))

    assert ("consent_withdrawn",) == decision.codes


@given(log=logs(), split=st.integers(0, 25))
def test_extend_is_apply_in_turn(log: list[Interaction], split: int) -> None:
    """Extending a relationship by a batch equals applying the batch one by one, and replay."""
    ordered = sorted({i.id: i for i in log}.values(), key=lambda i: (i.at, i.id))
    head = replay(ordered[:split], sender="ana", contact="bo")

    one_by_one = head
    for interaction in ordered[split:]:
        one_by_one = one_by_one.apply(interaction)

    assert one_by_one == extend(head, ordered[split:])
    assert replay(ordered, sender="ana", contact="bo") == extend(head, ordered[split:])


def test_extend_refuses_what_apply_refuses() -> None:
    """A batch with another pair's interaction, or one out of order, is refused as a whole."""
    log = Log(contact="bo").inbound("connection_accepted", 0).inbound("message", 2)
    other = Log(contact="cy").inbound("message", 3)
    head = replay(log.items[:1])

    with pytest.raises(InvalidInteraction, match="belongs to"):
        extend(head, [log.items[1], *other.items])
    with pytest.raises(InvalidInteraction, match="does not sort after"):
        extend(head, [log.items[1], log.items[0]])


@given(
    start=st.sampled_from([DAY0, datetime(9000, 1, 1, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC)]),
    times=st.lists(st.integers(0, 6), max_size=40),
    ids=st.lists(st.text("abc", min_size=1, max_size=3), max_size=40, unique=True),
)
def test_replay_orders_ties_by_id(start: datetime, times: list[int], ids: list[str]) -> None:
    """However many interactions share a time, or times a float cannot tell apart, replay applies them in (at, id) order."""
    log = [
        Interaction(id_, "ana", "bo", "message", start + timedelta(microseconds=step))
        for id_, step in zip(ids, times, strict=False)
    ]
    ordered = sorted(log, key=lambda i: (i.at, i.id))

    one_by_one = replay([], sender="ana", contact="bo")
    for interaction in ordered:
        one_by_one = one_by_one.apply(interaction)

    assert one_by_one == replay(log, sender="ana", contact="bo")
    assert (ordered[-1].id if ordered else None) == replay(log, sender="ana", contact="bo").last_id


def test_times_a_float_cannot_tell_apart_are_still_ordered() -> None:
    """Centuries from now a microsecond is below a float's precision; replay still orders by time."""
    late = datetime(9000, 1, 1, tzinfo=UTC)
    first = Interaction("b", "ana", "bo", "message", late)
    second = Interaction("a", "ana", "bo", "message", late + timedelta(microseconds=1))
    assert first.at.timestamp() == second.at.timestamp()

    assert "a" == replay([second, first]).last_id
    assert "a" == replay([first, second]).last_id


def test_a_warning_rule_does_not_block_a_suggestion() -> None:
    """A custom rule that only warns leaves the suggestions of a denial as they were."""

    def warn(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
        return [Reason("no_shared_context", "a warning only", "warn")]

    connected = Log(contact="bo").inbound("connection_accepted", 0).relationship()
    warns = Policy.etiquette() & Policy("warns", rules=[Rule("warn", Action, warn)])

    decision = check(connected, "pitch", at=day(1), policy=warns)

    assert check(connected, "pitch", at=day(1)).suggestions == decision.suggestions
    assert Action.SHARE_VALUE in decision.suggestions


def test_retry_at_is_the_latest_until() -> None:
    """Of two lapsing reasons, retry_at is the later until, whichever comes first."""
    log = Log(contact="bo").add("connection_requested", 0).inbound("connection_declined", 0)
    log.add("connection_requested", 100)

    decision = check(log.relationship(), "connect", at=day(101))

    assert ("request_pending", "recently_declined") == decision.codes
    assert day(190) == decision.retry_at


def test_a_reason_twice_is_reported_once() -> None:
    """Two parts of a policy giving the same reason report it once."""
    stranger = replay([], sender="ana", contact="bo")

    decision = check(stranger, "message", at=DAY0, policy=Policy.etiquette() & Policy.etiquette())

    assert ("not_connected",) == decision.codes
