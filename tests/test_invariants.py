"""
Invariants that hold for every log, checked with Hypothesis.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from permission_networking import (
    Action,
    Channel,
    Interaction,
    InteractionKind,
    Policy,
    RelationshipState,
    check,
    replay,
    screen,
)
from permission_networking._time import END
from permission_networking._values import CONTACT_ONLY_KINDS
from strategies import MUTUAL, logs
from timeline import DAY0


ETIQUETTE = Policy.etiquette()
WHEN = st.integers(0, 24 * 150).map(lambda h: DAY0 + timedelta(hours=h))


@given(logs(), st.randoms(use_true_random=False), WHEN)
def test_arrival_order_changes_nothing(log: list[Interaction], rnd: object, at: object) -> None:
    """Any arrival order gives the same relationship and the same decision for every action."""
    shuffled = list(log)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]

    a = replay(log, sender="ana", contact="bo")
    b = replay(shuffled, sender="ana", contact="bo")

    assert a == b
    for action in Action:
        assert check(a, action, at=at, group="g1") == check(b, action, at=at, group="g1")  # type: ignore[arg-type]


@given(logs(), WHEN, st.sampled_from(list(Action)))
def test_denials_carry_reasons_and_retry_is_later(
    log: list[Interaction], at: object, action: Action
) -> None:
    """A denial always has a reason; a retry_at is always later than at; obligations only when allowed."""
    rel = replay(log, sender="ana", contact="bo")

    decision = check(rel, action, at=at, group="g1")  # type: ignore[arg-type]

    assert decision.allowed == (not decision.reasons)
    if decision.retry_at is not None:
        assert decision.retry_at > decision.at
        assert all(r.until is not None for r in decision.reasons)
    if not decision.allowed:
        assert () == decision.obligations
    else:
        assert () == decision.suggestions


@given(logs(), WHEN, st.sampled_from([Channel.EMAIL, Channel.SMS, Channel.LINKEDIN]))
def test_no_marketing_without_active_express_consent(
    log: list[Interaction], at: object, channel: Channel
) -> None:
    """Marketing is allowed only with an active express marketing permission for the channel."""
    rel = replay(log, sender="ana", contact="bo")

    for action in (Action.SEND_MARKETING, Action.ADD_TO_LIST):
        decision = check(rel, action, at=at, channel=channel, policy=ETIQUETTE)  # type: ignore[arg-type]
        if decision.allowed:
            assert rel.permissions_at(at, "marketing", channel)  # type: ignore[arg-type]
            assert not rel.do_not_contact


SENDER_KINDS = [k for k in InteractionKind if k not in MUTUAL | CONTACT_ONLY_KINDS]


@given(logs(kinds=SENDER_KINDS, outbound_only=True), WHEN)
def test_outbound_alone_never_raises_the_state(log: list[Interaction], at: object) -> None:
    """What the sender does alone never lifts a stranger above stranger."""
    rel = replay(log, sender="ana", contact="bo")

    assert RelationshipState.STRANGER is rel.state_at(at)  # type: ignore[arg-type]


@given(logs(), WHEN)
def test_a_block_always_denies(log: list[Interaction], at: object) -> None:
    """After a block, every action is denied until the contact clears it."""
    block = Interaction("zz-block", "ana", "bo", "blocked", DAY0 + timedelta(days=200))
    rel = replay([*log, block], sender="ana", contact="bo")

    for action in Action:
        decision = check(rel, action, at=DAY0 + timedelta(days=201), group="g1")
        assert not decision.allowed
        assert "do_not_contact" in decision.codes


@given(logs(), st.integers(0, 25))
def test_apply_in_order_equals_replay(log: list[Interaction], cut: int) -> None:
    """Folding with apply in (at, id) order equals replay."""
    ordered = sorted(log)
    rel = replay(ordered[:cut], sender="ana", contact="bo")
    for item in ordered[cut:]:
        rel = rel.apply(item)

    assert replay(log, sender="ana", contact="bo") == rel


_EDGE_POLICIES = [
    Policy.etiquette(),
    Policy.etiquette(express_consent_ttl=relativedelta(months=24), double_opt_in=True),
    Policy.casl(),
    Policy.can_spam(),
    Policy.gdpr(),
    Policy.pecr(),
    Policy.tcpa(),
    None,
]


@settings(max_examples=150)
@given(
    log=logs(),
    late=st.booleans(),
    hours=st.integers(0, 24 * 130),
    policy=st.sampled_from(_EDGE_POLICIES),
    jurisdiction=st.sampled_from(["US-FL", "CA", "DE", "GB", None]),
)
def test_the_edges_of_time_neither_raise_nor_fail_a_rule(
    log: list[Interaction],
    late: bool,  # noqa: FBT001
    hours: int,
    policy: Policy | None,
    jurisdiction: str | None,
) -> None:
    """Near the first or the last instant a datetime holds, every guard still decides."""
    edge = (
        datetime.max.replace(tzinfo=UTC) - timedelta(days=131)
        if late
        else datetime.min.replace(tzinfo=UTC)
    )
    moved = [attrs.evolve(item, at=item.at - DAY0 + edge) for item in log]
    facts = Interaction("zz", "ana", "bo", "profile_updated", edge, metadata={
        "timezone": "America/New_York", **({"jurisdiction": jurisdiction} if jurisdiction else {})})  # fmt: skip
    rel = replay([*moved, facts], sender="ana", contact="bo")
    at = edge + timedelta(hours=hours)

    for action in Action:
        decision = check(rel, action, at=at, policy=policy, group="g1")
        assert "rule_error" not in decision.codes
        assert rel.state_at(at).value == decision.to_dict()["state"]
    assert len(screen([rel], "send_marketing", at=at, policy=policy)) == 1


@pytest.mark.parametrize("at", [END - timedelta(microseconds=1), END])
def test_a_span_past_the_calendar_ends_at_its_last_instant(at: datetime) -> None:
    """A refusal's backoff that would outlast the calendar ends at its last instant, for every rule."""
    log = [
        Interaction("1", "ana", "bo", "meeting", "2026-01-01T00:00:00Z"),
        Interaction("2", "ana", "bo", "refusal", "2026-01-02T00:00:00Z"),
        Interaction("3", "ana", "bo", "shared_content", "2026-01-03T00:00:00Z"),
    ]
    long = relativedelta(years=9000)
    policy = Policy.etiquette(engagement_ttl=long, refusal_backoff=long)
    rel = replay(log)

    decision = check(rel, "ask_favor", at=at, policy=policy)
    screening = screen([rel], "ask_favor", at=at, policy=policy)

    if at < END:
        assert ("recent_refusal",) == decision.codes
        assert END == decision.retry_at
    else:
        assert ("not_engaged",) == decision.codes
    assert decision.codes == screening.denied["bo"].codes


def test_a_refusal_past_the_calendar_holds_off_until_something_is_given() -> None:
    """At the last instant, a refusal with nothing given since still denies, on every path."""
    log = [
        Interaction("1", "ana", "bo", "opt_in_granted", "2026-01-01T00:00:00Z", purpose="sales"),
        Interaction("2", "ana", "bo", "refusal", "2026-01-02T00:00:00Z"),
    ]
    policy = Policy.etiquette(refusal_backoff=relativedelta(years=9000))
    rel = replay(log)

    decision = check(rel, "pitch", at=END, policy=policy)

    assert ("recent_refusal",) == decision.codes
    assert not screen([rel], "pitch", at=END, policy=policy).allowed
