"""
verify() finds interactions changed, removed or inserted behind a store's back.
"""

from __future__ import annotations

import sqlite3

from contextlib import closing
from pathlib import Path
from typing import Any

import attrs
import pytest

from permission_networking import Interaction
from permission_networking.stores import MemoryStore, ProblemKind, SQLiteStore, Verification
from permission_networking.stores._ledger import canonical, link
from timeline import day


BO = "bo@example.org"
K = ProblemKind


def make(id: str, kind: str, at: float, **kw: Any) -> Interaction:  # noqa: A002
    """
    Build an interaction of the pair (ana, bo) at day *at*.
    """
    return Interaction(id, "ana", BO, kind, day(at), **kw)


@pytest.fixture(name="path")
def _path(tmp_path: Path) -> Path:
    """
    A ledger whose pair (ana, bo) was appended as a, b, c, d, beside another pair.
    """
    path = tmp_path / "ledger.db"
    with SQLiteStore(path) as store:
        store.record_many(
            [
                make("a", "connection_accepted", 0, direction="inbound"),
                make("b", "message", 2),
            ]
        )
        store.record(make("c", "message", 1))
        store.record(make("d", "message", 3, direction="inbound"))
        store.record(Interaction("e", "cy", "di", "message", day(1)))
    return path


def tamper(path: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """
    Run SQL on the file with a connection of its own, as an intruder would.
    """
    with closing(sqlite3.connect(path)) as conn:
        for sql, parameters in statements:
            conn.execute(sql, parameters)
        conn.commit()


def column(path: Path, sql: str, parameters: tuple[Any, ...] = ()) -> Any:
    """
    Read one value from the file.
    """
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, parameters).fetchone()[0]


def verify(path: Path) -> Verification:
    """
    Open the file as a store and verify it.
    """
    with SQLiteStore(path) as store:
        return store.verify()


def found(verification: Verification) -> list[tuple[str, str, str | None]]:
    """
    Return each problem as (kind, sender, id).
    """
    return [(p.kind, p.sender, p.id) for p in verification.problems]


def test_an_untouched_file_verifies(path: Path) -> None:
    """
    A ledger nobody touched verifies, every interaction checked.
    """
    assert Verification(ok=True, checked=5) == verify(path)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE interactions SET body = replace(body, 'message', 'pitch') WHERE id = 'b'",
            [(K.CHANGED, "ana", "b")],
        ),
        (
            "UPDATE interactions SET at = '2026-01-01T00:00:00.000000' WHERE id = 'c'",
            [(K.CHANGED, "ana", "c")],
        ),
        ("UPDATE interactions SET at = x'35' WHERE id = 'c'", [(K.CHANGED, "ana", "c")]),
        ("UPDATE interactions SET at = 'yesterday' WHERE id = 'c'", [(K.CHANGED, "ana", "c")]),
        ("DELETE FROM interactions WHERE id = 'b'", [(K.REMOVED, "ana", None)]),
        ("DELETE FROM interactions WHERE id = 'a'", [(K.REMOVED, "ana", None)]),
        ("DELETE FROM interactions WHERE id = 'd'", [(K.REMOVED, "ana", "d")]),
        ("DELETE FROM interactions WHERE sender = 'ana'", [(K.REMOVED, "ana", "d")]),
        (
            (
                "INSERT INTO interactions (id, sender, contact, at, body, prev, hash) VALUES "
                "('x', 'ana', 'bo@example.org', '2026-03-03T09:00:00.000000', '{}', 'p', 'h')"
            ),
            [(K.INSERTED, "ana", "x")],
        ),
        (
            "DELETE FROM pairs WHERE sender = 'ana'",
            [(K.INSERTED, "ana", i) for i in "abcd"],
        ),
        ("UPDATE pairs SET count = 9 WHERE sender = 'ana'", [(K.CHANGED, "ana", None)]),
        (
            "UPDATE pairs SET snapshot = replace(snapshot, '\"unanswered\":0', '\"unanswered\":7')",
            [(K.CHANGED, "ana", None)],
        ),
        ("UPDATE pairs SET snapshot = 'garbage' WHERE sender = 'ana'", [(K.CHANGED, "ana", None)]),
        (
            "UPDATE interactions SET hash = '" + "f" * 64 + "' WHERE id = 'b'",
            [(K.REMOVED, "ana", None), (K.CHANGED, "ana", "b")],
        ),
        (
            "UPDATE interactions SET sender = 'eve' WHERE id = 'b'",
            [(K.REMOVED, "ana", None), (K.INSERTED, "eve", "b")],
        ),
    ],
)
def test_edits_behind_the_stores_back_are_found(
    path: Path, sql: str, expected: list[tuple[str, str, str | None]]
) -> None:
    """
    A row changed, removed or inserted with SQL is reported, and nothing else.
    """
    tamper(path, (sql, ()))

    verification = verify(path)

    assert not verification
    assert expected == found(verification)


def test_a_removed_row_is_located(path: Path) -> None:
    """
    A row removed from the middle is reported before the row that followed it.
    """
    tamper(path, ("DELETE FROM interactions WHERE id = 'b'", ()))

    (problem,) = verify(path).problems

    assert ("ana", BO) == (problem.sender, problem.contact)
    assert "an interaction before 'c' is missing" == problem.detail


@pytest.mark.parametrize("after", ["a", "d"])
def test_a_well_linked_insertion_is_found(path: Path, after: str) -> None:
    """
    A row linked into the chain with a correct hash is still reported as inserted.
    """
    prev = column(path, "SELECT hash FROM interactions WHERE id = ?", (after,))
    body = canonical(make("x", "pitch", 2.5))
    tamper(
        path,
        (
            (
                "INSERT INTO interactions (id, sender, contact, at, body, prev, hash) "
                "VALUES ('x', 'ana', ?, '2026-03-04T21:00:00.000000', ?, ?, ?)"
            ),
            (BO, body, prev, link(prev, body)),
        ),
    )

    assert [(K.INSERTED, "ana", "x")] == found(verify(path))


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        canonical(make("z", "message", 3, direction="inbound")),
    ],
)
def test_a_rehashed_row_that_does_not_read_back_is_changed(path: Path, body: str) -> None:
    """
    A row whose hash was recomputed still fails when its body is not the interaction its columns name.
    """
    prev = column(path, "SELECT prev FROM interactions WHERE id = 'd'")
    digest = link(prev, body)
    tamper(
        path,
        ("UPDATE interactions SET body = ?, hash = ? WHERE id = 'd'", (body, digest)),
        ("UPDATE pairs SET head = ? WHERE sender = 'ana'", (digest,)),
    )

    assert [(K.CHANGED, "ana", "d")] == found(verify(path))


def test_a_memory_store_finds_a_changed_row() -> None:
    """
    The memory store verifies with the same rules.
    """
    store = MemoryStore()
    store.record_many([make("a", "message", 0), make("b", "message", 1)])
    log = store._data.logs["ana", BO]
    log[1] = attrs.evolve(log[1], body=log[1].body.replace("message", "pitch"))

    assert [(K.CHANGED, "ana", "b")] == found(store.verify())


def test_each_of_two_removals_is_located_and_nothing_else_is_blamed(path: Path) -> None:
    """
    With the first and third rows removed, the row between them is the store's own.
    """
    tamper(path, ("DELETE FROM interactions WHERE id IN ('a', 'c')", ()))

    verification = verify(path)

    assert [ProblemKind.REMOVED, ProblemKind.REMOVED] == [p.kind for p in verification.problems]
    assert {"an interaction before 'b' is missing", "an interaction before 'd' is missing"} == {
        p.detail for p in verification.problems
    }
