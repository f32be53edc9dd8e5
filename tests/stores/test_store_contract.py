"""
The contract every store keeps: one suite, run against each backend.
"""

from __future__ import annotations

import itertools
import json
import random
import threading

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from permission_networking import (
    Decision,
    Evidence,
    Interaction,
    InvalidInteraction,
    InvalidRequest,
    Policy,
    Reason,
    Relationship,
    Request,
    Rule,
    StoreClosedError,
    check,
    replay,
)
from permission_networking import screen as screen_relationships
from permission_networking.exceptions import ConflictError
from permission_networking.stores import (
    MemoryStore,
    Problem,
    ProblemKind,
    SQLiteStore,
    Store,
    Verification,
)
from postgres.pg_server import open_postgres
from strategies import logs
from timeline import day


BACKENDS = ("memory", "sqlite", "postgres")


def open_store(kind: str, directory: Path, *, audit: bool = False) -> Store:
    """
    Open a new, empty store of backend *kind*: the one place that knows how.
    """
    if kind == "memory":
        return MemoryStore(audit=audit)
    if kind == "postgres":
        # Skips the test when no server is reachable, and fails it in CI.
        return open_postgres(audit=audit)
    directory.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(directory / "ledger.db", audit=audit)


@pytest.fixture(name="store", params=BACKENDS)
def _store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store = open_store(request.param, tmp_path / "store")
    yield store
    store.close()


@pytest.fixture(name="audited", params=BACKENDS)
def _audited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store = open_store(request.param, tmp_path / "audited", audit=True)
    yield store
    store.close()


BO = "bo@example.org"


def make(
    id: str,  # noqa: A002
    kind: str,
    at: datetime,
    *,
    sender: str = "ana",
    contact: str = BO,
    **kw: Any,
) -> Interaction:
    """
    Build an interaction of the pair (ana, bo) unless told otherwise.
    """
    return Interaction(id, sender, contact, kind, at, **kw)


def connected(store: Store, *, sender: str = "ana", contact: str = BO) -> None:
    """
    Record that *contact* accepted *sender*'s connection on day 0.
    """
    store.record(
        make(
            f"{sender}-{contact}-accepted",
            "connection_accepted",
            day(0),
            sender=sender,
            contact=contact,
            direction="inbound",
        )
    )


def soon() -> datetime:
    """
    Return a time after any erasure made before now: tomorrow.
    """
    return datetime.now(UTC) + timedelta(days=1)


