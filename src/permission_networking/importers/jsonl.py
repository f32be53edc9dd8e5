"""
Read interactions from JSON Lines: one `Interaction.to_dict` object per line.
"""

from __future__ import annotations

import json

from collections.abc import Iterator
from pathlib import Path

from permission_networking._values import Interaction
from permission_networking.exceptions import ImportFormatError, InvalidInteraction

from ._common import StrPath


__all__ = ["read_jsonl"]


def read_jsonl(path: StrPath) -> Iterator[Interaction]:
    r"""
    Yield the interaction of each line of a JSON Lines file, in file order.

    Each line is an object as `Interaction.to_dict` writes it; blank lines are
    skipped. The file is read lazily: to import all or nothing, collect the
    whole iterator (``list(read_jsonl(path))``) before recording it.

    >>> import tempfile, pathlib
    >>> line = '{"id": "i1", "sender": "ana", "contact": "bo", "kind": "inquiry", "at": "2026-03-01T10:00:00Z"}'
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "log.jsonl")
    ...     _ = path.write_text(line + "\n", encoding="utf-8")
    ...     [i.kind.value for i in read_jsonl(path)]
    ['inquiry']

    Raises:
        ImportFormatError: *path* is a folder, or a line is not JSON, not an
            object, or not a valid interaction; the error's ``line`` is its
            1-based number.
        FileNotFoundError: *path* does not exist.
    """
    where = str(path)
    if Path(path).is_dir():
        raise ImportFormatError(where, "a folder; expected a JSON Lines file")
    with Path(path).open("rb") as file:
        for number, raw in enumerate(file, 1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise ImportFormatError(where, "not UTF-8 text", line=number) from None
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise ImportFormatError(
                    where,
                    f"not JSON ({e.msg}); expected one interaction object per line",
                    line=number,
                ) from None
            except RecursionError:
                raise ImportFormatError(
                    where, "JSON nested too deeply for an interaction", line=number
                ) from None
            except ValueError:
                # The one other refusal of json.loads: an integer of more than 4,300 digits.
                raise ImportFormatError(
                    where, "a number too long to read; expected an interaction object", line=number
                ) from None
            if not isinstance(data, dict):
                raise ImportFormatError(
                    where,
                    f"a JSON {type(data).__name__}; expected an object as Interaction.to_dict() writes it",
                    line=number,
                )
            try:
                yield Interaction.from_dict(data)
            except InvalidInteraction as e:
                raise ImportFormatError(
                    where, f"not a valid interaction: {e}", line=number
                ) from None
