"""
Processes sharing one PostgreSQL ledger lose nothing, double nothing, and pass no limit together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from psycopg import sql

from permission_networking import Decision, Interaction, replay
from permission_networking.stores.postgres import PostgresStore
from postgres import pg_workers
from postgres.pg_server import new_schema, server
from processes import race
from timeline import DAY0


BO = "bo@example.org"


def test_racing_processes_cannot_pass_the_limit_together() -> None:
    """
    Eight processes performing a message on one pair record exactly the limit of three.
    """
    dsn, schema = server().dsn, new_schema()
    with PostgresStore(dsn, schema=schema) as store:
        store.record(Interaction("a", "ana", BO, "connection_accepted", DAY0, direction="inbound"))

    decisions = [
        Decision.from_dict(d) for d in race(pg_workers.perform_message, [(dsn, schema, BO)] * 8)
    ]

    assert 3 == sum(d.allowed for d in decisions)
    assert [("unanswered_limit",)] * 5 == [d.codes for d in decisions if not d.allowed]
    with PostgresStore(dsn, schema=schema) as store:
        history = store.history("ana", BO)
        assert ["connection_accepted"] + ["message"] * 3 == [i.kind for i in history]
        assert 3 == store.relationship("ana", BO).unanswered
        assert store.verify()


def _traffic(count: int, contacts: Callable[[int], str]) -> list[Interaction]:
    return [
        Interaction(
            f"i{n:04d}",
            "ana",
            contacts(n),
            "message",
            DAY0 + timedelta(hours=(n * 7) % 60),
            direction="inbound" if n % 4 == 0 else "outbound",
        )
        for n in range(count)
    ]


def _check_stored(dsn: str, schema: str, items: list[Interaction]) -> None:
    with PostgresStore(dsn, schema=schema) as store:
        for contact in sorted({i.contact for i in items}):
            log = [i for i in items if i.contact == contact]
            assert sorted(log) == store.history("ana", contact)
            assert replay(log) == store.relationship("ana", contact)
        assert len(items) == store.verify().checked
        assert store.verify()


def test_overlapping_batches_lose_and_double_nothing() -> None:
    """
    Four processes recording overlapping batches store every interaction exactly once.
    """
    dsn, schema = server().dsn, new_schema()
    PostgresStore(dsn, schema=schema).close()
    items = _traffic(60, lambda n: BO if n % 3 else "cy")
    batches = [[i.to_dict() for i in items[k * 10 : k * 10 + 30]] for k in range(4)]

    counts = race(pg_workers.record_batch, [(dsn, schema, batch) for batch in batches])

    assert 60 == sum(counts)
    _check_stored(dsn, schema, items)


def test_overlapping_large_batches_lose_and_double_nothing() -> None:
    """
    Batches of many contacts (which lock the whole ledger) race with small ones and lose nothing.
    """
    dsn, schema = server().dsn, new_schema()
    PostgresStore(dsn, schema=schema).close()
    items = _traffic(400, lambda n: f"c{n % 150}@example.org")
    large = [[i.to_dict() for i in items[k * 100 : k * 100 + 200]] for k in range(3)]
    small = [[i.to_dict() for i in items[k : k + 20]] for k in (10, 190, 370)]

    counts = race(pg_workers.record_batch, [(dsn, schema, b) for b in [*large, *small]])

    assert 400 == sum(counts)
    _check_stored(dsn, schema, items)


def test_batches_of_the_same_contacts_in_opposite_orders_lose_nothing() -> None:
    """
    Batches of a few dozen contacts each (locked one by one), in opposite orders, all finish.
    """
    dsn, schema = server().dsn, new_schema()
    PostgresStore(dsn, schema=schema).close()
    items = _traffic(240, lambda n: f"c{n % 60}@example.org")
    batches = [items[:120], items[:59:-1], items[179:59:-1], items[30:90]]

    counts = race(
        pg_workers.record_batch, [(dsn, schema, [i.to_dict() for i in b]) for b in batches]
    )

    assert 240 == sum(counts)
    _check_stored(dsn, schema, items)


def test_processes_opening_a_new_schema_create_it_once() -> None:
    """
    Four processes opening one new schema at once all use the one ledger they created.
    """
    dsn, schema = server().dsn, new_schema()

    codes = race(pg_workers.open_schema, [(dsn, schema)] * 4)

    assert [True] * 4 == ["do_not_contact" in c for c in codes]
    with server().connect() as conn:
        query = sql.SQL("SELECT name FROM {}.meta ORDER BY name").format(sql.Identifier(schema))
        rows = conn.execute(query).fetchall()
    assert [("key",), ("schema_version",)] == rows
