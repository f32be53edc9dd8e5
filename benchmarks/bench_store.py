"""
`SQLiteStore`: recording, reading and performing on a large ledger.

The store is filled with the size's interactions (1,000,000 over 100,000
pairs at full size) by `record_many` in batches, in the order they happened
(each batch touches many pairs, as live traffic does), interleaved batch by
batch with a raw `sqlite3` ``executemany`` of the same rows into a plain
table of another file (same journal mode and synchronous setting), one
transaction per batch. On the full store, `relationship()` is timed against a
raw point select of the same pair's row on the same file, and `perform`
(decide and record in one write transaction) against a raw write
transaction that reads one row and inserts one. Beside them, reading and
writing the snapshot of a pair with consent is timed against its JSON alone.
"""

from __future__ import annotations

import functools
import itertools
import json
import random
import sqlite3
import statistics
import tempfile
import time

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from harness import Row, Size, compare, micro
from workload import DAY0, SENDER, stage_relationship

from permission_networking import Interaction, Relationship


_KINDS = (
    ("connection_accepted", "inbound"),
    ("message", "outbound"),
    ("message", "inbound"),
    ("shared_content", "outbound"),
    ("comment", "inbound"),
    ("reaction", "outbound"),
    ("message", "outbound"),
    ("inquiry", "inbound"),
    ("message", "inbound"),
    ("reaction", "inbound"),
)


def contact(pair: int) -> str:
    """
    Return the contact id of pair number *pair*.
    """
    return f"c{pair:07d}@example.com"


def imported(interactions: int, pairs: int) -> Iterator[Interaction]:
    """
    Yield *interactions* spread evenly over *pairs*, pair after pair, as an import reads them.

    Each pair's interactions come together, in time order, one second apart.
    """
    per_pair = -(-interactions // pairs)
    for n in range(interactions):
        pair, step = divmod(n, per_pair)
        kind, direction = _KINDS[step % len(_KINDS)]
        at = DAY0 + timedelta(seconds=n)
        yield Interaction(f"i{n:08d}", SENDER, contact(pair), kind, at, direction=direction)


def live(interactions: int, pairs: int, start: int) -> Iterator[Interaction]:
    """
    Yield *interactions* more, one for each pair in turn, as live traffic arrives.

    Ids and times follow on from the first *start* interactions.
    """
    for n in range(start, start + interactions):
        kind, direction = _KINDS[1 + n % (len(_KINDS) - 1)]
        at = DAY0 + timedelta(seconds=n)
        yield Interaction(f"i{n:08d}", SENDER, contact(n % pairs), kind, at, direction=direction)


def _raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS interactions ("
        "seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, sender TEXT NOT NULL, "
        "contact TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS by_pair ON interactions (sender, contact, at, id)")
    return conn


def _raw_insert(conn: sqlite3.Connection, batch: list[Interaction]) -> None:
    rows = [(i.id, i.sender, i.contact, i.at.isoformat(), json.dumps(i.to_dict())) for i in batch]
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO interactions (id, sender, contact, at, body) VALUES (?, ?, ?, ?, ?)", rows
    )
    conn.execute("COMMIT")


def fill(
    store: Any, size: Size, stream: Iterator[Interaction], raw: Callable[[list[Interaction]], None]
) -> tuple[list[float], list[float]]:
    """
    Record *stream* in batches, each followed by *raw* of the same batch; return both rates.
    """
    ours: list[float] = []
    theirs: list[float] = []
    while batch := list(itertools.islice(stream, size.store_batch)):
        start = time.perf_counter()
        assert len(batch) == store.record_many(batch)
        middle = time.perf_counter()
        raw(batch)
        end = time.perf_counter()
        ours.append(len(batch) / (middle - start))
        theirs.append(len(batch) / (end - middle))
    return ours, theirs


def recording(  # noqa: PLR0913
    group: str,
    case: str,
    ours: list[float],
    theirs: list[float],
    *,
    target: int,
    details: dict[str, Any],
) -> list[Row]:
    """
    Return the rows of one recording run: the store's median rate, and the raw one's.
    """
    record_rate = statistics.median(ours)
    raw_rate = statistics.median(theirs)
    return [
        Row(
            group,
            f"record_many, {case}",
            record_rate,
            "/s",
            raw_rate / record_rate,
            "raw executemany (time)",
            f">= {target:,}/s",
            record_rate >= target,
            {"batches": len(ours), **details},
        ),
        Row(group, f"raw executemany, {case}", raw_rate, "/s", 1.0, "raw executemany (time)"),
    ]


def _recording(size: Size, order: str, ours: list[float], theirs: list[float]) -> list[Row]:
    details = {"first_batch": ours[0], "last_batch": ours[-1]}
    case = f"batches of {size.store_batch:,}, {order}"
    return recording("SQLiteStore", case, ours, theirs, target=50_000, details=details)