class TestRecord:
    def test_record_returns_the_replayed_relationship(self, store: Store) -> None:
        """
        Recording returns the pair's relationship, the replay of everything recorded.
        """
        first = make("a", "connection_accepted", day(0), direction="inbound")
        second = make("b", "message", day(1), direction="inbound")

        store.record(first)

        assert replay([first, second]) == store.record(second)

    def test_same_id_and_content_is_a_no_op(self, store: Store) -> None:
        """
        Recording an interaction again changes nothing and counts as not new.
        """
        item = make("a", "message", day(1))
        store.record(item)

        assert store.record(item) == store.relationship("ana", BO)
        assert 0 == store.record_many([item, item])
        assert [item] == store.history("ana", BO)

    def test_same_id_with_other_content_conflicts(self, store: Store) -> None:
        """
        An id stored with other content raises ConflictError and stores nothing.
        """
        item = make("a", "message", day(1))
        store.record(item)

        with pytest.raises(ConflictError) as info:
            store.record(make("a", "message", day(2)))

        assert "a" == info.value.id
        assert [item] == store.history("ana", BO)

    def test_a_conflict_stores_nothing_of_its_batch(self, store: Store) -> None:
        """
        A batch with one conflicting interaction is refused whole.
        """
        item = make("a", "message", day(1))
        store.record(item)
        batch = [make("b", "message", day(2)), make("a", "pitch", day(1))]

        with pytest.raises(ConflictError):
            store.record_many(batch)

        assert [item] == store.history("ana", BO)

    def test_an_id_twice_in_a_batch_with_other_content_conflicts(self, store: Store) -> None:
        """
        A batch giving one id two contents is refused whole.
        """
        batch = [make("a", "message", day(1)), make("b", "message", day(2))]

        with pytest.raises(ConflictError, match="twice"):
            store.record_many([*batch, make("a", "message", day(3))])

        assert [] == store.history("ana", BO)

    def test_record_many_counts_what_was_new(self, store: Store) -> None:
        """
        record_many returns how many interactions were new, counting repeats once.
        """
        a = make("a", "message", day(1))
        b = make("b", "message", day(2), sender="cy")
        store.record(a)

        assert 1 == store.record_many([a, b, b])
        assert 0 == store.record_many([])
        assert [b] == store.history("cy", BO)

    @pytest.mark.parametrize("value", [None, "message", {"id": "a"}])
    def test_record_refuses_what_is_not_an_interaction(self, store: Store, value: Any) -> None:
        """
        Recording a value that is not an Interaction raises InvalidInteraction.
        """
        with pytest.raises(InvalidInteraction, match="expected an Interaction"):
            store.record(value)

    def test_record_many_refuses_a_batch_with_an_invalid_item(self, store: Store) -> None:
        """
        A batch with one invalid item raises InvalidInteraction and stores nothing.
        """
        with pytest.raises(InvalidInteraction):
            store.record_many([make("a", "message", day(1)), "b"])  # type: ignore[list-item]

        assert [] == list(store.relationships())

    @pytest.mark.parametrize("value", [make("a", "message", day(1)), 42])
    def test_record_many_refuses_what_is_not_an_iterable(self, store: Store, value: Any) -> None:
        """
        record_many wants an iterable of interactions; one interaction is refused.
        """
        with pytest.raises(InvalidInteraction, match="iterable"):
            store.record_many(value)

    def test_text_that_is_not_unicode_is_refused(self, store: Store) -> None:
        """
        Metadata holding a lone surrogate cannot be encoded: the interaction refuses it.
        """
        with pytest.raises(InvalidInteraction, match="lone surrogate"):
            make("a", "message", day(1), metadata={"note": "x\ud800"})
        with pytest.raises(InvalidInteraction, match="lone surrogate"):
            make("a", "message", day(1), metadata={"x\ud800": "note"})

        assert [] == list(store.relationships())

    def test_history_is_in_time_order(self, store: Store) -> None:
        """
        History returns the log in (at, id) order, whatever the arrival order.
        """
        items = [
            make("c", "message", day(2)),
            make("b", "message", day(1)),
            make("a", "message", day(2)),
        ]
        store.record_many(items)

        assert ["b", "a", "c"] == [i.id for i in store.history("ana", BO)]

    def test_an_unknown_pair_is_a_stranger(self, store: Store) -> None:
        """
        A pair the store never heard of is a stranger, not an error.
        """
        assert Relationship(sender="ana", contact=BO) == store.relationship("ana", BO)
        assert replay([], sender="ana", contact=BO) == store.relationship("ana", BO, at=day(1))
        assert [] == store.history("ana", BO)

    def test_time_travel(self, store: Store) -> None:
        """
        relationship(at=t) is the replay of what had happened by t.
        """
        items = [
            make("a", "connection_accepted", day(0), direction="inbound"),
            make("b", "message", day(1)),
            make("c", "message", day(2), direction="inbound"),
            make("d", "message", day(3)),
        ]
        store.record_many(items)

        for at in (day(-1), day(0), day(1.5), day(3), day(9)):
            assert replay(items, at=at) == store.relationship("ana", BO, at=at)

    def test_pairs_are_kept_apart(self, store: Store) -> None:
        """
        Interactions of other pairs do not change a pair's relationship.
        """
        mine = make("a", "message", day(1), direction="inbound")
        store.record_many(
            [
                mine,
                make("b", "blocked", day(2), sender="cy"),
                make("c", "blocked", day(2), contact="di"),
            ]
        )

        assert replay([mine]) == store.relationship("ana", BO)

    def test_relationships_are_ordered_by_sender_then_contact(self, store: Store) -> None:
        """
        relationships() lists every pair, or one sender's, by sender then contact.
        """
        for sender, contact in [("cy", "zed"), ("ana", "zed"), ("ana", BO)]:
            store.record(
                make(f"{sender}{contact}", "message", day(1), sender=sender, contact=contact)
            )

        every = [(r.sender, r.contact) for r in store.relationships()]
        anas = [(r.sender, r.contact) for r in store.relationships("ana")]

        assert [("ana", BO), ("ana", "zed"), ("cy", "zed")] == every
        assert [("ana", BO), ("ana", "zed")] == anas
        assert [store.relationship("ana", BO)] == list(store.relationships("ana"))[:1]

    @pytest.mark.parametrize(
        ("sender", "contact", "at"),
        [(1, BO, None), ("ana", "", None), ("ana", BO, "2026-01-01T00:00:00")],
    )
    def test_invalid_arguments_are_refused(
        self, store: Store, sender: Any, contact: Any, at: Any
    ) -> None:
        """
        A non-string identifier or a naive time raises InvalidRequest.
        """
        with pytest.raises(InvalidRequest):
            store.relationship(sender, contact, at=at)

    def test_an_identifier_that_is_not_text_is_refused_alike(self, store: Store) -> None:
        """
        An id holding a lone surrogate (as json.loads can give) is refused by every store.
        """
        lone: str = json.loads('"\\ud800"')
        calls: list[Callable[[], object]] = [
            lambda: store.relationship("ana", lone),
            lambda: store.history(lone, BO),
            lambda: store.check("ana", lone, "message"),
            lambda: store.perform("ana", lone, "message"),
            lambda: store.forget(lone),
        ]
        for call in calls:
            with pytest.raises(InvalidRequest, match="lone surrogate"):
                call()
        with pytest.raises(InvalidInteraction, match="lone surrogate"):
            Interaction(lone, "ana", BO, "message", "2026-01-01T00:00:00Z")

    def test_a_purpose_or_group_that_is_not_text_is_refused_alike(self, store: Store) -> None:
        """
        A purpose or group holding a lone surrogate is refused before anything is decided or logged.
        """
        lone: str = json.loads('"x\\ud800"')
        arguments: list[dict[str, Any]] = [{"purpose": lone}, {"group": lone}]
        for kw in arguments:
            for call in (store.check, store.perform):
                with pytest.raises(InvalidRequest, match="lone surrogate"):
                    call("ana", BO, "pitch", **kw)
            with pytest.raises(InvalidRequest, match="lone surrogate"):
                store.screen("ana", "pitch", **kw)
        with pytest.raises(InvalidInteraction, match="lone surrogate"):
            Interaction("1", "ana", BO, "opt_in_granted", "2026-01-01T00:00:00Z", purpose=lone)
        assert [] == store.history("ana", BO)

    def test_invalid_sender_of_relationships_is_refused(self, store: Store) -> None:
        """
        relationships() refuses a sender that is not a non-empty string.
        """
        with pytest.raises(InvalidRequest):
            store.relationships("")


_pairs = itertools.count()


# Each example records a pair of its own, so sharing the test's store is sound.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(log=logs(max_size=12), data=st.data())
def test_arrival_order_never_matters(
    store: Store, log: list[Interaction], data: st.DataObject
) -> None:
    """
    Recorded in any order and batching, a pair's relationship is always the replay of its log.
    """
    contact = f"contact-{next(_pairs)}"
    items = [attrs.evolve(i, id=f"{contact}-{i.id}", contact=contact) for i in log]
    arrival = data.draw(st.permutations(items))
    cuts = sorted(data.draw(st.sets(st.integers(0, len(arrival)))))
    recorded: list[Interaction] = []
    for start, end in itertools.pairwise([0, *cuts, len(arrival)]):
        chunk = arrival[start:end]
        if len(chunk) == 1:
            after = store.record(chunk[0])
        else:
            store.record_many(chunk)
            after = store.relationship("ana", contact)
        recorded.extend(chunk)
        assert replay(recorded, sender="ana", contact=contact) == after

    at = data.draw(st.sampled_from([i.at for i in items] or [day(0)]))
    assert sorted(items) == store.history("ana", contact)
    assert replay(items, at=at, sender="ana", contact=contact) == store.relationship(
        "ana", contact, at=at
    )


