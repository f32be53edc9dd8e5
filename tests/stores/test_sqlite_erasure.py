"""
forget() on a SQLiteStore leaves no trace of the contact in any file of the database.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from permission_networking import Evidence, Interaction
from permission_networking.exceptions import StoreError
from permission_networking.stores import SQLiteStore


SECRETS = (
    "bo.secret@example.org",
    "meta-7f3a9c",
    "I agree to hear from Ana 5e1c",
    "198.51.100.77",
    "QQ-ZZ9",
)
CONTACT, METADATA, TEXT, SOURCE, JURISDICTION = SECRETS
KEPT = "di.kept@example.org"


def files(directory: Path) -> dict[str, bytes]:
    """
    Return the bytes of every file of the database: the file, its WAL and shared memory.
    """
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def traces(directory: Path) -> list[tuple[str, str]]:
    """
    Return (file, secret) for each secret found in the raw bytes of a database file.
    """
    return [
        (name, secret)
        for name, data in files(directory).items()
        for secret in SECRETS
        if secret.encode() in data
    ]


def fill(store: SQLiteStore) -> None:
    """
    Record a rich history of the contact with two senders, and decide on it.
    """
    past = datetime.now(UTC) - timedelta(days=30)
    items = [
        Interaction(
            "grant",
            "ana",
            CONTACT,
            "opt_in_granted",
            past,
            purpose="marketing",
            channel="email",
            evidence=Evidence("web_form", text=TEXT, source=SOURCE),
            metadata={"campaign": METADATA},
        ),
        Interaction("accept", "cy", CONTACT, "connection_accepted", past, direction="inbound"),
        Interaction("kept", "ana", KEPT, "message", past, metadata={"note": "kept"}),
        Interaction(
            "where",
            "ana",
            CONTACT,
            "profile_updated",
            past,
            metadata={"jurisdiction": JURISDICTION},
        ),
    ]
    items += [
        Interaction(
            f"m{n}", "cy", CONTACT, "message", past + timedelta(hours=n), metadata={"m": METADATA}
        )
        for n in range(1, 200)
    ]
    store.record_many(items)
    store.check("ana", CONTACT, "send_marketing")
    store.check("ana", CONTACT, "pitch")  # warns that QQ-ZZ9 is no jurisdiction it knows
    store.perform("cy", CONTACT, "message")
    store.screen("ana", "send_marketing")


def test_no_trace_remains_in_any_file(tmp_path: Path) -> None:
    """
    After forget, the contact's id, metadata and evidence are in none of the files.
    """
    path = tmp_path / "ledger.db"
    with SQLiteStore(path, audit=True) as store:
        fill(store)
        assert traces(tmp_path)

        assert 202 == store.forget(CONTACT)

        assert [] == traces(tmp_path)
        assert store.verify()
        assert "do_not_contact" in store.check("ana", CONTACT, "message").codes
        assert [] == traces(tmp_path)
    assert [] == traces(tmp_path)
    assert KEPT.encode() in files(tmp_path)["ledger.db"]


def test_the_tombstone_survives_reopening(tmp_path: Path) -> None:
    """
    The keyed hash and its key are in the file, so a reopened store still suppresses.
    """
    path = tmp_path / "ledger.db"
    with SQLiteStore(path, audit=True) as store:
        fill(store)
        store.forget(CONTACT)

    with SQLiteStore(path) as store:
        assert store.relationship("ana", CONTACT).do_not_contact
        assert not store.perform("ana", CONTACT, "send_marketing")
        assert store.decisions(contact=CONTACT)


def test_a_reader_that_holds_the_wal_is_reported(tmp_path: Path) -> None:
    """
    When another connection keeps the WAL from being truncated, forget says so, and a second forget finishes.
    """
    path = tmp_path / "ledger.db"
    with SQLiteStore(path, timeout=0.05) as store:
        fill(store)
        with closing(sqlite3.connect(path, isolation_level=None)) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM interactions").fetchone()

            with pytest.raises(StoreError, match="erasure is done"):
                store.forget(CONTACT)

            reader.execute("COMMIT")
        assert [] == store.history("cy", CONTACT)

        assert 0 == store.forget(CONTACT)
        assert [] == traces(tmp_path)


def test_a_writer_that_holds_the_lock_after_the_erasure_is_reported(tmp_path: Path) -> None:
    """
    When another connection starts writing before the file is rewritten, forget says so.
    """
    path = tmp_path / "ledger.db"
    with SQLiteStore(path, timeout=0.05) as store:
        fill(store)
        with closing(sqlite3.connect(path, isolation_level=None)) as writer:
            rewrite = store._after_forget

            def interrupted() -> None:
                writer.execute("BEGIN IMMEDIATE")
                rewrite()

            store._after_forget = interrupted  # type: ignore[method-assign]
            with pytest.raises(StoreError, match="erasure is done"):
                store.forget(CONTACT)
            writer.execute("ROLLBACK")
        del store._after_forget
        assert [] == store.history("cy", CONTACT)

        assert 0 == store.forget(CONTACT)
        assert [] == traces(tmp_path)


_STOPPED = """
import os, sys
from permission_networking.stores import SQLiteStore
store = SQLiteStore(sys.argv[1])
store._after_forget = lambda: os._exit(0)  # the process dies after the erasure's commit
store.forget(sys.argv[2])
"""


def test_an_erasure_cut_short_by_a_crash_is_finished_by_the_next_opening(tmp_path: Path) -> None:
    """
    A process that dies between forget's commit and the file's rewrite leaves it to the next store.
    """
    path = tmp_path / "ledger.db"
    with SQLiteStore(path, audit=True) as store:
        fill(store)
    subprocess.run([sys.executable, "-c", _STOPPED, str(path), CONTACT], check=True)  # noqa: S603
    assert traces(tmp_path)

    with SQLiteStore(path) as store:
        assert store.relationship("ana", CONTACT).do_not_contact
        assert [] == traces(tmp_path)
        assert store.verify()
