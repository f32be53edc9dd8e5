"""
`PostgresStore`: one ledger in PostgreSQL, shared by workers on many machines.

It needs the optional extra ``permission-networking[postgres]`` (psycopg 3);
the rest of the library never imports this module. It implements the same
`Store` protocol as `SQLiteStore` and passes the same contract suite against
a real server. The deployment (connection string, pool sizing, schema,
backups, what `forget` erases) is described in the documentation's
PostgreSQL page.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import heapq
import json
import os
import random
import secrets
import threading
import time
import weakref

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from itertools import count, groupby
from typing import Any, Concatenate, Final, LiteralString, ParamSpec, TypeAlias, TypeVar, cast

from typing_extensions import override

from permission_networking._decision import Decision
from permission_networking._relationship import Relationship
from permission_networking._values import Interaction
from permission_networking.exceptions import (
    InvalidInteraction,
    InvalidRequest,
    PermissionNetworkingError,
    SchemaVersionError,
    StoreError,
)

from ._ledger import (
    BaseStore,
    Chain,
    ChainRow,
    Head,
    Pair,
    Row,
    Tombstone,
    Transaction,
    _entries,
    _Entry,
    dumps,
    keyed_hash,
    pair_columns,
    readable_snapshot,
    stored_pair,
)


try:
    import psycopg

    from psycopg import errors, sql
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.pq import TransactionStatus
except ImportError as e:
    raise ImportError(
        "permission_networking.stores.postgres needs psycopg 3, which the optional extra "
        "installs: pip install 'permission-networking[postgres]'"
    ) from e


__all__ = ["DEFAULT_SCHEMA", "SCHEMA_VERSION", "PostgresStore"]

DEFAULT_SCHEMA: Final = "permission_networking"
"""
The PostgreSQL schema a store keeps its tables in unless told otherwise.
"""

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

_Params: TypeAlias = Sequence[Any] | None
_Step: TypeAlias = tuple[bytes, _Params, bool]
_Rows: TypeAlias = list[tuple[Any, ...]]

# Rows a server-side cursor fetches per round trip.
_PAGE: Final = 1000
# Queued writes are sent once this many rows wait, so memory stays bounded.
_QUEUE_LIMIT: Final = 20_000
# A batch touching more contacts than this locks the whole ledger instead of each contact.
_FEW_CONTACTS: Final = 64
_ATTEMPTS: Final = 10
_BACKOFF: Final = 0.002
_MAX_IDENTIFIER: Final = 63

_EXCLUSIVE: Final = contextvars.ContextVar(
    "permission_networking_postgres_exclusive", default=False
)
_names = count()
_IN_TRANSACTION: Final = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


def _version_1(conn: psycopg.Connection[Any], s: sql.Identifier) -> None:
    """
    Create the tables of schema version 1, the first release, in the empty schema *s*.

    Columns that can hold personal data keep no planner statistics, so
    ``pg_statistic`` never copies an identifier that `forget` must erase.
    """
    statements: tuple[LiteralString, ...] = (
        "CREATE TABLE {s}.meta (name text PRIMARY KEY, value text NOT NULL)",
        """
        CREATE TABLE {s}.interactions (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text COLLATE "C" NOT NULL UNIQUE,
            sender text COLLATE "C" NOT NULL,
            contact text COLLATE "C" NOT NULL,
            at timestamptz NOT NULL,
            body text NOT NULL,
            prev text NOT NULL,
            hash text NOT NULL
        )
        """,
        "CREATE INDEX interactions_by_pair ON {s}.interactions (sender, contact, at, id)",
        "CREATE INDEX interactions_by_contact ON {s}.interactions (contact)",
        """
        CREATE TABLE {s}.pairs (
            sender text COLLATE "C" NOT NULL,
            contact text COLLATE "C" NOT NULL,
            count bigint NOT NULL,
            head text NOT NULL,
            last_id text COLLATE "C",
            snapshot text NOT NULL,
            PRIMARY KEY (sender, contact)
        )
        """,
        "CREATE INDEX pairs_by_contact ON {s}.pairs (contact)",
        """
        CREATE TABLE {s}.tombstones (
            key text PRIMARY KEY,
            erased_at timestamptz NOT NULL,
            erased bigint NOT NULL
        )
        """,
        """
        CREATE TABLE {s}.decisions (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            decision_id text NOT NULL UNIQUE,
            sender text COLLATE "C",
            contact text COLLATE "C",
            at timestamptz NOT NULL,
            logged_at timestamptz NOT NULL,
            policy text NOT NULL,
            action text NOT NULL,
            allowed boolean NOT NULL,
            codes text[] NOT NULL,
            body text NOT NULL
        )
        """,
        "CREATE INDEX decisions_by_sender ON {s}.decisions (sender)",
        "CREATE INDEX decisions_by_contact ON {s}.decisions (contact)",
        """
        ALTER TABLE {s}.interactions
            ALTER COLUMN id SET STATISTICS 0,
            ALTER COLUMN sender SET STATISTICS 0,
            ALTER COLUMN contact SET STATISTICS 0,
            ALTER COLUMN body SET STATISTICS 0
        """,
        """
        ALTER TABLE {s}.pairs
            ALTER COLUMN sender SET STATISTICS 0,
            ALTER COLUMN contact SET STATISTICS 0,
            ALTER COLUMN last_id SET STATISTICS 0,
            ALTER COLUMN snapshot SET STATISTICS 0
        """,
        """
        ALTER TABLE {s}.decisions
            ALTER COLUMN sender SET STATISTICS 0,
            ALTER COLUMN contact SET STATISTICS 0,
            ALTER COLUMN body SET STATISTICS 0
        """,
    )
    for statement in statements:
        conn.execute(sql.SQL(statement).format(s=s))
    conn.execute(
        sql.SQL("INSERT INTO {s}.meta (name, value) VALUES ('key', %s)").format(s=s),
        (secrets.token_hex(32),),
    )


_MIGRATIONS: Final[tuple[Callable[[psycopg.Connection[Any], sql.Identifier], None], ...]] = (
    _version_1,
)
"""
``_MIGRATIONS[n]`` takes a schema from version ``n`` to ``n + 1`` in place (0 is an empty schema).

