"""
What only a PostgresStore does: its arguments, connections, streams, locks, retries and errors.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import pickle
import subprocess
import sys
import threading

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from psycopg import errors, sql

import permission_networking.stores.postgres as pg

from permission_networking import Interaction, MemoryStore, Policy
from permission_networking import screen as screen_relationships
from permission_networking.exceptions import (
    ConflictError,
    InvalidInteraction,
    InvalidRequest,
    StoreClosedError,
    StoreError,
)
from permission_networking.stores import _ledger
from permission_networking.stores.postgres import PostgresStore
from postgres.pg_server import new_schema, open_postgres, server
from timeline import DAY0, day


BO = "bo@example.org"
Conn = psycopg.Connection[tuple[Any, ...]]


def make(id: str, kind: str, at: float, *, contact: str = BO, **kw: Any) -> Interaction:  # noqa: A002
    """
    Build an interaction from ana to *contact* at day *at*.
    """
    return Interaction(id, "ana", contact, kind, day(at), **kw)


def accepted(contact: str = BO) -> Interaction:
    """
    Return the inbound acceptance of ana's connection by *contact* on day 0.
    """
    return make(
        f"{contact}-accepted", "connection_accepted", 0, contact=contact, direction="inbound"
    )


@pytest.fixture(name="store")
def _store() -> Iterator[PostgresStore]:
    with open_postgres() as store:
        yield store


@pytest.fixture(name="conn")
def _conn() -> Iterator[Conn]:
    """
    A connection of the tests' own to the throw-away database, as an intruder or operator has.
    """
    with server().connect() as conn:
        yield conn


@pytest.fixture(name="handed")
def _handed(monkeypatch: pytest.MonkeyPatch) -> list[Conn]:
    """
    The connections the stores' pools hand out, in order (the last one is the one in use).
    """
    handed: list[Conn] = []
    get = pg._Pool.get

    def spy(pool: pg._Pool) -> Any:
        conn = get(pool)
        handed.append(conn)
        return conn

    monkeypatch.setattr(pg._Pool, "get", spy)
    return handed


def terminate(conn: Conn, victim: Conn) -> None:
    """
    Make the server end *victim*'s session, and wait until it has.
    """
    conn.execute("SELECT pg_terminate_backend(%s, 10000)", (victim.info.backend_pid,))


class TestModule:
    def test_without_psycopg_the_import_names_the_extra(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        Importing the module without psycopg raises ImportError naming the extra to install.
        """
        monkeypatch.setitem(sys.modules, "psycopg", None)
        spec = importlib.util.spec_from_file_location(
            "permission_networking.stores.postgres_without_psycopg", pg.__file__
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)

        with pytest.raises(ImportError, match=r"permission-networking\[postgres\]"):
            spec.loader.exec_module(module)

    def test_the_core_does_not_import_it(self) -> None:
        """
        Importing the library and its stores imports neither this module nor psycopg.
        """
        code = (
            "import sys, permission_networking, permission_networking.stores\n"
            "print(sorted(m for m in sys.modules if m.startswith('psycopg') or m.endswith('postgres')))"
        )
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout

        assert "[]" == out.strip()


