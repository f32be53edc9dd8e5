"""
`screen`: one action decided for a whole audience at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Self, TypeAlias, cast

import attrs

from ._decision import Decision, checked_obligations, defer_decision
from ._guards import (
    Prepared,
    Rules,
    complete_denied,
    denying_codes,
    make_request,
    obliged,
    prepare,
    resolve_at,
)
from ._jurisdiction import policy_for
from ._relationship import Relationship
from ._rules import Codes, Request
from ._time import Instant, format_instant
from ._values import (
    Action,
    Channel,
    PurposeLike,
    check_iterable,
    check_keys,
    to_action,
    to_at,
)
from .exceptions import InvalidInteraction, InvalidRequest


if TYPE_CHECKING:
    from ._policy import Policy

__all__ = ["Screening", "overrule", "screen"]


def _to_contacts(value: Iterable[str]) -> tuple[str, ...]:
    check_iterable("allowed", value, str)
    contacts = tuple(value)
    for contact in contacts:
        if not isinstance(contact, str):
            raise InvalidInteraction("allowed", contact, "expected contact ids")
    return contacts


def _to_denied(value: Mapping[str, Decision]) -> Mapping[str, Decision]:
    # Read-only: a screening's own lazy mapping as it is, anything else copied.
    if type(value) is _Denied:
        return value
    if not isinstance(value, Mapping):
        raise InvalidInteraction("denied", value, "expected a mapping of contact to decision")
    denied = dict(value)
    for contact, decision in denied.items():
        if type(contact) is not str or not isinstance(decision, Decision):
            raise InvalidInteraction(
                "denied", {contact: decision}, "expected a mapping of contact to decision"
            )
    return MappingProxyType(denied)


def _to_counts(value: Mapping[str, int]) -> Mapping[str, int]:
    given: object = value
    if not isinstance(given, Mapping) or not all(
        isinstance(code, str) and type(n) is int and n > 0 for code, n in given.items()
    ):
        raise InvalidInteraction("counts", value, "expected a mapping of code to a count above 0")
    return MappingProxyType(dict(value))


@attrs.frozen
class Screening:
    """
    The outcome of `screen`: who may be contacted, who not and why.

    ``len(screening)`` is how many contacts were screened: ``len(allowed) + len(denied)``.

    Attributes:
        action: The action screened.
        at: When it was decided for.
        allowed: The contact ids it is allowed for, in input order.
        denied: Contact id to the denying `Decision`, in input order.
        counts: Reason code to how many denials carry it.
    """

    action: Action = attrs.field(converter=to_action)
    at: datetime = attrs.field(converter=to_at)
    allowed: tuple[str, ...] = attrs.field(converter=_to_contacts)
    denied: Mapping[str, Decision] = attrs.field(hash=False, converter=_to_denied)
    counts: Mapping[str, int] = attrs.field(hash=False, converter=_to_counts)

    def __len__(self) -> int:
        return len(self.allowed) + len(self.denied)

    def __iter__(self) -> Iterator[str]:
        """
        Iterate over the allowed contact ids.
        """
        return iter(self.allowed)

    def to_dict(self) -> dict[str, Any]:
        """
        Return a JSON-safe dict, every denial in it as its `Decision.to_dict`.
        """
        return {
            "action": self.action.value,
            "at": format_instant(self.at),
            "allowed": list(self.allowed),
            "denied": {contact: d.to_dict() for contact, d in self.denied.items()},
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build a screening from the output of `to_dict`.

        Raises:
            InvalidInteraction: A key is missing or unknown, or a value is invalid.
        """
        check_keys("screening", data, required=_SCREENING_KEYS, allowed=_SCREENING_KEYS)
        allowed, denied = data["allowed"], data["denied"]
        if not isinstance(allowed, list | tuple) or not all(isinstance(c, str) for c in allowed):
            raise InvalidInteraction("allowed", allowed, "expected a list of contact ids")
        if not isinstance(denied, Mapping) or not all(type(c) is str for c in denied):
            raise InvalidInteraction("denied", denied, "expected a mapping of contact to decision")
        return cls(
            data["action"],
            data["at"],
            allowed,
            {c: Decision.from_dict(d) for c, d in denied.items()},
            data["counts"],  # checked by the constructor, as any screening's
        )

    def __reduce__(self) -> tuple[Callable[..., Screening], tuple[Any, ...]]:
        # Pickled as plain dicts (a mappingproxy does not pickle), so that a
        # screening can travel between the workers of a distributed engine.
        return (
            Screening,
            (self.action, self.at, self.allowed, dict(self.denied), dict(self.counts)),
        )


