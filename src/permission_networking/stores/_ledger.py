"""
What every store shares: encoding, hash chain, keyed hash, and the logic of recording and deciding.

A backend implements `Transaction` (its reads and writes inside one atomic
step) and the few hooks of `BaseStore`; `BaseStore` does the rest, so every
backend decides, records, forgets and verifies the same way.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import json
import re
import threading
import uuid

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, Self

import attrs

from permission_networking._decision import Decision, Reason, ReasonCode
from permission_networking._guards import decide, make_request, resolve_at
from permission_networking._jurisdiction import policy_for
from permission_networking._relationship import Relationship, extend, replay, snapshot_dict
from permission_networking._rules import CONDITIONS, Request
from permission_networking._screen import Screening, overrule
from permission_networking._screen import screen as screen_relationships
from permission_networking._time import Instant, now
from permission_networking._values import (
    GROUP_KINDS,
    Action,
    Channel,
    Direction,
    Interaction,
    PurposeLike,
    identifier,
)
from permission_networking.exceptions import (
    ConflictError,
    InvalidInteraction,
    InvalidRequest,
    StoreClosedError,
    StoreError,
)

from ._protocol import Problem, ProblemKind, Verification


if TYPE_CHECKING:
    from permission_networking._policy import Policy

__all__ = [
    "GENESIS",
    "BaseStore",
    "Chain",
    "ChainRow",
    "Head",
    "Pair",
    "Row",
    "Tombstone",
    "Transaction",
    "canonical",
    "decode_snapshot",
    "dumps",
    "encode_snapshot",
    "keyed_hash",
    "link",
    "pair_columns",
    "readable_snapshot",
    "stored_pair",
    "verify_chain",
]

GENESIS: Final = "0" * 64
"""
The hash a pair's chain starts from.
"""

FORGOTTEN_RULE: Final = "forgotten"
"""
The rule named by the ``do_not_contact`` reason a tombstone adds.
"""


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dumps(data: object) -> str:
    """
    Return *data* as canonical JSON: sorted keys, no spaces, UTF-8 text.
    """
    return _CANONICAL.encode(data)


def canonical(interaction: Interaction) -> str:
    """
    Return the canonical encoding of *interaction*: what the chain hashes and the store keeps.

    Times are UTC ISO 8601 strings, keys sorted, so equal interactions
    encode to equal text.

    Raises:
        InvalidInteraction: Some text of it cannot be encoded as UTF-8.
    """
    text = dumps(interaction.to_dict())
    try:
        text.encode()
    except UnicodeEncodeError:
        raise InvalidInteraction(
            "interaction", interaction.id, "its text is not valid Unicode (a lone surrogate?)"
        ) from None
    return text


def link(prev: str, body: str) -> str:
    """
    Return the chain hash of *body* after *prev*: SHA-256 over both, as hex.
    """
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


def keyed_hash(key: bytes, identifier: str) -> str:
    """
    Return HMAC-SHA256 of *identifier* under the store's *key*, as hex.
    """
    return hmac.new(key, identifier.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def pseudonym(key: bytes, identifier: str) -> str:
    """
    Return what a forgotten *identifier* is called in the decision log.
    """
    return f"forgotten:{keyed_hash(key, identifier)}"


@attrs.frozen
class Head:
    """
    The end of a pair's chain: how many interactions it holds and the last hash.
    """

    count: int = 0
    hash: str = GENESIS
    last_id: str | None = None


@attrs.frozen
class Pair:
    """
    What a store keeps per pair besides its log: the chain head and the materialised relationship.

    *origin* is the snapshot read from the store that *snapshot* was folded
    from, with the JSON object it was read from, so that writing *snapshot*
    copies the times the two share instead of formatting them again.
    """

    snapshot: Relationship
    head: Head = Head()
    origin: tuple[Relationship, dict[str, Any]] | None = attrs.field(
        default=None, eq=False, repr=False
    )


def encode_snapshot(
    relationship: Relationship, origin: tuple[Relationship, dict[str, Any]] | None = None
) -> str:
    """
    Return *relationship* as a store keeps it: its `Relationship.to_dict`, less the fields that are None.

    Most of a relationship's times are None. Leaving them out makes a
    typical snapshot a third shorter, short enough for a pair's row to fit
    in its SQLite b-tree page (about 1,000 bytes of a 4 KiB page) instead
    of spilling onto an overflow page of its own, which makes reading and
    writing the row two to four times slower. `Relationship.from_dict`
    gives the fields left out their default, None, so snapshots written in
    full before read the same. The text is canonical JSON (`dumps`).
    *origin* is as `Pair.origin`.
    """
    return dumps(snapshot_dict(relationship, origin))


def _decoded(text: str) -> tuple[Relationship, dict[str, Any]]:
    data = json.loads(text)
    return Relationship.from_dict(data), data


def decode_snapshot(text: str) -> Relationship:
    """
    Return the relationship a store kept as *text*, by `encode_snapshot` or in full.
    """
    return _decoded(text)[0]


def readable_snapshot(text: str) -> Relationship | None:
    """
    Return the relationship kept as *text*, or None when it cannot be read.
    """
    try:
        return decode_snapshot(text)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def stored_pair(count: int, head: str, last_id: str | None, snapshot: str) -> Pair:
    """
    Return the `Pair` a store keeps as the columns of its row.
    """
    origin = _decoded(snapshot)
    return Pair(origin[0], Head(count, head, last_id), origin)


def pair_columns(pair: Pair) -> tuple[str, str, int, str, str | None, str]:
    """
    Return the columns of the row a store keeps for *pair*: sender, contact, count, head, last id, snapshot.
    """
    snapshot = pair.snapshot
    head = pair.head
    return (
        snapshot.sender,
        snapshot.contact,
        head.count,
        head.hash,
        head.last_id,
        encode_snapshot(snapshot, pair.origin),
    )


@attrs.frozen
class Row:
    """
    One stored interaction with its canonical encoding and its chain links.
    """

    interaction: Interaction
    body: str
    prev: str
    hash: str


@attrs.frozen
class Tombstone:
    """
    What is left of a forgotten identifier: its keyed hash, when, and how much was erased.
    """

    key: str
    erased_at: datetime
    erased: int


@attrs.frozen
class ChainRow:
    """
    A stored row as `verify_chain` reads it: the indexed columns beside the hashed body.

    ``at`` is None when the column cannot be read as a time.
    """

    id: str
    sender: str
    contact: str
    at: datetime | None
    body: str
    prev: str
    hash: str


@attrs.frozen
class Chain:
    """
    One pair as `verify` reads it: its rows in append order, its head and its snapshot.

    ``head`` is None when no head records the pair; ``snapshot`` is None
    when the stored one cannot be read.
    """

    sender: str
    contact: str
    rows: Sequence[ChainRow]
    head: Head | None
    snapshot: Relationship | None


class Transaction(Protocol):
    """
    The reads and writes a backend offers inside one atomic step.
    """

    def bodies(self, ids: Collection[str]) -> dict[str, str]:
        """
        Return the canonical encoding of each of *ids* that is stored.
        """

    def pair(self, sender: str, contact: str) -> Pair | None:
        """
        Return what is kept for the pair, or None for an unknown pair.
        """

    def some_pairs(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], Pair]:
        """
        Return what is kept for each of the ``(sender, contact)`` *keys* that is a known pair.
        """

    def log(self, sender: str, contact: str, *, upto: datetime | None = None) -> list[Interaction]:
        """
        Return the pair's interactions (up to *upto*) in ``(at, id)`` order.
        """

    def append(self, pairs: Sequence[Pair], rows: Sequence[Row]) -> None:
        """
        Store *rows*, each pair's in chain order, and replace the `Pair` of each of *pairs*.

        *pairs* holds each pair at most once.
        """

    def pairs(self, sender: str | None) -> Iterator[Pair]:
        """
        Iterate over the pairs (of *sender*) ordered by sender, then contact.

        What it yields is read inside the step, so the iterator may be
        consumed after the step has ended.
        """

    def tombstone(self, key: str) -> Tombstone | None:
        """
        Return the tombstone of a keyed hash, if one stands.
        """

    def tombstoned(self) -> bool:
        """
        Whether a tombstone may stand; False lets a caller skip hashing identifiers.
        """

    def some_tombstones(self, keys: Collection[str]) -> dict[str, Tombstone]:
        """
        Return the tombstone of each of the keyed hashes *keys* that has one.
        """

    def tombstones(self) -> Mapping[str, Tombstone]:
        """
        Return every tombstone by its key.
        """

    def put_tombstone(self, tombstone: Tombstone) -> None:
        """
        Store *tombstone*, replacing any of the same key.
        """

    def erase(self, contact: str, scrub: Callable[[Decision], Decision]) -> int:
        """
        Delete every interaction and pair of *contact*, pass its logged decisions through *scrub*.

        Returns:
            How many interactions were deleted.
        """

    def log_decision(self, decision: Decision) -> None:
        """
        Append *decision* to the decision log.
        """

    def decisions(self, sender: str | None, contacts: Collection[str] | None) -> list[Decision]:
        """
        Return the logged decisions (of *sender*, about one of *contacts*), oldest first.
        """

    def chains(self) -> Iterator[Chain]:
        """
        Iterate over every pair that has rows or a head, for `verify`.
        """


def tombstone_view(sender: str, contact: str) -> Relationship:
    """
    Return what a store shows of a forgotten pair: a stranger not to be contacted.
    """
    return Relationship(sender=sender, contact=contact, do_not_contact=True)


def revived(relationship: Relationship, tombstone: Tombstone) -> bool:
    """
    Whether the contact opted in again after the erasure (so the tombstone no longer applies).

    Every ``opt_in_granted`` leaves a permission granted at its time, and
    later ones only replace it with later ones, so the permissions tell.
    """
    return any(p.granted_at > tombstone.erased_at for p in relationship.permissions)


def suppress(decision: Decision, contact: str) -> Decision:
    """
    Return *decision* denied with ``do_not_contact`` for the erasure, whatever the policy allowed.

    A tombstone denies every action even under a policy without the
    ``do_not_contact`` rule, and its reason says why in place of the
    policy's (which would speak of a block or a complaint).
    """
    reason = Reason(
        ReasonCode.DO_NOT_CONTACT,
        f"{contact} asked to be forgotten; do not contact them unless they opt in again",
        FORGOTTEN_RULE,
    )
    others = tuple(r for r in decision.reasons if r.code != ReasonCode.DO_NOT_CONTACT)
    return attrs.evolve(
        decision,
        allowed=False,
        reasons=(reason, *others),
        obligations=(),
        retry_at=None,
        suggestions=(),
    )


ERASED: Final = "[erased]"
"""
What a logged decision's message says in place of personal data `forget` erased.
"""


def personal_texts(interactions: Iterable[Interaction]) -> frozenset[str]:
    """
    Return what of *interactions* a decision's message may quote that `forget` erases.

    The facts a relationship keeps from metadata (a time zone, a
    jurisdiction, an introducer) and the evidence's text and source; other
    metadata values are no fact any message quotes, and may be ordinary
    words ("email") the messages use.
    """
    found: set[str] = set()
    for interaction in interactions:
        found.update(v for k, v in interaction.metadata.items() if k in _QUOTED_METADATA)
        evidence = interaction.evidence
        if evidence is not None:
            found.update(t for t in (evidence.text, evidence.source) if t is not None)
    return frozenset(t for t in found if t.strip())


_QUOTED_METADATA: Final = frozenset({"timezone", "jurisdiction", "introducer"})


def scrubber(
    contact: str, alias: str, personal: Iterable[str] = ()
) -> Callable[[Decision], Decision]:
    """
    Return what turns a logged decision about *contact* into one about *alias*, also in its messages.

    In a message the identifier is replaced where it stands as itself: not
    inside a longer word (forgetting ``ed`` leaves "connected" whole). The
    *personal* texts (see `personal_texts`) become ``[erased]`` likewise,
    as written and as a message quotes them (``'...'``), first: one of them
    may hold the identifier.
    """
    mention = _mention(contact)
    forms = {form for text in personal for form in (text, repr(text)[1:-1])}
    # One pattern for all, the longest first, so that one holding another goes whole.
    quoted = (
        re.compile("|".join(_mention(t).pattern for t in sorted(forms, key=len, reverse=True)))
        if forms
        else None
    )

    def clean(reason: Reason) -> Reason:
        message = reason.message if quoted is None else quoted.sub(ERASED, reason.message)
        return attrs.evolve(reason, message=mention.sub(lambda _: alias, message))

    def scrub(decision: Decision) -> Decision:
        return attrs.evolve(
            decision,
            contact=alias,
            reasons=tuple(map(clean, decision.reasons)),
            warnings=tuple(map(clean, decision.warnings)),
        )

    return scrub


def _mention(identifier: str) -> re.Pattern[str]:
    # The identifier, where no word character runs on from its first or last
    # character (an identifier that begins or ends with another character,
    # like "+1 555" or "bo@example.org.", is matched wherever it stands).
    before = r"(?<!\w)" if re.match(r"\w", identifier) else ""
    after = r"(?!\w)" if re.search(r"\w\Z", identifier) else ""
    return re.compile(before + re.escape(identifier) + after)


def advance(
    snapshot: Relationship, new: Sequence[Interaction], log: Callable[[], list[Interaction]]
) -> Relationship:
    """
    Return *snapshot* after *new* interactions of its pair.

    When they all sort after the snapshot they are applied to it; otherwise
    the pair is folded again from *log* (what was stored before) and *new*.
    """
    ordered = sorted(new, key=_sort_key)
    first = ordered[0]
    if snapshot.as_of is None or (first.at, first.id) > (snapshot.as_of, snapshot.last_id or ""):
        return extend(snapshot, ordered)
    return replay([*log(), *ordered], sender=snapshot.sender, contact=snapshot.contact)


def _sort_key(interaction: Interaction) -> tuple[datetime, str]:
    return (interaction.at, interaction.id)


def _read(row: ChainRow) -> Interaction | None:
    if link(row.prev, row.body) != row.hash:
        return None
    try:
        interaction = Interaction.from_dict(json.loads(row.body))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    columns = (row.id, row.sender, row.contact, row.at)
    if columns != (interaction.id, interaction.sender, interaction.contact, interaction.at):
        return None
    return interaction


def verify_chain(chain: Chain) -> list[Problem]:
    """
    Return what is wrong with one pair's chain.

    The chain is followed back from its head to `GENESIS`: rows on that
    path whose content does not match their hash were changed, rows off it
    were inserted, and a link that leads nowhere means interactions were
    removed (the rest of the chain is then followed forward from `GENESIS`).
    When the chain is sound the snapshot must equal the replay of the log.
    """
    found: list[Problem] = []

    def report(kind: ProblemKind, id: str | None, detail: str) -> None:  # noqa: A002
        found.append(Problem(kind, chain.sender, chain.contact, id, detail))

    rows = chain.rows
    head = chain.head
    if head is None:
        for row in rows:
            report(ProblemKind.INSERTED, row.id, "no chain head records its pair")
        return found
    read = [_read(row) for row in rows]
    used = _follow(chain, head, read, report)
    for index, row in enumerate(rows):
        if index not in used:
            report(ProblemKind.INSERTED, row.id, "it is not part of its pair's hash chain")
        elif read[index] is None:
            report(
                ProblemKind.CHANGED,
                row.id,
                "its content no longer matches the hash it was stored with",
            )
    if not found:
        log = [interaction for interaction in read if interaction is not None]
        if chain.snapshot != replay(log, sender=chain.sender, contact=chain.contact):
            report(ProblemKind.CHANGED, None, "the stored relationship does not match the log")
    return found


def _follow(
    chain: Chain,
    head: Head,
    read: Sequence[Interaction | None],
    report: Callable[[ProblemKind, str | None, str], None],
) -> set[int]:
    """
    Return the indexes of the rows on the chain, reporting where it breaks.
    """
    rows = chain.rows
    by_hash: dict[str, list[int]] = {}
    by_prev: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        by_hash.setdefault(row.hash, []).append(index)
        by_prev.setdefault(row.prev, []).append(index)
    used: set[int] = set()

    def take(candidates: Iterable[int]) -> int | None:
        free = [index for index in candidates if index not in used]
        if not free:
            return None
        # Of rows claiming the same link, the one whose content verifies is the original.
        chosen = min(free, key=lambda index: (read[index] is None, index))
        used.add(chosen)
        return chosen

    cursor = head.hash
    earliest: int | None = None
    while cursor != GENESIS and (found := take(by_hash.get(cursor, ()))) is not None:
        earliest = found
        cursor = rows[found].prev
    if cursor == GENESIS:
        if len(used) != head.count:
            report(
                ProblemKind.CHANGED,
                None,
                f"the chain head records {head.count} interactions, the chain holds {len(used)}",
            )
        return used
    if earliest is None:
        report(
            ProblemKind.REMOVED,
            head.last_id,
            f"the pair's last interaction {head.last_id!r} is missing",
        )
    else:
        report(ProblemKind.REMOVED, None, f"an interaction before {rows[earliest].id!r} is missing")
    cursor = GENESIS
    while (found := take(by_prev.get(cursor, ()))) is not None:
        cursor = rows[found].hash
    _fragments(rows, read, used, by_prev, report)
    return used


def _fragments(
    rows: Sequence[ChainRow],
    read: Sequence[Interaction | None],
    used: set[int],
    by_prev: Mapping[str, list[int]],
    report: Callable[[ProblemKind, str | None, str], None],
) -> None:
    # What is left between two removals: runs of linked rows that no end of
    # the chain reaches, each beginning with a row whose content matches its
    # hash. Each is the store's own, cut off by a removal before it, not
    # inserted (a row of a run whose content does not match is then changed).
    left = [index for index in range(len(rows)) if index not in used]
    hashes = {rows[index].hash for index in left}
    for start in left:
        if start in used or rows[start].prev in hashes or read[start] is None:
            continue
        used.add(start)
        cursor = rows[start].hash
        while nexts := [index for index in by_prev.get(cursor, ()) if index not in used]:
            used.add(nexts[0])
            cursor = rows[nexts[0]].hash
        report(ProblemKind.REMOVED, None, f"an interaction before {rows[start].id!r} is missing")


@attrs.frozen
class _Entry:
    interaction: Interaction
    body: str


def _identifier(field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(field, value, "expected a non-empty string identifier")
    try:
        return identifier(field, value)
    except InvalidInteraction as e:
        raise InvalidRequest(field, value, e.detail) from None


def _stranger(sender: str, contact: str) -> Pair:
    return Pair(Relationship(sender=sender, contact=contact))


def _pair(tx: Transaction, sender: str, contact: str) -> Pair:
    return tx.pair(sender, contact) or _stranger(sender, contact)


def _entries(interactions: Iterable[Interaction]) -> list[_Entry]:
    if isinstance(interactions, Interaction) or not isinstance(interactions, Iterable):
        raise InvalidInteraction(
            "interactions",
            interactions,
            "expected an iterable of Interaction values (use record() for one)",
        )
    entries: dict[str, _Entry] = {}
    for item in interactions:
        if not isinstance(item, Interaction):
            raise InvalidInteraction(
                "interaction",
                item,
                "expected an Interaction; build one with Interaction(...) or Interaction.from_dict()",
            )
        body = canonical(item)
        other = entries.get(item.id)
        if other is None:
            entries[item.id] = _Entry(item, body)
        elif other.body != body:
            raise ConflictError(
                item.id, f"interaction {item.id!r} appears twice with other content"
            )
    return list(entries.values())


def _has_own_rules(policy: Policy) -> bool:
    # Whether *policy* has a rule of the integrator's own (one without declared conditions).
    return any(rule.check not in CONDITIONS for leaf in policy.leaves for rule in leaf.rules)


class BaseStore(abc.ABC):
    """
    The behaviour every store shares, on top of a backend's `Transaction`.

    Args:
        audit: Log every decision made through the store.
    """

    def __init__(self, *, audit: bool = False) -> None:
        if not isinstance(audit, bool):
            raise InvalidRequest("audit", audit, "expected True or False")
        self._audit = audit
        self._closed = False
        self._inside = threading.local()

    @property
    def audit(self) -> bool:
        """
        Whether the store logs every decision made through it.
        """
        return self._audit

    @property
    def closed(self) -> bool:
        """
        Whether `close` was called.
        """
        return self._closed

    @property
    @abc.abstractmethod
    def _key(self) -> bytes:
        """
        The store's own key for hashing forgotten identifiers.
        """

    @abc.abstractmethod
    def _begin(self, *, write: bool) -> AbstractContextManager[Transaction]:
        """
        Open one atomic step (serialised with every other writer when *write*).
        """

    @abc.abstractmethod
    def _release(self) -> None:
        """
        Free what the store holds; called once, by `close`.
        """

    @abc.abstractmethod
    def _after_forget(self) -> None:
        """
        Remove what an erasure leaves behind outside the data (e.g. a write-ahead log).
        """

    def _open_or_fail(self) -> None:
        """
        Raise `StoreClosedError` once the store is closed.

        A backend calls it again under its own lock, so that a call racing
        `close` on another thread gets this error, not its driver's.
        """
        if self._closed:
            raise StoreClosedError(
                f"{type(self).__name__} is closed; open a new store to use it again"
            )

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Transaction]:
        self._open_or_fail()
        inside = self._inside
        if getattr(inside, "busy", False):
            # A rule that reads the store while the store decides: every
            # backend refuses it alike, and the guard denies with rule_error.
            raise StoreError(
                type(self).__name__,
                "called from inside one of its own calls; a rule decides on the "
                "relationship it is given and must not use the store",
            )
        inside.busy = True
        try:
            with self._begin(write=write) as tx:
                yield tx
        finally:
            inside.busy = False

    def _tombstone(self, tx: Transaction, contact: str) -> Tombstone | None:
        if not tx.tombstoned():
            return None
        return tx.tombstone(keyed_hash(self._key, contact))

    def _view(
        self, tx: Transaction, pair: Pair, at: datetime | None, tombstone: Tombstone | None
    ) -> tuple[Relationship, bool]:
        relationship = pair.snapshot
        as_of = relationship.as_of
        sender, contact = relationship.sender, relationship.contact
        if at is not None and as_of is not None and as_of > at:
            relationship = replay(tx.log(sender, contact, upto=at), sender=sender, contact=contact)
        if tombstone is not None and not revived(relationship, tombstone):
            return tombstone_view(sender, contact), True
        return relationship, False

    def _known(
        self, tx: Transaction, pair: Pair, when: datetime, tombstone: Tombstone | None
    ) -> tuple[Relationship, bool]:
        """
        Return what a decision at *when* rests on: everything recorded for the pair.

        Nothing is allowed at or before an erasure, and a decision made
        through the store sees every interaction recorded, also those dated
        after *when* (a complaint, another worker's send).
        """
        snapshot = pair.snapshot
        if tombstone is not None and (
            when <= tombstone.erased_at or not self._revived_by(tx, snapshot, tombstone, when)
        ):
            return tombstone_view(snapshot.sender, snapshot.contact), True
        return self._view(tx, pair, None, tombstone)

    @staticmethod
    def _revived_by(
        tx: Transaction, snapshot: Relationship, tombstone: Tombstone, when: datetime
    ) -> bool:
        # Whether the contact had opted in again by *when*: an opt-in recorded
        # ahead of its time does not lift the tombstone before that time.
        if not revived(snapshot, tombstone):
            return False
        if any(tombstone.erased_at < p.granted_at <= when for p in snapshot.permissions):
            return True
        sender, contact = snapshot.sender, snapshot.contact
        earlier = replay(tx.log(sender, contact, upto=when), sender=sender, contact=contact)
        return revived(earlier, tombstone)

    def _erasures(self, tx: Transaction, contacts: Collection[str]) -> dict[str, Tombstone]:
        """
        Return the tombstone of each of *contacts* that was forgotten.
        """
        if not tx.tombstoned():
            return {}
        keys = {keyed_hash(self._key, contact): contact for contact in contacts}
        return {keys[key]: found for key, found in tx.some_tombstones(keys).items()}

    def _store(self, tx: Transaction, entries: Sequence[_Entry]) -> int:
        groups: dict[tuple[str, str], list[_Entry]] = {}
        for entry in entries:
            interaction = entry.interaction
            groups.setdefault((interaction.sender, interaction.contact), []).append(entry)
        erasures = self._erasures(tx, {contact for _, contact in groups})
        for key in [key for key in groups if key[1] in erasures]:
            # What happened before an erasure stays erased, even when imported again.
            erased_at = erasures[key[1]].erased_at
            kept = [entry for entry in groups[key] if entry.interaction.at > erased_at]
            if kept:
                groups[key] = kept
            else:
                del groups[key]
        if not groups:
            return 0
        known = tx.some_pairs(groups.keys())
        pairs: list[Pair] = []
        rows: list[Row] = []
        for (sender, contact), group in groups.items():
            pair = known.get((sender, contact)) or _stranger(sender, contact)
            head = pair.head.hash
            for entry in group:
                prev, head = head, link(head, entry.body)
                rows.append(Row(entry.interaction, entry.body, prev, head))
            new = [entry.interaction for entry in group]
            snapshot = advance(pair.snapshot, new, lambda: tx.log(sender, contact))  # noqa: B023
            count = pair.head.count + len(group)
            last_id = group[-1].interaction.id
            pairs.append(Pair(snapshot, Head(count, head, last_id), pair.origin))
        tx.append(pairs, rows)
        return len(rows)

    def _record(self, tx: Transaction, entries: Sequence[_Entry]) -> int:
        known = tx.bodies([entry.interaction.id for entry in entries])
        for entry in entries:
            body = known.get(entry.interaction.id)
            if body is not None and body != entry.body:
                raise ConflictError(entry.interaction.id)
        return self._store(tx, [entry for entry in entries if entry.interaction.id not in known])

    def _decide(  # noqa: PLR0913
        self,
        tx: Transaction,
        relationship: Relationship,
        request: Request,
        policy: Policy | None,
        *,
        suppressed: bool,
        decision: Decision | None = None,
    ) -> Decision:
        if decision is None:
            chosen = policy if policy is not None else policy_for(relationship.jurisdiction)
            decision = decide(relationship, request, chosen)
        if suppressed:
            decision = suppress(decision, relationship.contact)
        if not self._audit:
            return decision
        decision = attrs.evolve(decision, decision_id=uuid.uuid4().hex)
        contact = relationship.contact
        tx.log_decision(
            scrubber(contact, pseudonym(self._key, contact))(decision) if suppressed else decision
        )
        return decision

    def record(self, interaction: Interaction) -> Relationship:
        """
        Store *interaction* once, and return its pair's relationship afterwards.

        Recording the same id with the same content again is a no-op.
        For a forgotten contact, an interaction at or before the erasure is
        not stored (what was erased stays erased, even when imported again).

        Raises:
            InvalidInteraction: *interaction* is not an `Interaction`; nothing is stored.
            ConflictError: Its id is stored with other content; nothing is stored.
            StoreClosedError: The store is closed.
        """
        (entry,) = _entries([interaction])
        sender, contact = interaction.sender, interaction.contact
        with self._transaction(write=True) as tx:
            self._record(tx, [entry])
            tombstone = self._tombstone(tx, contact)
            return self._view(tx, _pair(tx, sender, contact), None, tombstone)[0]

    def record_many(self, interactions: Iterable[Interaction]) -> int:
        """
        Store *interactions* in one atomic step: all of them or, on an error, none.

        Returns:
            How many were new (repeats of stored ones, and interactions of a
            forgotten contact from before the erasure, are not).

        Raises:
            InvalidInteraction: An item is not an `Interaction`; nothing is stored.
            ConflictError: An id is stored, or given twice, with other content;
                nothing is stored.
            StoreClosedError: The store is closed.
        """
        entries = _entries(interactions)
        with self._transaction(write=True) as tx:
            return self._record(tx, entries) if entries else 0

    def relationship(self, sender: str, contact: str, *, at: Instant | None = None) -> Relationship:
        """
        Return the pair's relationship: `replay` of everything recorded for it (up to *at*).

        An unknown pair is a stranger. A forgotten contact shows as a
        stranger with ``do_not_contact`` until they opt in again after the
        erasure; then it is the replay of what was recorded since.

        Raises:
            InvalidRequest: An argument is invalid.
            StoreClosedError: The store is closed.
        """
        sender = _identifier("sender", sender)
        contact = _identifier("contact", contact)
        cutoff = None if at is None else resolve_at(at)
        with self._transaction(write=False) as tx:
            tombstone = self._tombstone(tx, contact)
            return self._view(tx, _pair(tx, sender, contact), cutoff, tombstone)[0]

    def history(self, sender: str, contact: str) -> list[Interaction]:
        """
        Return the pair's log in ``(at, id)`` order (for a forgotten contact, what came after).

        Raises:
            InvalidRequest: An argument is invalid.
            StoreClosedError: The store is closed.
        """
        sender = _identifier("sender", sender)
        contact = _identifier("contact", contact)
        with self._transaction(write=False) as tx:
            return tx.log(sender, contact)

    def relationships(self, sender: str | None = None) -> Iterator[Relationship]:
        """
        Iterate over the stored relationships (of *sender*), ordered by sender, then contact.

        Raises:
            InvalidRequest: *sender* is invalid.
            StoreClosedError: The store is closed.
        """
        if sender is not None:
            sender = _identifier("sender", sender)
        with self._transaction(write=False) as tx:
            tombstones = dict(tx.tombstones())
            pairs = tx.pairs(sender)
        return self._relationships(pairs, tombstones)

    def _relationships(
        self, pairs: Iterator[Pair], tombstones: dict[str, Tombstone]
    ) -> Iterator[Relationship]:
        for pair in pairs:
            snapshot = pair.snapshot
            tombstone = (
                tombstones.get(keyed_hash(self._key, snapshot.contact)) if tombstones else None
            )
            if tombstone is not None and not revived(snapshot, tombstone):
                yield tombstone_view(snapshot.sender, snapshot.contact)
            else:
                yield snapshot

    def check(  # noqa: PLR0913
        self,
        sender: str,
        contact: str,
        action: Action | str,
        *,
        at: Instant | None = None,
        policy: Policy | None = None,
        channel: Channel | str | None = None,
        purpose: PurposeLike | None = None,
        group: str | None = None,
    ) -> Decision:
        """
        Decide *action* at *at* on the stored relationship, as `check` would.

        The decision rests on everything recorded for the pair, as
        `perform`'s does, also on what is dated after *at*: a guard decides
        on the relationship as given. To decide as of an earlier time,
        decide on ``relationship(sender, contact, at=T)``.
        A forgotten contact is denied every action with ``do_not_contact``.
        An auditing store logs the decision, which carries its ``decision_id``.

        Args:
            sender: Who acts.
            contact: Towards whom.
            action: What the sender is about to do.
            at: When; None means now.
            policy: The rules; None means the contact's ``policy_for``.
            channel: As for `check`.
            purpose: As for `check`.
            group: As for `check`.

        Raises:
            InvalidRequest: An argument is invalid.
            StoreClosedError: The store is closed.
        """
        sender = _identifier("sender", sender)
        contact = _identifier("contact", contact)
        when = resolve_at(at)
        request = make_request(action, when, channel, purpose, group)
        with self._transaction(write=self._audit) as tx:
            tombstone = self._tombstone(tx, contact)
            relationship, suppressed = self._known(tx, _pair(tx, sender, contact), when, tombstone)
            return self._decide(tx, relationship, request, policy, suppressed=suppressed)

    def perform(  # noqa: PLR0913
        self,
        sender: str,
        contact: str,
        action: Action | str,
        *,
        at: Instant | None = None,
        id: str | None = None,  # noqa: A002
        policy: Policy | None = None,
        channel: Channel | str | None = None,
        purpose: PurposeLike | None = None,
        group: str | None = None,
    ) -> Decision:
        """
        Decide *action* and, when allowed, record it, in one atomic step.

        When allowed, the action's interaction (``Action(action).records``,
        outbound, at *at*, on the decision's channel or ``other``, for its
        purpose and group) is recorded before any other writer can decide on
        the pair, so two workers cannot both pass a limit.

        An action is taken on everything known: `perform` decides at *at* on
        every interaction recorded for the pair, also those dated after *at*
        (a complaint, another worker's send), so that a late or back-dated
        *at* never acts past them. Nothing is performed at or before the
        contact's erasure.

        Args:
            sender: Who acts.
            contact: Towards whom.
            action: What the sender is about to do.
            at: When; None means now.
            id: The recorded interaction's id; None means a fresh one. An id
                makes a retried send safe: a second `perform` with it raises
                `ConflictError`.
            policy: As for `check`.
            channel: As for `check`.
            purpose: As for `check`.
            group: As for `check`.

        Returns:
            The decision, allowed (and recorded) or denied (and nothing recorded).

        Raises:
            ConflictError: *id* is already recorded: the action was performed
                before; nothing is decided or recorded.
            InvalidRequest: An argument is invalid; or ``promote_in_group``
                without a group is allowed, which cannot be recorded
                (nothing is recorded or logged).
            StoreClosedError: The store is closed.
        """
        sender = _identifier("sender", sender)
        contact = _identifier("contact", contact)
        if id is not None:
            id = _identifier("id", id)  # noqa: A001
        when = resolve_at(at)
        request = make_request(action, when, channel, purpose, group)
        with self._transaction(write=True) as tx:
            # The contact's tombstone first: reading it locks the contact in a
            # backend that locks contacts, not the whole ledger, which then
            # sees an id a racing perform towards that contact just stored.
            tombstone = self._tombstone(tx, contact)
            if id is not None and tx.bodies([id]):
                raise ConflictError(
                    id,
                    f"interaction {id!r} is already recorded, so this action was performed "
                    "before; pass a new id to act again",
                )
            relationship, suppressed = self._known(tx, _pair(tx, sender, contact), when, tombstone)
            decision = self._decide(tx, relationship, request, policy, suppressed=suppressed)
            records = request.action.records
            if decision.allowed and request.group is None and records in GROUP_KINDS:
                # Allowed, but it cannot be recorded: nothing is, the decision's log included.
                raise InvalidRequest(
                    "group",
                    None,
                    f"{request.action.value} records a {records.value}, which needs a group",
                )
            if decision.allowed:
                interaction = Interaction(
                    id or uuid.uuid4().hex,
                    sender,
                    contact,
                    request.action.records,
                    when,
                    direction=Direction.OUTBOUND,
                    channel=decision.channel or Channel.OTHER,
                    purpose=decision.purpose,
                    group=decision.group,
                )
                self._store(tx, [_Entry(interaction, canonical(interaction))])
            return decision

    def screen(  # noqa: PLR0913
        self,
        sender: str,
        action: Action | str,
        *,
        contacts: Iterable[str] | None = None,
        at: Instant | None = None,
        policy: Policy | None = None,
        channel: Channel | str | None = None,
        purpose: PurposeLike | None = None,
        group: str | None = None,
    ) -> Screening:
        """
        Decide *action* for the sender's stored relationships, or for exactly *contacts*.

        Unknown contacts are screened as strangers, forgotten ones are
        denied with ``do_not_contact``. An auditing store logs one decision
        per contact, and the denied decisions carry their ``decision_id``.

        Args:
            sender: Who acts.
            action: The action.
            contacts: The audience; None means every stored contact of *sender*.
            at: When; None means now. As for `check`, the decisions rest on
                everything recorded.
            policy: As for `check`.
            channel: As for `check`.
            purpose: As for `check`.
            group: As for `check`.

        Raises:
            InvalidRequest: An argument is invalid.
            StoreClosedError: The store is closed.
        """
        sender = _identifier("sender", sender)
        when = resolve_at(at)
        request = make_request(action, when, channel, purpose, group)
        wanted = None
        if contacts is not None:
            if isinstance(contacts, str) or not isinstance(contacts, Iterable):
                raise InvalidRequest("contacts", contacts, "expected an iterable of contact ids")
            wanted = list(dict.fromkeys(_identifier("contacts", c) for c in contacts))
        with self._transaction(write=self._audit) as tx:
            tombstones = dict(tx.tombstones())
            suppressed: dict[str, Relationship] = {}

            def audience() -> Iterator[Relationship]:
                pairs = (
                    tx.pairs(sender)
                    if wanted is None
                    else (_pair(tx, sender, contact) for contact in wanted)
                )
                for pair in pairs:
                    contact = pair.snapshot.contact
                    tombstone = (
                        tombstones.get(keyed_hash(self._key, contact)) if tombstones else None
                    )
                    relationship, hidden = self._known(tx, pair, when, tombstone)
                    if hidden:
                        suppressed[contact] = relationship
                    yield relationship

            relationships: Iterable[Relationship] = audience()
            if self._audit:
                relationships = list(relationships)
            screening = screen_relationships(
                relationships,
                request.action,
                at=when,
                policy=policy,
                channel=channel,
                purpose=purpose,
                group=group,
            )
            screening = self._enforce(screening, suppressed, request, policy)
            if self._audit:
                screening = self._log_screening(
                    tx,
                    screening,
                    relationships,
                    suppressed=suppressed,
                    request=request,
                    policy=policy,
                )
            elif policy is not None and _has_own_rules(policy):
                # An integrator's rule may not be pure: its denials are decided
                # here, inside the call, as their codes were counted.
                denied = dict(screening.denied)
                for decision in denied.values():
                    decision.reasons  # noqa: B018 (completes a deferred decision)
                screening = attrs.evolve(screening, denied=denied)
            return screening

    def _enforce(
        self,
        screening: Screening,
        suppressed: dict[str, Relationship],
        request: Request,
        policy: Policy | None,
    ) -> Screening:
        if not suppressed:
            return screening
        decisions = {}
        for contact, relationship in suppressed.items():
            decision = screening.denied.get(contact)
            if decision is None:
                chosen = policy if policy is not None else policy_for(relationship.jurisdiction)
                decision = decide(relationship, request, chosen)
            decisions[contact] = suppress(decision, contact)
        return overrule(screening, decisions)

    def _log_screening(  # noqa: PLR0913
        self,
        tx: Transaction,
        screening: Screening,
        relationships: Iterable[Relationship],
        *,
        suppressed: dict[str, Relationship],
        request: Request,
        policy: Policy | None,
    ) -> Screening:
        denied = dict(screening.denied)
        for relationship in relationships:
            contact = relationship.contact
            known = denied.get(contact)
            decision = self._decide(
                tx,
                relationship,
                request,
                policy,
                suppressed=contact in suppressed,
                decision=known,
            )
            if known is not None:
                denied[contact] = decision
        return attrs.evolve(screening, denied=denied)

    def decisions(self, sender: str | None = None, contact: str | None = None) -> list[Decision]:
        """
        Return the decisions this store logged (with *sender*, about *contact*), oldest first.

        Only a store opened with ``audit=True`` logs decisions. Decisions
        about a forgotten contact name them by a keyed hash
        (``forgotten:<hex>``), also in their reasons; asking for the
        contact's identifier finds them.

        Raises:
            InvalidRequest: An argument is invalid.
            StoreClosedError: The store is closed.
        """
        if sender is not None:
            sender = _identifier("sender", sender)
        contacts = None
        if contact is not None:
            contact = _identifier("contact", contact)
            contacts = (contact, pseudonym(self._key, contact))
        with self._transaction(write=False) as tx:
            return tx.decisions(sender, contacts)

    def forget(self, contact: str) -> int:
        """
        Erase the contact's personal data, keeping only a suppression tombstone.

        Every interaction with *contact*, from every sender (identifiers,
        metadata, evidence), and every relationship kept for them are
        deleted; logged decisions about them keep only a keyed hash of the
        identifier. The tombstone (that keyed hash, the time and the count)
        makes `check`, `perform` and `screen` deny every action with
        ``do_not_contact`` until the contact opts in again after now.
        The erased interactions leave the hash chains with their pairs, so
        `verify` still passes.

        Returns:
            How many interactions were erased.

        Raises:
            InvalidRequest: *contact* is invalid.
            StoreClosedError: The store is closed.
        """
        contact = _identifier("contact", contact)
        key = keyed_hash(self._key, contact)
        alias = pseudonym(self._key, contact)
        with self._transaction(write=True) as tx:
            old = tx.tombstone(key)
            personal = personal_texts(
                interaction
                for sender in {d.sender for d in tx.decisions(None, [contact])}
                if sender is not None
                for interaction in tx.log(sender, contact)
            )
            erased = tx.erase(contact, scrubber(contact, alias, personal))
            erased_at = now() if old is None else max(now(), old.erased_at)
            tx.put_tombstone(Tombstone(key, erased_at, erased + (0 if old is None else old.erased)))
        self._after_forget()
        return erased

    def verify(self) -> Verification:
        """
        Check every pair's hash chain against what the store wrote.

        Returns:
            A `Verification`: ``ok`` when no interaction was changed,
            removed or inserted behind the store's back, else the problems.

        Raises:
            StoreClosedError: The store is closed.
        """
        checked = 0
        problems: list[Problem] = []
        with self._transaction(write=False) as tx:
            for chain in tx.chains():
                checked += len(chain.rows)
                problems.extend(verify_chain(chain))
        return Verification(not problems, checked, tuple(problems))

    def close(self) -> None:
        """
        Close the store; closing again does nothing, any other call raises `StoreClosedError`.
        """
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> Self:
        if self._closed:
            raise StoreClosedError(f"{type(self).__name__} is closed; open a new store")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
