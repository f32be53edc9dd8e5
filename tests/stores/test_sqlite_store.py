"""
What only a SQLiteStore does: a file that outlives it, a schema, locks and processes.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import threading

from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from permission_networking import Interaction, InvalidRequest, Relationship, replay
from permission_networking.exceptions import SchemaVersionError, StoreClosedError, StoreError
from permission_networking.stores import SCHEMA_VERSION, SQLiteStore
from permission_networking.stores._sqlite import APPLICATION_ID, _SQLiteTransaction, _to_wal
from timeline import day


BO = "bo@example.org"


def make(id: str, kind: str, at: float, **kw: Any) -> Interaction:  # noqa: A002
    """
    Build an interaction of the pair (ana, bo) at day *at*.
    """
    return Interaction(id, "ana", BO, kind, day(at), **kw)


def raw(path: Path, sql: str) -> Any:
    """
    Run one statement on the file with a plain connection and return its first value.
    """
    with closing(sqlite3.connect(path)) as conn:
        row = conn.execute(sql).fetchone()
        conn.commit()
    return None if row is None else row[0]


def snapshot(directory: Path) -> dict[str, bytes]:
    """
    Return the bytes of every file in *directory*.
    """
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.fixture(name="path")
def _path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


class TestFile:
    def test_reopening_finds_everything(self, path: Path) -> None:
        """
        A closed store's file opens again with its log, decisions and tombstones.
        """
        with SQLiteStore(path, audit=True) as store:
            store.record(make("a", "connection_accepted", 0, direction="inbound"))
            store.perform("ana", BO, "message", at=day(1))
            store.forget("zed")
            before = (
                store.history("ana", BO),
                list(store.relationships()),
                store.decisions(),
            )

        with SQLiteStore(path) as store:
            after = (store.history("ana", BO), list(store.relationships()), store.decisions())
            assert before == after
            assert store.verify()
            assert "do_not_contact" in store.check("ana", "zed", "connect").codes

    def test_the_file_is_a_versioned_wal_database(self, path: Path) -> None:
        """
        The file is in WAL mode and names its application and schema version.
        """
        SQLiteStore(path).close()

        assert "wal" == raw(path, "PRAGMA journal_mode")
        assert SCHEMA_VERSION == raw(path, "PRAGMA user_version")
        assert APPLICATION_ID == raw(path, "PRAGMA application_id")

    def test_the_connection_overwrites_what_it_deletes(self, path: Path) -> None:
        """
        The store's connection runs with secure_delete on.
        """
        with SQLiteStore(path) as store:
            assert 1 == store._conn.execute("PRAGMA secure_delete").fetchone()[0]

    def test_the_snapshot_is_the_relationship(self, path: Path) -> None:
        """
        The materialised snapshot of a pair is its relationship less what is None, also after late arrivals.
        """
        with SQLiteStore(path) as store:
            store.record(make("b", "message", 2))
            store.record(make("a", "connection_accepted", 0, direction="inbound"))
            relationship = store.relationship("ana", BO)
        stored = json.loads(raw(path, "SELECT snapshot FROM pairs"))

        assert {k: v for k, v in relationship.to_dict().items() if v is not None} == stored
        assert relationship == Relationship.from_dict(stored)

    def test_a_snapshot_in_full_is_read_and_advanced(self, path: Path) -> None:
        """
        A snapshot written with every field, None or not, reads as the relationship and takes more.
        """
        with SQLiteStore(path) as store:
            store.record(make("a", "connection_accepted", 0, direction="inbound"))
            full = json.dumps(store.relationship("ana", BO).to_dict())
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("UPDATE pairs SET snapshot = ?", (full,))
            conn.commit()

        with SQLiteStore(path) as store:
            assert json.loads(full) == store.relationship("ana", BO).to_dict()
            store.record_many(
                [make("b", "message", 1), make("c", "message", 2, direction="inbound")]
            )
            assert replay(store.history("ana", BO)) == store.relationship("ana", BO)
            assert store.verify()

    @pytest.mark.parametrize("known", ["a stranger", "a known pair"])
    def test_a_write_reads_its_pairs_row_once(self, path: Path, known: str) -> None:
        """
        Deciding and recording, or recording and returning the result, read the pair's row once.
        """
        with SQLiteStore(path) as store:
            if known == "a known pair":
                store.record(make("a", "connection_accepted", 0, direction="inbound"))
            statements: list[str] = []
            store._connection().set_trace_callback(statements.append)

            decision = store.perform("ana", BO, "message", at=day(1))
            relationship = store.record(make("z", "message", 2, direction="inbound"))
            store._connection().set_trace_callback(None)

            reads = [sql for sql in statements if "FROM pairs" in sql or "JOIN pairs" in sql]
            assert 2 == len(reads), reads
            assert decision.allowed == (known == "a known pair")
            assert replay(store.history("ana", BO)) == relationship == store.relationship("ana", BO)

    def test_a_newer_schema_is_refused_untouched(self, path: Path) -> None:
        """
        A file written by a newer release raises SchemaVersionError and is not changed.
        """
        SQLiteStore(path).close()
        raw(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        before = snapshot(path.parent)

        with pytest.raises(SchemaVersionError, match="upgrade") as info:
            SQLiteStore(path)

        assert (SCHEMA_VERSION + 1, SCHEMA_VERSION) == (info.value.found, info.value.supported)
        assert str(path) == info.value.path
        assert before == snapshot(path.parent)

    def test_a_file_that_is_not_a_database_is_refused_untouched(self, path: Path) -> None:
        """
        A file that is not SQLite raises StoreError and is not changed.
        """
        path.write_bytes(b"name,email\n" * 200)

        with pytest.raises(StoreError, match="not a SQLite database"):
            SQLiteStore(path)

        assert {"ledger.db": b"name,email\n" * 200} == snapshot(path.parent)

    @pytest.mark.parametrize(
        "sql",
        [
            "CREATE TABLE customers (email TEXT)",
            "PRAGMA application_id = 42",
            "PRAGMA user_version = 1",
        ],
    )
    def test_another_applications_database_is_refused_untouched(self, path: Path, sql: str) -> None:
        """
        A SQLite database of another application raises StoreError and is not changed.
        """
        raw(path, sql)
        before = snapshot(path.parent)

        with pytest.raises(StoreError, match="another application"):
            SQLiteStore(path)

        assert before == snapshot(path.parent)

    @pytest.mark.parametrize(
        "sql", ["DELETE FROM meta", "UPDATE meta SET value = 'not hex'", "DROP TABLE meta"]
    )
    def test_a_store_without_its_key_is_refused_untouched(self, path: Path, sql: str) -> None:
        """
        A store whose key was lost raises StoreError, since its erasures could not be honoured.
        """
        SQLiteStore(path).close()
        raw(path, sql)
        before = snapshot(path.parent)

        with pytest.raises(StoreError, match="damaged"):
            SQLiteStore(path)

        assert before == snapshot(path.parent)

    def test_a_path_that_cannot_be_opened_is_refused(self, tmp_path: Path) -> None:
        """
        A path in a missing directory raises StoreError.
        """
        with pytest.raises(StoreError, match="cannot open"):
            SQLiteStore(tmp_path / "missing" / "ledger.db")


class TestConcurrency:
    def test_a_held_lock_times_out_cleanly(self, path: Path) -> None:
        """
        A writer kept waiting past the timeout raises StoreError and records nothing.
        """
        with SQLiteStore(path, timeout=0.05) as store:
            with closing(sqlite3.connect(path, isolation_level=None)) as other:
                other.execute("BEGIN IMMEDIATE")

                with pytest.raises(StoreError, match="timeout"):
                    store.record(make("a", "message", 1))

                other.execute("ROLLBACK")
            assert [] == store.history("ana", BO)
            store.record(make("a", "message", 1))
            assert 1 == len(store.history("ana", BO))

    def test_opening_waits_for_a_writer_then_gives_up(self, path: Path) -> None:
        """
        Opening a file another connection keeps locked past the timeout raises StoreError.
        """
        SQLiteStore(path).close()
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")

            with pytest.raises(StoreError, match="timeout"):
                SQLiteStore(path, timeout=0.05)

            other.execute("ROLLBACK")

    def test_opening_a_file_others_read_before_it_is_in_wal_mode_is_a_store_error(
        self, path: Path
    ) -> None:
        """
        A file in rollback-journal mode, read by another connection, cannot be set up in time.
        """
        SQLiteStore(path).close()
        raw(path, "PRAGMA journal_mode = DELETE")
        with closing(sqlite3.connect(path, isolation_level=None)) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM pairs").fetchone()

            with pytest.raises(StoreError, match="timeout"):
                SQLiteStore(path, timeout=0.1)

            reader.execute("ROLLBACK")
        with SQLiteStore(path) as store:
            assert "wal" == raw(path, "PRAGMA journal_mode")
            assert [] == list(store.relationships())

    def test_opening_waits_for_readers_to_switch_the_file_to_wal(self, path: Path) -> None:
        """
        Switching a file to WAL waits, within the timeout, for a reader to finish.
        """
        SQLiteStore(path).close()
        raw(path, "PRAGMA journal_mode = DELETE")
        reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM pairs").fetchone()
        release = threading.Timer(0.3, lambda: reader.execute("ROLLBACK"))
        release.start()
        try:
            with SQLiteStore(path, timeout=10) as store:
                assert "wal" == raw(path, "PRAGMA journal_mode")
                assert [] == list(store.relationships())
        finally:
            release.join()
            reader.close()

    def test_a_database_in_memory_is_refused_at_once(self) -> None:
        """':memory:' cannot share a write-ahead log: refused with a StoreError that says so."""
        with pytest.raises(StoreError, match="in memory"):
            SQLiteStore(":memory:", timeout=30)

    @pytest.mark.parametrize(
        ("answers", "outcome"),
        [
            (["database is locked", "database is locked", "wal"], None),
            (["database is busy", "wal"], None),
            (["database is locked"] * 1000, "timeout"),
            (["disk I/O error"], "refused it"),
        ],
    )
    def test_the_switch_to_wal_is_tried_again_while_another_opener_holds_the_file(
        self, answers: list[str], outcome: str | None
    ) -> None:
        """SQLite answers "locked" at once, without its busy timeout: the switch waits, within the timeout."""
        pending = iter(answers)

        class Row:
            def __init__(self, mode: str) -> None:
                self.mode = mode

            def fetchone(self) -> tuple[str]:
                return (self.mode,)

        class Connection:
            # A file in rollback-journal mode whose switch to WAL answers *answers* in turn.
            def execute(self, sql: str) -> Row:
                if sql == "PRAGMA journal_mode":
                    return Row("delete")
                answer = next(pending)
                if answer == "wal":
                    return Row(answer)
                raise sqlite3.OperationalError(answer)

        if outcome is None:
            _to_wal(Connection(), "ledger.db", 5)  # type: ignore[arg-type]
            assert [] == list(pending)
        else:
            with pytest.raises(StoreError, match=outcome):
                _to_wal(Connection(), "ledger.db", 0.05)  # type: ignore[arg-type]

    @pytest.mark.parametrize("timeout", [3e6, float("inf")])
    def test_a_timeout_longer_than_sqlite_counts_still_waits(
        self, path: Path, timeout: float
    ) -> None:
        """
        A timeout past SQLite's 24.8 days waits that long, not zero; infinity is accepted.
        """
        with SQLiteStore(path, timeout=timeout) as store:
            other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            other.execute("BEGIN IMMEDIATE")
            release = threading.Timer(0.2, lambda: other.execute("COMMIT"))
            release.start()
            try:
                store.record(make("a", "message", 1))
            finally:
                release.join()
                other.close()
            assert 1 == len(store.history("ana", BO))

    def test_a_call_waiting_while_another_thread_closes_the_store_is_told_so(
        self, path: Path
    ) -> None:
        """
        A call that began before close but waits for the connection raises StoreClosedError.
        """
        store = SQLiteStore(path)
        raised: list[BaseException] = []

        def call() -> None:
            try:
                store.relationship("ana", BO)
            except BaseException as e:  # noqa: BLE001
                raised.append(e)

        with store._lock:
            waiting = threading.Thread(target=call)
            waiting.start()
            waiting.join(0.2)
            store.close()
        waiting.join()

        assert [StoreClosedError] == [type(e) for e in raised]

    @pytest.mark.parametrize("sqlite_ends_it", ["no", "yes"])
    def test_a_failure_inside_a_call_changes_nothing(
        self, path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_ends_it: str
    ) -> None:
        """
        An error in the middle of a call rolls its transaction back, unless SQLite already did.
        """

        def fail(tx: _SQLiteTransaction, *_: object) -> None:
            if sqlite_ends_it == "yes":
                tx._conn.execute("ROLLBACK")
            raise RuntimeError

        with SQLiteStore(path) as store:
            store.record(make("a", "message", 1))
            monkeypatch.setattr(_SQLiteTransaction, "put_tombstone", fail)

            with pytest.raises(RuntimeError):
                store.forget(BO)

            assert 1 == len(store.history("ana", BO))

    def test_a_pickled_store_opens_the_file_again(self, path: Path) -> None:
        """
        A store sent to another process opens its own connection to the same file.
        """
        with SQLiteStore(path, audit=True) as store:
            store.record(make("a", "message", 1))
            with pickle.loads(pickle.dumps(store)) as copy:  # noqa: S301
                assert isinstance(copy, SQLiteStore)
                assert copy._conn is not store._conn
                assert (path.as_posix(), True) == (Path(copy.path).as_posix(), copy.audit)
                assert store.history("ana", BO) == copy.history("ana", BO)
                assert f"SQLiteStore({str(path)!r}, audit=True)" == repr(copy)

    def test_a_forked_child_opens_its_own_connection(
        self, path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        In another process the store opens the file again and leaves the inherited connection alone.
        """
        store = SQLiteStore(path)
        inherited = store._conn
        monkeypatch.setattr(os, "getpid", lambda: -1)

        store.record(make("a", "message", 1))

        assert store._conn is not inherited
        assert 1 == len(store.history("ana", BO))
        monkeypatch.undo()
        store.close()
        assert 1 == inherited.execute("SELECT count(*) FROM interactions").fetchone()[0]
        inherited.close()


