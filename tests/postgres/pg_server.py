"""
The PostgreSQL server the tests use: a throw-away database, and a fresh schema per store.

The server is named by ``PERMISSION_NETWORKING_TEST_DSN`` (``.ci/run`` starts
one and sets it). Without it, or when the server cannot be reached, the
PostgreSQL tests skip, except in CI (``CI`` set), where they fail, so that a
CI run cannot pass without them.

This module imports psycopg only when a test asks for the server, so the
contract suite runs its other backends without it.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import uuid

from contextlib import suppress
from typing import TYPE_CHECKING, Any

import pytest


if TYPE_CHECKING:
    import psycopg

    from permission_networking.stores.postgres import PostgresStore

__all__ = ["ENV", "Server", "new_schema", "open_postgres", "server"]

ENV = "PERMISSION_NETWORKING_TEST_DSN"
"""
The environment variable that holds the test server's connection string.
"""


class Server:
    """
    A throw-away database on the test server, dropped when the tests end.

    When the role may not create databases, the given database is used
    instead, and the schemas the tests created in it are dropped at the end.

    Attributes:
        dsn: The connection string of the database the tests use.
        schemas: The schemas the tests created, dropped at the end when the
            database is not a throw-away one.
    """

    def __init__(self, given: str) -> None:
        import psycopg  # noqa: PLC0415

        from psycopg import sql  # noqa: PLC0415
        from psycopg.conninfo import make_conninfo  # noqa: PLC0415

        self._given = given
        self._database: str | None = f"permission_networking_test_{uuid.uuid4().hex[:12]}"
        self.schemas: list[str] = []
        with psycopg.connect(given, autocommit=True, connect_timeout=5) as conn:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self._database)))
            except psycopg.errors.InsufficientPrivilege:
                self._database = None
        self.dsn = given if self._database is None else make_conninfo(given, dbname=self._database)
        atexit.register(self.drop)

    @property
    def throwaway(self) -> bool:
        """
        Whether the tests have a database of their own, dropped at the end.
        """
        return self._database is not None

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        """
        Return a new autocommit connection to the tests' database.
        """
        import psycopg  # noqa: PLC0415

        return psycopg.connect(self.dsn, autocommit=True)

    def drop(self) -> None:
        """
        Drop what the tests created: the throw-away database, or their schemas.
        """
        import psycopg  # noqa: PLC0415

        from psycopg import sql  # noqa: PLC0415

        # At exit the server may be gone already; there is then nothing left to drop.
        with suppress(psycopg.Error):
            if self._database is None:
                with self.connect() as conn:
                    for schema in self.schemas:
                        drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                        conn.execute(drop.format(sql.Identifier(schema)))
                return
            with psycopg.connect(self._given, autocommit=True) as conn:
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                conn.execute(drop.format(sql.Identifier(self._database)))


_server: Server | None = None
_failure: str | None = None


def server() -> Server:
    """
    Return the test server, or skip the test (fail it in CI) when there is none.
    """
    global _server, _failure  # noqa: PLW0603
    if _server is None and _failure is None:
        dsn = os.environ.get(ENV)
        if importlib.util.find_spec("psycopg") is None:
            _failure = "psycopg is not installed (pip install 'permission-networking[postgres]')"
        elif dsn is None:
            _failure = (
                f"set {ENV} to a PostgreSQL connection string, e.g. 'host=localhost user=postgres'"
            )
        else:
            import psycopg  # noqa: PLC0415

            try:
                _server = Server(dsn)
            except psycopg.Error as e:
                _failure = f"the server named by {ENV} cannot be reached ({e})"
    if _server is not None:
        return _server
    message = f"PostgreSQL tests not run: {_failure}"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run them", pytrace=False)
    pytest.skip(message)


def new_schema() -> str:
    """
    Return the name of a schema no store has used yet (dropped with the tests' database).
    """
    schema = f"t_{uuid.uuid4().hex[:16]}"
    server().schemas.append(schema)
    return schema


def open_postgres(*, audit: bool = False, **kw: Any) -> PostgresStore:
    """
    Open a new, empty `PostgresStore` in a schema of its own on the test server (or in *schema*).
    """
    from permission_networking.stores.postgres import PostgresStore  # noqa: PLC0415

    schema = kw.pop("schema", None) or new_schema()
    return PostgresStore(server().dsn, schema=schema, audit=audit, **kw)
