"""
Tests for screening an audience partition by partition, as a distributed engine does.
"""

from __future__ import annotations

import itertools
import pickle

from datetime import timedelta

import pytest

from hypothesis import given
from hypothesis import strategies as st

from permission_networking import InvalidRequest, Policy, Relationship, Screening, screen
from permission_networking._partitions import merge_screenings, screen_partitions
from timeline import Log, day


AT = day(30)
STAGES = ("stranger", "connected", "engaged", "opted_in", "opted_out", "blocked")


def contact_at(stage: str, contact: str) -> Relationship:
    """
    Return *contact*'s relationship at *stage*.
    """
    log = Log(contact=contact)
    if stage != "stranger":
        log.inbound("connection_accepted", 0)
    if stage in {"engaged", "opted_in", "opted_out"}:
        log.inbound("message", 1).inbound("inquiry", 2)
    if stage in {"opted_in", "opted_out"}:
        log.inbound("opt_in_granted", 3, purpose="marketing", channel="email")
    if stage == "opted_out":
        log.inbound("opt_out", 4, purpose="marketing", channel="email")
    if stage == "blocked":
        log.inbound("blocked", 1)
    return log.relationship()


def audience(size: int) -> list[Relationship]:
    """
    Return *size* relationships cycling through every stage, with distinct contacts.
    """
    return [contact_at(STAGES[n % len(STAGES)], f"c{n}") for n in range(size)]


def chunks(items: list[Relationship], cuts: list[int]) -> list[list[Relationship]]:
    """
    Split *items* at the positions *cuts* (some chunks may be empty).
    """
    bounds = [0, *sorted(cuts), len(items)]
    return [items[a:b] for a, b in itertools.pairwise(bounds)]


ACTIONS = st.sampled_from(["message", "send_marketing", "pitch", "connect", "request_opt_in"])


@given(
    stages=st.lists(st.sampled_from(STAGES), max_size=30),
    repeats=st.lists(st.integers(0, 29), max_size=5),
    cuts=st.lists(st.integers(0, 35), max_size=6),
    action=ACTIONS,
)
def test_merged_partitions_equal_one_screen(
    stages: list[str], repeats: list[int], cuts: list[int], action: str
) -> None:
    """Screening the partitions and merging them equals screening the audience, repeats included."""
    people = [contact_at(stage, f"c{n}") for n, stage in enumerate(stages)]
    # A contact may appear twice (the same id at another stage): its first denial stands.
    people += [contact_at(STAGES[n % len(STAGES)], f"c{n}") for n in repeats if n < len(people)]
    parts = chunks(people, [cut for cut in cuts if cut <= len(people)])

    results = [s for part in parts for s in screen_partitions(part, action, at=AT)]

    assert screen(people, action, at=AT) == merge_screenings(results)


def test_a_contact_denied_in_two_partitions_keeps_its_first_denial() -> None:
    """Merged, a contact denied in two partitions is denied once and counted once."""
    people = audience(12)
    (first,) = screen_partitions(people, "send_marketing", at=AT)
    (again,) = screen_partitions(people, "send_marketing", at=AT)

    merged = merge_screenings([first, again])

    assert screen(people + people, "send_marketing", at=AT) == merged
    assert dict(first.counts) == dict(merged.counts)
    assert list(first.denied) == list(merged.denied)


def test_a_partition_gives_one_screening() -> None:
    """screen_partitions returns a one-item list: the partition's screening."""
    people = audience(12)

    result = screen_partitions(iter(people), "send_marketing", at=AT, policy=Policy.etiquette())

    assert [screen(people, "send_marketing", at=AT, policy=Policy.etiquette())] == result


def test_a_screening_pickles() -> None:
    """A screening survives pickling, as it must to travel from a worker to the driver."""
    (screening,) = screen_partitions(audience(12), "send_marketing", at=AT)

    restored = pickle.loads(pickle.dumps(screening))  # noqa: S301

    assert screening == restored
    assert dict(screening.denied) == dict(restored.denied)
    assert dict(screening.counts) == dict(restored.counts)


def test_partitions_need_one_time() -> None:
    """Without at, partitions would decide for different times: screen_partitions refuses."""
    with pytest.raises(InvalidRequest, match="same time"):
        screen_partitions(audience(3), "message", at=None)  # type: ignore[arg-type]


def test_an_empty_partition_still_screens() -> None:
    """An empty partition gives an empty screening that merges as nothing."""
    (empty,) = screen_partitions([], "message", at=AT)
    (full,) = screen_partitions(audience(6), "message", at=AT)

    assert 0 == len(empty)
    assert full == merge_screenings([empty, full, empty])


def test_nothing_to_merge_is_refused() -> None:
    """Merging no screening at all raises InvalidRequest: there is no action or time to give."""
    with pytest.raises(InvalidRequest, match="nothing to merge"):
        merge_screenings([])


def test_mixed_screenings_are_refused() -> None:
    """Screenings of another action or time do not merge."""
    (message,) = screen_partitions(audience(3), "message", at=AT)
    (pitch,) = screen_partitions(audience(3), "pitch", at=AT)
    (later,) = screen_partitions(audience(3), "message", at=AT + timedelta(days=1))

    with pytest.raises(InvalidRequest, match="every partition must screen message"):
        merge_screenings([message, pitch])
    with pytest.raises(InvalidRequest, match="every partition must screen message"):
        merge_screenings([message, later])
    with pytest.raises(InvalidRequest, match="expected Screening values"):
        merge_screenings([message, "pitch"])  # type: ignore[list-item]


def test_dask_distributed_screens_like_one_process() -> None:
    """On Dask's local distributed scheduler, 2 workers over several partitions agree with screen."""
    distributed = pytest.importorskip("distributed")
    bags = pytest.importorskip("dask.bag")

    people = audience(240)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        bag = bags.from_sequence(people, npartitions=6)
        results = bag.map_partitions(screen_partitions, "send_marketing", at=AT).compute()

    assert len(results) > 1
    assert all(isinstance(result, Screening) for result in results)
    assert screen(people, "send_marketing", at=AT) == merge_screenings(results)