def test_a_database_that_refuses_writes_is_a_store_error(tmp_path: Path) -> None:
    """A write the file refuses (read-only) is a StoreError saying so, and nothing is done."""
    with SQLiteStore(tmp_path / "ro.db") as store:
        store._connection().execute("PRAGMA query_only = ON")

        with pytest.raises(StoreError, match=r"refused it.*readonly"):
            store.record(Interaction("i1", "ana", "bo", "message", "2026-01-01T00:00:00Z"))

        assert [] == store.history("ana", "bo")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"path": None}, "path"),
        ({"path": 5}, "path"),
        ({"path": ""}, "path"),
        ({"path": "crm\x00.db"}, "path"),
        ({"path": b"crm.db"}, "path"),
        ({"timeout": "x"}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": True}, "timeout"),
    ],
)
def test_bad_arguments_open_nothing(tmp_path: Path, arguments: dict[str, Any], field: str) -> None:
    """A path that is not a file's, or a timeout that is not seconds, is InvalidRequest; no file."""
    given = {"path": tmp_path / "crm.db", **arguments}
    path = given.pop("path")

    with pytest.raises(InvalidRequest) as raised:
        SQLiteStore(path, **given)

    assert field == raised.value.field
    assert [] == list(tmp_path.iterdir())


def test_a_failure_inside_a_transaction_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error in the middle of a write rolls it back and is a StoreError; nothing is stored."""
    with SQLiteStore(tmp_path / "io.db") as store:

        def fail(*args: object, **kwargs: object) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(_SQLiteTransaction, "append", fail)
        with pytest.raises(StoreError, match=r"refused it \(disk I/O error\); nothing was done"):
            store.record(Interaction("i1", "ana", "bo", "message", "2026-01-01T00:00:00Z"))
        monkeypatch.undo()

        assert [] == store.history("ana", "bo")


def _damaged(path: Path) -> Path:
    # A store of 2,000 interactions whose middle page was overwritten behind its back.
    with SQLiteStore(path) as store:
        store.record_many(
            Interaction(f"i{n}", "ana", f"c{n % 50}", "message", day(n // 100)) for n in range(2000)
        )
    data = bytearray(path.read_bytes())
    page = len(data) // 4096 // 2 * 4096
    data[page : page + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("call", ["verify", "forget"])
def test_a_damaged_file_is_a_store_error(tmp_path: Path, call: str) -> None:
    """A file damaged behind the store's back makes its calls StoreErrors, never the driver's."""
    path = _damaged(tmp_path / "damaged.db")

    with SQLiteStore(path) as store, pytest.raises(StoreError, match="malformed"):
        store.verify() if call == "verify" else store.forget("c7")

    SQLiteStore(path).close()  # nothing was done: it opens as before


def _two_messages(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.record(
            Interaction("a", "ana", "bo", "connection_accepted", day(0), direction="inbound")
        )
        store.record(Interaction("b", "ana", "bo", "message", day(1)))


@pytest.mark.parametrize(
    ("tamper", "ok"),
    [
        ("UPDATE interactions SET id = '' WHERE id = 'b'", False),
        ("UPDATE interactions SET id = x'ff' WHERE id = 'b'", False),
        ("UPDATE interactions SET sender = '' WHERE id = 'b'", False),
        # The same text as bytes is the same text: nothing the chain holds changed.
        ("UPDATE interactions SET contact = CAST(contact AS BLOB) WHERE id = 'a'", True),
    ],
)
def test_verify_reports_rows_no_store_would_write(
    tmp_path: Path,
    tamper: str,
    ok: bool,  # noqa: FBT001
) -> None:
    """An id or pair emptied or rewritten as bytes is a problem verify reports, not an exception."""
    path = tmp_path / "ledger.db"
    _two_messages(path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(tamper)
        conn.commit()

    with SQLiteStore(path) as store:
        verification = store.verify()

    assert 2 == verification.checked
    assert ok is verification.ok
    json.dumps(verification.to_dict())


@pytest.mark.parametrize(
    "erased_at", ["'2026-01-01T00:00:00'", "CAST('2026-01-01T00:00:00+00:00' AS BLOB)", "'soon'"]
)
def test_a_suppression_record_changed_behind_the_stores_back_is_a_store_error(
    tmp_path: Path, erased_at: str
) -> None:
    """A tombstone whose time is gone, bytes or without an offset is reported, not compared."""
    path = tmp_path / "ledger.db"
    _two_messages(path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"INSERT INTO tombstones VALUES ('k', {erased_at}, 1)")  # noqa: S608
        conn.commit()

    with SQLiteStore(path) as store, pytest.raises(StoreError, match="changed behind the store"):
        store.screen("ana", "message")