class TestArguments:
    @pytest.mark.parametrize(
        ("field", "kw"),
        [
            ("dsn", {"dsn": 5}),
            ("schema", {"schema": ""}),
            ("schema", {"schema": "s" * 64}),
            ("schema", {"schema": "a\0b"}),
            ("schema", {"schema": "\ud800"}),
            ("schema", {"schema": None}),
            ("schema", {"schema": "50%_off"}),
            ("pool_size", {"pool_size": 0}),
            ("pool_size", {"pool_size": True}),
            ("pool_size", {"pool_size": 1.5}),
            ("timeout", {"timeout": 0}),
            ("timeout", {"timeout": float("inf")}),
            ("timeout", {"timeout": True}),
            ("timeout", {"timeout": "3"}),
            ("vacuum", {"vacuum": "yes"}),
        ],
    )
    def test_invalid_arguments_are_refused(self, field: str, kw: dict[str, Any]) -> None:
        """
        Each argument is checked before anything connects, and the error names it.
        """
        dsn = kw.pop("dsn", "host=/nowhere")
        with pytest.raises(InvalidRequest, match=f"^{field}="):
            PostgresStore(dsn, **kw)

    def test_a_malformed_connection_string_is_refused_without_showing_it(self) -> None:
        """
        A connection string libpq cannot parse is refused, and its text (a password?) not repeated.
        """
        with pytest.raises(InvalidRequest, match="dsn") as raised:
            PostgresStore("host=db password=s3cret broken")

        assert "s3cret" not in str(raised.value)

    def test_an_unreachable_server_is_a_store_error(self, tmp_path: Path) -> None:
        """
        When no server answers, StoreError says where it tried, without the password.
        """
        dsn = f"host={tmp_path} port=1 dbname=crm user=app password=s3cret"
        with pytest.raises(StoreError, match="cannot connect") as raised:
            PostgresStore(dsn, timeout=2)

        assert f"host={tmp_path}" in str(raised.value)
        assert "s3cret" not in str(raised.value)

    def test_without_pipeline_mode_the_store_says_what_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        A libpq without pipeline mode is refused with the remedy.
        """
        monkeypatch.setattr(psycopg.Pipeline, "is_supported", staticmethod(lambda: False))

        with pytest.raises(StoreError, match=r"psycopg\[binary\]"):
            PostgresStore(server().dsn)


class TestIdentity:
    def test_repr_names_the_server_not_the_password(self) -> None:
        """
        The repr shows the server, database and schema, never the password.
        """
        dsn = psycopg.conninfo.make_conninfo(server().dsn, password="s3cret")  # noqa: S106
        with PostgresStore(dsn, schema=new_schema(), audit=True) as store:
            text = repr(store)

        assert text.startswith("PostgresStore('PostgreSQL host=")
        assert f"schema={store.schema}" in text
        assert "audit=True" in text
        assert "s3cret" not in text

    def test_a_pickled_store_opens_the_same_ledger(self, store: PostgresStore) -> None:
        """
        A store passed to another process (pickled) opens the same schema with the same options.
        """
        store.record(accepted())

        with pickle.loads(pickle.dumps(store)) as copy:  # noqa: S301
            assert copy is not store
            assert (store.schema, store.audit) == (copy.schema, copy.audit)
            assert store.history("ana", BO) == copy.history("ana", BO)


class TestConnections:
    def test_threads_share_a_small_pool(self) -> None:
        """
        More threads than connections all get their turn.
        """
        with open_postgres(pool_size=2) as store:
            store.record(accepted())
            results: list[int] = []

            def worker() -> None:
                results.append(len(store.history("ana", BO)))

            threads = [threading.Thread(target=worker) for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

            assert [1] * 6 == results
            assert 2 >= len(store._pool._idle)

    def test_a_connection_the_server_dropped_is_replaced(
        self, store: PostgresStore, conn: Conn
    ) -> None:
        """
        A pooled connection the server has closed since is replaced, and the call succeeds.
        """
        store.record(accepted())
        for idle in store._pool._idle:
            terminate(conn, idle)

        assert 1 == len(store.history("ana", BO))

    def test_a_restarted_server_costs_one_retry_however_large_the_pool(self, conn: Conn) -> None:
        """
        When every idle connection was lost (a restart), the call after the first lost one opens a fresh one.
        """
        with open_postgres(pool_size=14) as store:
            store.record(accepted())
            held = [store._pool.get() for _ in range(14)]
            for pooled in held:
                store._pool.put(pooled)
            assert 14 == len(store._pool._idle)
            for idle in store._pool._idle:
                terminate(conn, idle)

            assert 1 == len(store.history("ana", BO))
            assert 1 >= len(store._pool._idle)

    def test_the_store_gives_up_when_every_connection_stays_busy(self) -> None:
        """
        With its one connection held by an unfinished iterator, the next call fails after the timeout.
        """
        with open_postgres(pool_size=1, timeout=0.2) as store:
            store.record(accepted())
            store.record(accepted("cy@example.org"))
            reading = store.relationships()
            next(reading)

            with pytest.raises(StoreError, match="pool_size"):
                store.history("ana", BO)

            del reading
            assert 1 == len(store.history("ana", BO))

    def test_a_forked_child_opens_connections_of_its_own(
        self, store: PostgresStore, handed: list[Conn], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        In another process the store leaves its parent's connections (and cursors) alone.
        """
        store.record_many([accepted(), accepted("cy@example.org")])
        reading = store.relationships()
        next(reading)
        store.record(accepted("di@example.org"))
        parents = [handed[-2], *store._pool._idle]
        parent_pid = os.getpid()
        monkeypatch.setattr(os, "getpid", lambda: parent_pid + 1)

        assert 1 == len(store.history("ana", BO))
        child = handed[-1]
        del reading
        store.close()
        monkeypatch.undo()

        inherited = store._pool.inherited
        cursors = [c for c in inherited if isinstance(c, psycopg.ServerCursor)]
        assert {id(c) for c in parents} == {id(c) for c in inherited if c not in cursors}
        assert [False] == [c.closed for c in cursors]
        assert [False, False] == [c.closed for c in parents]
        assert child.closed
        for cursor in cursors:
            cursor.close()
        for parent in parents:
            assert [(1,)] == parent.execute("SELECT 1").fetchall()
            parent.close()

    # Python 3.12+ warns about fork() in a process with threads; this test starts none.
    @pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
    def test_a_real_fork_leaves_the_parent_working(self, store: PostgresStore) -> None:
        """
        A forked process uses the store on its own connections; the parent's keep working.
        """
        store.record(accepted())
        context = multiprocessing.get_context("fork")
        results = context.Queue()

        def child() -> None:
            results.put(len(store.history("ana", BO)))
            store.close()

        process = context.Process(target=child)
        process.start()
        process.join()

        assert (0, 1) == (process.exitcode, results.get())
        assert 1 == len(store.history("ana", BO))


