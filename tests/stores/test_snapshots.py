"""
How every store keeps a pair's relationship: a snapshot that reads back equal.
"""

from __future__ import annotations

from hypothesis import given

from permission_networking import Interaction, replay
from permission_networking.stores._ledger import (
    Head,
    Pair,
    decode_snapshot,
    encode_snapshot,
    pair_columns,
    stored_pair,
)
from strategies import logs


@given(logs())
def test_a_snapshot_reads_back_as_its_relationship(log: list[Interaction]) -> None:
    """
    Every relationship a log folds into reads back equal from its snapshot, as does its pair.
    """
    relationship = replay(log, sender="ana", contact="bo")
    pair = Pair(relationship, Head(len(log), "f" * 64, log[-1].id if log else None))

    assert relationship == decode_snapshot(encode_snapshot(relationship))
    assert pair == stored_pair(*pair_columns(pair)[2:])
