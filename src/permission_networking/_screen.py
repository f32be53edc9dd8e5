"""
`screen`: one action decided for a whole audience at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from ._decision import Decision, defer_decision
from ._guards import (
    Alternatives,
    Obligations,
    Plan,
    Tests,
    alternatives,
    complete_denied,
    denying_codes,
    make_request,
    obliged,
    plan_for,
    resolve_at,
)
from ._jurisdiction import policy_for
from ._relationship import Relationship
from ._rules import Request
from ._time import Instant
from ._values import Action, Channel, PurposeLike
from .exceptions import InvalidRequest


if TYPE_CHECKING:
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

    def __reduce__(self) -> tuple[Callable[..., Screening], tuple[Any, ...]]:
        # Pickled as plain dicts (a mappingproxy does not pickle), so that a
        # screening can travel between the workers of a distributed engine.
        return (
            _screening,
            (self.action, self.at, self.allowed, dict(self.denied), dict(self.counts)),
        )


def _screening(
    action: Action,
    at: datetime,
    allowed: tuple[str, ...],
    denied: dict[str, Decision],
    counts: dict[str, int],
) -> Screening:
    return Screening(action, at, allowed, MappingProxyType(denied), MappingProxyType(counts))


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
    keep = allowed.append
    denied: dict[str, Decision] = {}
    counts: dict[str, int] = {}
    # Work shared across the audience: the request, and each policy's plan for
    # the action, worked out once per policy (once per jurisdiction when the
    # policy follows each relationship's jurisdiction).
    fixed = None if policy is None else _shared(request, policy)
    by_jurisdiction: dict[str | None, _Shared] = {}
    for relationship in relationships:
        if not isinstance(relationship, Relationship):
            raise InvalidRequest("relationships", relationship, "expected Relationship values")
        chosen = fixed
        if chosen is None:
            jurisdiction = relationship.jurisdiction
            chosen = by_jurisdiction.get(jurisdiction)
            if chosen is None:
                chosen = by_jurisdiction[jurisdiction] = _shared(request, policy_for(jurisdiction))
        codes = denying_codes(relationship, request, chosen[1])
        if codes:
            # The codes now, for the counts; the decision is built when first
            # read, with work shared by every denial of the audience, so that
            # it is one object until then.
            denied[relationship.contact] = defer_decision(False, relationship, chosen[5])  # noqa: FBT003
        elif not chosen[2] or _obligations_given(relationship, request, chosen[2]):
            keep(relationship.contact)
            continue
        else:
            decision = obliged(relationship, request, chosen[0], chosen[3], chosen[4])
            denied[relationship.contact] = decision
            codes = decision.codes
        for code in codes:
            counts[code] = counts.get(code, 0) + 1
    return Screening(
        request.action,
        request.at,
        tuple(allowed),
        MappingProxyType(denied),
        MappingProxyType(counts),
    )


_Shared: TypeAlias = tuple["Policy", Tests, Obligations, Plan, Alternatives, tuple[Any, ...]]


def _shared(request: Request, policy: Policy) -> _Shared:
    plan = plan_for(policy, request.action)
    checked = alternatives(request, policy)
    denied = (complete_denied, request, policy, None, (), checked)
    return (policy, plan.tests, plan.obligations, plan, checked, denied)


def _obligations_given(relationship: Relationship, request: Request, rules: Obligations) -> bool:
    # Whether every obliging rule gives its obligations without failing: an
    # allowed contact's obligations are not kept, but a rule that fails denies.
    try:
        for leaf, rule in rules:
            rule.obligations(relationship, request, leaf)  # type: ignore[misc]
    except Exception:  # noqa: BLE001
        return False
    return True
