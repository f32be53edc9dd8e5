"""
How every store keeps a pair's relationship: a snapshot that reads back equal.
"""

from __future__ import annotations

import json

import pytest

from hypothesis import given
from hypothesis import strategies as st

from permission_networking import Interaction, InvalidInteraction, Relationship, replay
from permission_networking._relationship import extend
from permission_networking.stores._ledger import (
    Head,
    Pair,
    decode_snapshot,
    dumps,
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


@given(logs())
def test_a_snapshot_leaves_out_only_what_is_none(log: list[Interaction]) -> None:
    """
    A snapshot is the relationship's to_dict without its None entries, in canonical JSON.
    """
    relationship = replay(log, sender="ana", contact="bo")
    kept = {k: v for k, v in relationship.to_dict().items() if v is not None}

    assert dumps(kept) == encode_snapshot(relationship)


@given(logs())
def test_a_snapshot_in_full_reads_the_same(log: list[Interaction]) -> None:
    """
    A snapshot written with every field, as earlier releases wrote it, reads back equal.
    """
    relationship = replay(log, sender="ana", contact="bo")

    assert relationship == decode_snapshot(json.dumps(relationship.to_dict()))


@given(logs(), st.data())
def test_a_snapshot_advanced_from_a_stored_one_is_written_the_same(
    log: list[Interaction], data: st.DataObject
) -> None:
    """
    Writing a snapshot folded from a stored one, whose times it copies, gives the same text.
    """
    ordered = sorted(log, key=lambda interaction: (interaction.at, interaction.id))
    split = data.draw(st.integers(0, len(ordered)))
    before = replay(ordered[:split], sender="ana", contact="bo")
    stored = stored_pair(split, "f" * 64, None, encode_snapshot(before))
    advanced = extend(stored.snapshot, ordered[split:])
    after = replay(log, sender="ana", contact="bo")

    assert after == advanced
    assert encode_snapshot(after) == pair_columns(Pair(advanced, stored.head, stored.origin))[5]


def test_only_fields_that_may_be_none_are_left_out() -> None:
    """A None where the default is not None cannot be built, so none is lost from a snapshot."""
    with pytest.raises(InvalidInteraction, match="unanswered"):
        Relationship(sender="ana", contact="bo", unanswered=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInteraction, match="unanswered"):
        decode_snapshot('{"sender":"ana","contact":"bo","unanswered":null}')