A release that changes the schema appends one function and never edits the
earlier ones, so a database of any released version is upgraded step by step.
"""

SCHEMA_VERSION: Final = len(_MIGRATIONS)
"""
The schema version this release writes to the ``meta`` table (``schema_version``).
"""


def _int32(data: bytes) -> int:
    return int.from_bytes(data[:4], "big", signed=True)


def _namespace(schema: str, purpose: str) -> int:
    """
    Return the first key of the advisory locks for *purpose* on *schema*.
    """
    return _int32(hashlib.sha256(f"permission_networking\0{schema}\0{purpose}".encode()).digest())


def _lock_id(key: str) -> int:
    """
    Return the second key of a contact's advisory lock, from its keyed hash.
    """
    return _int32(bytes.fromhex(key[:8]))


def _describe(dsn: str, schema: str) -> str:
    """
    Return how errors name the store: the connection string without secrets, and the schema.
    """
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise InvalidRequest(
            "dsn",
            "<not shown>",
            "not a PostgreSQL connection string: give 'host=... dbname=... user=...' "
            "or 'postgresql://user@host/dbname'",
        ) from None
    shown = [
        f"{name}={params[name]}" for name in ("host", "port", "dbname", "user") if params.get(name)
    ]
    return f"PostgreSQL {' '.join(shown) or '(libpq defaults)'} schema={schema}"


def _interaction(body: str) -> Interaction:
    return Interaction.from_dict(json.loads(body))


def _pair_of(row: Sequence[Any]) -> Pair:
    return stored_pair(*row)


def _no_nul(interaction: Interaction) -> None:
    for field in ("id", "sender", "contact"):
        value = getattr(interaction, field)
        if "\0" in value:
            raise InvalidInteraction(
                field,
                value,
                "PostgreSQL text cannot hold the NUL character (\\x00); remove it",
            )


class _Connection(psycopg.Connection[tuple[Any, ...]]):
    """
    A psycopg connection that knows the process that opened it.
    """

    born: int = 0


class _Queries:
    """
    Every statement a store runs, with its schema filled in, rendered once.
    """

    def __init__(self, schema: str, conn: psycopg.Connection[Any], label: str) -> None:
        s = sql.Identifier(schema)
        self.label = label
        self.namespace = _namespace(schema, "ledger")

        def render(template: LiteralString) -> bytes:
            return sql.SQL(template).format(s=s).as_bytes(conn)

        self.begin_read = b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        self.begin_write = b"BEGIN ISOLATION LEVEL READ COMMITTED"
        self.commit = b"COMMIT"
        self.rollback = b"ROLLBACK"
        self.lock_shared = b"SELECT pg_advisory_xact_lock_shared(%s, 0)"
        self.lock_exclusive = b"SELECT pg_advisory_xact_lock(%s, 0)"
        self.lock_contacts = (
            b"SELECT count(pg_advisory_xact_lock(%s, k)) FROM unnest(%s::int4[]) AS k"
        )
        self.bodies = render("SELECT id, body FROM {s}.interactions WHERE id = ANY(%s::text[])")
        self.pair = render(
            "SELECT count, head, last_id, snapshot FROM {s}.pairs WHERE sender = %s AND contact = %s"
        )
        self.log = render(
            "SELECT body FROM {s}.interactions WHERE sender = %s AND contact = %s ORDER BY at, id"
        )
        self.log_upto = render(
            "SELECT body FROM {s}.interactions WHERE sender = %s AND contact = %s AND at <= %s "
            "ORDER BY at, id"
        )
        # The two writes of every recorded batch take one array per column, sent in binary
        # (no escaping), so that a batch of any size is one statement each.
        self.insert = render(
            "INSERT INTO {s}.interactions (id, sender, contact, at, body, prev, hash) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::timestamptz[], "
            "%b::text[], %b::text[], %b::text[])"
        )
        self.put_pairs = render(
            "INSERT INTO {s}.pairs (sender, contact, count, head, last_id, snapshot) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[], "
            "%b::text[], %b::text[]) "
            "ON CONFLICT (sender, contact) DO UPDATE SET count = EXCLUDED.count, "
            "head = EXCLUDED.head, last_id = EXCLUDED.last_id, snapshot = EXCLUDED.snapshot"
        )
        self.columnar = frozenset({self.insert, self.put_pairs})
        self.pairs = render(
            "SELECT count, head, last_id, snapshot FROM {s}.pairs ORDER BY sender, contact"
        )
        self.pairs_of = render(
            "SELECT count, head, last_id, snapshot FROM {s}.pairs WHERE sender = %s "
            "ORDER BY contact"
        )
        self.some_pairs = render(
            "SELECT sender, contact, count, head, last_id, snapshot FROM {s}.pairs "
            "WHERE (sender, contact) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
        )
        self.some_tombstones = render(
            "SELECT key, erased_at, erased FROM {s}.tombstones WHERE key = ANY(%s::text[])"
        )
        self.tombstones = render("SELECT key, erased_at, erased FROM {s}.tombstones")
        self.put_tombstone = render(
            "INSERT INTO {s}.tombstones (key, erased_at, erased) VALUES (%s, %s, %s) "
            "ON CONFLICT (key) DO UPDATE SET erased_at = EXCLUDED.erased_at, "
            "erased = EXCLUDED.erased"
        )
        self.erase = render(
            "WITH gone AS (DELETE FROM {s}.interactions WHERE contact = %s RETURNING 1) "
            "SELECT count(*) FROM gone"
        )
        self.erase_pairs = render("DELETE FROM {s}.pairs WHERE contact = %s")
        self.decisions_about = render("SELECT seq, body FROM {s}.decisions WHERE contact = %s")
        self.scrub = render("UPDATE {s}.decisions SET contact = %s, body = %s WHERE seq = %s")
        self.log_decision = render(
            "INSERT INTO {s}.decisions (decision_id, sender, contact, at, logged_at, policy, "
            "action, allowed, codes, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        )
        self.decisions = render(
            "SELECT body FROM {s}.decisions WHERE (%s::text IS NULL OR sender = %s::text) "
            "AND (%s::text[] IS NULL OR contact = ANY(%s::text[])) ORDER BY seq"
        )
        self.chain_heads = render(
            "SELECT sender, contact, count, head, last_id, snapshot FROM {s}.pairs "
            "ORDER BY sender, contact"
        )
        self.chain_rows = render(
            "SELECT id, sender, contact, CASE WHEN isfinite(at) THEN at END, body, prev, hash "
            "FROM {s}.interactions ORDER BY sender, contact, seq"
        )
        self.vacuum = render("VACUUM (FULL) {s}.interactions, {s}.pairs, {s}.decisions")
        self.older_snapshots = sql.SQL(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND backend_xmin IS NOT NULL AND xact_start < %s"
        )


def _tables(conn: psycopg.Connection[Any], schema: str) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        (schema,),
    ).fetchall()
    return {name for (name,) in rows}


def _found_version(conn: psycopg.Connection[Any], schema: str, label: str) -> int:
    """
    Return the schema version of the store's tables: 0 when there are none yet.
    """
    s = sql.Identifier(schema)
    tables = _tables(conn, schema)
    if not tables:
        return 0
    foreign = StoreError(
        label,
        "the schema holds tables that are not a permission_networking ledger; "
        "give a schema of its own (nothing was changed)",
    )
    if "meta" not in tables:
        raise foreign
    rows = conn.execute(
        sql.SQL("SELECT value FROM {s}.meta WHERE name = 'schema_version'").format(s=s)
    ).fetchall()
    if not rows or not str(rows[0][0]).isdigit():
        raise foreign
    return int(rows[0][0])


def _prepare(conn: psycopg.Connection[Any], schema: str, label: str) -> bytes:
    """
    Create or upgrade the store's tables in *schema*, and return the store's key.

    It runs in one transaction under an advisory lock, so processes opening
    the same new schema at once create it once.

    Raises:
        SchemaVersionError: A newer release wrote the schema; nothing was changed.
        StoreError: The schema holds other tables, or cannot be created.
    """
    conn.execute(b"BEGIN ISOLATION LEVEL READ COMMITTED")
    try:
        conn.execute(b"SELECT pg_advisory_xact_lock(%s, 0)", (_namespace(schema, "setup"),))
        key = _migrate(conn, schema, _found_version(conn, schema, label), label)
        conn.execute(b"COMMIT")
    except BaseException:
        with suppress(psycopg.Error):
            conn.execute(b"ROLLBACK")
        raise
    return key


def _migrate(conn: psycopg.Connection[Any], schema: str, version: int, label: str) -> bytes:
    """
    Bring the schema from *version* to `SCHEMA_VERSION`, and return the store's key.
    """
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(label, version, SCHEMA_VERSION)
    s = sql.Identifier(schema)
    if not conn.execute(
        b"SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (schema,)
    ).fetchall():
        conn.execute(sql.SQL("CREATE SCHEMA {s}").format(s=s))
    for migrate in _MIGRATIONS[version:]:
        migrate(conn, s)
    if version < SCHEMA_VERSION:
        conn.execute(
            sql.SQL(
                "INSERT INTO {s}.meta (name, value) VALUES ('schema_version', %s) "
                "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"
            ).format(s=s),
            (str(SCHEMA_VERSION),),
        )
    rows = conn.execute(
        sql.SQL("SELECT value FROM {s}.meta WHERE name = 'key'").format(s=s)
    ).fetchall()
    try:
        return bytes.fromhex(str(rows[0][0]))
    except (IndexError, ValueError):
        raise StoreError(
            label,
            "a damaged permission_networking ledger: its key is missing or unreadable, so its "
            "erasures cannot be honoured; restore it from a backup (nothing was changed)",
        ) from None


class _Contention(StoreError):
    """
    The server aborted a step to resolve a conflict with another one; it is retried.
    """


class _Pool:
    """
    The connections of one store: at most *size*, opened when needed, reused when idle.
    """

    def __init__(
        self, connect: Callable[[], _Connection], size: int, timeout: float, label: str
    ) -> None:
        self._connect = connect
        self._size = size
        self._timeout = timeout
        self._label = label
        self._lock = threading.Lock()
        self._idle: list[_Connection] = []
        self._slots = threading.BoundedSemaphore(size)
        self._pid = os.getpid()
        self._closed = False
        # A forked child must not use its parent's connections and cursors, not even to close them.
        self.inherited: list[object] = []

    def get(self) -> _Connection:
        """
        Return an idle connection or a new one, waiting for a free slot.
        """
        with self._lock:
            if os.getpid() != self._pid:
                self.inherited.extend(self._idle)
                self._idle = []
                self._slots = threading.BoundedSemaphore(self._size)
                self._pid = os.getpid()
            slots = self._slots
        if not slots.acquire(timeout=self._timeout):
            raise StoreError(
                self._label,
                f"all {self._size} connections of the store stayed in use for {self._timeout} s "
                "(by other threads, or by iterators of relationships() not read to the end); "
                "finish those iterators or open the store with a larger pool_size",
            )
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is not None:
            return conn
        try:
            return self._connect()
        except BaseException:
            slots.release()
            raise

    def put(self, conn: _Connection) -> None:
        """
        Take *conn* back: keep it for reuse when it is open and idle, else close it.
        """
        with self._lock:
            if conn.born != os.getpid():
                self.inherited.append(conn)
                return
            keep = not self._closed and conn.info.transaction_status == TransactionStatus.IDLE
            if keep:
                self._idle.append(conn)
            slots = self._slots
        if not keep:
            conn.close()
        slots.release()

    def discard_idle(self) -> None:
        """
        Close the idle connections, after one was found lost: the next call opens a fresh one.

        When the server restarted, every idle connection was lost with it;
        trying each in turn would spend a call's every retry on them.
        """
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            if conn.born == os.getpid():
                with contextlib.suppress(psycopg.Error):
                    conn.close()

    def close(self) -> None:
        """
        Close the idle connections; the busy ones are closed when they come back.
        """
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            if conn.born == os.getpid():
                conn.close()


class _Lease:
    """
    A connection checked out for one step, returned when the step and its streams are done.
    """

    def __init__(self, pool: _Pool, conn: _Connection) -> None:
        self.pool = pool
        self.conn = conn
        self._holders = 1
        self._lock = threading.Lock()

    def hold(self) -> None:
        with self._lock:
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            done = self._holders == 0
        if done:
            self.pool.put(self.conn)


class _Stream(Iterator[T]):
    """
    Rows of a server-side cursor, converted one by one; its connection stays leased until the end.

    The cursor is declared ``WITH HOLD``, so it outlives the step that
    opened it: `BaseStore.relationships` reads its pairs after the step.
    """

    def __init__(
        self,
        cursor: psycopg.ServerCursor[Any],
        lease: _Lease,
        convert: Callable[[Any], T],
        label: str,
    ) -> None:
        self._rows = iter(cursor)
        self._convert = convert
        self._label = label
        lease.hold()
        self._finalizer = weakref.finalize(self, _Stream._finish, cursor, lease)

    @staticmethod
    def _finish(cursor: psycopg.ServerCursor[Any], lease: _Lease) -> None:
        if lease.conn.born == os.getpid():
            with suppress(psycopg.Error):
                cursor.close()
        else:
            # In a forked child the cursor is the parent's: leave it alone.
            lease.pool.inherited.append(cursor)
        lease.release()

    def __next__(self) -> T:
        try:
            row = next(self._rows)
        except psycopg.Error as e:
            self.close()
            raise StoreError(self._label, f"reading from the server failed ({_what(e)})") from None
        except BaseException:
            self.close()
            raise
        return self._convert(row)

    def close(self) -> None:
        """
        Close the cursor and give the connection back (if no one else holds it).
        """
        self._finalizer()


class _PostgresTransaction:
    """
    One transaction on a leased connection; it sends its statements in as few round trips as it can.

    ``BEGIN`` (and the ledger lock of a write) go out with the first
    statement, writes wait in a queue until the next read or the
    ``COMMIT``, and each round trip is one pipeline.
    """

    def __init__(self, lease: _Lease, queries: _Queries, *, write: bool, exclusive: bool) -> None:
        self._lease = lease
        self.conn = lease.conn
        self._q = queries
        self._write = write
        self._exclusive = exclusive
        self._held: set[int] = set()
        self._queue: dict[bytes, list[Sequence[Any]]] = {}
        self._queued = 0
        self._streams: list[_Stream[Any]] = []
        # What `prefetch` read, kept up to date by the writes: the locks keep it true.
        self._pairs: dict[tuple[str, str], Pair | None] = {}
        self._tombstones: dict[str, Tombstone | None] = {}
        self.sent = False
        self.committing = False

    def _opening(self) -> list[_Step]:
        if self.sent:
            return []
        if not self._write:
            return [(self._q.begin_read, None, False)]
        lock = self._q.lock_exclusive if self._exclusive else self._q.lock_shared
        return [(self._q.begin_write, None, False), (lock, (self._q.namespace,), False)]

    def _round(self, *steps: _Step) -> list[_Rows]:
        """
        Send the opening, the queued writes and *steps* in one pipeline; return the rows asked for.
        """
        opening = self._opening()
        queue, self._queue, self._queued = self._queue, {}, 0
        if not (opening or queue or steps):
            return []
        conn = self.conn
        cursors: list[psycopg.Cursor[Any]] = []
        with conn.pipeline():
            for query, params, _ in opening:
                conn.execute(query, params)
            self.sent = True
            for query, rows in queue.items():
                if query == self._q.put_pairs:
                    # One statement may not upsert a row twice: keep each pair's last state.
                    rows = list({(row[0], row[1]): row for row in rows}.values())  # noqa: PLW2901
                if query in self._q.columnar:
                    conn.execute(query, [list(column) for column in zip(*rows, strict=True)])
                else:
                    conn.cursor().executemany(query, rows)
            for query, params, wanted in steps:
                cursor = conn.execute(query, params)
                if wanted:
                    cursors.append(cursor)
        return [cursor.fetchall() for cursor in cursors]

    def _fetch(self, query: bytes, params: _Params = None) -> _Rows:
        return self._round((query, params, True))[0]

    def _enqueue(self, query: bytes, rows: Sequence[Sequence[Any]]) -> None:
        self._queue.setdefault(query, []).extend(rows)
        self._queued += len(rows)
        if self._queued >= _QUEUE_LIMIT:
            self._round()

    def _stream(self, query: bytes, params: _Params, convert: Callable[[Any], T]) -> _Stream[T]:
        self._round()
        cursor = self.conn.cursor(name=f"permission_networking_{next(_names)}", withhold=True)
        cursor.itersize = _PAGE
        cursor.execute(query, params)
        stream = _Stream(cursor, self._lease, convert, self._q.label)
        self._streams.append(stream)
        return stream

    def prefetch(self, pairs: Collection[tuple[str, str]], keys: Collection[str]) -> None:
        """
        Lock the contacts of the keyed hashes *keys*, read their tombstones and *pairs*, at once.

        What was read before in the step is not read again. Locks are taken
        in one order, sorted, so two steps cannot deadlock.
        """
        pairs = [pair for pair in pairs if pair not in self._pairs]
        keys = [key for key in keys if key not in self._tombstones]
        if not (pairs or keys):
            return
        steps = self._locking(keys)
        if pairs:
            senders = [sender for sender, _ in pairs]
            contacts = [contact for _, contact in pairs]
            steps.append((self._q.some_pairs, (senders, contacts), True))
        if keys:
            steps.append((self._q.some_tombstones, (keys,), True))
        found = iter(self._round(*steps))
        if pairs:
            self._pairs.update(dict.fromkeys(pairs))
            for sender, contact, *row in next(found):
                self._pairs[sender, contact] = _pair_of(row)
        if keys:
            self._tombstones.update(dict.fromkeys(keys))
            for key, erased_at, erased in next(found):
                self._tombstones[key] = Tombstone(key, erased_at, erased)

    def _locking(self, keys: Iterable[str]) -> list[_Step]:
        wanted = self._wanted(keys)
        if not wanted:
            return []
        return [(self._q.lock_contacts, (self._q.namespace, wanted), False)]

    def _wanted(self, keys: Iterable[str]) -> list[int]:
        if not self._write or self._exclusive:
            return []
        new = sorted({_lock_id(key) for key in keys} - self._held)
        self._held.update(new)
        return new

    def commit(self) -> None:
        """
        Send the queued writes and ``COMMIT``.
        """
        if self.sent or self._queue:
            self.committing = True
            self._round((self._q.commit, None, False))

    def abort(self) -> None:
        """
        Close the streams of the failed step and roll it back, if the connection still can.

        A connection left in a transaction is closed, not reused, by `_Pool.put`.
        """
        for stream in self._streams:
            stream.close()
        if self.conn.info.transaction_status in _IN_TRANSACTION:
            with suppress(psycopg.Error):
                self.conn.execute(self._q.rollback)

    def bodies(self, ids: Collection[str]) -> dict[str, str]:
        return dict(self._fetch(self._q.bodies, (list(ids),)))

    def pair(self, sender: str, contact: str) -> Pair | None:
        if (sender, contact) in self._pairs:
            return self._pairs[sender, contact]
        rows = self._fetch(self._q.pair, (sender, contact))
        return _pair_of(rows[0]) if rows else None

    def log(self, sender: str, contact: str, *, upto: datetime | None = None) -> list[Interaction]:
        if upto is None:
            rows = self._fetch(self._q.log, (sender, contact))
        else:
            rows = self._fetch(self._q.log_upto, (sender, contact, upto))
        return [_interaction(body) for (body,) in rows]

    def some_pairs(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], Pair]:
        self.prefetch(keys, ())
        return {key: pair for key in keys if (pair := self._pairs[key]) is not None}

    def append(self, pairs: Sequence[Pair], rows: Sequence[Row]) -> None:
        self._pairs.update(((p.snapshot.sender, p.snapshot.contact), p) for p in pairs)
        self._enqueue(
            self._q.insert,
            [
                (
                    row.interaction.id,
                    row.interaction.sender,
                    row.interaction.contact,
                    row.interaction.at,
                    row.body,
                    row.prev,
                    row.hash,
                )
                for row in rows
            ],
        )
        self._enqueue(
            self._q.put_pairs,
            [pair_columns(pair) for pair in pairs],
        )

    def pairs(self, sender: str | None) -> Iterator[Pair]:
        if sender is None:
            return self._stream(self._q.pairs, None, _pair_of)
        return self._stream(self._q.pairs_of, (sender,), _pair_of)

    def tombstone(self, key: str) -> Tombstone | None:
        return self.some_tombstones([key]).get(key)

    def tombstoned(self) -> bool:
        # Reading a tombstone locks its contact, so a writer must always read them.
        return True

    def some_tombstones(self, keys: Collection[str]) -> dict[str, Tombstone]:
        self.prefetch((), keys)
        return {key: found for key in keys if (found := self._tombstones[key]) is not None}

    def tombstones(self) -> Mapping[str, Tombstone]:
        return {
            key: Tombstone(key, erased_at, erased)
            for key, erased_at, erased in self._fetch(self._q.tombstones)
        }

    def put_tombstone(self, tombstone: Tombstone) -> None:
        self._tombstones.pop(tombstone.key, None)
        self._enqueue(
            self._q.put_tombstone, [(tombstone.key, tombstone.erased_at, tombstone.erased)]
        )

    def erase(self, contact: str, scrub: Callable[[Decision], Decision]) -> int:
        self._pairs.clear()
        erased, decisions = self._round(
            (self._q.erase, (contact,), True),
            (self._q.erase_pairs, (contact,), False),
            (self._q.decisions_about, (contact,), True),
        )
        scrubbed = []
        for seq, body in decisions:
            decision = scrub(Decision.from_dict(json.loads(body)))
            scrubbed.append((decision.contact, dumps(decision.to_dict()), seq))
        if scrubbed:
            self._enqueue(self._q.scrub, scrubbed)
        return int(erased[0][0])

    def log_decision(self, decision: Decision) -> None:
        self._enqueue(
            self._q.log_decision,
            [
                (
                    decision.decision_id,
                    decision.sender,
                    decision.contact,
                    decision.at,
                    datetime.now(UTC),
                    decision.policy,
                    decision.action.value,
                    decision.allowed,
                    list(decision.codes),
                    dumps(decision.to_dict()),
                )
            ],
        )

    def decisions(self, sender: str | None, contacts: Collection[str] | None) -> list[Decision]:
        wanted = None if contacts is None else list(contacts)
        rows = self._fetch(self._q.decisions, (sender, sender, wanted, wanted))
        return [Decision.from_dict(json.loads(body)) for (body,) in rows]

    def chains(self) -> Iterator[Chain]:
        heads = self._stream(self._q.chain_heads, None, lambda row: ((row[0], row[1]), 0, row))
        rows = self._stream(self._q.chain_rows, None, lambda row: ((row[1], row[2]), 1, row))
        # Both come sorted by pair, so merging them yields each pair's head, then its rows.
        merged = heapq.merge(heads, rows, key=lambda item: item[0])
        for (sender, contact), items in groupby(merged, key=lambda item: item[0]):
            head: Head | None = None
            snapshot: Relationship | None = None
            log: list[ChainRow] = []
            for _, kind, row in items:
                if kind == 0:
                    head = Head(row[2], row[3], row[4])
                    snapshot = readable_snapshot(row[5])
                else:
                    log.append(ChainRow(*row))
            yield Chain(sender, contact, log, head, snapshot)


def _guarded(
    method: Callable[Concatenate[BaseStore, P], R], *, exclusive: bool = False
) -> Callable[Concatenate[PostgresStore, P], R]:
    """
    Return *method* run by `PostgresStore._retry`: retried when the server aborts it for a conflict.
    """

    @functools.wraps(method)
    def guarded(self: PostgresStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._retry(functools.partial(method, self, *args, **kwargs), exclusive=exclusive)

    return guarded


def _reopen(dsn: str, options: dict[str, Any]) -> PostgresStore:
    return PostgresStore(dsn, **options)


class PostgresStore(BaseStore):
    """
    A store in a PostgreSQL schema, shared safely by threads, processes and machines.

    Every call is one transaction. A write locks what it decides on before
    it reads it (a transaction-scoped advisory lock per contact, or on the
    whole ledger for large batches and for `forget`), so `perform` decides
    and records before any other worker, on any machine, decides on the same
    pair; a step the server aborts to resolve a conflict is retried. Reads
    run in a read-only ``REPEATABLE READ`` snapshot and take no locks.
    The tables are created on first use and upgraded in place.

    The store holds a small pool of connections of its own; a store passed
    to another process (pickled, or inherited by a fork) opens new ones.

    Args:
        dsn: A libpq connection string, ``"host=db dbname=crm user=app"``
            or ``"postgresql://app@db/crm"``; an empty string uses the
            ``PG*`` environment variables.
        schema: The schema that holds the store's tables; created when missing.
        audit: Log every decision made through the store.
        pool_size: How many connections the store may open at once.
        timeout: How many seconds to wait for a connection, a lock or the server.
        vacuum: Whether `forget` ends by rewriting the tables (``VACUUM
            FULL``) so that erased rows leave the table files at once.

    Raises:
        InvalidRequest: An argument is invalid.
        SchemaVersionError: A newer release wrote the schema; nothing was changed.
        StoreError: The server cannot be reached, or the schema holds other tables.
    """

    def __init__(  # noqa: PLR0913
        self,
        dsn: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        audit: bool = False,
        pool_size: int = 4,
        timeout: float = 30.0,
        vacuum: bool = True,
    ) -> None:
        super().__init__(audit=audit)
        _check_arguments(dsn, schema, pool_size, timeout, vacuum)
        if not psycopg.Pipeline.is_supported():
            raise StoreError(
                _describe(dsn, schema),
                f"psycopg uses libpq {psycopg.pq.version()}, which has no pipeline mode; "
                "install psycopg[binary], which brings its own libpq, or libpq 14 or newer",
            )
        self._dsn = dsn
        self._schema = schema
        self._pool_size = pool_size
        self._timeout = float(timeout)
        self._vacuum = vacuum
        self._label = _describe(dsn, schema)
        self._settings = _settings(dsn, self._timeout)
        # PostgreSQL holds at most 2**31 - 1 ms: a longer timeout waits that long.
        self._session = sql.SQL("SET lock_timeout = {}; SET TIME ZONE 'UTC'").format(
            sql.Literal(f"{min(round(self._timeout * 1000), 2**31 - 1)}ms")
        )
        self._pool = _Pool(self._connect, pool_size, self._timeout, self._label)
        conn = self._pool.get()
        try:
            self._q = _Queries(schema, conn, self._label)
            self._secret = _prepare(conn, schema, self._label)
        except BaseException as e:
            self._pool.close()
            self._pool.put(conn)
            if isinstance(e, psycopg.Error):
                raise StoreError(
                    self._label,
                    f"cannot set up the store's tables ({_what(e)}); the role needs to own the "
                    "schema, or to be allowed to create it",
                ) from None
            raise
        self._pool.put(conn)

    @property
    def schema(self) -> str:
        """
        The schema that holds the store's tables.
        """
        return self._schema

    def __repr__(self) -> str:
        return f"PostgresStore({self._label!r}, audit={self._audit!r})"

    def __reduce__(self) -> tuple[Callable[..., PostgresStore], tuple[str, dict[str, Any]]]:
        options = {
            "schema": self._schema,
            "audit": self._audit,
            "pool_size": self._pool_size,
            "timeout": self._timeout,
            "vacuum": self._vacuum,
        }
        return (_reopen, (self._dsn, options))

    @property
    @override
    def _key(self) -> bytes:
        return self._secret

    def _connect(self) -> _Connection:
        try:
            conn = _Connection.connect(self._dsn, autocommit=True, **self._settings)
        except psycopg.Error as e:
            raise StoreError(
                self._label,
                f"cannot connect to the server ({_what(e)}); check the connection string and "
                "that the server accepts connections",
            ) from None
        conn.born = os.getpid()
        try:
            conn.execute(self._session)
        except psycopg.Error as e:
            conn.close()
            raise StoreError(
                self._label, f"cannot set up a new connection's session ({_what(e)})"
            ) from None
        return conn

    def _retry(self, call: Callable[[], R], *, exclusive: bool) -> R:
        """
        Run *call*, again when the server aborted it for a conflict, with a short random pause.
        """
        token = _EXCLUSIVE.set(exclusive)
        try:
            attempt = 1
            while True:
                try:
                    return call()
                except _Contention:
                    if attempt >= _ATTEMPTS:
                        raise
                time.sleep(random.uniform(0, _BACKOFF * 2**attempt))  # noqa: S311
                attempt += 1
        finally:
            _EXCLUSIVE.reset(token)

    @contextmanager
    @override
    def _begin(self, *, write: bool) -> Iterator[Transaction]:
        lease = _Lease(self._pool, self._pool.get())
        if self.closed:
            # Closed by another thread since this call began.
            lease.release()
            self._open_or_fail()
        tx = _PostgresTransaction(
            lease,
            self._q,
            write=write,
            exclusive=write and _EXCLUSIVE.get(),
        )
        try:
            yield tx
            tx.commit()
        except BaseException as e:
            tx.abort()
            lease.release()
            if isinstance(e, psycopg.Error):
                raise self._translate(e, tx) from None
            raise
        lease.release()

    def _translate(
        self, error: psycopg.Error, tx: _PostgresTransaction
    ) -> PermissionNetworkingError:
        """
        Return the library's error for *error*, raised by the server or the driver in a step.
        """
        what = _what(error)
        retry = None
        if isinstance(error, errors.SerializationFailure | errors.DeadlockDetected):
            retry = "the server aborted the call for a conflict with another writer"
        elif isinstance(error, errors.UniqueViolation):
            retry = "another writer stored the same id at the same time"
        elif tx.conn.closed and not tx.committing:
            # The server rolls back what a lost connection had begun. The
            # other idle connections went with it when the server restarted.
            retry = "the connection to the server was lost"
            self._pool.discard_idle()
        if retry is not None:
            return _Contention(self._label, f"{retry} ({what}); nothing was done, try again")
        if isinstance(error, errors.LockNotAvailable):
            return StoreError(
                self._label,
                f"{what}: another connection held a lock longer than the timeout of "
                f"{self._timeout} s; nothing was done, try again",
            )
        if isinstance(error, psycopg.DataError) and error.sqlstate is None and "NUL" in what:
            return InvalidRequest(
                "text",
                "\0",
                f"{what}; remove the NUL character from the identifiers and names given",
            )
        if tx.conn.closed:
            return StoreError(
                self._label,
                f"the connection broke while committing ({what}): the call was either done "
                "completely or not at all; look (e.g. with history()) before repeating it, "
                "or repeat it with the same ids, which is safe",
            )
        return StoreError(self._label, f"the server refused the call ({what}); nothing was done")

    record = _guarded(BaseStore.record)
    relationship = _guarded(BaseStore.relationship)
    history = _guarded(BaseStore.history)
    relationships = _guarded(BaseStore.relationships)
    check = _guarded(BaseStore.check)
    perform = _guarded(BaseStore.perform)
    screen = _guarded(BaseStore.screen)
    decisions = _guarded(BaseStore.decisions)
    forget = _guarded(BaseStore.forget, exclusive=True)
    verify = _guarded(BaseStore.verify)

    @override
    def record_many(self, interactions: Iterable[Interaction]) -> int:
        """
        Store *interactions* in one atomic step: all of them or, on an error, none.

        A batch of many contacts locks the whole ledger while it is stored,
        a smaller one only its contacts.

        Returns:
            How many were new (repeats of stored ones, and interactions of a
            forgotten contact from before the erasure, are not).

        Raises:
            InvalidInteraction: An item is not an `Interaction`; nothing is stored.
            ConflictError: An id is stored, or given twice, with other content;
                nothing is stored.
            StoreClosedError: The store is closed.
        """
        entries = _entries(interactions)

        def step() -> int:
            with self._transaction(write=True) as tx:
                return self._record(tx, entries) if entries else 0

        contacts = {entry.interaction.contact for entry in entries}
        return self._retry(step, exclusive=len(contacts) > _FEW_CONTACTS)

    @override
    def _record(self, tx: Transaction, entries: Sequence[_Entry]) -> int:
        for entry in entries:
            _no_nul(entry.interaction)
        pairs = {(entry.interaction.sender, entry.interaction.contact) for entry in entries}
        keys = {keyed_hash(self._key, contact) for _, contact in pairs}
        cast("_PostgresTransaction", tx).prefetch(pairs, keys)
        return super()._record(tx, entries)

    @override
    def _after_forget(self) -> None:
        if not self._vacuum:
            return
        conn = self._pool.get()
        skipped: list[str] = []

        def note(diagnostic: psycopg.errors.Diagnostic) -> None:
            # VACUUM skips a table its role does not own with a warning, not an error.
            if diagnostic.severity_nonlocalized == "WARNING":
                skipped.append(diagnostic.message_primary or "a table was skipped")

        conn.add_notice_handler(note)
        older = None
        try:
            erased = conn.execute(_NOW).fetchone()
            conn.execute(self._q.vacuum)
            # A snapshot taken before the erasure keeps the erased rows in the rewritten files.
            older = conn.execute(self._q.older_snapshots, erased).fetchone()
        except psycopg.Error as e:
            skipped.append(_what(e))
        finally:
            conn.remove_notice_handler(note)
            self._pool.put(conn)
        if not skipped and older is not None and older[0]:
            skipped.append(
                f"{older[0]} other session(s) of the database hold a snapshot taken before it"
            )
        if skipped:
            raise StoreError(
                self._label,
                f"the erasure is done, but the tables could not be rewritten ({skipped[0]}), so "
                "their files may still hold the erased rows; call forget() again when no long "
                "transaction is open, or run VACUUM FULL on them as their owner",
            )

    @override
    def _release(self) -> None:
        self._pool.close()


_NOW: Final = sql.SQL("SELECT statement_timestamp()")


def _what(error: psycopg.Error) -> str:
    """
    Return the first line of *error*, with its SQLSTATE when the server sent one.
    """
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"{error.sqlstate}: {text}" if error.sqlstate else text


def _settings(dsn: str, timeout: float) -> dict[str, Any]:
    """
    Return the connection parameters the store adds where the connection string leaves them out.
    """
    given = conninfo_to_dict(dsn)
    settings: dict[str, Any] = {}
    if "connect_timeout" not in given and "PGCONNECT_TIMEOUT" not in os.environ:
        settings["connect_timeout"] = max(2, round(timeout))
    if "application_name" not in given and "PGAPPNAME" not in os.environ:
        settings["application_name"] = "permission_networking"
    return settings


def _check_arguments(
    dsn: object, schema: object, pool_size: object, timeout: object, vacuum: object
) -> None:
    if not isinstance(dsn, str):
        raise InvalidRequest("dsn", dsn, "expected a libpq connection string")
    if (
        not isinstance(schema, str)
        or not schema
        or "\0" in schema
        or not _encodable(schema)
        or len(schema.encode()) > _MAX_IDENTIFIER
    ):
        raise InvalidRequest("schema", schema, "expected a PostgreSQL schema name of 1 to 63 bytes")
    if "%" in schema:
        # psycopg reads a % in a query's text as a placeholder.
        raise InvalidRequest("schema", schema, "a schema name here holds no %; choose another")
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
        raise InvalidRequest("pool_size", pool_size, "expected a whole number of at least 1")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout < float("inf")
    ):
        raise InvalidRequest("timeout", timeout, "expected a positive number of seconds")
    if not isinstance(vacuum, bool):
        raise InvalidRequest("vacuum", vacuum, "expected True or False")


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