def snapshots(size: Size) -> list[Row]:
    """
    Time reading and writing the snapshot of a pair with consent, against its JSON alone.

    The pair opted in to marketing by email and to sales, each with its
    evidence: what a store keeps for most pairs of a consent-based list.
    Reading is `Relationship.from_dict` of the decoded snapshot, against
    ``json.loads`` of its text; writing is `Relationship.to_dict`, against
    ``json.dumps`` of what it gives.
    """
    relationship = stage_relationship("opted_in")
    written = relationship.to_dict()
    text = json.dumps(written)
    namespace = {
        "Relationship": Relationship,
        "relationship": relationship,
        "json": json,
        "written": written,
        "text": text,
    }
    times = compare(
        {
            "read": "Relationship.from_dict(written)",
            "loads": "json.loads(text)",
            "write": "relationship.to_dict()",
            "dumps": "json.dumps(written)",
        },
        namespace,
        size,
    )
    case = "a pair's snapshot with two permissions and their evidence"
    return [
        Row(
            "snapshots",
            f"Relationship.from_dict, {case}",
            micro(times["read"]),
            "us",
            times["read"] / times["loads"],
            "json.loads of its text",
        ),
        Row(
            "snapshots",
            f"Relationship.to_dict, {case}",
            micro(times["write"]),
            "us",
            times["write"] / times["dumps"],
            "json.dumps of its dict",
        ),
    ]


def store(size: Size) -> list[Row]:
    """
    Fill a `SQLiteStore` and time recording, reading and performing on it.
    """
    from permission_networking.stores import SQLiteStore  # noqa: PLC0415

    rows: list[Row] = snapshots(size)
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = Path(tmp) / "raw.db"
        store_path = Path(tmp) / "store.db"
        raw = _raw(raw_path)
        with SQLiteStore(store_path) as ledger:
            stream = imported(size.store_interactions, size.store_pairs)
            ours, theirs = fill(ledger, size, stream, functools.partial(_raw_insert, raw))
            rows.extend(_recording(size, "imported, a pair's interactions together", ours, theirs))
            more = max(size.store_pairs // 5, size.store_batch)
            stream = live(more, size.store_pairs, size.store_interactions)
            ours, theirs = fill(ledger, size, stream, functools.partial(_raw_insert, raw))
            rows.extend(_recording(size, "live, each interaction another pair's", ours, theirs))

            contacts = [contact(n) for n in range(size.store_pairs)]
            random.Random(0).shuffle(contacts)
            point = sqlite3.connect(store_path, isolation_level=None)
            namespace = {
                "ledger": ledger,
                "point": point,
                "sender": SENDER,
                "contacts": itertools.cycle(contacts),
                "writes": itertools.count(),
                "raw": raw,
            }
            raw.execute("CREATE TABLE IF NOT EXISTS performed (id TEXT PRIMARY KEY, body TEXT)")
            times = compare(
                {
                    "relationship": "ledger.relationship(sender, next(contacts))",
                    "point": (
                        "point.execute('SELECT * FROM pairs WHERE sender = ? AND contact = ?', "
                        "(sender, next(contacts))).fetchone()"
                    ),
                },
                namespace,
                size,
            )
            ratio = times["relationship"] / times["point"]
            rows.append(
                Row(
                    "SQLiteStore",
                    "relationship()",
                    micro(times["relationship"]),
                    "us",
                    ratio,
                    "raw point select",
                    "<= 20",
                    ratio <= 20,
                )
            )
            rows.append(
                Row(
                    "SQLiteStore",
                    "raw point select of the pair's row",
                    micro(times["point"]),
                    "us",
                    1.0,
                    "raw point select",
                )
            )
            times = compare(
                {
                    "perform": "ledger.perform(sender, next(contacts), 'message')",
                    "raw": (
                        "raw.execute('BEGIN IMMEDIATE'); "
                        "raw.execute('SELECT * FROM interactions WHERE id = ?', ('i00000001',))"
                        ".fetchone(); "
                        "raw.execute('INSERT INTO performed VALUES (?, ?)', "
                        "(str(next(writes)), '{}')); raw.execute('COMMIT')"
                    ),
                },
                namespace,
                size,
            )
            rows.append(
                Row(
                    "SQLiteStore",
                    "perform(message)",
                    micro(times["perform"]),
                    "us",
                    times["perform"] / times["raw"],
                    "raw write transaction",
                )
            )
            rows.append(
                Row(
                    "SQLiteStore",
                    "raw write transaction (select one row, insert one)",
                    micro(times["raw"]),
                    "us",
                    1.0,
                    "raw write transaction",
                )
            )
            point.close()
        raw.close()
    return rows
