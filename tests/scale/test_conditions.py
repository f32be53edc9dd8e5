"""
Tests that the fused denial conditions decide exactly as the rules do, one by one.
"""

from __future__ import annotations

import copy
import pickle
import traceback

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from permission_networking import (
    Action,
    Channel,
    InteractionKind,
    Policy,
    Reason,
    Relationship,
    Rule,
    check,
    policy_for,
    replay,
    screen,
)
from permission_networking._conditions import (
    Conditions,
    Deny,
    DenyWith,
    compile_plan,
    compile_rule,
    compile_suggestions,
)
from permission_networking._guards import (
    SUGGESTED,
    _request,
    compiled,
    decide,
    denying_codes,
    make_request,
    plan_for,
    prepare,
)
from permission_networking._rules import REQUEST_ONLY, USUALLY_REQUEST_ONLY, denied_when
from strategies import GROUPS, PURPOSES, logs
from timeline import DAY0, Log, day


def _allows(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
    """A rule check that finds nothing."""
    return []


POLICIES = [
    Policy.etiquette(),
    Policy.etiquette(double_opt_in=True, max_unanswered=1, express_consent_ttl=timedelta(days=30)),
    policy_for("CA"),
    policy_for("US-FL"),
    policy_for("DE"),
    policy_for("GB"),
    policy_for(None),
    Policy.etiquette() & Policy.etiquette(max_unanswered=1),
    # Etiquette and the law look for consent under different TTLs: nothing is shared.
    Policy.etiquette(express_consent_ttl=timedelta(days=30)) & Policy.casl(),
    Policy.etiquette(express_consent_ttl=timedelta(days=30)) & Policy.pecr(),
]
TIMES = st.integers(-24, 24 * 150).map(lambda hours: DAY0 + timedelta(hours=hours))
CHANNELS = st.none() | st.sampled_from(list(Channel))


@settings(max_examples=400)
@given(
    log=logs(),
    at=TIMES,
    action=st.sampled_from(list(Action)),
    channel=CHANNELS,
    purpose=st.none() | st.sampled_from(PURPOSES),
    group=st.none() | st.sampled_from(GROUPS),
    policy=st.sampled_from(POLICIES),
)
def test_a_fused_plan_denies_with_the_codes_of_its_rules(  # noqa: PLR0913, PLR0917
    log: list[object],
    at: datetime,
    action: Action,
    channel: Channel | None,
    purpose: str | None,
    group: str | None,
    policy: Policy,
) -> None:
    """The fused plan gives the codes the rules give one by one, and passes exactly when none."""
    relationship = replay(log, sender="ana", contact="bo")  # type: ignore[arg-type]
    request = make_request(action, at, channel, purpose, group)
    plan = plan_for(policy, request.action)
    passes, codes = compiled(plan, request.channel)

    found = codes(relationship, at, request.purpose, request.group)

    assert denying_codes(relationship, request, plan.tests) == found
    assert decide(relationship, request, policy).codes == found
    assert (not found) == passes(relationship, at, request.purpose, request.group)


CONSENT_KINDS = [
    InteractionKind.INQUIRY,
    InteractionKind.PURCHASE,
    InteractionKind.INTRODUCED,
    InteractionKind.OPT_IN_GRANTED,
    InteractionKind.OPT_OUT,
    InteractionKind.PITCH,
    InteractionKind.MARKETING_SENT,
]
TWO_CHANNELS = [Channel.EMAIL, Channel.SMS]


@settings(max_examples=600)
@given(
    log=logs(kinds=CONSENT_KINDS, channels=TWO_CHANNELS, purposes=["marketing", "sales"]),
    at=TIMES,
    action=st.sampled_from([Action.PITCH, Action.SEND_MARKETING, Action.REQUEST_OPT_IN]),
    channel=st.none() | st.sampled_from(TWO_CHANNELS),
    policy=st.sampled_from(POLICIES),
)
def test_a_fused_plan_of_a_commercial_action_denies_as_its_rules(
    log: list[object], at: datetime, action: Action, channel: Channel | None, policy: Policy
) -> None:
    """Over histories of consent, interest and opt-outs on few channels, the plan is its rules."""
    relationship = replay(log, sender="ana", contact="bo")  # type: ignore[arg-type]
    request = make_request(action, at, channel, None, None)
    passes, codes = compiled(plan_for(policy, request.action), request.channel)

    found = codes(relationship, at, request.purpose, request.group)

    assert decide(relationship, request, policy).codes == found
    assert (not found) == passes(relationship, at, request.purpose, request.group)


@settings(max_examples=300)
@given(
    log=logs(),
    at=TIMES,
    action=st.sampled_from(list(Action)),
    channel=CHANNELS,
    group=st.none() | st.sampled_from(GROUPS),
    policy=st.sampled_from(POLICIES),
)
def test_suggestions_are_the_other_actions_check_allows(  # noqa: PLR0913, PLR0917
    log: list[object],
    at: datetime,
    action: Action,
    channel: Channel | None,
    group: str | None,
    policy: Policy,
) -> None:
    """A denial suggests, in order, the other suggestible actions check allows on the channel named."""
    relationship = replay(log, sender="ana", contact="bo")  # type: ignore[arg-type]

    decision = check(relationship, action, at=at, policy=policy, channel=channel, group=group)

    # On the channel the caller named; when none was, each on its own default,
    # whatever channel the denied action defaults to.
    expected = tuple(
        other
        for other in SUGGESTED
        if other is not action
        and check(relationship, other, at=at, policy=policy, channel=channel, group=group)
    )
    assert (() if decision else expected) == decision.suggestions


def test_a_condition_that_reads_an_unknown_name_is_refused() -> None:
    """Compiling a condition that names neither a variable nor a helper says which name."""

    def rule(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
        return []

    conditions = Conditions((Deny("not_engaged", "rel.unanswered > no_such_limit"),), None, {})
    policy = Policy("strict", rules=[Rule("strict", Action, rule)])

    with pytest.raises(NameError, match="'no_such_limit'"):
        compile_plan([(policy, policy.rules[0], conditions)], Action.MESSAGE, None, _request)


def test_a_condition_may_call_builtins() -> None:
    """A condition reads the builtins as well as the variables and its module's helpers."""

    def rule(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
        return []

    conditions = Conditions((Deny("not_engaged", "len(rel.permissions) < 1"),), None, {})
    policy = Policy("strict", rules=[Rule("strict", Action, rule)])
    _, codes = compile_plan([(policy, policy.rules[0], conditions)], Action.MESSAGE, None, _request)

    assert ("not_engaged",) == codes(replay([], sender="ana", contact="bo"), DAY0, None, None)


@pytest.mark.parametrize("channel", [None, *Channel])
def test_a_rule_that_does_not_apply_is_left_out_of_a_plan(channel: Channel | None) -> None:
    """A plan leaves out a rule whose applies fails for its action and channel; its test agrees."""

    def rule(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
        return []

    conditions = Conditions(
        (Deny("not_engaged", "True"),), None, {"Channel": Channel}, applies="channel is Channel.SMS"
    )
    policy = Policy("texts", rules=[Rule("texts", Action, rule)])
    passes, codes = compile_plan(
        [(policy, policy.rules[0], conditions)], Action.MESSAGE, channel, _request
    )
    relationship = replay([], sender="ana", contact="bo")
    expected = ("not_engaged",) if channel is Channel.SMS else ()

    assert expected == codes(relationship, DAY0, None, None)
    assert (not expected) == passes(relationship, DAY0, None, None)
    test = compile_rule(conditions, "texts")
    request = make_request(Action.MESSAGE, DAY0, channel, None, None)
    assert expected == test(relationship, request, policy)


class TestLets:
    """A value several rules read is worked out once per call, for the rules that read the same."""

    @staticmethod
    def _counted(calls: list[int]) -> Conditions:
        def limit(relationship: Relationship, most: int) -> int:
            calls.append(most)
            return most

        return Conditions(
            (DenyWith("('unanswered_limit',) if rel.unanswered < limit_ else ()"),),
            None,
            {"limit": limit},
            lets=(("limit_", "limit(rel, policy.max_unanswered)"),),
        )

    def _plan(
        self, limits: tuple[int, int], calls: list[int]
    ) -> tuple[Callable[..., bool], Callable[..., tuple[str, ...]]]:
        conditions = self._counted(calls)
        entries = []
        for limit in limits:
            policy = Policy.etiquette(max_unanswered=limit)
            entries.append((policy, policy.rules[0], conditions))
        return compile_plan(entries, Action.MESSAGE, None, _request)

    def test_rules_that_read_it_under_the_same_settings_share_it(self) -> None:
        """Rules that name it over equal settings and the same helper share one value."""
        calls: list[int] = []
        passes, codes = self._plan((2, 2), calls)
        relationship = replay([], sender="ana", contact="bo")

        assert not passes(relationship, DAY0, None, None)
        assert ("unanswered_limit",) == codes(relationship, DAY0, None, None)
        assert [2, 2] == calls  # once for each call, not once for each rule

    def test_rules_that_read_it_under_other_settings_each_work_it_out(self) -> None:
        """Rules that name it over other settings each have their own value."""
        calls: list[int] = []
        passes, codes = self._plan((1, 2), calls)
        relationship = replay([], sender="ana", contact="bo")

        assert not passes(relationship, DAY0, None, None)
        assert ("unanswered_limit",) == codes(relationship, DAY0, None, None)
        assert [1, 2, 1, 2] == calls

    def test_a_rule_alone_and_its_suggestions_work_it_out(self) -> None:
        """A rule's own test and the suggestions work out its lets too."""
        calls: list[int] = []
        conditions = self._counted(calls)
        policy = Policy.etiquette(max_unanswered=1)
        relationship = replay([], sender="ana", contact="bo")
        request = make_request(Action.MESSAGE, DAY0, None, None, None)
        suggest = compile_suggestions(
            [(Action.MESSAGE, None, None, [(policy, policy.rules[0], conditions)])], _request
        )

        assert ("unanswered_limit",) == compile_rule(conditions, "counted")(
            relationship, request, policy
        )
        assert () == suggest(relationship, DAY0, None)
        assert [1, 1] == calls

    @pytest.mark.parametrize("name", ["rel", "policy", "channel", "_hidden", "not a name"])
    def test_a_let_may_not_hide_a_variable(self, name: str) -> None:
        """A let named like a variable, private or not an identifier is refused."""
        with pytest.raises(ValueError, match="a let must be named"):
            denied_when(DenyWith("()"), lets=((name, "1"),))


def test_a_failing_condition_shows_its_source_in_the_traceback() -> None:
    """A fused plan's source is kept, so a traceback through it shows the failing condition."""

    def rule(relationship: Relationship, request: object, policy: Policy) -> list[Reason]:
        return []

    conditions = Conditions((Deny("not_engaged", "rel.unanswered // 0 > 1"),), None, {})
    policy = Policy("broken", rules=[Rule("broken", Action, rule)])
    passes, _ = compile_plan(
        [(policy, policy.rules[0], conditions)], Action.MESSAGE, None, _request
    )

    with pytest.raises(ZeroDivisionError) as raised:
        passes(replay([], sender="ana", contact="bo"), DAY0, None, None)

    assert "rel.unanswered // 0 > 1" in "".join(traceback.format_tb(raised.tb))


def test_a_used_policy_pickles_and_copies_without_its_cache() -> None:
    """What the guards cache on a policy is left out of its pickles and deep copies."""
    policy = Policy.etiquette(max_unanswered=2)
    connected = Log(contact="bo").inbound("connection_accepted", 0).relationship()
    decision = check(connected, "message", at=day(1), policy=policy)

    for other in (pickle.loads(pickle.dumps(policy)), copy.deepcopy(policy)):  # noqa: S301
        assert policy == other
        assert 0 == len(other._guards)
        assert decision == check(connected, "message", at=day(1), policy=other)
    assert decision == check(connected, "message", at=day(1), policy=copy.copy(policy))


def test_a_policy_cache_starts_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks for ever new groups do not grow a policy's cache without bound."""
    from permission_networking import _guards  # noqa: PLC0415

    monkeypatch.setattr(_guards, "_ENTRIES_MAX", 3)
    policy = Policy.etiquette()
    stranger = replay([], sender="ana", contact="bo")

    for n in range(10):
        check(stranger, "promote_in_group", at=DAY0, policy=policy, group=f"g{n}")

    assert len(policy._guards) <= 3


class TestObligationsOfTheRequest:
    """Obligations that depend on the request alone are worked out once for it."""

    def test_they_are_the_rules_obligations(self) -> None:
        """An allowed marketing send obliges as its rules say, in check and in decide."""
        opted = Log(contact="bo").inbound("opt_in_granted", 0, purpose="marketing").relationship()
        request = make_request("send_marketing", day(1), None, None, None)

        decision = check(opted, "send_marketing", at=day(1), policy=policy_for("US"))

        expected = ("include_unsubscribe", "identify_sender", "identify_as_advertisement")
        assert (*expected, "include_postal_address") == decision.obligations
        assert decide(opted, request, policy_for("US")) == decision
        assert decision.obligations == prepare(request, policy_for("US")).obligations

    def test_they_are_worked_out_once_for_the_request(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Request-only obligations are asked once, however many relationships are checked."""
        calls: list[str] = []

        def oblige(relationship: Relationship, request: object, policy: Policy) -> list[str]:
            calls.append(relationship.contact)
            return ["say_hello"]

        monkeypatch.setattr("permission_networking._guards.REQUEST_ONLY", REQUEST_ONLY | {oblige})
        policy = Policy("oblige", rules=[Rule("oblige", Action, _allows, oblige)])
        audience = [replay([], sender="ana", contact=contact) for contact in ("bo", "cy", "di")]

        decisions = [check(r, "message", at=DAY0, policy=policy) for r in audience]
        screened = screen(audience, "message", at=DAY0, policy=policy)

        assert [("say_hello",)] * 3 == [d.obligations for d in decisions]
        assert ("bo", "cy", "di") == screened.allowed
        assert 1 == len(calls)

    def test_a_failing_one_denies_with_rule_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Should request-only obligations fail, each relationship is asked, and denied with rule_error."""
        calls: list[str] = []

        def fails(relationship: Relationship, request: object, policy: Policy) -> list[str]:
            calls.append(relationship.contact)
            raise RuntimeError

        monkeypatch.setattr("permission_networking._guards.REQUEST_ONLY", REQUEST_ONLY | {fails})
        policy = Policy("fails", rules=[Rule("fails", Action, _allows, fails)])
        stranger = replay([], sender="ana", contact="bo")

        decision = check(stranger, "message", at=DAY0, policy=policy)
        screened = screen([stranger], "message", at=DAY0, policy=policy)

        # Asked once for the request, before any relationship; then for the relationship.
        assert "-" == calls[0]
        assert {"bo"} == set(calls[1:])
        assert ("rule_error",) == decision.codes
        assert {"rule_error": 1} == dict(screened.counts)
        assert decision == screened.denied["bo"]


class TestObligationsOfTheRequestButForSome:
    """Obligations of the request but for some relationships are asked only for those."""

    def test_they_are_asked_only_for_the_relationships_they_depend_on(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Asked once for the request, then only for the relationships their test picks."""
        calls: list[str] = []

        def oblige(relationship: Relationship, request: object, policy: Policy) -> list[str]:
            calls.append(relationship.contact)
            return ["say_hello", "to_cy"] if relationship.contact == "cy" else ["say_hello"]

        def depends(relationship: Relationship) -> bool:
            return relationship.contact == "cy"

        monkeypatch.setitem(USUALLY_REQUEST_ONLY, oblige, depends)
        policy = Policy("oblige", rules=[Rule("oblige", Action, _allows, oblige)])
        audience = [replay([], sender="ana", contact=contact) for contact in ("bo", "cy", "di")]

        decisions = [check(r, "message", at=DAY0, policy=policy) for r in audience]
        screened = screen(audience, "message", at=DAY0, policy=policy)

        assert [("say_hello",), ("say_hello", "to_cy"), ("say_hello",)] == [
            d.obligations for d in decisions
        ]
        assert ("bo", "cy", "di") == screened.allowed
        # Once for the request, then for cy alone, by check and by screen.
        assert ["-", "cy", "cy"] == calls

    def test_two_of_them_are_asked_for_what_either_depends_on(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With two such rules, a relationship either one depends on is asked both."""
        calls: list[tuple[str, str]] = []

        def oblige(name: str) -> Callable[[Relationship, object, Policy], list[str]]:
            def obligations(
                relationship: Relationship, request: object, policy: Policy
            ) -> list[str]:
                calls.append((name, relationship.contact))
                return [f"{name}_{relationship.contact}"]

            monkeypatch.setitem(
                USUALLY_REQUEST_ONLY, obligations, lambda relationship: relationship.contact == name
            )
            return obligations

        policy = Policy(
            "two", rules=[Rule(name, Action, _allows, oblige(name)) for name in ("bo", "cy")]
        )
        audience = [replay([], sender="ana", contact=contact) for contact in ("bo", "cy", "di")]

        decisions = [check(r, "message", at=DAY0, policy=policy) for r in audience]

        assert [("bo_bo", "cy_bo"), ("bo_cy", "cy_cy"), ("bo_-", "cy_-")] == [
            d.obligations for d in decisions
        ]
        assert {("bo", "bo"), ("cy", "bo"), ("bo", "cy"), ("cy", "cy")} == {
            call for call in calls if call[1] != "-"
        }

    def test_failing_for_the_request_they_are_asked_for_everyone(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Should they fail when worked out for the request, each relationship is asked, as usual."""

        def oblige(relationship: Relationship, request: object, policy: Policy) -> list[str]:
            if relationship.contact == "-":
                raise RuntimeError
            return ["say_hello"]

        monkeypatch.setitem(USUALLY_REQUEST_ONLY, oblige, lambda _: False)
        policy = Policy("oblige", rules=[Rule("oblige", Action, _allows, oblige)])
        stranger = replay([], sender="ana", contact="bo")

        assert ("say_hello",) == check(stranger, "message", at=DAY0, policy=policy).obligations

    @settings(max_examples=300)
    @given(
        log=logs(
            max_size=6,
            kinds=[
                InteractionKind.INTRODUCED,
                InteractionKind.OPT_IN_GRANTED,
                InteractionKind.PURCHASE,
                InteractionKind.INQUIRY,
                InteractionKind.PITCH,
                InteractionKind.MARKETING_SENT,
            ],
            purposes=["marketing", "sales"],
        ),
        at=TIMES,
        action=st.sampled_from([Action.PITCH, Action.SEND_MARKETING, Action.REQUEST_OPT_IN]),
        channel=CHANNELS,
        policy=st.sampled_from([Policy.casl(), policy_for("CA")]),
    )
    def test_casl_obliges_as_its_rules_say(
        self,
        log: list[object],
        at: datetime,
        action: Action,
        channel: Channel | None,
        policy: Policy,
    ) -> None:
        """Under CASL, check and screen oblige exactly as every rule asked one by one."""
        relationship = replay(log, sender="ana", contact="bo")  # type: ignore[arg-type]
        request = make_request(action, at, channel, None, None)

        decision = check(relationship, action, at=at, policy=policy, channel=channel)
        screened = screen([relationship], action, at=at, policy=policy, channel=channel)

        assert decide(relationship, request, policy) == decision
        assert decision.allowed == (screened.allowed == ("bo",))


def test_obligations_that_fail_for_a_contact_deny_it_in_screen_as_in_check() -> None:
    """A rule whose obligations fail for one relationship denies it with rule_error, in both."""

    def oblige(relationship: Relationship, request: object, policy: Policy) -> list[str]:
        if relationship.contact == "cy":
            raise RuntimeError
        return ["say_hello"]

    policy = Policy("oblige", rules=[Rule("oblige", Action, _allows, oblige)])
    bo, cy = (replay([], sender="ana", contact=contact) for contact in ("bo", "cy"))

    screened = screen([bo, cy], "message", at=DAY0, policy=policy)

    assert ("bo",) == screened.allowed
    assert {"rule_error": 1} == dict(screened.counts)
    assert check(cy, "message", at=DAY0, policy=policy) == screened.denied["cy"]
    assert ("say_hello",) == check(bo, "message", at=DAY0, policy=policy).obligations


class TestDenied:
    """Screening.denied builds each denying decision when it is first looked up."""

    @pytest.fixture(name="screened")
    def _screened(self) -> tuple[list[Relationship], object]:
        relationships = [
            Log(contact="stranger").relationship(),
            Log(contact="connected").inbound("connection_accepted", 0).relationship(),
            Log(contact="blocked").inbound("message", 0).inbound("blocked", 1).relationship(),
        ]
        return relationships, screen(relationships, "message", at=day(2))

    def test_it_is_a_read_only_mapping_in_input_order(
        self, screened: tuple[list[Relationship], object]
    ) -> None:
        """It has the denied contacts, in input order, and nobody else."""
        _, result = screened
        denied = result.denied  # type: ignore[attr-defined]

        assert ["stranger", "blocked"] == list(denied)
        assert 2 == len(denied)
        assert "blocked" in denied
        assert "connected" not in denied
        with pytest.raises(KeyError):
            denied["connected"]
        with pytest.raises(TypeError):
            denied["blocked"] = None

    def test_a_decision_is_built_once(self, screened: tuple[list[Relationship], object]) -> None:
        """Looking a contact up twice gives the same decision, the one check gives."""
        relationships, result = screened
        denied = result.denied  # type: ignore[attr-defined]

        first = denied["blocked"]

        assert first is denied["blocked"]
        assert check(relationships[2], "message", at=day(2)) == first
        assert ("do_not_contact", "not_connected") == first.codes

    def test_it_prints_and_compares_as_a_dict(
        self, screened: tuple[list[Relationship], object]
    ) -> None:
        """Its repr and equality are those of the dict of every decision."""
        relationships, result = screened
        denied = result.denied  # type: ignore[attr-defined]
        expected = {r.contact: check(r, "message", at=day(2)) for r in relationships[::2]}

        assert expected == denied
        assert denied == expected
        assert repr(expected) == repr(denied)
        assert pickle.loads(pickle.dumps(result)) == result  # noqa: S301

    def test_each_contact_is_decided_under_its_own_law(self) -> None:
        """Without a policy, a denial looked up later is decided under its contact's jurisdiction."""
        log = Log(contact="ca").inbound("connection_accepted", 0).inbound("message", 1)
        log.inbound("profile_updated", 1, metadata={"jurisdiction": "CA"})
        canadian = log.relationship()
        log = Log(contact="xx").inbound("connection_accepted", 0).inbound("message", 1)
        unknown = log.relationship()

        result = screen([canadian, unknown], "pitch", at=day(2))

        assert "etiquette & casl" == result.denied["ca"].policy
        assert "etiquette" == result.denied["xx"].policy
        assert check(canadian, "pitch", at=day(2)) == result.denied["ca"]
