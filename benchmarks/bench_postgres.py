"""
`PostgresStore`: recording batches into a local server.

Runs only when ``PERMISSION_NETWORKING_BENCH_DSN`` (or the test suite's
``PERMISSION_NETWORKING_TEST_DSN``) names a server. The store is filled by
`record_many` in batches, each pair's interactions together as an import
reads them, interleaved batch by batch with a raw psycopg ``executemany`` of
the same rows into a plain table in the same database, one transaction per
batch. Each run uses schemas of its own and drops them afterwards.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import sys
import time
import uuid

from bench_store import imported
from harness import Row, Size


DSN_VARIABLES = ("PERMISSION_NETWORKING_BENCH_DSN", "PERMISSION_NETWORKING_TEST_DSN")
"""
Where the benchmark finds its server, in order.
"""


def _dsn() -> str | None:
    for name in DSN_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


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
    ours: list[float] = []
    theirs: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as raw:
        raw.execute(f"CREATE SCHEMA {raw_schema}")
        raw.execute(
            f"CREATE TABLE {raw_schema}.interactions (seq bigserial PRIMARY KEY, "
            "id text NOT NULL UNIQUE, sender text NOT NULL, contact text NOT NULL, "
            "at timestamptz NOT NULL, body text NOT NULL)"
        )
        try:
            with PostgresStore(dsn, schema=schema) as ledger:
                stream = imported(interactions, pairs)
                while batch := list(itertools.islice(stream, size.store_batch)):
                    start = time.perf_counter()
                    assert len(batch) == ledger.record_many(batch)
                    middle = time.perf_counter()
                    rows = [
                        (i.id, i.sender, i.contact, i.at, json.dumps(i.to_dict())) for i in batch
                    ]
                    with raw.transaction(), raw.cursor() as cursor:
                        cursor.executemany(
                            f"INSERT INTO {raw_schema}.interactions "  # noqa: S608 (our own schema name)
                            "(id, sender, contact, at, body) VALUES (%s, %s, %s, %s, %s)",
                            rows,
                        )
                    end = time.perf_counter()
                    ours.append(len(batch) / (middle - start))
                    theirs.append(len(batch) / (end - middle))
        finally:
            raw.execute(f"DROP SCHEMA IF EXISTS {raw_schema} CASCADE")
            raw.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    rate = statistics.median(ours)
    raw_rate = statistics.median(theirs)
    return [
        Row(
            "PostgresStore",
            f"record_many, batches of {size.store_batch:,}, imported",
            rate,
            "/s",
            raw_rate / rate,
            "raw executemany (time)",
            ">= 20,000/s",
            rate >= 20_000,
            {"batches": len(ours), "interactions": interactions, "pairs": pairs},
        ),
        Row(
            "PostgresStore",
            f"raw executemany, batches of {size.store_batch:,}, imported",
            raw_rate,
            "/s",
            1.0,
            "raw executemany (time)",
        ),
    ]
