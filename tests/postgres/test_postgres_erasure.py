"""
forget() on PostgreSQL: the contact's rows and strings leave the tables and the table files.
"""

from __future__ import annotations

import os
import uuid

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from psycopg import sql

from permission_networking import Interaction
from permission_networking.exceptions import StoreError
from permission_networking.stores.postgres import PostgresStore
from postgres.pg_server import open_postgres, server
from timeline import day


Conn = psycopg.Connection[tuple[Any, ...]]
TABLES = ("decisions", "interactions", "meta", "pairs", "tombstones")


@pytest.fixture(name="conn")
def _conn() -> Iterator[Conn]:
    """
    A connection of the tests' own to the throw-away database.
    """
    with server().connect() as conn:
        yield conn


@pytest.fixture(name="contact")
def _contact() -> str:
    """
    An identifier that appears nowhere else on the server.
    """
    return f"erase-me-{uuid.uuid4().hex}@example.org"


def fill(store: PostgresStore, contact: str) -> None:
    """
    Record a relationship with *contact* (with evidence naming them), and audit a decision on it.
    """
    store.record_many(
        [
            Interaction(
                f"{contact}-a", "ana", contact, "connection_accepted", day(0), direction="inbound"
            ),
            Interaction(
                f"{contact}-b",
                "ana",
                contact,
                "opt_in_granted",
                day(1),
                direction="inbound",
                purpose="newsletter",
                metadata={"note": f"asked by {contact} " + "x" * 3000},
            ),
            Interaction("other", "ana", "cy@example.org", "message", day(1)),
        ]
    )
    store.check("ana", contact, "message", at=day(2))


def rows_naming(conn: Conn, schema: str, text: str) -> list[str]:
    """
    Return the tables of *schema* that still hold a row whose text contains *text*.
    """
    found = []
    for table in TABLES:
        query = sql.SQL("SELECT count(*) FROM {}.{} AS t WHERE t::text LIKE %s").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        row = conn.execute(query, (f"%{text}%",)).fetchone()
        if row is not None and row[0]:
            found.append(table)
    return found


def files(conn: Conn) -> list[Path]:
    """
    Return the files of the test database in the server's data directory (skip if unreadable).
    """
    row = conn.execute(
        "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('pg_class')"
    ).fetchone()
    assert row is not None
    directory = Path(row[0]).parent
    if not os.access(directory, os.R_OK | os.X_OK):
        message = f"the server's data directory {directory} cannot be read from here"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return [path for path in directory.iterdir() if path.is_file()]


def files_naming(conn: Conn, text: str) -> list[str]:
    """
    Return the names of the database's files that contain *text*, after a checkpoint.
    """
    conn.execute("CHECKPOINT")
    needle = text.encode()
    return [path.name for path in files(conn) if needle in path.read_bytes()]


def filenodes(conn: Conn, schema: str) -> dict[str, int]:
    """
    Return the file number of each of the store's tables.
    """
    rows = conn.execute(
        "SELECT relname, relfilenode FROM pg_class WHERE relnamespace = %s::regnamespace "
        "AND relkind = 'r'",
        (sql.Identifier(schema).as_string(conn),),
    ).fetchall()
    return dict(rows)


def test_forget_erases_the_rows_and_rewrites_the_tables(conn: Conn, contact: str) -> None:
    """
    After forget the contact's text is in no row, and the tables were rewritten to new files.
    """
    with open_postgres(audit=True) as store:
        fill(store, contact)
        before = filenodes(conn, store.schema)

        assert 2 == store.forget(contact)

        assert [] == rows_naming(conn, store.schema, contact)
        after = filenodes(conn, store.schema)
        changed = sorted(name for name in after if after[name] != before[name])
        assert ["decisions", "interactions", "pairs"] == changed
        assert store.relationship("ana", contact).do_not_contact
        assert 1 == len(store.history("ana", "cy@example.org"))
        assert store.verify()


