"""
What the processes of ``test_store_processes`` run: each opens the store file itself.

They live in a module of their own so that a spawned process can import them.
"""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from permission_networking import Interaction
from permission_networking.stores import SQLiteStore


# Only guards against a process that never starts; the race itself takes milliseconds.
START_TIMEOUT = 120


def perform_message(path: str, contact: str, start: Barrier, results: Queue[Any]) -> None:
    """
    Wait for the others, then perform one message from ana to *contact*.
    """
    with SQLiteStore(path) as store:
        start.wait(START_TIMEOUT)
        results.put(store.perform("ana", contact, "message").to_dict())


def record_batch(
    path: str, batch: list[dict[str, Any]], start: Barrier, results: Queue[Any]
) -> None:
    """
    Wait for the others, then record *batch* (``Interaction.to_dict()`` values).
    """
    with SQLiteStore(path) as store:
        start.wait(START_TIMEOUT)
        results.put(store.record_many(Interaction.from_dict(item) for item in batch))
