"""
Stores: an append-only ledger of interactions that decides on what it holds.

`MemoryStore` keeps the ledger in memory; `SQLiteStore` in one SQLite file
that threads and processes share; `PostgresStore` (in
`permission_networking.stores.postgres`, with the ``postgres`` extra) in a
PostgreSQL database that many servers share. All three implement `Store` and behave the
same on the same calls: recording is idempotent, `perform` decides and
records in one atomic step, each pair's log is hash-chained so `verify`
finds what was changed behind the store's back, and `forget` erases a
contact while keeping them suppressed.

>>> from permission_networking import Interaction
>>> with MemoryStore() as store:
...     _ = store.record(
...         Interaction("c1", "ana", "bo", "connection_accepted", "2026-01-05T09:00:00Z")
...     )
...     store.check("ana", "bo", "message", at="2026-01-06T09:00:00Z").allowed
True
"""

from __future__ import annotations

from ._memory import MemoryStore
from ._protocol import Problem, ProblemKind, Store, Verification
from ._sqlite import SCHEMA_VERSION, SQLiteStore


__all__ = [
    "SCHEMA_VERSION",
    "MemoryStore",
    "Problem",
    "ProblemKind",
    "SQLiteStore",
    "Store",
    "Verification",
]
