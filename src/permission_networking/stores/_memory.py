"""
`MemoryStore`: the ledger in the process's memory, for tests and short-lived tools.
"""

from __future__ import annotations

import functools
import secrets
import threading

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

import attrs

from typing_extensions import override

from permission_networking._decision import Decision
from permission_networking._values import Interaction

from ._ledger import BaseStore, Chain, ChainRow, Pair, Row, Tombstone, Transaction


__all__ = ["MemoryStore"]

K = TypeVar("K")
V = TypeVar("V")


class MemoryStore(BaseStore):
    """
    A store that keeps its ledger in memory, guarded by one lock.

    It behaves like `SQLiteStore` on the same calls, and is safe to share
    between threads; what it holds is gone when it is closed or the process
    ends.

    Args:
        audit: Log every decision made through the store.

    >>> with MemoryStore() as store:
    ...     store.relationship("ana", "bo").state
    <RelationshipState.STRANGER: 'stranger'>
    """

    def __init__(self, *, audit: bool = False) -> None:
        super().__init__(audit=audit)
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        self._data = _Data()

    def __repr__(self) -> str:
        return f"MemoryStore(audit={self._audit!r})"

    @property
    @override
    def _key(self) -> bytes:
        return self._secret

    @contextmanager
    @override
    def _begin(self, *, write: bool) -> Iterator[Transaction]:
        with self._lock:
            self._open_or_fail()
            tx = _MemoryTransaction(self._data)
            try:
                yield tx
            except BaseException:
                tx.rollback()
                raise

    @override
    def _after_forget(self) -> None:
        """
        Nothing to scrub: the store keeps no files.
        """

    @override
    def _release(self) -> None:
        with self._lock:
            self._data = _Data()


@attrs.define
class _Data:
    """
    What a `MemoryStore` holds.
    """

    rows: dict[str, Row] = attrs.Factory(dict)
    logs: dict[tuple[str, str], list[Row]] = attrs.Factory(dict)
    pairs: dict[tuple[str, str], Pair] = attrs.Factory(dict)
    tombstones: dict[str, Tombstone] = attrs.Factory(dict)
    decisions: list[Decision] = attrs.Factory(list)


def _sort_key(interaction: Interaction) -> tuple[datetime, str]:
    return (interaction.at, interaction.id)


class _MemoryTransaction:
    """
    One atomic step on a `MemoryStore`: writes go straight in, with an undo log for errors.
    """

    def __init__(self, data: _Data) -> None:
        self._data = data
        self._undo: list[Callable[[], None]] = []

    def rollback(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    def _put(self, mapping: dict[K, V], key: K, value: V) -> None:
        if key in mapping:
            old = mapping[key]
            self._undo.append(lambda: mapping.__setitem__(key, old))
        else:

            def undo() -> None:
                del mapping[key]

            self._undo.append(undo)
        mapping[key] = value

    def _drop(self, mapping: dict[K, V], key: K) -> None:
        old = mapping.pop(key)
        self._undo.append(lambda: mapping.__setitem__(key, old))

    def bodies(self, ids: Collection[str]) -> dict[str, str]:
        rows = self._data.rows
        return {key: rows[key].body for key in ids if key in rows}

    def pair(self, sender: str, contact: str) -> Pair | None:
        return self._data.pairs.get((sender, contact))

    def log(self, sender: str, contact: str, *, upto: datetime | None = None) -> list[Interaction]:
        rows = self._data.logs.get((sender, contact), ())
        found = [row.interaction for row in rows if upto is None or row.interaction.at <= upto]
        found.sort(key=_sort_key)
        return found

    def some_pairs(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], Pair]:
        pairs = self._data.pairs
        return {key: pairs[key] for key in keys if key in pairs}

    def append(self, pairs: Sequence[Pair], rows: Sequence[Row]) -> None:
        data = self._data
        grown: set[tuple[str, str]] = set()
        for row in rows:
            key = (row.interaction.sender, row.interaction.contact)
            log = data.logs.get(key)
            if log is None:
                log = []
                self._put(data.logs, key, log)
            if key not in grown:
                grown.add(key)
                self._undo.append(functools.partial(log.__delitem__, slice(len(log), None)))
            log.append(row)
            self._put(data.rows, row.interaction.id, row)
        for pair in pairs:
            self._put(data.pairs, (pair.snapshot.sender, pair.snapshot.contact), pair)

    def pairs(self, sender: str | None) -> Iterator[Pair]:
        pairs = self._data.pairs
        return iter([pairs[key] for key in sorted(pairs) if sender is None or key[0] == sender])

    def tombstone(self, key: str) -> Tombstone | None:
        return self._data.tombstones.get(key)

    def tombstoned(self) -> bool:
        return bool(self._data.tombstones)

    def some_tombstones(self, keys: Collection[str]) -> dict[str, Tombstone]:
        tombstones = self._data.tombstones
        return {key: tombstones[key] for key in keys if key in tombstones}

    def tombstones(self) -> Mapping[str, Tombstone]:
        return self._data.tombstones

    def put_tombstone(self, tombstone: Tombstone) -> None:
        self._put(self._data.tombstones, tombstone.key, tombstone)

    def erase(self, contact: str, scrub: Callable[[Decision], Decision]) -> int:
        data = self._data
        # Every pair with a log has a Pair, and every Pair a log.
        keys = [key for key in data.pairs if key[1] == contact]
        erased = 0
        for key in keys:
            for row in data.logs[key]:
                self._drop(data.rows, row.interaction.id)
                erased += 1
            self._drop(data.logs, key)
            self._drop(data.pairs, key)
        decisions = data.decisions
        old = list(decisions)
        decisions[:] = [scrub(d) if d.contact == contact else d for d in decisions]
        self._undo.append(lambda: decisions.__setitem__(slice(None), old))
        return erased

    def log_decision(self, decision: Decision) -> None:
        decisions = self._data.decisions
        decisions.append(decision)
        self._undo.append(lambda: decisions.remove(decision))

    def decisions(self, sender: str | None, contacts: Collection[str] | None) -> list[Decision]:
        return [
            decision
            for decision in self._data.decisions
            if (sender is None or decision.sender == sender)
            and (contacts is None or decision.contact in contacts)
        ]

    def chains(self) -> Iterator[Chain]:
        data = self._data
        for key in sorted({*data.logs, *data.pairs}):
            pair = data.pairs.get(key)
            rows = [
                ChainRow(
                    row.interaction.id,
                    row.interaction.sender,
                    row.interaction.contact,
                    row.interaction.at,
                    row.body,
                    row.prev,
                    row.hash,
                )
                for row in data.logs.get(key, ())
            ]
            yield Chain(
                key[0],
                key[1],
                rows,
                None if pair is None else pair.head,
                None if pair is None else pair.snapshot,
            )
