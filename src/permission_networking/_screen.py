"""
`screen`: one action decided for a whole audience at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs

from ._decision import Decision
from ._guards import decide, evaluate, make_request, resolve_at
from ._jurisdiction import policy_for
from ._relationship import Relationship
from ._time import Instant
from ._values import Action, Channel, PurposeLike
from .exceptions import InvalidRequest


if TYPE_CHECKING:
    from datetime import datetime

    from ._policy import Policy

__all__ = ["Screening", "screen"]


@attrs.frozen
class Screening:
    """
    The outcome of `screen`: who may be contacted, who not and why.

    ``len(screening)`` is how many relationships were screened.

    Attributes:
        action: The action screened.
        at: When it was decided for.
        allowed: The contact ids it is allowed for, in input order.
        denied: Contact id to the denying `Decision`, in input order.
        counts: Reason code to how many denials carry it.
    """

    action: Action
    at: datetime
    allowed: tuple[str, ...]
    denied: Mapping[str, Decision] = attrs.field(hash=False)
    counts: Mapping[str, int] = attrs.field(hash=False)

    def __len__(self) -> int:
        return len(self.allowed) + len(self.denied)

    def __iter__(self) -> Iterator[str]:
        """
        Iterate over the allowed contact ids.
        """
        return iter(self.allowed)


def screen(  # noqa: PLR0913
    relationships: Iterable[Relationship],
    action: Action | str,
    *,
    at: Instant | None = None,
    policy: Policy | None = None,
    channel: Channel | str | None = None,
    purpose: PurposeLike | None = None,
    group: str | None = None,
) -> Screening:
    """
    Decide one *action* for many relationships, as `check` would one by one.

    Allowed contacts cost an id each: no `Decision` is built for them.

    Args:
        relationships: The audience, consumed once.
        action: The action.
        at: When; None means now, once for the whole audience.
        policy: The rules; None means each relationship's ``policy_for``.
        channel: As for `check`.
        purpose: As for `check`.
        group: As for `check`.

    Raises:
        InvalidRequest: An argument, or an item of *relationships*, is invalid.
    """
    request = make_request(action, resolve_at(at), channel, purpose, group)
    allowed: list[str] = []
    denied: dict[str, Decision] = {}
    counts: Counter[str] = Counter()
    fixed = policy
    for relationship in relationships:
        if not isinstance(relationship, Relationship):
            raise InvalidRequest("relationships", relationship, "expected Relationship values")
        chosen = fixed if fixed is not None else policy_for(relationship.jurisdiction)
        found = evaluate(relationship, request, chosen)
        if not found[0]:
            allowed.append(relationship.contact)
            continue
        decision = decide(relationship, request, chosen, found)
        denied[relationship.contact] = decision
        counts.update(decision.codes)
    return Screening(
        request.action,
        request.at,
        tuple(allowed),
        MappingProxyType(denied),
        MappingProxyType(dict(counts)),
    )
