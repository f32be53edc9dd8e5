"""
The `Store` protocol and what `Store.verify` answers: `Verification` and `Problem`.
"""

from __future__ import annotations

import enum

from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, Self, runtime_checkable

import attrs

from permission_networking._decision import Decision
from permission_networking._relationship import Relationship
from permission_networking._screen import Screening
from permission_networking._time import Instant
from permission_networking._values import (
    Action,
    Channel,
    Interaction,
    PurposeLike,
    check_keys,
    enum_value,
)
from permission_networking.exceptions import InvalidInteraction


if TYPE_CHECKING:
    from permission_networking._policy import Policy

__all__ = ["Problem", "ProblemKind", "Store", "Verification"]


class ProblemKind(enum.StrEnum):
    """
    What `Store.verify` found wrong with a stored interaction.
    """

    CHANGED = "changed"
    """
    Its content no longer matches the hash it was stored with.
    """
    REMOVED = "removed"
    """
    It is missing from its pair's hash chain.
    """
    INSERTED = "inserted"
    """
    It is not part of its pair's hash chain, so the store never wrote it there.
    """


def _to_kind(value: ProblemKind | str) -> ProblemKind:
    return enum_value(ProblemKind, "kind", value)


def _to_text(field: str, value: object) -> str:
    # As a row held it: `verify` reports rows changed behind the store's
    # back, an id emptied or rewritten as bytes no text can hold too.
    if not isinstance(value, str):
        raise InvalidInteraction(field, value, "expected a string")
    return str.__str__(value)


def _to_sender(value: str) -> str:
    return _to_text("sender", value)


def _to_contact(value: str) -> str:
    return _to_text("contact", value)


def _to_id(value: str | None) -> str | None:
    return None if value is None else _to_text("id", value)


