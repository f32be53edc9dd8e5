"""
`replay`: interactions folded per second, against a hand-written fold.

The hand-written fold is the floor: one pass over a log already in order,
updating a mutable slotted accumulator with the counters and times a guard
needs most. `replay` does more: it validates the log (one pair, unique ids),
orders it by ``(at, id)``, applies every rule of the state machine and
freezes the result into a `Relationship`.
"""

from __future__ import annotations

import random

from datetime import datetime
from typing import Any

from harness import Row, Size, compare
from workload import history

from permission_networking import Direction, Interaction, InteractionKind, replay


_IN = Direction.INBOUND
_SHARED = InteractionKind.SHARED_CONTENT
_ASK = InteractionKind.ASK


class Accumulator:
    """
    The hand-written fold's state.
    """

    __slots__ = ("asks", "gives", "last_inbound_at", "last_outbound_at", "unanswered", "version")

    def __init__(self) -> None:
        self.last_inbound_at: datetime | None = None
        self.last_outbound_at: datetime | None = None
        self.unanswered = 0
        self.gives = 0
        self.asks = 0
        self.version = 0


def hand_fold(log: list[Interaction]) -> Accumulator:
    acc = Accumulator()
    for i in log:
        acc.version += 1
        if i.direction is _IN:
            acc.last_inbound_at = i.at
            acc.unanswered = 0
        else:
            acc.last_outbound_at = i.at
            acc.unanswered += 1
            kind = i.kind
            if kind is _SHARED:
                acc.gives += 1
            elif kind is _ASK:
                acc.asks += 1
    return acc


def folds(size: Size) -> list[Row]:
    """
    Time `replay` and the hand-written fold on logs of each length.
    """
    rows: list[Row] = []
    for length in size.replay:
        log = history(length)
        shuffled = list(log)
        random.Random(0).shuffle(shuffled)
        namespace: dict[str, Any] = {
            "replay": replay,
            "hand_fold": hand_fold,
            "log": log,
            "shuffled": shuffled,
        }
        statements = {
            "replay": "replay(log)",
            "shuffled": "replay(shuffled)",
            "hand": "hand_fold(log)",
        }
        times = compare(statements, namespace, size)
        assert replay(log) == replay(shuffled)
        for name, label in (("replay", "in order"), ("shuffled", "shuffled")):
            rate = length / times[name]
            final = length == max(size.replay)
            rows.append(
                Row(
                    "replay",
                    f"replay, {length:,} interactions {label}",
                    rate,
                    "/s",
                    rate / (length / times["hand"]),
                    "hand-written fold",
                    ">= 1,000,000/s" if final else None,
                    rate >= 1_000_000 if final else None,
                )
            )
        rows.append(
            Row(
                "replay",
                f"hand-written fold, {length:,} interactions in order",
                length / times["hand"],
                "/s",
                1.0,
                "hand-written fold",
            )
        )
    return rows
