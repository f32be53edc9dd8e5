"""
Screening an audience larger than one machine, partition by partition, on a distributed engine.

Relationships and policies are plain picklable values and `screen` is a pure
function of an iterable, so an engine that splits the audience into
partitions (Dask, Spark, Ray, multiprocessing) can screen each partition
where it lives: `screen_partitions` is the function to map over the
partitions, and `merge_screenings` turns the partitions' results, collected
in partition order, into exactly what `screen` returns for the whole audience
in one process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._decision import Decision
from ._screen import Screening, once, screen
from ._values import check_iterable
from .exceptions import InvalidRequest


if TYPE_CHECKING:
    from ._policy import Policy
    from ._relationship import Relationship
    from ._time import Instant
    from ._values import Action, Channel, PurposeLike

__all__ = ["merge_screenings", "screen_partitions"]


def screen_partitions(  # noqa: PLR0913
    relationships: Iterable[Relationship],
    action: Action | str,
    *,
    at: Instant,
    policy: Policy | None = None,
    channel: Channel | str | None = None,
    purpose: PurposeLike | None = None,
    group: str | None = None,
) -> list[Screening]:
    """
    Screen one partition of an audience: a function for ``map_partitions`` or ``mapPartitions``.

    It returns a one-item list, the partition's `Screening`, because a
    partition function returns the new partition's items. A `Screening`
    pickles, so it travels from the workers back to the driver, where
    `merge_screenings` combines them.

    Unlike `screen`, *at* is required: every partition must decide for the
    same time, so take it once on the driver (``datetime.now(UTC)``) and pass
    it to all of them.

    Args:
        relationships: The partition's relationships, consumed once.
        action: As for `screen`.
        at: When, the same for every partition.
        policy: As for `screen`; None means each relationship's ``policy_for``.
        channel: As for `screen`.
        purpose: As for `screen`.
        group: As for `screen`.

    Returns:
        ``[screen(relationships, action, at=at, ...)]``.

    Raises:
        InvalidRequest: An argument, or a relationship, is invalid; *at* is None.

    >>> from permission_networking import Interaction, replay
    >>> audience = [
    ...     replay([Interaction(f"{c}1", "ana", c, "connection_accepted", "2026-03-02T09:00:00Z")])
    ...     for c in ("bo", "cy", "di")
    ... ] + [replay([], sender="ana", contact="ed")]
    >>> parts = [audience[:2], audience[2:]]
    >>> results = [
    ...     screening
    ...     for part in parts
    ...     for screening in screen_partitions(part, "message", at="2026-03-03T09:00:00Z")
    ... ]
    >>> merged = merge_screenings(results)
    >>> merged == screen(audience, "message", at="2026-03-03T09:00:00Z")
    True
    >>> merged.allowed, dict(merged.counts)
    (('bo', 'cy', 'di'), {'not_connected': 1})
    """
    if at is None:
        raise InvalidRequest(
            "at",
            None,
            "every partition must decide for the same time: take it once on the driver, "
            "e.g. datetime.now(UTC), and pass it as at=",
        )
    return [
        screen(
            relationships,
            action,
            at=at,
            policy=policy,
            channel=channel,
            purpose=purpose,
            group=group,
        )
    ]


def merge_screenings(screenings: Iterable[Screening]) -> Screening:
    """
    Combine the screenings of an audience's partitions into the screening of the whole audience.

    Given in partition order, the result equals what `screen` returns for
    the partitions' relationships one after another: the allowed contacts
    in that order, each once and none that a partition denied, the denied
    ones in the order each was first denied (a contact denied again keeps
    its first decision, counted once, as in `screen`), and the counts added
    up.

    Args:
        screenings: The partitions' screenings, in partition order, e.g. the
            collected results of `screen_partitions`.

    Returns:
        The audience's `Screening`.

    Raises:
        InvalidRequest: There is no screening, an item is not a `Screening`,
            or the screenings are of different actions or times.
    """
    check_iterable("screenings", screenings, Screening, InvalidRequest)
    items = list(screenings)
    if not items:
        raise InvalidRequest(
            "screenings", [], "nothing to merge: give at least one partition's screening"
        )
    first = items[0]
    allowed: list[str] = []
    denied: dict[str, Decision] = {}
    counts: dict[str, int] = {}
    for item in items:
        if not isinstance(item, Screening):
            raise InvalidRequest("screenings", item, "expected Screening values")
        if item.action is not first.action or item.at != first.at:
            raise InvalidRequest(
                "screenings",
                f"{item.action.value} at {item.at.isoformat()}",
                f"every partition must screen {first.action.value} at {first.at.isoformat()}; "
                "screen them all with the same action and at=",
            )
        allowed.extend(item.allowed)
        for code, count in item.counts.items():
            counts[code] = counts.get(code, 0) + count
        for contact, decision in item.denied.items():
            if contact not in denied:
                denied[contact] = decision
                continue
            # Denied in an earlier partition too: that denial stands, counted once.
            for code in decision.codes:
                counts[code] -= 1
                if not counts[code]:
                    del counts[code]
    return Screening(
        first.action,
        first.at,
        once(allowed, denied),
        denied,
        counts,
    )
