"""
The exceptions raised by permission_networking.

Every error derives from `PermissionNetworkingError`, and each specific error
also derives from the nearest built-in, so ``except ValueError`` keeps
working for code that does not know this library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


if TYPE_CHECKING:
    from ._decision import Decision

__all__ = [
    "ConflictError",
    "ImportFormatError",
    "InvalidInteraction",
    "InvalidRequest",
    "PermissionDenied",
    "PermissionNetworkingError",
    "SchemaVersionError",
    "StoreClosedError",
    "StoreError",
]


_SHOWN = 200


def shown(value: object) -> str:
    """
    Return ``repr(value)`` for an error message, cut to its first 200 characters when longer.
    """
    text = repr(value)
    if len(text) <= _SHOWN:
        return text
    return f"{text[:_SHOWN]}... ({len(text)} characters)"


class PermissionNetworkingError(Exception):
    """
    The base class of every error this library raises on purpose.

    Each pickles with its attributes (its constructor's arguments are kept),
    so that one raised in a worker process reaches the caller as it was.
    """

    _made_with: tuple[Any, ...] = ()
    _made_with_keywords: tuple[tuple[str, Any], ...] = ()

    def __reduce__(self) -> str | tuple[Any, ...]:
        if not self._made_with:
            return super().__reduce__()
        return (_remake, (type(self), self._made_with, self._made_with_keywords))


def _remake(
    cls: type[PermissionNetworkingError],
    args: tuple[Any, ...],
    keywords: tuple[tuple[str, Any], ...],
) -> PermissionNetworkingError:
    # How a pickled error is made again: with the arguments it was made with.
    return cls(*args, **dict(keywords))


class InvalidInteraction(PermissionNetworkingError, ValueError):
    """
    An interaction (or a log of them) is not valid; nothing was stored.

    Attributes:
        field: The name of the offending field.
        value: The offending value.
        detail: What is wrong with it, the message without the field and value.
    """

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field = field
        self.value = value
        self.detail = message
        super().__init__(f"{field}={shown(value)}: {message}")
        self._made_with = (field, value, message)


class InvalidRequest(PermissionNetworkingError, ValueError):
    """
    A guard, store or helper was called with an argument it cannot use.

    Attributes:
        field: The name of the offending argument.
        value: The offending value.
        detail: What is wrong with it, the message without the field and value.
    """

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field = field
        self.value = value
        self.detail = message
        super().__init__(f"{field}={shown(value)}: {message}")
        self._made_with = (field, value, message)


class PermissionDenied(PermissionNetworkingError, PermissionError):
    """
    Raised by `require` when the relationship does not permit the action.

    Attributes:
        decision: The denying `Decision`, with its reasons and `retry_at`.
    """

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        codes = ", ".join(r.code for r in decision.reasons) or "denied"
        super().__init__(f"{decision.action} denied: {codes}")
        self._made_with = (decision,)


class ConflictError(PermissionNetworkingError, ValueError):
    """
    An interaction reuses the id of a stored one with different content.

    Attributes:
        id: The interaction id both share.
    """

    def __init__(self, id: str, message: str | None = None) -> None:  # noqa: A002
        self.id = id
        super().__init__(
            message
            or f"interaction {id!r} is already stored with other content; "
            "an id may be recorded again only with the same content"
        )
        self._made_with = (id, message)


class ImportFormatError(PermissionNetworkingError, ValueError):
    """
    A file given to an importer is not in the format it expects.

    Attributes:
        path: The file.
        line: The 1-based line number, when one is known.
    """

    def __init__(self, path: str, message: str, *, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self._made_with = (path, message)
        self._made_with_keywords = (("line", line),)


class StoreClosedError(PermissionNetworkingError, RuntimeError):
    """
    A store was used after `close()`.
    """


class StoreError(PermissionNetworkingError, RuntimeError):
    """
    A store cannot do what it was asked (its database is not a store's, is locked past the timeout, or is unreachable).

    The call has done nothing, with two exceptions its message names:
    `Store.forget` whose erasure is done but whose old pages could not yet
    be removed (another connection still reads them; call ``forget`` again
    later), and a PostgreSQL ``COMMIT`` whose answer was lost with the
    connection (repeat the call: recording is idempotent by id).

    Attributes:
        path: The database file (for `PostgresStore`, its server and schema).
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")
        self._made_with = (path, message)


class SchemaVersionError(StoreError):
    """
    A database was written by a newer release of this library, with a schema this one does not know.

    Attributes:
        path: The database file (for `PostgresStore`, its server and schema).
        found: The schema version of the database.
        supported: The newest schema version this release knows.
    """

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            path,
            f"the database has schema version {found}, but this release of "
            f"permission_networking knows versions up to {supported}; upgrade "
            "permission_networking to open it (the database was not changed)",
        )
        self._made_with = (path, found, supported)