def shuffled(items: list[Interaction]) -> list[Interaction]:
    """
    Return *items* in an order of their own: every seventh, starting from each of the first seven.
    """
    return [item for start in range(7) for item in items[start::7]]


class TestManyPairs:
    """
    Batches that touch many pairs at once, as live traffic does.
    """

    def existing(self, store: Store) -> list[Interaction]:
        """
        Record two interactions for each of 70 pairs of two senders, and return them.
        """
        items = [
            make(f"{kind}-{n}", kind, day(at), sender=("ana", "cy")[n % 2], contact=f"c{n:02d}")
            for n in range(70)
            for kind, at in (("connection_accepted", 2), ("message", 4))
        ]
        store.record_many(items)
        return items

    def test_a_batch_of_many_pairs_is_the_replay_of_everything(self, store: Store) -> None:
        """
        New pairs, later and earlier news of stored pairs, a forgotten contact and repeats, in one batch.
        """
        stored = self.existing(store)
        store.record(make("gone-0", "message", day(1), contact="gone"))
        store.forget("gone")
        new = [
            *(make(f"new-{n}", "message", day(5), contact=f"n{n:02d}") for n in range(30)),
            *(
                make(f"later-{n}", "message", day(6), sender="cy", contact=f"c{n:02d}")
                for n in range(1, 20, 2)
            ),
            *(
                make(f"between-{n}", "reaction", day(3), sender="ana", contact=f"c{n:02d}")
                for n in range(20, 40, 2)
            ),
            *(
                make(f"before-{n}", "message", day(1), sender="cy", contact=f"c{n:02d}")
                for n in range(21, 41, 2)
            ),
            make("gone-1", "message", day(1), contact="gone"),
            make("gone-2", "opt_in_granted", soon(), contact="gone", purpose="marketing"),
        ]
        repeats = stored[40:80]
        erased = {"gone-1"}

        assert len(new) - len(erased) == store.record_many(shuffled([*new, *repeats]))

        everything = [i for i in [*stored, *new] if i.id not in erased]
        for sender, contact in sorted({(i.sender, i.contact) for i in everything}):
            log = [i for i in everything if (i.sender, i.contact) == (sender, contact)]
            assert sorted(log) == store.history(sender, contact)
            assert replay(log) == store.relationship(sender, contact)
        assert len(everything) == store.verify().checked
        assert store.verify()

    def test_a_conflict_in_a_batch_of_many_pairs_stores_nothing(self, store: Store) -> None:
        """
        One stored id with other content, amid many pairs, refuses the whole batch.
        """
        self.existing(store)
        before = (list(store.relationships()), store.verify())
        batch = [
            *(make(f"new-{n}", "message", day(5), contact=f"n{n:02d}") for n in range(40)),
            make("message-7", "message", day(9), sender="cy", contact="c07"),
            *(
                make(f"later-{n}", "message", day(6), sender="cy", contact=f"c{n:02d}")
                for n in range(1, 70, 2)
            ),
        ]

        with pytest.raises(ConflictError) as info:
            store.record_many(batch)

        assert "message-7" == info.value.id
        assert before == (list(store.relationships()), store.verify())
        assert [] == store.history("ana", "n00")

    def test_an_id_given_twice_across_pairs_stores_nothing(self, store: Store) -> None:
        """
        One id given to two pairs of a batch with other content refuses the whole batch.
        """
        self.existing(store)
        before = list(store.relationships())
        batch = [make(f"new-{n}", "message", day(5), contact=f"n{n:02d}") for n in range(40)]

        with pytest.raises(ConflictError, match="twice"):
            store.record_many([*batch, make("new-3", "message", day(5), contact="c00")])

        assert before == list(store.relationships())


# Each example records pairs of its own, so sharing the test's store is sound.
@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pair_logs=st.lists(logs(max_size=6), min_size=1, max_size=6), data=st.data())
def test_batches_of_many_pairs_never_depend_on_order(
    store: Store, pair_logs: list[list[Interaction]], data: st.DataObject
) -> None:
    """
    Batches mixing many pairs, in any order, cut anywhere and with repeats, leave each pair its replay.
    """
    prefix = f"many-{next(_pairs)}"
    items = [
        attrs.evolve(i, id=f"{prefix}-{n}-{i.id}", contact=f"{prefix}-{n}")
        for n, log in enumerate(pair_logs)
        for i in log
    ]
    arrival = data.draw(st.permutations(items))
    cuts = sorted(data.draw(st.sets(st.integers(0, len(arrival)), max_size=3)))
    for start, end in itertools.pairwise([0, *cuts, len(arrival)]):
        again = data.draw(st.lists(st.sampled_from(arrival[:start]), max_size=3)) if start else []
        assert end - start == store.record_many([*arrival[start:end], *again])

    for n in range(len(pair_logs)):
        contact = f"{prefix}-{n}"
        log = [i for i in items if i.contact == contact]
        assert sorted(log) == store.history("ana", contact)
        assert replay(log, sender="ana", contact=contact) == store.relationship("ana", contact)
    assert store.verify()


