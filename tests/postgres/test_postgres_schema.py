"""
The schema of a PostgresStore: created on first use, upgraded in place, a newer one refused.
"""

from __future__ import annotations

import threading
import uuid

from collections.abc import Iterator

import psycopg
import pytest

from psycopg import sql

from permission_networking import Interaction
from permission_networking.exceptions import SchemaVersionError, StoreError
from permission_networking.stores.postgres import (
    _MIGRATIONS,
    DEFAULT_SCHEMA,
    SCHEMA_VERSION,
    PostgresStore,
)
from postgres.pg_server import new_schema, open_postgres, server
from timeline import day


BO = "bo@example.org"


@pytest.fixture(name="conn")
def _conn() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """
    A connection of the tests' own to the throw-away database.
    """
    with server().connect() as conn:
        yield conn


def version_of(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> object:
    """
    Return the schema version a schema's meta table records.
    """
    query = sql.SQL("SELECT value FROM {}.meta WHERE name = 'schema_version'")
    return conn.execute(query.format(sql.Identifier(schema))).fetchone()


def tables_of(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> list[str]:
    """
    Return the tables of *schema*, sorted.
    """
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (schema,)
    ).fetchall()
    return [str(name) for (name,) in rows]


def test_the_schema_is_created_on_first_use(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """
    A new schema gets the store's tables and records the current schema version.
    """
    with open_postgres() as store:
        schema = store.schema

    assert ["decisions", "interactions", "meta", "pairs", "tombstones"] == tables_of(conn, schema)
    assert (str(SCHEMA_VERSION),) == version_of(conn, schema)


def test_the_default_schema_is_named_after_the_library() -> None:
    """
    Without a schema argument the tables live in the permission_networking schema.
    """
    assert "permission_networking" == DEFAULT_SCHEMA
    if not server().throwaway:
        pytest.skip("the default schema is left alone in a database the tests did not create")
    with PostgresStore(server().dsn) as store:
        assert DEFAULT_SCHEMA == store.schema


def test_reopening_keeps_the_ledger_and_its_key() -> None:
    """
    A store opened again on a schema sees what was recorded and who was forgotten.
    """
    with open_postgres() as store:
        schema = store.schema
        store.record(
            Interaction("a", "ana", BO, "connection_accepted", day(0), direction="inbound")
        )
        store.forget("cy@example.org")

    with open_postgres(schema=schema) as store:
        assert ["a"] == [i.id for i in store.history("ana", BO)]
        assert store.relationship("ana", "cy@example.org").do_not_contact


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
def test_an_earlier_version_is_upgraded_in_place(
    conn: psycopg.Connection[tuple[object, ...]], version: int
) -> None:
    """
    A schema written by any earlier release (0: created but empty) is brought up to date.
    """
    schema = new_schema()
    s = sql.Identifier(schema)
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(s))
    with conn.transaction():
        for migrate in _MIGRATIONS[:version]:
            migrate(conn, s)
        if version:
            conn.execute(
                sql.SQL("INSERT INTO {}.meta (name, value) VALUES ('schema_version', %s)").format(
                    s
                ),
                (str(version),),
            )

    with open_postgres(schema=schema) as store:
        store.record(
            Interaction("a", "ana", BO, "connection_accepted", day(0), direction="inbound")
        )
        assert store.verify()

    assert (str(SCHEMA_VERSION),) == version_of(conn, schema)


def test_a_newer_schema_is_refused_and_left_alone(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """
    A schema from a newer release raises SchemaVersionError naming both versions, and is not changed.
    """
    with open_postgres() as store:
        schema = store.schema
        store.record(
            Interaction("a", "ana", BO, "connection_accepted", day(0), direction="inbound")
        )
    newer = SCHEMA_VERSION + 1
    conn.execute(
        sql.SQL("UPDATE {}.meta SET value = %s WHERE name = 'schema_version'").format(
            sql.Identifier(schema)
        ),
        (str(newer),),
    )

    with pytest.raises(SchemaVersionError, match="upgrade permission_networking") as raised:
        open_postgres(schema=schema)

    assert (newer, SCHEMA_VERSION) == (raised.value.found, raised.value.supported)
    assert schema in str(raised.value)
    assert (str(newer),) == version_of(conn, schema)
    rows = conn.execute(sql.SQL("SELECT id FROM {}.interactions").format(sql.Identifier(schema)))
    assert [("a",)] == rows.fetchall()


def test_a_schema_of_another_application_is_refused(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """
    A schema holding other tables is not taken over: StoreError, and nothing is added.
    """
    schema = new_schema()
    s = sql.Identifier(schema)
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(s))
    conn.execute(sql.SQL("CREATE TABLE {}.customers (id int)").format(s))

    with pytest.raises(StoreError, match="not a permission_networking ledger"):
        open_postgres(schema=schema)

    assert ["customers"] == tables_of(conn, schema)


def test_a_meta_table_without_a_version_is_refused(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """
    A meta table that records no schema version is not mistaken for a store's.
    """
    schema = new_schema()
    s = sql.Identifier(schema)
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(s))
    conn.execute(sql.SQL("CREATE TABLE {}.meta (name text, value text)").format(s))

    with pytest.raises(StoreError, match="not a permission_networking ledger"):
        open_postgres(schema=schema)

    assert ["meta"] == tables_of(conn, schema)


@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM {}.meta WHERE name = 'key'",
        "UPDATE {}.meta SET value = 'not hex' WHERE name = 'key'",
    ],
)
def test_a_ledger_without_its_key_is_refused_and_left_alone(
    conn: psycopg.Connection[tuple[object, ...]], damage: str
) -> None:
    """
    A ledger whose key was lost raises StoreError, since its erasures could not be honoured.
    """
    with open_postgres() as store:
        schema = store.schema
    conn.execute(sql.SQL(damage).format(sql.Identifier(schema)))
    before = conn.execute(
        sql.SQL("SELECT * FROM {}.meta ORDER BY name").format(sql.Identifier(schema))
    ).fetchall()

    with pytest.raises(StoreError, match="damaged"):
        open_postgres(schema=schema)

    assert (
        before
        == conn.execute(
            sql.SQL("SELECT * FROM {}.meta ORDER BY name").format(sql.Identifier(schema))
        ).fetchall()
    )


