"""
verify() on PostgreSQL finds interactions changed, removed or inserted with SQL behind its back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from psycopg import sql

from permission_networking import Interaction
from permission_networking.exceptions import StoreError
from permission_networking.stores import ProblemKind, Verification
from permission_networking.stores._ledger import canonical, link
from permission_networking.stores.postgres import PostgresStore
from postgres.pg_server import open_postgres, server
from timeline import day


BO = "bo@example.org"
K = ProblemKind


def make(id: str, kind: str, at: float, **kw: Any) -> Interaction:  # noqa: A002
    """
    Build an interaction of the pair (ana, bo) at day *at*.
    """
    return Interaction(id, "ana", BO, kind, day(at), **kw)


@pytest.fixture(name="store")
def _store() -> Iterator[PostgresStore]:
    """
    A ledger whose pair (ana, bo) was appended as a, b, c, d, beside another pair.
    """
    with open_postgres() as store:
        store.record_many(
            [make("a", "connection_accepted", 0, direction="inbound"), make("b", "message", 2)]
        )
        store.record(make("c", "message", 1))
        store.record(make("d", "message", 3, direction="inbound"))
        store.record(Interaction("e", "cy", "di", "message", day(1)))
        yield store


def tamper(store: PostgresStore, statement: str, parameters: tuple[Any, ...] = ()) -> None:
    """
    Run SQL on the store's tables with a connection of its own, as an intruder would.
    """
    with server().connect() as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema)))
        conn.execute(statement, parameters)


def value(store: PostgresStore, statement: str) -> Any:
    """
    Read one value from the store's tables.
    """
    with server().connect() as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema)))
        row = conn.execute(statement).fetchone()
    assert row is not None
    return row[0]


def found(verification: Verification) -> list[tuple[str, str, str | None]]:
    """
    Return each problem as (kind, sender, id).
    """
    return [(p.kind, p.sender, p.id) for p in verification.problems]


def test_an_untouched_ledger_verifies(store: PostgresStore) -> None:
    """
    A ledger nobody touched verifies, every interaction checked.
    """
    assert Verification(ok=True, checked=5) == store.verify()


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "UPDATE interactions SET body = replace(body, 'message', 'pitch') WHERE id = 'b'",
            [(K.CHANGED, "ana", "b")],
        ),
        (
            "UPDATE interactions SET at = '2026-01-01T00:00:00Z' WHERE id = 'c'",
            [(K.CHANGED, "ana", "c")],
        ),
        ("UPDATE interactions SET at = 'infinity' WHERE id = 'c'", [(K.CHANGED, "ana", "c")]),
        ("DELETE FROM interactions WHERE id = 'b'", [(K.REMOVED, "ana", None)]),
        ("DELETE FROM interactions WHERE id = 'd'", [(K.REMOVED, "ana", "d")]),
        ("DELETE FROM interactions WHERE sender = 'ana'", [(K.REMOVED, "ana", "d")]),
        (
            (
                "INSERT INTO interactions (id, sender, contact, at, body, prev, hash) VALUES "
                "('x', 'ana', 'bo@example.org', '2026-03-03T09:00:00Z', '{}', 'p', 'h')"
            ),
            [(K.INSERTED, "ana", "x")],
        ),
        (
            (
                "INSERT INTO interactions (id, sender, contact, at, body, prev, hash) VALUES "
                "('x', 'zed', 'bo@example.org', '2026-03-03T09:00:00Z', '{}', 'p', 'h')"
            ),
            [(K.INSERTED, "zed", "x")],
        ),
        ("DELETE FROM pairs WHERE sender = 'ana'", [(K.INSERTED, "ana", i) for i in "abcd"]),
        ("UPDATE pairs SET count = 9 WHERE sender = 'ana'", [(K.CHANGED, "ana", None)]),
        (
            "UPDATE pairs SET snapshot = replace(snapshot, '\"unanswered\":0', '\"unanswered\":7')",
            [(K.CHANGED, "ana", None)],
        ),
        ("UPDATE pairs SET snapshot = 'garbage' WHERE sender = 'ana'", [(K.CHANGED, "ana", None)]),
        (
            "UPDATE interactions SET sender = 'eve' WHERE id = 'b'",
            [(K.REMOVED, "ana", None), (K.INSERTED, "eve", "b")],
        ),
    ],
)
def test_edits_behind_the_stores_back_are_found(
    store: PostgresStore, statement: str, expected: list[tuple[str, str, str | None]]
) -> None:
    """
    A row changed, removed or inserted with SQL is reported, and nothing else.
    """
    tamper(store, statement)

    verification = store.verify()

    assert not verification
    assert expected == found(verification)


def test_a_well_linked_insertion_is_found(store: PostgresStore) -> None:
    """
    A row linked into the chain with a correct hash is still reported as inserted.
    """
    prev = value(store, "SELECT hash FROM interactions WHERE id = 'd'")
    body = canonical(make("x", "pitch", 4))
    tamper(
        store,
        "INSERT INTO interactions (id, sender, contact, at, body, prev, hash) "
        "VALUES ('x', 'ana', %s, %s, %s, %s, %s)",
        (BO, day(4), body, prev, link(prev, body)),
    )

    assert [(K.INSERTED, "ana", "x")] == found(store.verify())


@pytest.mark.parametrize("erased_at", ["infinity", "10000-01-01 00:00+00"])
def test_a_tombstone_time_out_of_range_is_a_store_error(
    store: PostgresStore, erased_at: str
) -> None:
    """
    A suppression record whose time no datetime holds is a StoreError, not a complaint about NUL characters.
    """
    store.forget("bo")
    tamper(store, "UPDATE tombstones SET erased_at = %s::timestamptz", (erased_at,))

    with pytest.raises(StoreError) as raised:
        store.check("ana", "bo", "message")
    assert "NUL" not in str(raised.value)