class TestCheck:
    def test_check_decides_on_the_stored_relationship(self, store: Store) -> None:
        """
        store.check gives the decision check() gives on the stored relationship.
        """
        connected(store)
        at = day(1)

        for action in ("message", "pitch", "connect"):
            expected = check(store.relationship("ana", BO), action, at=at)
            assert expected == store.check("ana", BO, action, at=at)

    def test_check_decides_on_everything_recorded(self, store: Store) -> None:
        """
        check(at=t) decides at t on every interaction recorded, also those after t.
        """
        connected(store)
        store.record_many([make(f"m{n}", "message", day(n)) for n in (1, 2, 3)])

        decision = store.check("ana", BO, "message", at=day(2.5))

        assert ("unanswered_limit",) == decision.codes
        assert day(2.5) == decision.at
        assert check(store.relationship("ana", BO), "message", at=day(2.5)) == decision

    def test_a_decision_as_of_a_time_rests_on_the_relationship_then(self, store: Store) -> None:
        """
        The way to ask what would have been decided at t: the relationship as of t.
        """
        connected(store)
        store.record_many([make(f"m{n}", "message", day(n)) for n in (1, 2, 3)])

        assert check(store.relationship("ana", BO, at=day(2.5)), "message", at=day(2.5)).allowed

    def test_check_sees_a_block_dated_after_its_time(self, store: Store) -> None:
        """
        A block recorded for a later time denies a check at an earlier one, as it denies perform.
        """
        connected(store)
        store.record(make("b", "blocked", day(5), direction="inbound"))

        assert ("do_not_contact", "not_connected") == store.check(
            "ana", BO, "message", at=day(1)
        ).codes

    def test_check_passes_its_keywords_on(self, store: Store) -> None:
        """
        policy, channel and purpose reach the decision.
        """
        connected(store)
        store.record(make("m1", "message", day(1)))
        strict = Policy.etiquette(max_unanswered=1)

        decision = store.check("ana", BO, "message", at=day(2), policy=strict, channel="email")

        assert ("unanswered_limit",) == decision.codes
        assert "email" == decision.channel
        assert "sales" == store.check("ana", BO, "call", purpose="sales").purpose

    @pytest.mark.parametrize("audit", [False, True])
    @pytest.mark.parametrize("kind", BACKENDS)
    def test_suggestions_follow_the_channel_named(
        self,
        kind: str,
        tmp_path: Path,
        audit: bool,  # noqa: FBT001
    ) -> None:
        """
        check, perform and screen suggest on the channel named, or on each action's default.

        The default channel of the denied action, named or not, counts as none named.
        """
        with open_store(kind, tmp_path, audit=audit) as store:
            connected(store)
            store.record(make("bounce", "bounced", day(1), channel="email"))
            everywhere = ("share_value", "message")

            for action, channel, bounced, expected in (
                ("ask_favor", None, False, everywhere),
                ("ask_favor", "email", True, ()),
                ("send_marketing", None, True, everywhere),
                ("send_marketing", "email", True, everywhere),
            ):
                kw: dict[str, Any] = {"at": day(2), "channel": channel}
                decisions = [
                    store.check("ana", BO, action, **kw),
                    store.perform("ana", BO, action, **kw),
                    store.screen("ana", action, contacts=[BO], **kw).denied[BO],
                ]
                for decision in decisions:
                    assert bounced == ("undeliverable" in decision.codes)
                    assert expected == decision.suggestions
            assert 2 == len(store.history("ana", BO))

    def test_identifiers_as_long_as_allowed_are_stored_and_longer_refused(
        self, store: Store
    ) -> None:
        """
        An id, sender and contact of 800 bytes each are stored; a longer one is refused by every call.
        """
        # Random, so that PostgreSQL cannot compress the index entry below its limit.
        rng = random.Random(7)  # noqa: S311
        id_, sender, contact = (
            "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(800))
            for _ in range(3)
        )
        store.record(Interaction(id_, sender, contact, "message", day(1)))

        assert 1 == len(store.history(sender, contact))
        with pytest.raises(InvalidRequest) as raised:
            store.check(sender, contact + "x", "message")
        assert "contact" == raised.value.field

    def test_check_now_sees_everything_recorded(self, store: Store) -> None:
        """
        Without at, check decides now on every recorded interaction.
        """
        connected(store)
        store.record(make("b", "blocked", day(1), direction="inbound"))

        decision = store.check("ana", BO, "message")

        assert "do_not_contact" in decision.codes
        assert decision.at > day(1)

    def test_invalid_action_is_refused(self, store: Store) -> None:
        """
        An unknown action raises InvalidRequest.
        """
        with pytest.raises(InvalidRequest):
            store.check("ana", BO, "spam")