def test_threads_opening_a_new_schema_create_it_once() -> None:
    """
    Stores opened at once on one new schema share one ledger and one key.
    """
    schema = new_schema()
    start = threading.Barrier(4)
    stores: list[PostgresStore] = []

    def worker() -> None:
        start.wait()
        stores.append(open_postgres(schema=schema))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert 4 == len(stores)
    stores[0].forget("cy@example.org")
    assert [True] * 4 == [s.relationship("ana", "cy@example.org").do_not_contact for s in stores]
    for store in stores:
        store.close()


def test_any_schema_name_is_quoted() -> None:
    """
    A schema name with capitals, spaces and quotes names exactly that schema.
    """
    schema = f'Odd "name"; {uuid.uuid4().hex[:8]}'
    server().schemas.append(schema)
    with open_postgres(schema=schema) as store:
        store.record(
            Interaction("a", "ana", BO, "connection_accepted", day(0), direction="inbound")
        )

    with open_postgres(schema=schema) as store:
        assert 1 == len(store.history("ana", BO))


def test_a_role_that_cannot_create_the_schema_is_told_what_it_needs(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """
    Without the right to create the schema, opening a store says what the role needs.
    """
    superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if superuser.fetchone() != (True,):
        pytest.skip("the test role cannot create another role")
    role = f"pn_{uuid.uuid4().hex[:12]}"
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    dsn = psycopg.conninfo.make_conninfo(server().dsn, user=role)
    try:
        with pytest.raises(StoreError, match="cannot set up the store's tables"):
            PostgresStore(dsn, schema=new_schema())
    finally:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
