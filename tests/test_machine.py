"""
Tests for the transition table and the diagrams rendered from it.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from permission_networking import (
    TRANSITIONS,
    Direction,
    Interaction,
    InteractionKind,
    InvalidRequest,
    RelationshipState,
    replay,
    state_diagram,
)
from strategies import logs
from timeline import Log


S = RelationshipState


def test_every_row_from_a_stranger_does_what_it_says() -> None:
    """Each row leading a stranger up is honoured by the fold, for each direction it allows."""
    rows = [
        row
        for row in TRANSITIONS
        if row.trigger is not None
        and S.STRANGER in row.source
        and row.target in {S.CONNECTED, S.ENGAGED}
    ]
    assert rows
    for row in rows:
        assert row.trigger is not None
        for direction in [row.direction] if row.direction else list(Direction):
            purpose = "newsletter" if row.trigger.value == "opt_in_granted" else None
            log = Log().add(row.trigger.value, 0, direction=direction, purpose=purpose)
            rel = log.relationship()
            assert row.target is rel.state, (row, direction)


def test_every_row_to_stranger_resets() -> None:
    """Each row leading a connection down to stranger resets an engaged relationship."""
    for row in TRANSITIONS:
        if row.target is S.STRANGER and S.CONNECTED in row.source:
            assert row.trigger is not None
            rel = Log().inbound("message", 0).add(row.trigger.value, 1).relationship()
            assert S.STRANGER is rel.state, row


def test_mermaid_diagram_has_every_edge() -> None:
    """The Mermaid diagram draws an edge for every row from each source and names every trigger."""
    text = state_diagram("mermaid")

    assert text.startswith("stateDiagram-v2\n")
    for row in TRANSITIONS:
        for source in row.source:
            assert f"{source.value} --> {row.target.value}:" in text
        assert row.label in text


def test_a_row_that_keeps_the_state_is_drawn_as_a_loop() -> None:
    """Renewed engagement (engaged to engaged) is an edge back to the same state in both formats."""
    renewing = [row for row in TRANSITIONS if row.target in row.source]

    assert renewing
    for row in renewing:
        state = row.target.value
        assert row.label in _edge(state_diagram("mermaid"), f"{state} --> {state}:")
        assert row.label in _edge(state_diagram("dot"), f"{state} -> {state} ")


def _edge(text: str, start: str) -> str:
    """
    Return the one line of *text* that draws the edge beginning with *start*.
    """
    (line,) = [line for line in text.splitlines() if line.strip().startswith(start)]
    return line


def test_dot_diagram_has_every_state_and_edge() -> None:
    """The Graphviz diagram declares each state and draws each edge."""
    text = state_diagram("dot")

    assert text.startswith("digraph relationship {")
    for state in S:
        assert f"    {state.value};" in text
    assert "stranger -> connected" in text
    assert "engagement_ttl passes" in text


def test_unknown_format_is_refused() -> None:
    """An unknown diagram format raises InvalidRequest."""
    with pytest.raises(InvalidRequest, match="mermaid"):
        state_diagram("svg")  # type: ignore[arg-type]


def test_labels_name_trigger_direction_and_condition() -> None:
    """A row's label names its trigger, who acts and any condition."""
    labels = {row.label for row in TRANSITIONS}

    assert "connection_accepted" in labels
    assert "message (inbound)" in labels
    assert "opt_in_granted (inbound) [express consent for marketing or sales]" in labels


def _with_expiry(log: list[Interaction], days: list[int | None]) -> list[Interaction]:
    """
    Return *log* with an ``expires_at`` on each grant whose entry of *days* is not None.
    """
    return [
        item
        if item.kind is not InteractionKind.OPT_IN_GRANTED or expiry is None
        else attrs.evolve(
            item, metadata={"expires_at": (item.at + timedelta(days=expiry)).isoformat()}
        )
        for item, expiry in zip(log, days + [None] * len(log), strict=False)
    ]


def test_a_renewal_that_already_lapsed_is_a_row() -> None:
    """A grant replacing the one in force with one already ended leaves opted_in by a row."""
    log = [
        Interaction("1", "ana", "bo", "connection_accepted", "2026-01-01T00:00:00Z"),
        Interaction("2", "ana", "bo", "opt_in_granted", "2026-01-02T00:00:00Z", purpose="sales"),
        Interaction(
            "3", "ana", "bo", "opt_in_granted", "2026-01-10T00:00:00Z", purpose="sales",
            metadata={"expires_at": "2026-01-09T00:00:00Z"},
        ),
    ]  # fmt: skip
    before = replay(log[:2]).state_at("2026-01-10T00:00:00Z")
    after = replay(log).state

    assert (RelationshipState.OPTED_IN, RelationshipState.ENGAGED) == (before, after)
    assert any(
        RelationshipState.OPTED_IN in row.source
        and row.target is RelationshipState.ENGAGED
        and row.trigger is InteractionKind.OPT_IN_GRANTED
        and row.direction is Direction.INBOUND
        for row in TRANSITIONS
    )


@settings(max_examples=300)
@given(
    log=logs(max_size=30),
    expiries=st.lists(st.none() | st.integers(-5, 60), max_size=30),
    ttl=st.sampled_from([timedelta(days=10), timedelta(days=365)]),
)
def test_every_change_of_state_is_a_row(
    log: list[Interaction], expiries: list[int | None], ttl: timedelta
) -> None:
    """Each change of state, by an interaction or by time alone, is a row of the table.

    Grants may end before they were given: consent recorded after it lapsed.
    """
    by_kind = {
        (source, row.target, row.trigger, direction)
        for row in TRANSITIONS
        for source in row.source
        for direction in ([row.direction] if row.direction else list(Direction))
    }
    by_time = {(source, target) for source, target, trigger, _ in by_kind if trigger is None}
    rel = replay([], sender="ana", contact="bo")
    for item in sorted(_with_expiry(log, expiries), key=lambda i: (i.at, i.id)):
        before = rel.state_at(rel.as_of or item.at, engagement_ttl=ttl)
        waited = rel.state_at(item.at, engagement_ttl=ttl)
        rel = rel.apply(item)
        after = rel.state_at(item.at, engagement_ttl=ttl)

        assert waited is before or (before, waited) in by_time
        assert after is waited or (waited, after, item.kind, item.direction) in by_kind, item