class TestPerform:
    def test_allowed_action_is_recorded(self, store: Store) -> None:
        """
        An allowed perform records the action's interaction as the decision describes it.
        """
        store.record(
            make(
                "g",
                "opt_in_granted",
                day(0),
                purpose="marketing",
                evidence=Evidence("web_form"),
            )
        )

        decision = store.perform("ana", BO, "send_marketing", at=day(1), id="send-1")

        assert decision.allowed
        expected = make(
            "send-1",
            "marketing_sent",
            day(1),
            direction="outbound",
            channel="email",
            purpose="marketing",
        )
        assert expected == store.history("ana", BO)[-1]
        assert store.relationship("ana", BO) == replay(store.history("ana", BO))

    def test_promoting_without_a_group_is_denied(self, audited: Store) -> None:
        """
        promote_in_group without a group returns the denial with both codes, as check does.
        """
        connected(audited)

        decision = audited.perform("ana", BO, "promote_in_group", policy=Policy.etiquette())

        assert ("not_introduced", "no_owner_permission") == decision.codes
        assert check(audited.relationship("ana", BO), "promote_in_group").codes == decision.codes
        assert ["connection_accepted"] == [i.kind for i in audited.history("ana", BO)]
        assert [decision] == audited.decisions()

    def test_promoting_without_a_group_under_a_policy_that_allows_it(self, audited: Store) -> None:
        """
        Allowed without a group, a promotion cannot be recorded: InvalidRequest, nothing stored or logged.
        """
        lenient = Policy(name="anything goes")

        with pytest.raises(InvalidRequest, match=r"^group="):
            audited.perform("ana", BO, "promote_in_group", policy=lenient)

        assert [] == audited.history("ana", BO)
        assert [] == audited.decisions()

    def test_denied_action_records_nothing(self, store: Store) -> None:
        """
        A denied perform returns the denial and records nothing.
        """
        decision = store.perform("ana", BO, "pitch", at=day(1))

        assert not decision.allowed
        assert [] == store.history("ana", BO)

    def test_perform_defaults(self, store: Store) -> None:
        """
        Without at or id, perform records now, with a fresh id, on the channel other.
        """
        connected(store)

        decision = store.perform("ana", BO, "message")

        recorded = store.history("ana", BO)[-1]
        assert decision.allowed
        assert ("message", "outbound", "other", None) == (
            recorded.kind,
            recorded.direction,
            recorded.channel,
            recorded.purpose,
        )
        assert decision.at == recorded.at
        assert 32 == len(recorded.id)

    def test_perform_stops_at_the_unanswered_limit(self, store: Store) -> None:
        """
        The fourth unanswered message is denied and not recorded.
        """
        connected(store)

        outcomes = [store.perform("ana", BO, "message", at=day(1 + n)).allowed for n in range(5)]

        assert [True, True, True, False, False] == outcomes
        assert 3 == store.relationship("ana", BO).unanswered

    def test_an_id_performs_once(self, store: Store) -> None:
        """
        A second perform with the same id raises ConflictError and records nothing.
        """
        connected(store)
        store.perform("ana", BO, "message", at=day(1), id="campaign-1")

        with pytest.raises(ConflictError, match="performed before"):
            store.perform("ana", BO, "message", at=day(1), id="campaign-1")

        assert 2 == len(store.history("ana", BO))

    def test_invalid_id_is_refused(self, store: Store) -> None:
        """
        An empty id raises InvalidRequest.
        """
        with pytest.raises(InvalidRequest):
            store.perform("ana", BO, "message", id="")

    def test_a_back_dated_perform_acts_on_everything_recorded(self, store: Store) -> None:
        """
        A perform dated before a recorded complaint is denied, as check at that time is.
        """
        connected(store)
        store.record(make("c", "complaint", day(2)))

        decision = store.perform("ana", BO, "message", at=day(1), id="late-job")

        assert ("do_not_contact",) == decision.codes
        assert day(1) == decision.at
        assert ("do_not_contact",) == store.check("ana", BO, "message", at=day(1)).codes
        assert ["connection_accepted", "complaint"] == [i.kind for i in store.history("ana", BO)]

    def test_workers_with_skewed_clocks_cannot_both_pass_the_limit(self, store: Store) -> None:
        """
        The second of two sends is denied at the limit, though its at sorts before the first.
        """
        connected(store)
        strict = Policy.etiquette(max_unanswered=1)
        first = day(1) + timedelta(seconds=1)

        outcomes = [
            store.perform("ana", BO, "message", at=at, id=f"w{n}", policy=strict).codes
            for n, at in enumerate((first, day(1)))
        ]

        assert [(), ("unanswered_limit",)] == outcomes
        assert 1 == store.relationship("ana", BO).unanswered

    def test_threads_cannot_both_pass_the_limit(self, store: Store) -> None:
        """
        Threads racing to message one contact record exactly the limit.
        """
        connected(store)
        start = threading.Barrier(8)
        decisions: list[Decision] = []

        def worker() -> None:
            start.wait()
            decisions.append(store.perform("ana", BO, "message"))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert 3 == sum(d.allowed for d in decisions)
        assert {("unanswered_limit",)} == {d.codes for d in decisions if not d.allowed}
        assert 4 == len(store.history("ana", BO))


class TestScreen:
    def test_screen_decides_for_the_senders_relationships(self, store: Store) -> None:
        """
        store.screen gives what screen() gives on the sender's relationships.
        """
        connected(store)
        connected(store, contact="cy")
        store.record(make("b", "blocked", day(1), contact="cy", direction="inbound"))
        store.record(make("x", "message", day(1), sender="other", contact="di"))

        screening = store.screen("ana", "message", at=day(2))

        expected = screen_relationships(store.relationships("ana"), "message", at=day(2))
        assert expected == screening
        assert (BO,) == screening.allowed
        assert ["cy"] == list(screening.denied)
        assert 1 == screening.counts["do_not_contact"]

    def test_screen_given_contacts(self, store: Store) -> None:
        """
        With contacts, exactly those are screened, unknown ones as strangers, each once.
        """
        connected(store)
        connected(store, contact="cy")

        screening = store.screen("ana", "message", contacts=["zed", BO, "zed"], at=day(1))

        assert (BO,) == screening.allowed
        assert ["zed"] == list(screening.denied)
        assert ("not_connected",) == screening.denied["zed"].codes

    def test_screen_decides_on_everything_recorded(self, store: Store) -> None:
        """
        screen(at=t) decides at t on every interaction recorded, as check does.
        """
        connected(store)
        store.record(make("b", "blocked", day(5), direction="inbound"))

        for at in (day(1), day(6)):
            screening = store.screen("ana", "message", at=at)
            assert () == screening.allowed
            assert store.check("ana", BO, "message", at=at) == screening.denied[BO]

    @pytest.mark.parametrize("contacts", ["bo", [BO, 3]])
    def test_invalid_contacts_are_refused(self, store: Store, contacts: Any) -> None:
        """
        Contacts must be an iterable of non-empty strings.
        """
        with pytest.raises(InvalidRequest):
            store.screen("ana", "message", contacts=contacts)