_SCREENING_KEYS: Final = frozenset({"action", "at", "allowed", "denied", "counts"})


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

    Allowed contacts cost an id each: no `Decision` is built for them. A
    denied contact's decision is built when it is first looked up in
    `Screening.denied`; until then the screening holds its relationship.

    An audience holds each contact once, as one sender's relationships do.
    Should a contact come again (the same relationship twice, or several
    senders' relationships with one contact), it is listed once: allowed
    only when every time it came it was allowed, else denied with its first
    denial, counted once. Screen several senders' audiences apart.

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
    check_iterable("relationships", relationships, Relationship, InvalidRequest)
    request = make_request(action, resolve_at(at), channel, purpose, group)
    at = request.at
    purpose = request.purpose
    group = request.group
    allowed: list[str] = []
    keep = allowed.append
    denied: dict[str, Relationship | Decision] = {}
    tally: dict[Codes, int] = {}
    # Work shared across the audience: the request, and each policy's plan for
    # the action fused into one function, once per policy (once per
    # jurisdiction when the policy follows each relationship's jurisdiction).
    fixed = None if policy is None else _shared(request, policy)
    by_jurisdiction: dict[str | None, _Shared] = {}
    for relationship in relationships:
        if type(relationship) is not Relationship and not isinstance(relationship, Relationship):
            raise InvalidRequest("relationships", relationship, "expected Relationship values")
        chosen = fixed
        if chosen is None:
            jurisdiction = relationship.jurisdiction
            chosen = by_jurisdiction.get(jurisdiction)
            if chosen is None:
                chosen = by_jurisdiction[jurisdiction] = _shared(request, policy_for(jurisdiction))
        prepared, codes_of, given = chosen
        try:
            codes = codes_of(relationship, at, purpose, group)
        except Exception:  # noqa: BLE001
            # Rule by rule, so that only a failing rule says rule_error.
            codes = denying_codes(relationship, request, prepared.plan.tests)
        if not codes and (given is None or given(relationship)):
            keep(relationship.contact)
            continue
        contact = relationship.contact
        if contact in denied:
            continue  # its first denial stands, counted once
        if codes:
            # The decision is built when first looked up: until then a denied
            # contact costs the screening its relationship, and no new object.
            denied[contact] = relationship
        else:
            decision = obliged(relationship, at, prepared)
            denied[contact] = decision
            codes = decision.codes
        tally[codes] = tally.get(codes, 0) + 1
    return Screening(
        request.action,
        at,
        once(allowed, denied),
        _Denied(denied, request, policy),
        _counts(tally),
    )


def once(allowed: list[str], denied: Mapping[str, object]) -> tuple[str, ...]:
    """
    Return *allowed* with each contact once, and none that is *denied*: a denial wins.
    """
    seen = set(allowed)
    both = {contact for contact in denied if contact in seen} if denied else set()
    if not both and len(seen) == len(allowed):
        return tuple(allowed)  # the usual audience: nothing came twice
    return tuple(dict.fromkeys(contact for contact in allowed if contact not in both))


def overrule(screening: Screening, decisions: Mapping[str, Decision]) -> Screening:
    """
    Return *screening* with the denials *decisions* in place of what it decided for their contacts.

    A contact it allowed is denied; its counts follow. The decisions of the
    other denied contacts stay unbuilt until looked up.
    """
    old = screening.denied
    if isinstance(old, _Denied):
        entries: dict[str, Relationship | Decision] = dict(old._entries)  # noqa: SLF001
    else:
        entries = dict(old)
    counts = dict(screening.counts)
    for contact, decision in decisions.items():
        if contact in old:
            for code in old[contact].codes:
                counts[code] -= 1
        entries[contact] = decision
        for code in decision.codes:
            counts[code] = counts.get(code, 0) + 1
    denied: Mapping[str, Decision] = (
        _Denied(entries, old._request, old._policy)  # noqa: SLF001
        if isinstance(old, _Denied)
        else cast("dict[str, Decision]", entries)
    )
    return attrs.evolve(
        screening,
        allowed=tuple(c for c in screening.allowed if c not in decisions),
        denied=denied,
        counts={code: n for code, n in counts.items() if n},
    )


def _counts(tally: Mapping[Codes, int]) -> dict[str, int]:
    # How many denials carry each code, from how many carry each tuple of codes.
    counts: dict[str, int] = {}
    for codes, count in tally.items():
        for code in codes:
            counts[code] = counts.get(code, 0) + count
    return counts


_Shared: TypeAlias = tuple[
    Prepared, "Callable[..., Codes]", "Callable[[Relationship], bool] | None"
]


def _shared(request: Request, policy: Policy) -> _Shared:
    # The prepared request, its fused conditions, and whether a relationship
    # the conditions allow is given its obligations without a rule failing:
    # None when that holds for everyone (no rule obliges, or every obligation
    # is the same for everyone and was worked out once).
    prepared = prepare(request, policy)
    if prepared.obligations is not None:
        return (prepared, prepared.codes, None)
    rules = prepared.plan.obligations
    usual = prepared.usual
    if usual is None:
        return (prepared, prepared.codes, partial(_obligations_given, request=request, rules=rules))
    depends = usual[1]

    def given(relationship: Relationship) -> bool:
        # Asked only for the relationships the obligations depend on.
        return not depends(relationship) or _obligations_given(relationship, request, rules)

    return (prepared, prepared.codes, given)


def _obligations_given(relationship: Relationship, request: Request, rules: Rules) -> bool:
    # Whether every obliging rule gives its obligations without failing: an
    # allowed contact's obligations are not kept, but a rule that fails denies.
    try:
        for leaf, rule in rules:
            checked_obligations(rule.obligations(relationship, request, leaf))  # type: ignore[misc]
    except Exception:  # noqa: BLE001
        return False
    return True


class _Denied(Mapping[str, Decision]):
    """
    `Screening.denied`: contact id to the denying `Decision`, each built when first looked up.

    It holds each denied contact's relationship (or, for the few decided at
    once, the decision) and the request, so that a screening of a million
    contacts does not build, and the garbage collector does not track, a
    decision for each of the denied ones that nobody reads.
    """

    __slots__ = ("_entries", "_policy", "_request")

    def __init__(
        self, entries: dict[str, Relationship | Decision], request: Request, policy: Policy | None
    ) -> None:
        self._entries = entries
        self._request = request
        self._policy = policy

    def __getitem__(self, contact: str) -> Decision:
        entry = self._entries[contact]
        if type(entry) is Decision:
            return entry
        assert isinstance(entry, Relationship)  # noqa: S101
        policy = self._policy
        prepared = prepare(
            self._request, policy_for(entry.jurisdiction) if policy is None else policy
        )
        decision = defer_decision(
            False,  # noqa: FBT003
            (complete_denied, entry, self._request.at, prepared),
        )
        # Replacing the value of a key already there is safe while another
        # lookup, or an iteration, is under way.
        self._entries[contact] = decision
        return decision

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, contact: object) -> bool:
        return contact in self._entries

    def __repr__(self) -> str:
        return repr(dict(self))
