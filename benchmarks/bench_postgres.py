"""
`PostgresStore`: recording batches into a local server.

Runs only when ``PERMISSION_NETWORKING_BENCH_DSN`` (or the test suite's
``PERMISSION_NETWORKING_TEST_DSN``) names a server. The store is filled by
`record_many` in batches, each pair's interactions together as an import
reads them, then given more in live order (each interaction another pair's,
as `bench_store` does), interleaved batch by batch with a raw psycopg
``executemany`` of the same rows into a plain table in the same database,
one transaction per batch. Each run uses schemas of its own and drops them
afterwards.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import uuid

from typing import Any

from bench_store import fill, imported, live, recording
from harness import Row, Size

from permission_networking import Interaction


DSN_VARIABLES = ("PERMISSION_NETWORKING_BENCH_DSN", "PERMISSION_NETWORKING_TEST_DSN")
"""
Where the benchmark finds its server, in order.
"""


def _dsn() -> str | None:
    for name in DSN_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


def _raw_insert(raw: Any, raw_schema: str, batch: list[Interaction]) -> None:
    rows = [(i.id, i.sender, i.contact, i.at, json.dumps(i.to_dict())) for i in batch]
    with raw.transaction(), raw.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {raw_schema}.interactions "  # noqa: S608 (our own schema name)
            "(id, sender, contact, at, body) VALUES (%s, %s, %s, %s, %s)",
            rows,
        )


def postgres(size: Size) -> list[Row]:
    """
    Time `PostgresStore.record_many` against raw ``executemany`` on the same server.

    Returns no rows (and says so on stderr) when no server is configured.
    """
    dsn = _dsn()
    if dsn is None:
        print(
            f"postgres: skipped, set {DSN_VARIABLES[0]} to a server's connection string",
            file=sys.stderr,
        )
        return []
    import psycopg  # noqa: PLC0415

    from permission_networking.stores.postgres import PostgresStore  # noqa: PLC0415

    # A tenth of the SQLite ledger: a round trip to a server costs more than a local file.
    interactions = max(size.store_interactions // 10, size.store_batch)
    pairs = max(size.store_pairs // 10, 1)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    raw_schema = f"{schema}_raw"
    rows: list[Row] = []
    with psycopg.connect(dsn, autocommit=True) as raw:
        raw.execute(f"CREATE SCHEMA {raw_schema}")
        raw.execute(
            f"CREATE TABLE {raw_schema}.interactions (seq bigserial PRIMARY KEY, "
            "id text NOT NULL UNIQUE, sender text NOT NULL, contact text NOT NULL, "
            "at timestamptz NOT NULL, body text NOT NULL)"
        )
        try:
            with PostgresStore(dsn, schema=schema) as ledger:
                insert = functools.partial(_raw_insert, raw, raw_schema)
                more = max(pairs, size.store_batch)
                runs = (
                    ("imported", imported(interactions, pairs), interactions, pairs),
                    (
                        "live, each interaction another pair's",
                        live(more, pairs, interactions),
                        more,
                        min(more, pairs),
                    ),
                )
                for order, stream, count, touched in runs:
                    ours, theirs = fill(ledger, size, stream, insert)
                    case = f"batches of {size.store_batch:,}, {order}"
                    details = {"interactions": count, "pairs": touched}
                    rows.extend(
                        recording(
                            "PostgresStore", case, ours, theirs, target=20_000, details=details
                        )
                    )
        finally:
            raw.execute(f"DROP SCHEMA IF EXISTS {raw_schema} CASCADE")
            raw.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return rows