def test_no_file_of_the_database_keeps_the_contact(conn: Conn, contact: str) -> None:
    """
    After forget and a checkpoint, no file of the database (tables, indexes, statistics) holds the contact.
    """
    with open_postgres(audit=True) as store:
        fill(store, contact)
        conn.execute(sql.SQL("ANALYZE {}.interactions").format(sql.Identifier(store.schema)))
        assert files_naming(conn, contact)

        store.forget(contact)

        assert [] == files_naming(conn, contact)


def test_identifiers_keep_no_planner_statistics(conn: Conn, contact: str) -> None:
    """
    ANALYZE keeps no statistics (most common values) of the columns that hold identifiers.
    """
    with open_postgres(audit=True) as store:
        fill(store, contact)
        for table in ("interactions", "pairs", "decisions"):
            conn.execute(
                sql.SQL("ANALYZE {}.{}").format(sql.Identifier(store.schema), sql.Identifier(table))
            )
        rows = conn.execute(
            "SELECT tablename || '.' || attname FROM pg_stats WHERE schemaname = %s",
            (store.schema,),
        ).fetchall()

    kept = {name for (name,) in rows}
    assert {"interactions.at", "pairs.count", "decisions.policy"} <= kept
    personal = {"id", "sender", "contact", "body", "snapshot", "last_id"}
    assert set() == {name for name in kept if name.split(".")[1] in personal}


def test_without_vacuum_the_rows_go_and_the_files_stay(conn: Conn, contact: str) -> None:
    """
    A store opened with vacuum=False deletes the rows but leaves rewriting the tables to the operator.
    """
    with open_postgres(vacuum=False) as store:
        fill(store, contact)
        before = filenodes(conn, store.schema)

        assert 2 == store.forget(contact)

        assert [] == rows_naming(conn, store.schema, contact)
        assert before == filenodes(conn, store.schema)


def test_a_busy_table_delays_the_rewrite_not_the_erasure(conn: Conn, contact: str) -> None:
    """
    When another session holds a table, forget erases, then says the rewrite is still to do.
    """
    with open_postgres(timeout=0.3) as store:
        fill(store, contact)
        conn.execute("BEGIN")
        conn.execute(sql.SQL("SELECT count(*) FROM {}.pairs").format(sql.Identifier(store.schema)))
        try:
            with pytest.raises(StoreError, match="the erasure is done"):
                store.forget(contact)
        finally:
            conn.execute("COMMIT")

        assert [] == rows_naming(conn, store.schema, contact)
        assert store.relationship("ana", contact).do_not_contact
        assert 0 == store.forget(contact)


def test_a_snapshot_older_than_the_erasure_is_reported(conn: Conn, contact: str) -> None:
    """
    Another session's snapshot from before the erasure keeps the rows VACUUM FULL copies: forget says so.

    Any session of the database holding one (a report, a pg_dump of another
    schema) takes no lock on the store's tables, so the rewrite does not wait;
    forget raises, and forget again once that session ended leaves nothing.
    """
    with open_postgres(audit=True) as store:
        fill(store, contact)
        with server().connect() as other:
            other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            other.execute("SELECT 1")

            with pytest.raises(StoreError, match="snapshot taken before it"):
                store.forget(contact)
            other.execute("ROLLBACK")

        assert 0 == store.forget(contact)
        assert [] == files_naming(conn, contact)


def test_a_role_that_does_not_own_the_tables_cannot_rewrite_them(conn: Conn, contact: str) -> None:
    """
    VACUUM FULL by a role that is not the tables' owner skips them with a warning: forget raises.
    """
    role = f"worker_{uuid.uuid4().hex[:8]}"
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        with open_postgres() as owner:
            schema, named = owner.schema, sql.Identifier(owner.schema)
        grantee = sql.Identifier(role)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(named, grantee))
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
                named, grantee
            )
        )
        worker = PostgresStore(
            psycopg.conninfo.make_conninfo(server().dsn, user=role), schema=schema
        )
        with worker:
            fill(worker, contact)
            with pytest.raises(StoreError, match=r"the erasure is done.*skipping"):
                worker.forget(contact)
            assert [] == rows_naming(conn, schema, contact)
    finally:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
