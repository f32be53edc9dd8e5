"""
Tests for the library's exceptions: what they say and that they travel between processes.
"""

from __future__ import annotations

import pickle

from concurrent.futures import ProcessPoolExecutor

import pytest

from permission_networking import (
    ConflictError,
    ImportFormatError,
    InvalidInteraction,
    InvalidRequest,
    PermissionDenied,
    PermissionNetworkingError,
    check,
    screen_partitions,
)
from permission_networking.exceptions import SchemaVersionError, StoreClosedError, StoreError
from timeline import Log, day


ERRORS = [
    InvalidInteraction("at", "noon", "not an ISO 8601 time"),
    InvalidRequest("channel", "pigeon", "expected one of: email"),
    ConflictError("i1"),
    ConflictError("i1", "performed before"),
    ImportFormatError("export.csv", "a bad date", line=3),
    ImportFormatError("export.csv", "not a Mailchimp export"),
    StoreError("ledger.db", "locked"),
    SchemaVersionError("ledger.db", 9, 1),
    StoreClosedError("closed"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_an_error_pickles_with_its_message_and_attributes(error: PermissionNetworkingError) -> None:
    """Unpickled, an error is of its class, says the same and keeps what it carries."""
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301

    assert type(error) is type(copy)
    assert str(error) == str(copy)
    assert vars(error) == vars(copy)


def test_permission_denied_pickles_with_its_decision() -> None:
    """The denial carried by PermissionDenied survives pickling, reasons and all."""
    denial = PermissionDenied(check(Log().relationship(), "pitch", at=day(1)))

    copy = pickle.loads(pickle.dumps(denial))  # noqa: S301

    assert denial.decision == copy.decision
    assert str(denial) == str(copy)


def test_an_error_in_a_worker_reaches_the_caller() -> None:
    """A partition screened with a bad action raises InvalidRequest in the caller, not a broken pool."""
    partition = [Log().relationship()]
    with ProcessPoolExecutor(max_workers=1) as pool:
        future = pool.submit(screen_partitions, partition, "poke", at=day(1))

        with pytest.raises(InvalidRequest) as raised:
            future.result()

    assert "action" == raised.value.field