class TestForget:
    def remember(self, store: Store) -> list[Interaction]:
        """
        Record a rich history of bo with two senders, a week ago.
        """
        past = datetime.now(UTC) - timedelta(days=7)
        items = [
            make("a", "connection_accepted", past, direction="inbound"),
            make(
                "b",
                "opt_in_granted",
                past + timedelta(hours=1),
                purpose="marketing",
                evidence=Evidence("web_form", text="Yes, send me news", source="203.0.113.9"),
                metadata={"campaign": "spring"},
            ),
            make("c", "message", past + timedelta(hours=2), sender="cy", direction="inbound"),
        ]
        store.record_many(items)
        return items

    def test_forget_erases_the_contact_from_every_sender(self, store: Store) -> None:
        """
        Forget returns how many interactions it erased, and the history is gone.
        """
        self.remember(store)
        store.record(make("keep", "message", day(1), contact="di"))

        assert 3 == store.forget(BO)
        assert [] == store.history("ana", BO)
        assert [] == store.history("cy", BO)
        assert ["di"] == [r.contact for r in store.relationships()]

    def test_a_forgotten_contact_is_not_to_be_contacted(self, store: Store) -> None:
        """
        After forget, the relationship is the tombstone's and every action is denied.
        """
        self.remember(store)
        store.forget(BO)

        assert Relationship(sender="ana", contact=BO, do_not_contact=True) == (
            store.relationship("ana", BO)
        )
        forgotten = f"{BO} asked to be forgotten; do not contact them unless they opt in again"
        for action in ("message", "send_marketing", "connect", "share_value"):
            for decision in (store.check("ana", BO, action), store.perform("ana", BO, action)):
                assert not decision
                assert 1 == decision.codes.count("do_not_contact")
                assert forgotten == decision.reasons[0].message
        assert [] == store.history("ana", BO)
        screening = store.screen("ana", "message", contacts=[BO, "zed"])
        assert forgotten == screening.denied[BO].reasons[0].message
        assert 1 == screening.counts["do_not_contact"]

    def test_even_a_policy_without_the_rule_is_denied(self, store: Store) -> None:
        """
        A tombstone denies with do_not_contact even under a policy that allows everything.
        """
        lenient = Policy(name="anything goes")
        store.forget(BO)
        store.record(make("m", "message", soon(), direction="inbound"))

        decision = store.check("ana", BO, "message", policy=lenient)
        screening = store.screen("ana", "message", policy=lenient)

        assert ("do_not_contact",) == decision.codes
        assert () == decision.suggestions
        assert not store.perform("ana", BO, "message", policy=lenient)
        assert () == screening.allowed
        assert ("do_not_contact",) == screening.denied[BO].codes
        assert {"do_not_contact": 1} == dict(screening.counts)
        assert store.check("ana", "zed", "message", policy=lenient).allowed

    def test_what_was_erased_is_not_imported_again(self, store: Store) -> None:
        """
        Interactions from before the erasure are not stored again.
        """
        items = self.remember(store)
        store.forget(BO)

        assert 0 == store.record_many(items)
        assert store.record(items[0]).do_not_contact
        assert [] == store.history("ana", BO)

    def test_an_opt_in_after_the_erasure_lifts_the_tombstone(self, store: Store) -> None:
        """
        A new opt-in from the contact lifts the tombstone for that sender only.
        """
        self.remember(store)
        store.forget(BO)
        later = soon()
        message = make("m", "message", later, direction="inbound")
        opt_in = make("o", "opt_in_granted", later + timedelta(hours=1), purpose="marketing")
        store.record(message)

        assert store.relationship("ana", BO).do_not_contact
        assert [store.relationship("ana", BO)] == list(store.relationships())
        assert not store.check("ana", BO, "message", at=later + timedelta(minutes=30))

        store.record(opt_in)

        assert replay([message, opt_in]) == store.relationship("ana", BO)
        assert store.relationship("ana", BO, at=later).do_not_contact
        assert [replay([message, opt_in])] == list(store.relationships())
        at = later + timedelta(hours=2)
        assert store.check("ana", BO, "send_marketing", at=at).allowed
        assert not store.check("cy", BO, "message", at=at)

    def test_an_opt_in_recorded_ahead_of_its_time_lifts_the_tombstone_from_then(
        self, store: Store
    ) -> None:
        """
        Until the time of the contact's new opt-in, every decision still denies do_not_contact.
        """
        self.remember(store)
        store.forget(BO)
        later = soon()
        store.record(make("o", "opt_in_granted", later + timedelta(days=20), purpose="marketing"))
        lenient = Policy("anything goes")

        before = [
            store.check("ana", BO, "connect", at=later + timedelta(days=10)),
            store.perform("ana", BO, "message", at=later + timedelta(days=10), policy=lenient),
            store.screen("ana", "connect", at=later + timedelta(days=10)).denied[BO],
        ]
        after = store.check("ana", BO, "send_marketing", at=later + timedelta(days=21))

        assert all(("do_not_contact",) == decision.codes for decision in before)
        assert store.relationship("ana", BO, at=later + timedelta(days=10)).do_not_contact
        assert after.allowed
        assert ["opt_in_granted"] == [i.kind for i in store.history("ana", BO)]

    def test_nothing_is_performed_at_or_before_the_erasure(self, store: Store) -> None:
        """
        After the contact came back, a perform dated before their erasure is denied and records nothing.
        """
        self.remember(store)
        store.forget(BO)
        later = soon()
        store.record(make("o", "opt_in_granted", later, purpose="marketing"))
        lenient = Policy("anything goes")

        before = store.perform("ana", BO, "message", at=day(3), id="old-job", policy=lenient)
        after = store.perform("ana", BO, "message", at=later + timedelta(hours=1), policy=lenient)

        assert ("do_not_contact",) == before.codes
        assert after.allowed
        assert ["opt_in_granted", "message"] == [i.kind for i in store.history("ana", BO)]

    def test_forgetting_someone_unknown_still_suppresses(self, store: Store) -> None:
        """
        Forgetting a contact with no history erases nothing and suppresses them.
        """
        assert 0 == store.forget("zed")
        assert ("do_not_contact",) == store.check("ana", "zed", "connect").codes

    def test_the_chain_still_verifies_after_forget(self, store: Store) -> None:
        """
        Verify passes after an erasure and after what is recorded since.
        """
        self.remember(store)
        store.record(make("keep", "message", day(1), contact="di"))
        store.forget(BO)
        store.record(make("m", "message", soon(), direction="inbound"))

        assert Verification(ok=True, checked=2) == store.verify()

    def test_forgetting_twice_keeps_suppressing(self, store: Store) -> None:
        """
        A second forget after an opt-in suppresses the contact again.
        """
        store.forget(BO)
        store.record(make("o", "opt_in_granted", soon(), purpose="marketing"))
        assert not store.relationship("ana", BO).do_not_contact

        assert 1 == store.forget(BO)
        assert store.relationship("ana", BO).do_not_contact

    def test_invalid_contact_is_refused(self, store: Store) -> None:
        """
        Forget refuses a contact that is not a non-empty string.
        """
        with pytest.raises(InvalidRequest):
            store.forget("")

    def test_logged_decisions_keep_only_a_keyed_hash(self, audited: Store) -> None:
        """
        Decisions about a forgotten contact are kept without their identifier.
        """
        self.remember(audited)
        audited.check("ana", BO, "message")
        audited.forget(BO)
        denial = audited.check("ana", BO, "message")

        logged = audited.decisions(contact=BO)

        assert 2 == len(logged)
        assert denial.decision_id == logged[-1].decision_id
        assert BO == denial.contact
        for decision in logged:
            assert decision.contact is not None
            assert decision.contact.startswith("forgotten:")
            assert BO not in str(decision.to_dict())
        assert logged == audited.decisions(sender="ana")

    def test_logged_reasons_lose_what_they_quoted_of_the_contacts_data(
        self, audited: Store
    ) -> None:
        """
        A zone or jurisdiction from the contact's profile, quoted in a logged message, is erased too.
        """
        profile = {"timezone": "Pacific/Chatham", "jurisdiction": 'Bo\'s "QQ-ZZ"'}
        audited.record(make("p", "profile_updated", day(0), metadata=profile))
        audited.record(make("c", "connection_accepted", day(0), direction="inbound"))
        audited.record(make("m", "message", day(1), direction="inbound", metadata={"via": "email"}))
        night = datetime(2026, 3, 5, 13, 0, tzinfo=UTC)  # 02:45 in Chatham
        before = [
            audited.check("ana", BO, "call", at=night),
            audited.check("ana", BO, "pitch"),
            audited.check("ana", BO, "send_marketing", policy=Policy.etiquette()),
        ]
        assert "Pacific/Chatham" in before[0].explain()
        assert "QQ-ZZ" in before[1].explain()

        audited.forget(BO)

        logged = audited.decisions(contact=BO)
        assert [d.decision_id for d in before] == [d.decision_id for d in logged]
        for decision in logged:
            assert "Pacific/Chatham" not in str(decision.to_dict())
            assert "QQ-ZZ" not in str(decision.to_dict())
        assert "[erased]" in logged[0].explain()
        assert "[erased]" in logged[1].explain()
        # A metadata value no message quotes as a fact stays a word of the wording.
        assert logged[2].reasons[0].message.endswith("marketing on email")

    def test_an_introducers_name_holding_the_contacts_id_is_erased_whole(
        self, audited: Store
    ) -> None:
        """
        The introducer's name is erased before the identifier, so a name holding it goes too.
        """
        introducer = f"Cy Ames, {BO}'s colleague"
        audited.record(make("i", "introduced", day(0), metadata={"introducer": introducer}))
        audited.record(make("p", "profile_updated", day(0), metadata={"jurisdiction": "CA"}))
        audited.record(make("x", "pitch", day(1), channel="email"))
        denied = audited.check("ana", BO, "pitch", channel="email", policy=Policy.casl())
        assert "Cy Ames" in denied.explain()

        audited.forget(BO)

        assert "Cy Ames" not in audited.decisions(contact=BO)[0].explain()

    @pytest.mark.parametrize("contact", ["ed", "on", "2026", "+1 555 0100", "bo@example.org."])
    def test_logged_reasons_keep_their_wording(self, audited: Store, contact: str) -> None:
        """
        Forgetting replaces the identifier where it stands as itself, never letters of other words.
        """
        audited.check("ana", contact, "message", at=day(2))
        audited.forget(contact)

        (logged,) = audited.decisions(contact=contact)
        (reason,) = logged.reasons

        assert str(logged.contact).startswith("forgotten:")
        assert f"{logged.contact} is not connected, introduced or met" == reason.message


