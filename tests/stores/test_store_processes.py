"""
Processes sharing one SQLiteStore file lose nothing, double nothing, and pass no limit together.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from permission_networking import Decision, Interaction, replay
from permission_networking.stores import SQLiteStore
from processes import race
from stores import store_workers
from timeline import DAY0


BO = "bo@example.org"


def test_racing_processes_cannot_pass_the_limit_together(tmp_path: Path) -> None:
    """
    Six processes performing a message on one pair record exactly the limit of three.
    """
    path = tmp_path / "ledger.db"
    with SQLiteStore(path) as store:
        store.record(Interaction("a", "ana", BO, "connection_accepted", DAY0, direction="inbound"))

    decisions = [
        Decision.from_dict(d) for d in race(store_workers.perform_message, [(str(path), BO)] * 6)
    ]

    assert 3 == sum(d.allowed for d in decisions)
    assert [("unanswered_limit",)] * 3 == [d.codes for d in decisions if not d.allowed]
    with SQLiteStore(path) as store:
        history = store.history("ana", BO)
        assert ["connection_accepted"] + ["message"] * 3 == [i.kind for i in history]
        assert 3 == store.relationship("ana", BO).unanswered
        assert store.verify()


def test_processes_opening_a_new_file_together_all_get_in(tmp_path: Path) -> None:
    """
    Four processes creating and opening one new file at once all record (several rounds).
    """
    for round_ in range(3):
        path = tmp_path / f"ledger{round_}.db"
        contacts = [f"c{n}@example.org" for n in range(4)]

        assert [1] * 4 == race(store_workers.open_and_record, [(str(path), c) for c in contacts])
        with SQLiteStore(path) as store:
            assert sorted(contacts) == sorted(r.contact for r in store.relationships())


@pytest.mark.parametrize("pairs", [2, 120])
def test_overlapping_batches_lose_and_double_nothing(tmp_path: Path, pairs: int) -> None:
    """
    Four processes recording overlapping batches, of two pairs or of many, store each interaction once.
    """
    path = tmp_path / "ledger.db"
    SQLiteStore(path).close()
    items = [
        Interaction(
            f"i{n:03d}",
            "ana",
            f"c{n % pairs:03d}@example.org",
            "message",
            DAY0 + timedelta(hours=(n * 7) % 60),
            direction="inbound" if n % 4 == 0 else "outbound",
        )
        for n in range(240)
    ]
    batches = [[i.to_dict() for i in items[k * 60 : k * 60 + 120]] for k in range(4)]

    counts = race(store_workers.record_batch, [(str(path), batch) for batch in batches])

    assert 240 == sum(counts)
    with SQLiteStore(path) as store:
        for contact in sorted({i.contact for i in items}):
            log = [i for i in items if i.contact == contact]
            assert sorted(log) == store.history("ana", contact)
            assert replay(log) == store.relationship("ana", contact)
        assert 240 == store.verify().checked
        assert store.verify()
