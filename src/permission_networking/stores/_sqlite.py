"""
`SQLiteStore`: the embedded ledger, one SQLite file shared by threads and processes.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import sqlite3
import threading
import time

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from typing_extensions import override

from permission_networking._decision import Decision
from permission_networking._relationship import Relationship
from permission_networking._values import Interaction
from permission_networking.exceptions import InvalidRequest, SchemaVersionError, StoreError

from ._ledger import (
    BaseStore,
    Chain,
    ChainRow,
    Head,
    Pair,
    Row,
    Tombstone,
    Transaction,
    dumps,
    pair_columns,
    readable_snapshot,
    stored_pair,
)


__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SQLiteStore"]

SCHEMA_VERSION: Final = 1
"""
The schema version this release writes to ``PRAGMA user_version``.
"""

APPLICATION_ID: Final = 0x504E4C47
"""
``PRAGMA application_id`` of a store's file ("PNLG"), so other databases are not mistaken for one.
"""

_SCHEMA: Final = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """
    CREATE TABLE interactions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        sender TEXT NOT NULL,
        contact TEXT NOT NULL,
        at TEXT NOT NULL,
        body TEXT NOT NULL,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL
    )
    """,
    "CREATE INDEX interactions_by_pair ON interactions (sender, contact, at, id)",
    "CREATE INDEX interactions_by_contact ON interactions (contact)",
    """
    CREATE TABLE pairs (
        sender TEXT NOT NULL,
        contact TEXT NOT NULL,
        count INTEGER NOT NULL,
        head TEXT NOT NULL,
        last_id TEXT,
        snapshot TEXT NOT NULL,
        PRIMARY KEY (sender, contact)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX pairs_by_contact ON pairs (contact)",
    """
    CREATE TABLE tombstones (
        key TEXT PRIMARY KEY,
        erased_at TEXT NOT NULL,
        erased INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        decision_id TEXT NOT NULL UNIQUE,
        sender TEXT,
        contact TEXT,
        at TEXT NOT NULL,
        logged_at TEXT NOT NULL,
        policy TEXT NOT NULL,
        action TEXT NOT NULL,
        allowed INTEGER NOT NULL,
        codes TEXT NOT NULL,
        body TEXT NOT NULL
    )
    """,
    "CREATE INDEX decisions_by_sender ON decisions (sender)",
    "CREATE INDEX decisions_by_contact ON decisions (contact)",
)

# SQLite allows at least 999 parameters in one statement.
_CHUNK: Final = 500


def _at_key(at: datetime) -> str:
    """
    Return *at* as fixed-width UTC text, so that text order is time order.
    """
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def _at_from_key(key: object) -> datetime | None:
    if not isinstance(key, str):
        return None
    try:
        return datetime.fromisoformat(key).replace(tzinfo=UTC)
    except ValueError:
        return None


def _interaction(body: str) -> Interaction:
    return Interaction.from_dict(json.loads(body))


def _tombstone(path: str, key: object, erased_at: object, erased: object) -> Tombstone:
    # A row the store wrote, unless someone changed the file behind its back.
    try:
        if isinstance(key, str) and isinstance(erased_at, str) and type(erased) is int:
            at = datetime.fromisoformat(erased_at)
            if at.tzinfo is not None:
                return Tombstone(key, at, erased)
    except ValueError:
        pass
    raise StoreError(
        path, f"a suppression record ({erased_at!r}) was changed behind the store's back"
    )


def _text(value: Any) -> Any:
    # A text column the store wrote, as text even if it was rewritten as a blob
    # or a number behind its back: `verify` then compares it with the chain.
    if value is None or type(value) is str:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


_MAX_WAIT: Final = (2**31 - 1) / 1000
# The longest wait SQLite's busy timeout holds (a 32-bit count of milliseconds);
# a longer timeout waits this long rather than overflow into no wait at all.


def _open(path: str, timeout: float) -> tuple[sqlite3.Connection, bytes]:
    timeout = min(timeout, _MAX_WAIT)
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as e:
        raise StoreError(path, f"cannot open the database ({e})") from None
    try:
        return conn, _prepare(conn, path, timeout)
    except sqlite3.DatabaseError as e:
        # Not a lock (those are StoreErrors already): a file damaged or unreadable.
        conn.close()
        raise StoreError(path, f"the database refused it ({e}); nothing was done") from None
    except BaseException:
        conn.close()
        raise