class TestVerify:
    def test_an_empty_store_verifies(self, store: Store) -> None:
        """
        An empty store verifies, having checked nothing.
        """
        verification = store.verify()

        assert Verification(ok=True, checked=0, problems=()) == verification
        assert verification

    def test_recorded_interactions_verify(self, store: Store) -> None:
        """
        Everything recorded in any order is checked and verifies.
        """
        store.record_many([make("b", "message", day(2)), make("a", "message", day(1))])
        store.record(make("c", "message", day(0), contact="di"))

        assert Verification(ok=True, checked=3) == store.verify()

    def test_results_are_json_safe(self) -> None:
        """
        A Verification and its problems turn into plain dicts.
        """
        problem = Problem(ProblemKind.REMOVED, "ana", BO, None, "gone")
        verification = Verification(ok=False, checked=2, problems=(problem,))

        assert not verification
        assert {
            "ok": False,
            "checked": 2,
            "problems": [
                {"kind": "removed", "sender": "ana", "contact": BO, "id": None, "detail": "gone"}
            ],
        } == verification.to_dict()
        assert verification == Verification.from_dict(
            json.loads(json.dumps(verification.to_dict()))
        )

    def test_results_take_strings_and_refuse_what_they_cannot_hold(self) -> None:
        """
        A problem's kind may be given as its string; a kind or count that is none is refused.
        """
        assert ProblemKind.CHANGED is Problem("changed", "ana", BO, "i", "edited").kind
        for bad in (
            lambda: Problem("edited", "ana", BO, "i", "x"),
            lambda: Problem(ProblemKind.CHANGED, None, BO, "i", "x"),  # type: ignore[arg-type]
            lambda: Verification(ok=1, checked=0),  # type: ignore[arg-type]
            lambda: Verification(ok=True, checked=-1),
            lambda: Verification(ok=False, checked=1, problems=["changed"]),  # type: ignore[list-item]
            lambda: Verification(
                ok=True, checked=1, problems=[Problem("changed", "a", BO, "i", "")]
            ),
            lambda: Verification(ok=False, checked=1),
            lambda: Verification.from_dict({"ok": True, "checked": 0}),
        ):
            with pytest.raises(InvalidInteraction):
                bad()


