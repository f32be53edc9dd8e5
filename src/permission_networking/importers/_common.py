"""
What the importers share: reading CSV text, finding the header, and deterministic ids.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
import zlib

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeAlias

import attrs

from permission_networking._values import Interaction
from permission_networking.exceptions import ImportFormatError, shown


__all__ = [
    "ZIP_ERRORS",
    "Row",
    "StrPath",
    "Table",
    "decode",
    "make_interaction",
    "parse_utc",
    "read_table",
]

StrPath: TypeAlias = str | os.PathLike[str]
"""
A file system path: a `str` or a `pathlib.Path`.
"""


ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError, zlib.error)
"""
What reading a zip archive may raise for a file that cannot be read as one: not a
zip, truncated or corrupt, encrypted, or compressed with a method this Python
cannot read (zipfile raises a RuntimeError for the last two), or naming a file
in bytes that are not the UTF-8 it claims (a ValueError).
"""


def decode(where: str, data: bytes) -> str:
    """
    Return *data* as text: UTF-8, with or without a byte-order mark.

    Raises:
        ImportFormatError: *data* is not UTF-8.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportFormatError(
            where, f"not UTF-8 text (byte {e.start}); expected the CSV file as exported"
        ) from None


def header_key(cell: str) -> str:
    """
    Return a header cell as a lookup key: no BOM or quotes, spaces collapsed, lowercase.
    """
    return " ".join(cell.replace("\ufeff", "").strip().strip('"').split()).lower()


@attrs.frozen
class Row:
    """
    One data row of a table.

    Attributes:
        line: The 1-based line of the file on which the row starts.
        cells: Lookup key of each column to its value, stripped of surrounding space.
    """

    line: int
    cells: dict[str, str]

    def get(self, key: str) -> str:
        """
        Return the value of the column *key*, or ``""`` when the file has no such column.
        """
        return self.cells.get(key, "")


@attrs.frozen
class Table:
    """
    A CSV file read whole: its header keys and its non-blank rows.

    Attributes:
        where: How error messages name the file.
        columns: The header's lookup keys, in order.
        rows: The data rows.
    """

    where: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


def read_table(  # noqa: PLR0913
    where: str,
    text: str,
    *,
    required: Iterable[str],
    expected: str,
    preamble: int = 0,
    complete: bool = False,
) -> Table:
    """
    Read CSV *text* whose header has every column of *required*.

    Args:
        where: How error messages name the file.
        text: The file's text.
        required: Lookup keys the header must have.
        expected: What the file should be, for the error message.
        preamble: How many rows (blank ones too) may come before the header.
        complete: Whether a row with fewer cells than the header is refused
            (else the missing cells read as empty).

    Raises:
        ImportFormatError: No header has the required columns, a row has more
            cells than the header (or, with *complete*, fewer), or the CSV
            quoting is broken.
    """
    needed = frozenset(required)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    columns: tuple[str, ...] | None = None
    start = 1
    before = 0
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if columns is None:
                keys = tuple(header_key(cell) for cell in cells)
                if needed <= set(keys):
                    columns = keys
                    continue
                before += 1
                if before > preamble:
                    break
                continue
            if not any(cell.strip() for cell in cells):
                continue
            if (len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :])) or (
                complete and len(cells) < len(columns)
            ):
                raise ImportFormatError(
                    where,
                    f"{len(cells)} cells where the header has {len(columns)}; "
                    "expected every row to have the header's columns",
                    line=line,
                )
            rows.append(Row(line, {k: v.strip() for k, v in zip(columns, cells, strict=False)}))
    except csv.Error as e:
        raise ImportFormatError(
            where, f"broken CSV ({e}); expected {expected}", line=start
        ) from None
    if columns is None:
        raise ImportFormatError(where, f"expected {expected}")
    return Table(where, columns, tuple(rows))


def parse_utc(text: str) -> datetime:
    """
    Return an ISO 8601-like time as an aware UTC datetime; a time without a zone is UTC.

    Accepts ``2025-06-01 14:03:22``, ``2025-06-01T14:03:22+02:00`` and a
    trailing ``UTC``, ``GMT`` or ``Z``.

    Raises:
        ValueError: *text* is not such a time.
    """
    value = text.strip()
    for suffix in (" UTC", " GMT", "UTC", "GMT"):
        if value.endswith(suffix):
            value = value[: -len(suffix)].rstrip()
            break
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        msg = f"{shown(text)} is out of range: in UTC it falls before year 1 or after year 9999"
        raise ValueError(msg) from None


def make_interaction(prefix: str, identity: Sequence[str] = (), **fields: Any) -> Interaction:
    """
    Build an interaction whose id is *prefix* and a SHA-256 of its content and *identity*.

    The same content always gets the same id, so importing a file twice adds
    nothing; *identity* holds what tells apart rows that would otherwise be
    equal (a message's text) without storing it.

    Raises:
        InvalidInteraction: A field is invalid.
    """
    draft = Interaction("draft", **fields)
    content = draft.to_dict()
    del content["id"]
    payload = json.dumps(
        [prefix, content, list(identity)], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    return attrs.evolve(draft, id=f"{prefix}:{digest}")


def iter_unique(items: Iterable[Interaction]) -> Iterator[Interaction]:
    """
    Yield *items* without repeats of an id, keeping the first.
    """
    seen: set[str] = set()
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            yield item
