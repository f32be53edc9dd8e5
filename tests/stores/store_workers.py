"""
What the processes of ``test_store_processes`` run: each opens the store file itself.

They live in a module of their own so that a spawned process can import them.
"""

from __future__ import annotations

import os
import signal

from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from permission_networking import Interaction
from permission_networking.stores import SQLiteStore
from permission_networking.stores._sqlite import _SQLiteTransaction


# Only guards against a process that never starts; the race itself takes milliseconds.
START_TIMEOUT = 120


def perform_message(path: str, contact: str, start: Barrier, results: Queue[Any]) -> None:
    """
    Wait for the others, then perform one message from ana to *contact*.
    """
    with SQLiteStore(path) as store:
        start.wait(START_TIMEOUT)
        results.put(store.perform("ana", contact, "message").to_dict())


def open_and_record(path: str, contact: str, start: Barrier, results: Queue[Any]) -> None:
    """
    Wait for the others, then open the file (new to all of them) and record one message.
    """
    start.wait(START_TIMEOUT)
    with SQLiteStore(path) as store:
        at = datetime(2026, 3, 2, tzinfo=UTC)
        results.put(store.record(Interaction(contact, "ana", contact, "message", at)).version)


def record_batch(
    path: str, batch: list[dict[str, Any]], start: Barrier, results: Queue[Any]
) -> None:
    """
    Wait for the others, then record *batch* (``Interaction.to_dict()`` values).
    """
    with SQLiteStore(path) as store:
        start.wait(START_TIMEOUT)
        results.put(store.record_many(Interaction.from_dict(item) for item in batch))


def crash_inside(path: str, step: str, call: str, argument: Any) -> None:
    """
    Make *call* on the store, and die (SIGKILL) inside its transaction, once *step* has run.

    *step* names a method of the SQLite transaction that writes (``append``,
    ``erase``, ``put_tombstone``, ``log_decision``): it runs, its statements are
    executed, and the process is killed before the transaction commits, as by
    a power cut or an OOM killer. *call* is ``record_many`` (*argument* a list
    of ``Interaction.to_dict()`` values), ``perform`` or ``forget`` (*argument*
    a contact of ana's).
    """
    written = getattr(_SQLiteTransaction, step)

    def then_die(self: _SQLiteTransaction, *args: Any) -> Any:
        written(self, *args)
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(_SQLiteTransaction, step, then_die)
    with SQLiteStore(path, audit=True) as store:
        if call == "record_many":
            store.record_many(Interaction.from_dict(item) for item in argument)
        elif call == "perform":
            store.perform("ana", argument, "message")
        else:
            store.forget(argument)