def _prepare(conn: sqlite3.Connection, path: str, timeout: float) -> bytes:
    conn.execute(f"PRAGMA busy_timeout = {int(min(timeout, _MAX_WAIT) * 1000)}")
    try:
        # Checked and created under the write lock, so two new processes cannot both create it.
        conn.execute("BEGIN IMMEDIATE")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        application = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.OperationalError as e:
        conn.rollback()
        raise _busy(path, e, timeout) from None
    except sqlite3.DatabaseError as e:
        conn.rollback()
        raise StoreError(
            path, f"not a SQLite database a store can use ({e}); give a store's file or a new path"
        ) from None
    try:
        _usable(path, version, application, tables)
        if version == 0:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (name, value) VALUES ('key', ?)", (secrets.token_hex(32),)
            )
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        key = _key(conn, path)
        conn.execute("COMMIT")
    except sqlite3.OperationalError as e:
        # COMMIT waits for readers of a file not yet in WAL mode.
        conn.rollback()
        raise _busy(path, e, timeout) from None
    except BaseException:
        conn.rollback()
        raise
    # secure_delete overwrites deleted content, so forget() leaves no trace in free space.
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA temp_store = MEMORY")
    _to_wal(conn, path, timeout)
    if conn.execute("SELECT 1 FROM meta WHERE name = 'vacuum_pending'").fetchone():
        # A forget() committed, then stopped before it rewrote the file.
        _vacuum(conn, path, waited=False)
    return key


def _to_wal(conn: sqlite3.Connection, path: str, timeout: float) -> None:
    # Switching to WAL needs the file to itself for a moment, and SQLite
    # answers "locked" at once rather than wait when another connection is
    # opening it too: wait here, as a busy timeout would.
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode == "wal":
                return
            if mode == "memory":
                raise StoreError(
                    path,
                    "a database in memory cannot be a store's file (it has no write-ahead "
                    "log to share); give a file path, or use MemoryStore",
                )
            error = sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as e:
            error = e
        if time.monotonic() >= deadline or not _is_busy(error):
            raise _busy(path, error, timeout) from None
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _vacuum(conn: sqlite3.Connection, path: str, *, waited: bool) -> None:
    """
    Rewrite the file without free pages and empty the WAL, then clear the pending mark.

    Raises:
        StoreError: Another connection kept it from being done (when *waited*:
            a caller's forget(); on opening, the mark stays for the next time).
    """
    try:
        # VACUUM rewrites the file without free pages; the checkpoint then
        # copies it back from the WAL and truncates the WAL to nothing.
        conn.execute("VACUUM")
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if not busy:
            conn.execute("DELETE FROM meta WHERE name = 'vacuum_pending'")
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.DatabaseError as e:
        if not waited:
            return
        raise StoreError(
            path,
            f"the erasure is done, but the file could not be rewritten ({e}), so it or its "
            "write-ahead log may still hold the erased data; call forget() again when no other "
            "connection is writing (opening the store again also finishes it)",
        ) from None
    if busy and waited:
        raise StoreError(
            path,
            "the erasure is done, but other connections kept reading the database, "
            "so the write-ahead log still holds old pages; close them and call "
            "forget() again to truncate it",
        )


