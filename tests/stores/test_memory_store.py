"""
What only a MemoryStore does: it undoes a failed call in memory.
"""

from __future__ import annotations

from typing import Any

import pytest

from permission_networking import Interaction
from permission_networking.stores import MemoryStore
from permission_networking.stores._memory import _MemoryTransaction
from timeline import day


BO = "bo@example.org"


def make(id: str, kind: str, at: float, **kw: Any) -> Interaction:  # noqa: A002
    """
    Build an interaction of ana with *contact* (bo unless told) at day *at*.
    """
    contact = kw.pop("contact", BO)
    return Interaction(id, "ana", contact, kind, day(at), **kw)


def state(store: MemoryStore) -> tuple[Any, ...]:
    """
    Return copies of everything the store holds.
    """
    data = store._data
    return (
        dict(data.rows),
        {key: list(rows) for key, rows in data.logs.items()},
        dict(data.pairs),
        dict(data.tombstones),
        list(data.decisions),
    )


@pytest.fixture(name="store")
def _store() -> MemoryStore:
    store = MemoryStore(audit=True)
    store.record(make("a", "connection_accepted", 0, direction="inbound"))
    store.check("ana", BO, "message", at=day(1))
    return store


def test_a_failed_forget_changes_nothing(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    An error after the erasure puts back the log, the pair and the decisions.
    """
    before = state(store)

    def fail(*_: object) -> None:
        raise RuntimeError

    monkeypatch.setattr(_MemoryTransaction, "put_tombstone", fail)

    with pytest.raises(RuntimeError):
        store.forget(BO)

    assert before == state(store)


@pytest.mark.parametrize("contact", [BO, "zed"])
def test_a_failed_perform_changes_nothing(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch, contact: str
) -> None:
    """
    An error after recording undoes the record and the logged decision, for a new or a known pair.
    """
    store.record(make("z", "connection_accepted", 0, contact="zed", direction="inbound"))
    before = state(store)
    append = _MemoryTransaction.append

    def fail(tx: _MemoryTransaction, *args: Any) -> None:
        append(tx, *args)
        raise RuntimeError

    monkeypatch.setattr(_MemoryTransaction, "append", fail)

    with pytest.raises(RuntimeError):
        store.perform("ana", contact, "message", at=day(2))

    assert before == state(store)


def test_a_new_pair_is_undone_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A failed first record of a pair leaves no trace of the pair.
    """
    store = MemoryStore()
    append = _MemoryTransaction.append

    def fail(tx: _MemoryTransaction, *args: Any) -> None:
        append(tx, *args)
        raise RuntimeError

    monkeypatch.setattr(_MemoryTransaction, "append", fail)

    with pytest.raises(RuntimeError):
        store.record(make("a", "message", 1))

    assert ({}, {}, {}, {}, []) == state(store)


def test_closing_drops_what_it_held(store: MemoryStore) -> None:
    """
    A closed memory store holds no personal data.
    """
    was_closed = store.closed

    store.close()

    assert (False, True) == (was_closed, store.closed)
    assert ({}, {}, {}, {}, []) == state(store)
    assert "MemoryStore(audit=True)" == repr(store)