class TestAudit:
    @pytest.mark.parametrize("fails", ["raising", "returning"])
    def test_a_rule_failing_with_text_utf8_cannot_hold_is_logged(
        self, audited: Store, fails: str
    ) -> None:
        """
        A custom rule whose error (or reason) holds a lone surrogate denies with rule_error, logged.
        """
        text = "bad header \udcff"

        def odd(rel: Relationship, req: Request, policy: Policy) -> list[Reason]:
            if fails == "raising":
                raise ValueError(text)
            return [Reason("mine", text, "odd")]

        policy = Policy(name="odd", rules=(Rule("odd", {"message"}, odd),))
        connected(audited)

        decisions = [
            audited.check("ana", BO, "message", policy=policy),
            audited.perform("ana", BO, "message", policy=policy),
            audited.screen("ana", "message", policy=policy).denied[BO],
        ]

        assert all(("rule_error",) == d.codes for d in decisions)
        assert decisions == audited.decisions()
        json.dumps([d.to_dict() for d in decisions]).encode()

    def test_decisions_are_logged_with_their_ids(self, audited: Store) -> None:
        """
        Check and perform log their decisions, which carry their decision_id.
        """
        connected(audited)

        checked = audited.check("ana", BO, "message", at=day(1))
        performed = audited.perform("ana", BO, "pitch", at=day(1))
        other = audited.check("cy", "zed", "message", at=day(1))

        assert [checked, performed, other] == audited.decisions()
        assert [checked, performed] == audited.decisions(sender="ana", contact=BO)
        assert [other] == audited.decisions(contact="zed")
        assert len({checked.decision_id, performed.decision_id, other.decision_id}) == 3
        assert all(d.decision_id is not None for d in audited.decisions())

    def test_screen_logs_every_contact(self, audited: Store) -> None:
        """
        Screen logs a decision per contact, and its denials carry their ids.
        """
        connected(audited)

        screening = audited.screen("ana", "message", contacts=[BO, "zed"], at=day(1))

        logged = audited.decisions(sender="ana")
        assert [BO, "zed"] == [d.contact for d in logged]
        assert logged[0].allowed
        assert screening.denied["zed"] == logged[1]
        assert logged[1].decision_id is not None

    def test_a_store_without_audit_logs_nothing(self, store: Store) -> None:
        """
        Without audit, decisions carry no id and nothing is logged.
        """
        connected(store)

        assert store.check("ana", BO, "message").decision_id is None
        assert store.perform("ana", BO, "message").decision_id is None
        assert [] == store.decisions()

    def test_invalid_filters_are_refused(self, store: Store) -> None:
        """
        Decisions refuses filters that are not non-empty strings.
        """
        with pytest.raises(InvalidRequest):
            store.decisions(sender="")
        with pytest.raises(InvalidRequest):
            store.decisions(contact="")


class TestLifecycle:
    def test_a_store_is_a_store(self, store: Store) -> None:
        """
        Both stores implement the Store protocol.
        """
        assert isinstance(store, Store)

    def test_a_closed_store_refuses_every_call(self, store: Store) -> None:
        """
        After close, every call raises StoreClosedError; closing again is fine.
        """
        store.close()
        store.close()

        calls: list[Callable[[], object]] = [
            lambda: store.record(make("a", "message", day(1))),
            lambda: store.record_many([make("a", "message", day(1))]),
            lambda: store.relationship("ana", BO),
            lambda: store.history("ana", BO),
            store.relationships,
            lambda: store.check("ana", BO, "message"),
            lambda: store.perform("ana", BO, "message"),
            lambda: store.screen("ana", "message"),
            store.decisions,
            lambda: store.forget(BO),
            store.verify,
            store.__enter__,
        ]
        for call in calls:
            with pytest.raises(StoreClosedError, match="closed"):
                call()

    def test_a_call_racing_close_is_refused(self, store: Store) -> None:
        """
        A call that passed the closed check as another thread closed the store raises StoreClosedError.

        Before, a MemoryStore ran it on the emptied ledger: perform allowed and recorded nowhere.
        """
        connected(store)
        lock: Any = getattr(store, "_lock", None)
        if lock is None:
            pytest.skip("the store serialises its calls in its database, not a lock")

        class CloseFirst:
            """The store's lock, letting close() run first, as another thread would."""

            def __enter__(self) -> object:
                store.close()
                return lock.__enter__()

            def __exit__(self, *exc: object) -> object:
                return lock.__exit__(*exc)

        store._lock = CloseFirst()  # type: ignore[attr-defined]
        with pytest.raises(StoreClosedError):
            store.perform("ana", BO, "message", at=day(1))

    def test_a_rule_that_uses_the_store_is_refused_alike(self, store: Store) -> None:
        """
        A rule calling the store while the store decides denies with rule_error, in every store.

        Before, a MemoryStore answered it and a SQLiteStore failed on a nested transaction.
        """
        connected(store)

        def rate_limit(rel: Relationship, req: Request, policy: Policy) -> list[Reason]:
            sent = sum(r.last_outbound_at is not None for r in store.relationships(rel.sender))
            return [Reason("rate_limited", f"{sent} sent", "rate")]

        policy = Policy("rate", rules=[Rule("rate", ["message"], rate_limit)])
        decision = store.check("ana", BO, "message", at=day(1), policy=policy)
        screening = store.screen("ana", "message", at=day(1), policy=policy)
        performed = store.perform("ana", BO, "message", at=day(1), policy=policy)

        assert ("rule_error",) == decision.codes == performed.codes
        assert "inside one of its own calls" in decision.reasons[0].message
        assert {"rule_error": 1} == dict(screening.counts)
        assert ("rule_error",) == screening.denied[BO].codes
        outside = check(store.relationship("ana", BO), "message", at=day(1), policy=policy)
        assert ("rate_limited",) == outside.codes
        assert store.perform("ana", BO, "message", at=day(1))

    def test_a_store_is_a_context_manager(self, store: Store) -> None:
        """
        Leaving the with block closes the store.
        """
        with store as entered:
            assert store is entered
            entered.record(make("a", "message", day(1)))

        with pytest.raises(StoreClosedError):
            store.history("ana", BO)

    @pytest.mark.parametrize("kind", BACKENDS)
    def test_audit_must_be_a_bool(self, kind: str, tmp_path: Path) -> None:
        """
        Audit is True or False, nothing else.
        """
        with pytest.raises(InvalidRequest, match="audit"):
            open_store(kind, tmp_path, audit="yes")  # type: ignore[arg-type]
