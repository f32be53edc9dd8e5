"""
The relationship state machine as data: `TRANSITIONS`, and `state_diagram` rendering it.

The fold in ``_relationship`` derives which interactions connect, engage and
reset a relationship from this one table, so the diagram in the documentation
and the behaviour of the code cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import attrs

from ._values import Direction, InteractionKind, RelationshipState, enum_value, to_state
from .exceptions import InvalidRequest


__all__ = ["TRANSITIONS", "Transition", "state_diagram"]

_S = RelationshipState
_K = InteractionKind
_IN = Direction.INBOUND


def _to_states(value: Iterable[RelationshipState | str]) -> tuple[RelationshipState, ...]:
    return tuple(map(to_state, value))


def _to_kind(value: InteractionKind | str | None) -> InteractionKind | None:
    return None if value is None else enum_value(InteractionKind, "trigger", value)


def _to_direction(value: Direction | str | None) -> Direction | None:
    return None if value is None else enum_value(Direction, "direction", value)


@attrs.frozen
class Transition:
    """
    One row of the state machine: from any of *source*, *trigger* leads to *target*.

    Attributes:
        source: The states the row applies in.
        target: The state it leads to.
        trigger: The interaction kind; None when time alone moves the state.
        direction: Who must have done it; None for either side.
        condition: A further condition in words, shown on the diagram.
    """

    source: tuple[RelationshipState, ...] = attrs.field(converter=_to_states)
    target: RelationshipState = attrs.field(converter=to_state)
    trigger: InteractionKind | None = attrs.field(converter=_to_kind)
    direction: Direction | None = attrs.field(default=None, converter=_to_direction)
    condition: str = ""

    @property
    def label(self) -> str:
        """
        The edge label of the diagram, naming the trigger, who acts and any condition.
        """
        if self.trigger is None:
            text = self.condition
        else:
            text = self.trigger.value
            if self.direction is not None:
                text += f" ({self.direction.value})"
            if self.condition:
                text += f" [{self.condition}]"
        return text


def _rows(
    source: tuple[RelationshipState, ...],
    target: RelationshipState,
    kinds: tuple[InteractionKind, ...],
    direction: Direction | None = None,
    condition: str = "",
) -> tuple[Transition, ...]:
    return tuple(Transition(source, target, kind, direction, condition) for kind in kinds)


def _leaving_opted_in(target: RelationshipState, otherwise: str) -> tuple[Transition, ...]:
    """
    Return the rows out of ``opted_in`` to *target*, the state the rest of the log gives.
    """
    return (
        *_rows(
            (_S.OPTED_IN,),
            target,
            (_K.OPT_OUT, _K.COMPLAINT),
            _IN,
            f"last commercial consent, {otherwise}",
        ),
        Transition(
            (_S.OPTED_IN,),
            target,
            None,
            condition=f"the last commercial consent expires, {otherwise}",
        ),
    )


_NOT_OPTED_IN = (_S.STRANGER, _S.CONNECTED, _S.ENGAGED)
_CONNECTED_OR_MORE = (_S.CONNECTED, _S.ENGAGED, _S.OPTED_IN)

TRANSITIONS: tuple[Transition, ...] = (
    *_rows((_S.STRANGER,), _S.CONNECTED, (_K.CONNECTION_ACCEPTED,)),
    *_rows(
        (_S.STRANGER, _S.CONNECTED, _S.ENGAGED),
        _S.ENGAGED,
        (_K.MET_IN_PERSON, _K.CALL, _K.MEETING),
    ),
    *_rows(
        (_S.STRANGER, _S.CONNECTED, _S.ENGAGED),
        _S.ENGAGED,
        (_K.MESSAGE, _K.COMMENT, _K.INQUIRY, _K.PURCHASE, _K.OPT_IN_GRANTED),
        _IN,
    ),
    Transition((_S.ENGAGED,), _S.CONNECTED, None, condition="engagement_ttl passes"),
    *_rows((_S.CONNECTED, _S.ENGAGED), _S.STRANGER, (_K.DISCONNECTED,)),
    *_rows(_CONNECTED_OR_MORE, _S.STRANGER, (_K.BLOCKED,)),
    Transition(
        _NOT_OPTED_IN,
        _S.OPTED_IN,
        _K.OPT_IN_GRANTED,
        _IN,
        "express consent for marketing or sales",
    ),
    Transition(
        (_S.OPTED_IN,),
        _S.ENGAGED,
        _K.OPT_IN_GRANTED,
        _IN,
        "renews the last commercial consent with an end already passed",
    ),
    *_leaving_opted_in(_S.ENGAGED, "engaged"),
    *_leaving_opted_in(_S.CONNECTED, "engagement gone cold"),
    *_leaving_opted_in(_S.STRANGER, "no connection"),
)
"""
The transition table; the fold and `state_diagram` both read it.
"""


def kinds_where(
    *, target: RelationshipState, source: RelationshipState, either_direction: bool = False
) -> frozenset[tuple[InteractionKind, Direction]]:
    """
    Return the ``(kind, direction)`` pairs whose rows lead from *source* to *target*.

    With *either_direction*, only rows that apply whoever acted.
    """
    pairs: set[tuple[InteractionKind, Direction]] = set()
    for row in TRANSITIONS:
        if row.trigger is None or row.target is not target or source not in row.source:
            continue
        if either_direction and row.direction is not None:
            continue
        directions = tuple(Direction) if row.direction is None else (row.direction,)
        pairs.update((row.trigger, direction) for direction in directions)
    return frozenset(pairs)


def state_diagram(format: Literal["mermaid", "dot"] = "mermaid") -> str:  # noqa: A002
    """
    Render `TRANSITIONS` as a Mermaid state diagram or a Graphviz digraph.

    Every row is drawn from each of its source states, a row that keeps the
    state (engagement renewed) as an edge back to the same state.

    Args:
        format: ``"mermaid"`` or ``"dot"``.

    Raises:
        InvalidRequest: *format* is neither.

    >>> print(state_diagram().splitlines()[0])
    stateDiagram-v2
    """
    edges: dict[tuple[RelationshipState, RelationshipState], list[str]] = {}
    for row in TRANSITIONS:
        for source in row.source:
            edges.setdefault((source, row.target), []).append(row.label)
    if format == "mermaid":
        lines = ["stateDiagram-v2", f"    [*] --> {_S.STRANGER.value}"]
        lines.extend(
            f"    {a.value} --> {b.value}: {' / '.join(labels)}" for (a, b), labels in edges.items()
        )
        return "\n".join(lines) + "\n"
    if format == "dot":
        lines = ["digraph relationship {", "    rankdir=LR;"]
        lines.extend(f"    {state.value};" for state in RelationshipState)
        for (a, b), labels in edges.items():
            label = "\\n".join(labels).replace('"', '\\"')
            lines.append(f'    {a.value} -> {b.value} [label="{label}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"
    raise InvalidRequest("format", format, "expected 'mermaid' or 'dot'")
