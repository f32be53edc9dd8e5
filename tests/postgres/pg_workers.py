"""
What the processes of ``test_postgres_processes`` run: each opens its own `PostgresStore`.

They live in a module of their own so that a spawned process can import them.
"""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from permission_networking import Interaction
from permission_networking.stores.postgres import PostgresStore


# Only guards against a process that never starts; the race itself takes milliseconds.
START_TIMEOUT = 120


def perform_message(
    dsn: str, schema: str, contact: str, start: Barrier, results: Queue[Any]
) -> None:
    """
    Wait for the others, then perform one message from ana to *contact*.
    """
    with PostgresStore(dsn, schema=schema) as store:
        start.wait(START_TIMEOUT)
        results.put(store.perform("ana", contact, "message").to_dict())


def record_batch(
    dsn: str, schema: str, batch: list[dict[str, Any]], start: Barrier, results: Queue[Any]
) -> None:
    """
    Wait for the others, then record *batch* (``Interaction.to_dict()`` values).
    """
    with PostgresStore(dsn, schema=schema) as store:
        start.wait(START_TIMEOUT)
        results.put(store.record_many(Interaction.from_dict(item) for item in batch))


def open_schema(dsn: str, schema: str, start: Barrier, results: Queue[Any]) -> None:
    """
    Wait for the others, then open a store on *schema* (new to all of them) and record one thing.
    """
    start.wait(START_TIMEOUT)
    with PostgresStore(dsn, schema=schema) as store:
        store.forget("someone@example.org")
        results.put(store.check("ana", "someone@example.org", "message").codes)
