"""
A process killed inside a SQLiteStore call leaves that call not done, and the store sound.
"""

from __future__ import annotations

import multiprocessing
import signal

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from permission_networking import Interaction, replay
from permission_networking.stores import SQLiteStore
from stores import store_workers
from timeline import DAY0


BO = "bo@example.org"
CY = "cy@example.org"


def killed(path: Path, step: str, call: str, argument: Any) -> None:
    """
    Run `store_workers.crash_inside` in a spawned process, which must die by SIGKILL.
    """
    process = multiprocessing.get_context("spawn").Process(
        target=store_workers.crash_inside, args=(str(path), step, call, argument)
    )
    process.start()
    process.join()
    assert -signal.SIGKILL == process.exitcode


def contents(store: SQLiteStore) -> dict[str, Any]:
    """
    Return what a store opened without an audit shows: each pair's history and relationship, the decisions logged, a check.
    """
    return {
        "pairs": {
            (r.sender, r.contact): (store.history(r.sender, r.contact), r)
            for r in store.relationships()
        },
        "decisions": store.decisions(),
        "bo": store.check("ana", BO, "message", at=DAY0 + timedelta(days=3)).codes,
    }


@pytest.fixture(name="ledger")
def _ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    with SQLiteStore(path, audit=True) as store:
        for contact in (BO, CY):
            store.record(
                Interaction(
                    f"a-{contact}", "ana", contact, "connection_accepted", DAY0, direction="inbound"
                )
            )
        store.record(Interaction("m1", "ana", BO, "message", DAY0 + timedelta(hours=1)))
        store.check("ana", CY, "pitch", at=DAY0 + timedelta(days=2))
    return path


def batch() -> list[Interaction]:
    """
    Return a batch that adds to both stored pairs and begins three new ones.
    """
    contacts = [BO, CY, "di@example.org", "ed@example.org", "flo@example.org"]
    return [
        Interaction(
            f"b{n:03d}",
            "ana",
            contacts[n % len(contacts)],
            "message",
            DAY0 + timedelta(days=1, minutes=n),
            direction="inbound" if n % 3 else "outbound",
        )
        for n in range(200)
    ]


CRASHES = [
    pytest.param("append", "record_many", [i.to_dict() for i in batch()], id="record_many"),
    pytest.param("append", "perform", BO, id="perform-recorded"),
    pytest.param("log_decision", "perform", CY, id="perform-logged"),
    pytest.param("erase", "forget", BO, id="forget-erased"),
    pytest.param("put_tombstone", "forget", BO, id="forget-tombstoned"),
]


@pytest.mark.parametrize(("step", "call", "argument"), CRASHES)
def test_a_call_killed_before_its_commit_is_not_done(
    ledger: Path, step: str, call: str, argument: Any
) -> None:
    """
    Killed after writing but before committing, a call leaves the store exactly as it was.
    """
    with SQLiteStore(ledger) as store:
        before = contents(store)

    killed(ledger, step, call, argument)

    with SQLiteStore(ledger) as store:
        assert before == contents(store)
        assert store.verify()
        assert 3 == store.verify().checked


def test_after_a_crash_the_same_call_is_done_once_and_whole(ledger: Path) -> None:
    """
    The batch a crash lost is recorded whole when sent again, and every pair equals its replay.
    """
    items = batch()
    killed(ledger, "append", "record_many", [i.to_dict() for i in items])

    with SQLiteStore(ledger) as store:
        assert len(items) == store.record_many(items)
        assert 0 == store.record_many(items)
        for relationship in store.relationships():
            log = store.history(relationship.sender, relationship.contact)
            assert replay(log) == relationship
        assert store.verify()
        assert 3 + len(items) == store.verify().checked