def _usable(path: str, version: int, application: int, tables: int) -> None:
    # A store's file carries its application id; a new one is empty.
    if application != APPLICATION_ID and (application or version or tables):
        raise StoreError(
            path,
            "a SQLite database of another application, not a permission_networking store; "
            "give a store's file or a new path (the file was not changed)",
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(path, version, SCHEMA_VERSION)


def _key(conn: sqlite3.Connection, path: str) -> bytes:
    # The store's own key, which its tombstones are hashed with.
    try:
        row = conn.execute("SELECT value FROM meta WHERE name = 'key'").fetchone()
        return bytes.fromhex(row[0])
    except (sqlite3.DatabaseError, TypeError, ValueError):
        raise StoreError(
            path,
            "a damaged permission_networking store: its key is missing or unreadable, so its "
            "erasures cannot be honoured; restore it from a backup (the file was not changed)",
        ) from None


def _is_busy(error: sqlite3.DatabaseError) -> bool:
    message = str(error)
    return "locked" in message or "busy" in message


def _busy(path: str, error: sqlite3.DatabaseError, timeout: float) -> StoreError:
    message = str(error)
    if not _is_busy(error):
        # Not a lock: a read-only file or directory, a full disk, an I/O error, a damaged file.
        return StoreError(path, f"the database refused it ({message}); nothing was done")
    return StoreError(
        path,
        f"{error}: another connection held the database longer than the timeout of "
        f"{timeout} s; nothing was done, try again",
    )


def _path(path: object) -> str:
    # The database file: a non-empty str or path-like of one, without NUL.
    if not isinstance(path, str | os.PathLike):
        raise InvalidRequest("path", path, "expected a file path, a str or a pathlib.Path")
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip() or "\x00" in text:
        raise InvalidRequest("path", path, "expected the path of a database file")
    return text


def _seconds(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
        raise InvalidRequest("timeout", timeout, "expected a number of seconds, at least 0")
    return float(timeout)


def _reopen(path: str, audit: bool, timeout: float) -> SQLiteStore:  # noqa: FBT001
    return SQLiteStore(path, audit=audit, timeout=timeout)


class SQLiteStore(BaseStore):
    """
    A store in one SQLite file, shared safely by threads and processes.

    It uses the standard library's `sqlite3` in WAL mode with one
    transaction per call: writers take the write lock at the start
    (``BEGIN IMMEDIATE``), so `perform` decides and records before any other
    writer decides on the same data, and a crash leaves every call done or
    not done. Each process opens its own connection: a store passed to
    another process (pickled, or inherited by a fork) opens the file again.

    Args:
        path: The database file; created when missing.
        audit: Log every decision made through the store.
        timeout: How many seconds to wait for another writer before giving up.

    Raises:
        SchemaVersionError: The file was written by a newer release; it is not changed.
        StoreError: The file is not a store's database, or cannot be opened.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with SQLiteStore(pathlib.Path(tmp) / "ledger.db") as store:
    ...         store.relationship("ana", "bo").state
    <RelationshipState.STRANGER: 'stranger'>
    """

    def __init__(
        self, path: str | os.PathLike[str], *, audit: bool = False, timeout: float = 30.0
    ) -> None:
        super().__init__(audit=audit)
        self._path = _path(path)
        self._timeout = _seconds(timeout)
        self._lock = threading.RLock()
        self._conn, self._secret = _open(self._path, timeout)
        self._pid = os.getpid()
        self._inherited: list[sqlite3.Connection] = []

    @property
    def path(self) -> str:
        """
        The database file.
        """
        return self._path

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r}, audit={self._audit!r})"

    def __reduce__(self) -> tuple[Callable[..., SQLiteStore], tuple[str, bool, float]]:
        return (_reopen, (self._path, self._audit, self._timeout))

    @property
    @override
    def _key(self) -> bytes:
        return self._secret

    def _connection(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:
            # A forked child must not use its parent's connection, not even to close it.
            self._inherited.append(self._conn)
            self._conn, self._secret = _open(self._path, self._timeout)
            self._pid = os.getpid()
        return self._conn

    @contextmanager
    @override
    def _begin(self, *, write: bool) -> Iterator[Transaction]:
        with self._lock:
            self._open_or_fail()
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.DatabaseError as e:
                raise _busy(self._path, e, self._timeout) from None
            try:
                yield _SQLiteTransaction(conn, self._path)
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as e:
                # A lock held past the timeout, or a file damaged behind the store's back.
                conn.rollback()
                raise _busy(self._path, e, self._timeout) from None
            except BaseException:
                conn.rollback()
                raise

    @override
    def _after_forget(self) -> None:
        with self._lock:
            if self.closed:
                return  # closed by another thread meanwhile: the next opening finishes it
            _vacuum(self._connection(), self._path, waited=True)

    @override
    def _release(self) -> None:
        with self._lock:
            if os.getpid() == self._pid:
                self._conn.close()


class _SQLiteTransaction:
    """
    One transaction on a `SQLiteStore`'s connection.
    """

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._conn = conn
        self._path = path
        # Most ledgers have no tombstone: learn that once per transaction, not once per pair.
        self._no_tombstones: bool | None = None
        # The pairs read or written in this transaction (None: not stored), so
        # that deciding and then recording, or recording and then reading,
        # reads and decodes a pair's row once.
        self._pairs: dict[tuple[str, str], Pair | None] = {}

    def _all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        return self._conn.execute(sql, parameters).fetchall()

    def _chunked(self, template: str, keys: Sequence[Any], width: int = 1) -> Iterator[Any]:
        """
        Yield the rows of *template* run on each chunk of *keys*, its ``{}`` their placeholders.

        A key is one value, or a tuple of *width* values.
        """
        mark = "?" if width == 1 else f"({', '.join('?' * width)})"
        size = _CHUNK // width
        for start in range(0, len(keys), size):
            chunk = keys[start : start + size]
            values = chunk if width == 1 else list(itertools.chain.from_iterable(chunk))
            yield from self._conn.execute(template.format(", ".join([mark] * len(chunk))), values)

    def bodies(self, ids: Collection[str]) -> dict[str, str]:
        return dict(
            self._chunked("SELECT id, body FROM interactions WHERE id IN ({})", list(set(ids)))
        )

    def pair(self, sender: str, contact: str) -> Pair | None:
        key = (sender, contact)
        if key in self._pairs:
            return self._pairs[key]
        rows = self._all(
            "SELECT count, head, last_id, snapshot FROM pairs WHERE sender = ? AND contact = ?",
            key,
        )
        found = self._pairs[key] = stored_pair(*rows[0]) if rows else None
        return found

    def some_pairs(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], Pair]:
        cache = self._pairs
        unread = [key for key in keys if key not in cache]
        if unread:
            # A join against VALUES searches the primary key once for each pair.
            rows = self._chunked(
                "SELECT p.sender, p.contact, p.count, p.head, p.last_id, p.snapshot FROM "
                "(VALUES {}) AS v JOIN pairs AS p ON p.sender = v.column1 AND p.contact = v.column2",
                unread,
                width=2,
            )
            cache.update(dict.fromkeys(unread))
            cache.update(((sender, contact), stored_pair(*row)) for sender, contact, *row in rows)
        return {key: pair for key in keys if (pair := cache[key]) is not None}

    def log(self, sender: str, contact: str, *, upto: datetime | None = None) -> list[Interaction]:
        if upto is None:
            rows = self._all(
                "SELECT body FROM interactions WHERE sender = ? AND contact = ? ORDER BY at, id",
                (sender, contact),
            )
        else:
            rows = self._all(
                "SELECT body FROM interactions WHERE sender = ? AND contact = ? AND at <= ? "
                "ORDER BY at, id",
                (sender, contact, _at_key(upto)),
            )
        return [_interaction(body) for (body,) in rows]

    def append(self, pairs: Sequence[Pair], rows: Sequence[Row]) -> None:
        self._conn.executemany(
            "INSERT INTO interactions (id, sender, contact, at, body, prev, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    row.interaction.id,
                    row.interaction.sender,
                    row.interaction.contact,
                    _at_key(row.interaction.at),
                    row.body,
                    row.prev,
                    row.hash,
                )
                for row in rows
            ],
        )
        self._conn.executemany(
            "INSERT OR REPLACE INTO pairs (sender, contact, count, head, last_id, snapshot) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [pair_columns(pair) for pair in pairs],
        )
        self._pairs.update(((p.snapshot.sender, p.snapshot.contact), p) for p in pairs)

    def pairs(self, sender: str | None) -> Iterator[Pair]:
        columns = "SELECT count, head, last_id, snapshot FROM pairs"
        if sender is None:
            rows = self._all(f"{columns} ORDER BY sender, contact")
        else:
            rows = self._all(f"{columns} WHERE sender = ? ORDER BY contact", (sender,))
        return (stored_pair(*row) for row in rows)

    def tombstoned(self) -> bool:
        if self._no_tombstones is None:
            self._no_tombstones = not self._all("SELECT 1 FROM tombstones LIMIT 1")
        return not self._no_tombstones

    def tombstone(self, key: str) -> Tombstone | None:
        return self.some_tombstones([key]).get(key) if self.tombstoned() else None

    def some_tombstones(self, keys: Collection[str]) -> dict[str, Tombstone]:
        rows = self._chunked(
            "SELECT key, erased_at, erased FROM tombstones WHERE key IN ({})", list(keys)
        )
        return {
            key: _tombstone(self._path, key, erased_at, erased) for key, erased_at, erased in rows
        }

    def tombstones(self) -> Mapping[str, Tombstone]:
        return {
            key: _tombstone(self._path, key, erased_at, erased)
            for key, erased_at, erased in self._all("SELECT key, erased_at, erased FROM tombstones")
        }

    def put_tombstone(self, tombstone: Tombstone) -> None:
        self._no_tombstones = False
        self._conn.execute(
            "INSERT OR REPLACE INTO tombstones (key, erased_at, erased) VALUES (?, ?, ?)",
            (tombstone.key, tombstone.erased_at.isoformat(), tombstone.erased),
        )

    def erase(self, contact: str, scrub: Callable[[Decision], Decision]) -> int:
        # Marked in the erasure's own transaction, cleared once the file is
        # rewritten: a store opened after a crash in between finishes it.
        self._conn.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('vacuum_pending', '1')"
        )
        erased = self._conn.execute(
            "DELETE FROM interactions WHERE contact = ?", (contact,)
        ).rowcount
        self._conn.execute("DELETE FROM pairs WHERE contact = ?", (contact,))
        self._pairs.clear()
        for seq, body in self._all("SELECT seq, body FROM decisions WHERE contact = ?", (contact,)):
            decision = scrub(Decision.from_dict(json.loads(body)))
            self._conn.execute(
                "UPDATE decisions SET contact = ?, body = ? WHERE seq = ?",
                (decision.contact, dumps(decision.to_dict()), seq),
            )
        return erased

    def log_decision(self, decision: Decision) -> None:
        self._conn.execute(
            "INSERT INTO decisions (decision_id, sender, contact, at, logged_at, policy, "
            "action, allowed, codes, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                decision.decision_id,
                decision.sender,
                decision.contact,
                _at_key(decision.at),
                _at_key(datetime.now(UTC)),
                decision.policy,
                decision.action.value,
                decision.allowed,
                " ".join(decision.codes),
                dumps(decision.to_dict()),
            ),
        )

    def decisions(self, sender: str | None, contacts: Collection[str] | None) -> list[Decision]:
        clauses: list[str] = []
        parameters: list[str] = []
        if sender is not None:
            clauses.append("sender = ?")
            parameters.append(sender)
        if contacts is not None:
            clauses.append(f"contact IN ({', '.join('?' * len(contacts))})")
            parameters.extend(contacts)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._all(f"SELECT body FROM decisions{where} ORDER BY seq", parameters)  # noqa: S608
        return [Decision.from_dict(json.loads(body)) for (body,) in rows]

    def chains(self) -> Iterator[Chain]:
        heads: dict[tuple[str, str], tuple[Head, Relationship | None]] = {}
        for row in self._all("SELECT sender, contact, count, head, last_id, snapshot FROM pairs"):
            sender, contact, head, last_id, snapshot = map(_text, (*row[:2], *row[3:]))
            count = row[2]
            heads[sender, contact] = (Head(count, head, last_id), readable_snapshot(snapshot))
        raw = self._all(
            "SELECT id, sender, contact, at, body, prev, hash, seq FROM interactions "
            "ORDER BY sender, contact, seq"
        )
        rows = [(*map(_text, row[:7]), row[7]) for row in raw]
        if any(type(row[1]) is not str or type(row[2]) is not str for row in raw):
            rows.sort(key=lambda row: (row[1], row[2], row[7]))
        logs = {
            pair: [
                ChainRow(key, sender, contact, _at_from_key(at), body, prev, digest)
                for key, sender, contact, at, body, prev, digest, _ in group
            ]
            for pair, group in itertools.groupby(rows, key=lambda row: (row[1], row[2]))
        }
        for key in sorted({*heads, *logs}):
            head, snapshot = heads.get(key, (None, None))
            yield Chain(key[0], key[1], logs.get(key, []), head, snapshot)