class TestStreams:
    def test_relationships_stream_page_by_page(
        self, store: PostgresStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        relationships() reads more pairs than a page holds, in order.
        """
        monkeypatch.setattr(pg, "_PAGE", 3)
        contacts = [f"c{n:02d}@example.org" for n in range(10)]
        store.record_many([accepted(c) for c in reversed(contacts)])

        assert contacts == [r.contact for r in store.relationships()]
        assert contacts[2:5] == [r.contact for r in store.relationships("ana")][2:5]

    def test_an_iterator_outlives_the_store(self) -> None:
        """
        relationships() read to the end after the store was closed still yields everything.
        """
        with open_postgres() as store:
            store.record_many([accepted(), accepted("cy@example.org")])
            reading = store.relationships()

        assert [BO, "cy@example.org"] == [r.contact for r in reading]

    def test_a_lost_connection_while_reading_is_a_store_error(
        self, conn: Conn, handed: list[Conn], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        When the server goes away in the middle of relationships(), StoreError says so.
        """
        monkeypatch.setattr(pg, "_PAGE", 1)
        with open_postgres(pool_size=1) as store:
            store.record_many([accepted(), accepted("cy@example.org")])
            reading = store.relationships()
            next(reading)
            terminate(conn, handed[-1])

            with pytest.raises(StoreError, match="reading from the server failed"):
                next(reading)

            assert 1 == len(store.history("ana", BO))

    def test_screen_reads_through_a_server_side_cursor(
        self, handed: list[Conn], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        screen() decides while a server-side cursor still holds the rest of the audience.
        """
        seen: list[list[tuple[Any, ...]]] = []
        screen = screen_relationships

        def spy(relationships: Any, *args: Any, **kw: Any) -> Any:
            def watch() -> Iterator[Any]:
                for relationship in relationships:
                    if not seen:
                        cursors = handed[-1].execute("SELECT name, is_holdable FROM pg_cursors")
                        seen.append(cursors.fetchall())
                    yield relationship

            return screen(watch(), *args, **kw)

        monkeypatch.setattr(_ledger, "screen_relationships", spy)
        monkeypatch.setattr(pg, "_PAGE", 2)
        with open_postgres(pool_size=1) as store:
            contacts = [f"c{n}@example.org" for n in range(5)]
            store.record_many([accepted(c) for c in contacts])

            screening = store.screen("ana", "message", at=day(1))

        assert contacts == sorted(screening.allowed)
        assert [[True]] == [[holdable for (_, holdable) in rows] for rows in seen]


def ledger_lock(store: PostgresStore) -> tuple[int, int]:
    """
    Return the keys of the advisory lock every write of *store* takes on its ledger.
    """
    return (store._q.namespace, 0)


class TestLocks:
    def test_a_write_waits_for_the_ledger_lock_then_gives_up(self, conn: Conn) -> None:
        """
        While an operator holds the ledger's lock, a write fails after the timeout and changes nothing.
        """
        with open_postgres(timeout=0.2) as store:
            conn.execute("SELECT pg_advisory_lock(%s, %s)", ledger_lock(store))
            try:
                with pytest.raises(StoreError, match="held a lock longer than the timeout"):
                    store.record(accepted())
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", ledger_lock(store))

            assert [] == store.history("ana", BO)
            store.record(accepted())
            assert 1 == len(store.history("ana", BO))

    def test_a_batch_of_many_contacts_locks_the_whole_ledger(self, conn: Conn) -> None:
        """
        A batch of many contacts waits for readers of the ledger lock; a small batch does not.
        """
        with open_postgres(timeout=0.2) as store:
            many = [accepted(f"c{n}@example.org") for n in range(pg._FEW_CONTACTS + 1)]
            conn.execute("SELECT pg_advisory_lock_shared(%s, %s)", ledger_lock(store))
            try:
                assert 1 == store.record_many(many[:1])
                with pytest.raises(StoreError, match="lock"):
                    store.record_many(many)
            finally:
                conn.execute("SELECT pg_advisory_unlock_shared(%s, %s)", ledger_lock(store))

            assert len(many) - 1 == store.record_many(many)

    def test_long_batches_are_sent_in_parts(
        self, store: PostgresStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        A batch longer than the write queue is sent in several round trips and stored whole.
        """
        monkeypatch.setattr(pg, "_QUEUE_LIMIT", 7)
        items = [
            Interaction(f"m{n}", "ana", f"c{n % 5}", "message", DAY0 + timedelta(hours=n))
            for n in range(40)
        ]

        assert 40 == store.record_many(items)
        assert 40 == store.verify().checked


class TestRetries:
    def test_a_step_aborted_for_a_deadlock_is_retried(
        self, store: PostgresStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        When the server aborts a step to break a deadlock, the call runs again and succeeds once.
        """
        store.record(accepted())
        pair = pg._PostgresTransaction.pair
        failures = [errors.DeadlockDetected("deadlock detected")]

        def flaky(tx: pg._PostgresTransaction, sender: str, contact: str) -> Any:
            if failures:
                raise failures.pop()
            return pair(tx, sender, contact)

        monkeypatch.setattr(pg._PostgresTransaction, "pair", flaky)

        assert store.perform("ana", BO, "message", at=day(1)).allowed
        assert ["connection_accepted", "message"] == [i.kind for i in store.history("ana", BO)]

    def test_the_retries_end(self, store: PostgresStore, monkeypatch: pytest.MonkeyPatch) -> None:
        """
        A step the server keeps aborting fails with StoreError after a few attempts, having done nothing.
        """
        attempts: list[int] = []

        def failing(tx: pg._PostgresTransaction, sender: str, contact: str) -> Any:
            attempts.append(1)
            raise errors.SerializationFailure("could not serialize access")

        monkeypatch.setattr(pg, "_BACKOFF", 0)
        monkeypatch.setattr(pg._PostgresTransaction, "pair", failing)

        with pytest.raises(StoreError, match="conflict with another writer"):
            store.perform("ana", BO, "message", at=day(1))

        assert pg._ATTEMPTS == len(attempts)
        monkeypatch.undo()
        assert [] == store.history("ana", BO)

    def test_an_id_stored_by_another_writer_meanwhile_is_a_conflict(
        self, store: PostgresStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        An id another writer stores between the check and the insert is found on the retry.
        """
        bodies = pg._PostgresTransaction.bodies
        other = make("x", "message", 2, contact="cy@example.org")
        races = [other]

        def racing(tx: pg._PostgresTransaction, ids: Any) -> dict[str, str]:
            found = bodies(tx, ids)
            if races:
                with PostgresStore(server().dsn, schema=store.schema) as writer:
                    writer.record(races.pop())
            return found

        monkeypatch.setattr(pg._PostgresTransaction, "bodies", racing)

        with pytest.raises(ConflictError, match="'x'"):
            store.record(make("x", "message", 1))

        assert [] == store.history("ana", BO)
        assert [other] == store.history("ana", "cy@example.org")

    def test_threads_recording_one_id_store_it_once(self, store: PostgresStore) -> None:
        """
        Threads recording one id for different contacts store one of them; the others conflict.
        """
        start = threading.Barrier(6)
        outcomes: list[str] = []

        def worker(n: int) -> None:
            start.wait()
            try:
                store.record(make("x", "message", 1, contact=f"c{n}"))
                outcomes.append("stored")
            except ConflictError:
                outcomes.append("conflict")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert ["conflict"] * 5 + ["stored"] == sorted(outcomes)
        assert 1 == store.verify().checked


class TestErrors:
    def test_a_connection_lost_while_committing_says_the_outcome_is_unknown(
        self, store: PostgresStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        When the connection breaks during COMMIT, StoreError says the call may or may not be done.
        """

        def broken(tx: pg._PostgresTransaction) -> None:
            tx.committing = True
            tx.conn.close()
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(pg._PostgresTransaction, "commit", broken)

        with pytest.raises(StoreError, match="either done completely or not at all"):
            store.record(accepted())

    def test_a_table_dropped_behind_its_back_is_a_store_error(
        self, store: PostgresStore, conn: Conn
    ) -> None:
        """
        When the server refuses a statement, the call raises StoreError, not a driver error.
        """
        conn.execute(sql.SQL("DROP TABLE {}.interactions").format(sql.Identifier(store.schema)))

        with pytest.raises(StoreError, match="the server refused the call"):
            store.history("ana", BO)

    def test_a_nul_character_in_an_interaction_is_refused(self, store: PostgresStore) -> None:
        """
        PostgreSQL text cannot hold NUL, so such an interaction is refused and nothing is stored.
        """
        with pytest.raises(InvalidInteraction, match="NUL"):
            store.record_many([accepted(), make("a\0b", "message", 1)])

        assert [] == store.history("ana", BO)

    def test_a_nul_character_in_a_question_is_refused(self, store: PostgresStore) -> None:
        """
        An identifier with NUL in a query raises InvalidRequest.
        """
        with pytest.raises(InvalidRequest, match="NUL"):
            store.relationship("ana", "b\0o")

    def test_the_decision_log_outlives_the_store(self) -> None:
        """
        Decisions an auditing store logged are read back by the next store on the schema.
        """
        with open_postgres(audit=True) as store:
            store.record(accepted())
            decision = store.perform("ana", BO, "message", at=day(1))
            schema = store.schema

        with open_postgres(schema=schema) as store:
            assert [decision] == store.decisions(contact=BO)
            assert [] == store.decisions(sender="cy")


def test_it_behaves_like_a_memory_store_on_a_busy_day(store: PostgresStore) -> None:
    """
    A mixed day of recording, performing, screening and forgetting ends as in MemoryStore.
    """
    memory = MemoryStore()
    contacts = [f"c{n}@example.org" for n in range(8)]
    for ledger in (store, memory):
        ledger.record_many([accepted(c) for c in contacts])
        for n, contact in enumerate(contacts):
            ledger.perform("ana", contact, "message", at=day(1 + n % 3), id=f"p{n}")
        ledger.record(make("r", "message", 2, contact=contacts[0], direction="inbound"))
        ledger.forget(contacts[1])

    assert list(memory.relationships()) == list(store.relationships())
    assert memory.screen("ana", "message", at=day(9)) == store.screen("ana", "message", at=day(9))
    assert memory.verify() == store.verify()


class TestSetup:
    def test_a_session_that_cannot_be_set_up_is_a_store_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        When a new connection's session settings fail, the call raises StoreError.
        """
        with open_postgres(pool_size=1) as store:
            monkeypatch.setattr(store, "_session", sql.SQL("SET no_such_setting = 1"))
            store._pool._idle.pop().close()

            with pytest.raises(StoreError, match="cannot set up a new connection"):
                store.history("ana", BO)

    def test_settings_in_the_connection_string_or_environment_win(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        The store adds a connect timeout and an application name only where none is given.
        """
        monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
        monkeypatch.delenv("PGAPPNAME", raising=False)
        assert {"connect_timeout": 30, "application_name": "permission_networking"} == (
            pg._settings("host=db", 30.0)
        )
        assert {} == pg._settings("host=db connect_timeout=5 application_name=crm", 30.0)
        monkeypatch.setenv("PGCONNECT_TIMEOUT", "5")
        monkeypatch.setenv("PGAPPNAME", "crm")
        assert {} == pg._settings("host=db", 0.5)

    def test_a_failed_step_closes_its_cursors_and_frees_its_connection(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        An error in the middle of reading a stream rolls the step back and frees the connection.
        """

        def broken(chain: Any) -> Any:
            raise RuntimeError("broken")

        with open_postgres(pool_size=1) as store:
            store.record_many([accepted(), accepted("cy@example.org")])
            monkeypatch.setattr(_ledger, "verify_chain", broken)

            with pytest.raises(RuntimeError, match="broken"):
                store.verify()

            monkeypatch.undo()
            assert store.verify()

    def test_closing_in_a_forked_child_leaves_the_parents_connections(
        self, store: PostgresStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        A child that closes its inherited store without using it closes none of the parent's connections.
        """
        parents = list(store._pool._idle)
        parent_pid = os.getpid()
        monkeypatch.setattr(os, "getpid", lambda: parent_pid + 1)

        store.close()
        monkeypatch.undo()

        assert [False] == [c.closed for c in parents]
        for parent in parents:
            parent.close()


def test_one_job_delivered_twice_performs_once_and_raises_once() -> None:
    """
    Two performs with one id racing for the contact: one decides, the other raises ConflictError.

    Before, the id was looked up before the contact's lock was taken, so the
    second decided on the first's send and logged a denial instead.
    """
    policy = Policy.etiquette(max_unanswered=1)
    with open_postgres(audit=True, timeout=10) as store, server().connect() as watcher:
        store.record(Interaction("i1", "ana", "bo", "connection_accepted", DAY0))
        holder = psycopg.connect(server().dsn)
        holder.execute(  # holds bo's lock until both performs wait for it
            "SELECT pg_advisory_xact_lock(%s, %s)",
            (
                pg._namespace(store.schema, "ledger"),
                pg._lock_id(_ledger.keyed_hash(store._key, "bo")),
            ),
        )
        out: list[object] = []

        def send() -> None:
            try:
                out.append(
                    store.perform("ana", "bo", "message", at=day(1), id="job-7", policy=policy)
                )
            except ConflictError as e:
                out.append(e)

        threads = [threading.Thread(target=send) for _ in range(2)]
        try:
            for thread in threads:
                thread.start()
            for _ in range(500):
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                ).fetchone()
                if waiting is not None and waiting[0] >= 2:
                    break
                threading.Event().wait(0.01)
        finally:
            holder.rollback()
            holder.close()
            for thread in threads:
                thread.join()

        assert ["ConflictError", "Decision"] == sorted(type(o).__name__ for o in out)
        assert 1 == len(store.decisions())


def test_a_timeout_longer_than_postgresql_holds_waits_that_long() -> None:
    """
    A timeout past PostgreSQL's 2**31 - 1 ms lock_timeout opens the store, as SQLite's does.
    """
    with open_postgres(timeout=timedelta(days=31).total_seconds()) as store:
        store.record(Interaction("i1", "ana", "bo", "message", DAY0))
        assert 1 == len(store.history("ana", "bo"))


def test_a_call_racing_close_is_refused() -> None:
    """
    A call that passed the closed check as another thread closed the store raises StoreClosedError.
    """
    store = open_postgres()
    get = store._pool.get

    def close_first() -> Any:
        store.close()  # what another thread does at this instant
        return get()

    store._pool.get = close_first  # type: ignore[method-assign]
    with pytest.raises(StoreClosedError):
        store.record(Interaction("i1", "ana", "bo", "message", DAY0))