def _to_detail(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInteraction("detail", value, "expected a string")
    return str.__str__(value)


@attrs.frozen
class Problem:
    """
    One thing `Store.verify` found wrong.

    Attributes:
        kind: ``changed``, ``removed`` or ``inserted``.
        sender: The pair's sender.
        contact: The pair's contact.
        id: The interaction concerned; None when it cannot be known (the id
            of an interaction removed from the middle of a chain is gone
            with it).
        detail: What is wrong, in plain English.
    """

    kind: ProblemKind = attrs.field(converter=_to_kind)
    sender: str = attrs.field(converter=_to_sender)
    contact: str = attrs.field(converter=_to_contact)
    id: str | None = attrs.field(converter=_to_id)
    detail: str = attrs.field(converter=_to_detail)

    def to_dict(self) -> dict[str, Any]:
        """
        Return a JSON-safe dict.
        """
        return {
            "kind": self.kind.value,
            "sender": self.sender,
            "contact": self.contact,
            "id": self.id,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build a problem from the output of `to_dict`.

        Raises:
            InvalidInteraction: A key is missing or unknown, or a value is invalid.
        """
        check_keys("problem", data, required=_PROBLEM_KEYS, allowed=_PROBLEM_KEYS)
        return cls(data["kind"], data["sender"], data["contact"], data["id"], data["detail"])


_PROBLEM_KEYS: Final = frozenset({"kind", "sender", "contact", "id", "detail"})


def _to_ok(value: bool) -> bool:  # noqa: FBT001
    if type(value) is not bool:
        raise InvalidInteraction("ok", value, "expected True or False")
    return value


def _to_checked(value: int) -> int:
    if type(value) is not int or value < 0:
        raise InvalidInteraction("checked", value, "expected a count, an int of 0 or more")
    return value


def _to_problems(value: Iterable[Problem]) -> tuple[Problem, ...]:
    given: object = value
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise InvalidInteraction("problems", value, "expected a sequence of Problem values")
    problems = tuple(value)
    for problem in problems:
        if not isinstance(problem, Problem):
            raise InvalidInteraction("problems", problem, "expected a Problem")
    return problems


@attrs.frozen
class Verification:
    """
    The answer of `Store.verify`: is every pair's log as the store wrote it?

    ``bool(verification)`` is `ok`.

    Attributes:
        ok: True when no problem was found.
        checked: How many stored interactions were examined.
        problems: What was found wrong, pair by pair.
    """

    ok: bool = attrs.field(converter=_to_ok)
    checked: int = attrs.field(converter=_to_checked)
    problems: tuple[Problem, ...] = attrs.field(default=(), converter=_to_problems)

    def __attrs_post_init__(self) -> None:
        if self.ok is bool(self.problems):
            raise InvalidInteraction("ok", self.ok, "ok is True exactly when no problem was found")

    def __bool__(self) -> bool:
        return self.ok

    def to_dict(self) -> dict[str, Any]:
        """
        Return a JSON-safe dict.
        """
        return {
            "ok": self.ok,
            "checked": self.checked,
            "problems": [problem.to_dict() for problem in self.problems],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build a verification from the output of `to_dict`.

        Raises:
            InvalidInteraction: A key is missing or unknown, or a value is invalid.
        """
        check_keys("verification", data, required=_VERIFICATION_KEYS, allowed=_VERIFICATION_KEYS)
        problems = data["problems"]
        if not isinstance(problems, list | tuple):
            raise InvalidInteraction("problems", problems, "expected a list")
        return cls(data["ok"], data["checked"], [Problem.from_dict(p) for p in problems])


_VERIFICATION_KEYS: Final = frozenset({"ok", "checked", "problems"})


@runtime_checkable
class Store(Protocol):
    """
    An append-only ledger of interactions that decides on what it holds.

    `MemoryStore`, `SQLiteStore` and `PostgresStore` implement it and
    behave the same on the same calls. A store is a context manager that
    closes itself. Every method raises `StoreClosedError` after `close`,
    `InvalidRequest` (or `InvalidInteraction` for what is recorded) for an
    invalid argument, with nothing stored, and `StoreError` when the
    database cannot be used.
    """

    def record(self, interaction: Interaction) -> Relationship:
        """
        Store *interaction* once, and return its pair's relationship afterwards.

        The same id with the same content again is a no-op; with other
        content it raises `ConflictError` and stores nothing. Arrival order
        does not matter: the relationship is `replay` of everything recorded.
        """

    def record_many(self, interactions: Iterable[Interaction]) -> int:
        """
        Store *interactions* in one atomic step, and return how many were new.

        One invalid or conflicting item stores none of them.
        """

    def relationship(self, sender: str, contact: str, *, at: Instant | None = None) -> Relationship:
        """
        Return the pair's relationship (as of *at*); an unknown pair is a stranger.

        A forgotten contact shows as a stranger with ``do_not_contact`` until
        they opt in again after the erasure.
        """

    def history(self, sender: str, contact: str) -> list[Interaction]:
        """
        Return the pair's log in ``(at, id)`` order.
        """

    def relationships(self, sender: str | None = None) -> Iterator[Relationship]:
        """
        Iterate over the relationships of *sender* (None: of every sender).
        """

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
        Decide *action* on the stored relationship, as `check` would.

        The decision rests on every interaction recorded for the pair, also
        those dated after *at*.
        """

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

        The decision rests on every interaction recorded for the pair, also
        those dated after *at*. When allowed, ``Action(action).records`` is
        recorded (outbound, at *at*, on the decision's channel or ``other``)
        under *id*, or a fresh id; an *id* already recorded raises
        `ConflictError` and decides nothing, so a retried send is safe.
        """

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
        Decide *action* for the sender's relationships (or for *contacts*).

        As with `check`, the decisions rest on everything recorded.
        """

    def decisions(self, sender: str | None = None, contact: str | None = None) -> list[Decision]:
        """
        Return the decisions an auditing store logged, oldest first.
        """

    def forget(self, contact: str) -> int:
        """
        Erase the contact's personal data, keep a suppression tombstone, return the count.

        Every sender's interactions with *contact* are erased physically;
        the tombstone, keyed by a keyed hash of the identifier, denies every
        action towards them with ``do_not_contact`` until they opt in again.
        Raises `StoreError`, saying that the erasure is done, when old pages
        could not yet be removed because another connection reads them.
        """

    def verify(self) -> Verification:
        """
        Check every pair's hash chain.

        Reports each interaction changed, removed or inserted behind the
        store's back as a `Problem`.
        """

    def close(self) -> None:
        """
        Release the store; later calls raise `StoreClosedError`.
        """

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
