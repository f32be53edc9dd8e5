from __future__ import annotations

import json

from pathlib import Path

import pytest

from hypothesis import given

from permission_networking import Evidence, ImportFormatError, Interaction
from permission_networking.importers import read_jsonl
from strategies import interactions as interaction_strategy


def write_lines(path: Path, lines: list[str]) -> Path:
    """
    Write *lines* to *path*, one per line.
    """
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


SAMPLE = [
    Interaction(
        "i1", "ana", "bo", "connection_accepted", "2026-03-01T10:00:00Z", direction="inbound"
    ),
    Interaction(
        "i2",
        "ana",
        "bo",
        "opt_in_granted",
        "2026-03-02T10:00:00+01:00",
        channel="email",
        purpose="marketing",
        evidence=Evidence("web_form", "2026-03-02T09:00:00Z", "Yes, send me news", "form-7"),
        metadata={"campaign": "spring"},
    ),
]


class TestReadJsonl:
    def test_lines_round_trip_to_equal_interactions(self, tmp_path: Path) -> None:
        """Each line written by to_dict reads back as an equal interaction, in file order."""
        path = write_lines(tmp_path / "log.jsonl", [json.dumps(i.to_dict()) for i in SAMPLE])

        assert SAMPLE == list(read_jsonl(path))

    def test_blank_lines_and_a_byte_order_mark_are_skipped(self, tmp_path: Path) -> None:
        """Blank lines carry nothing; a BOM at the start is not part of the first object."""
        path = tmp_path / "log.jsonl"
        text = "\n".join(
            ["", json.dumps(SAMPLE[0].to_dict()), "   ", json.dumps(SAMPLE[1].to_dict())]
        )
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))

        assert SAMPLE == list(read_jsonl(path))

    def test_reading_is_lazy(self, tmp_path: Path) -> None:
        """Good lines before a bad one are yielded before the error is raised."""
        path = write_lines(tmp_path / "log.jsonl", [json.dumps(SAMPLE[0].to_dict()), "{oops"])
        lines = read_jsonl(path)

        assert SAMPLE[0] == next(lines)
        with pytest.raises(ImportFormatError):
            next(lines)

    @given(interaction_strategy(1))
    def test_every_interaction_round_trips(self, interaction: Interaction) -> None:
        """Whatever interaction to_dict writes, read_jsonl reads it back equal."""
        import tempfile  # noqa: PLC0415

        with tempfile.TemporaryDirectory() as tmp:
            path = write_lines(Path(tmp, "log.jsonl"), [json.dumps(interaction.to_dict())])

            assert [interaction] == list(read_jsonl(path))


class TestBadLines:
    @pytest.mark.parametrize(
        ("bad", "match"),
        [
            ("{oops", "not JSON"),
            ("[" * 100_000, "nested too deeply"),
            (
                (
                    '{"id": "x", "sender": "a", "contact": "b", "kind": "message", '
                    '"at": "9999-12-31T23:00:00-05:00"}'
                ),
                "out of range",
            ),
            ("[1, 2]", "a JSON list; expected an object"),
            ('{"id": 1' + "0" * 5000 + "}", "a number too long to read"),
            (
                (
                    '{"id": "x", "sender": "a", "contact": "b", "kind": "message", '
                    '"at": "2026-01-01T00:00:00Z", "metadata": {"k": "\\udc80"}}'
                ),
                "lone surrogate",
            ),
            ('{"id": "x"}', "not a valid interaction: interaction="),
            (
                '{"id": "x", "sender": "a", "contact": "b", "kind": "wave", "at": "2026-01-01T00:00:00Z"}',
                "kind='wave'",
            ),
            (
                '{"id": "x", "sender": "a", "contact": "b", "kind": "message", "at": "2026-01-01T00:00:00"}',
                "offset",
            ),
        ],
    )
    def test_a_bad_line_names_its_number(self, tmp_path: Path, bad: str, match: str) -> None:
        """A line that is not an interaction raises ImportFormatError with its line number."""
        path = write_lines(tmp_path / "log.jsonl", [json.dumps(SAMPLE[0].to_dict()), "", bad])

        with pytest.raises(ImportFormatError, match=match) as raised:
            list(read_jsonl(path))
        assert 3 == raised.value.line
        assert str(path) == raised.value.path

    def test_bytes_that_are_not_utf8_name_their_line(self, tmp_path: Path) -> None:
        """A line in another encoding is refused with its number."""
        path = tmp_path / "log.jsonl"
        path.write_bytes(b"\n" + '{"id": "é"}'.encode("latin-1") + b"\n")

        with pytest.raises(ImportFormatError, match="not UTF-8") as raised:
            list(read_jsonl(path))
        assert 2 == raised.value.line

    def test_a_folder_is_refused(self, tmp_path: Path) -> None:
        """A folder is not a JSON Lines file: ImportFormatError says so."""
        with pytest.raises(ImportFormatError, match="a folder"):
            list(read_jsonl(tmp_path))

    def test_a_missing_file_raises_file_not_found(self, tmp_path: Path) -> None:
        """A path that does not exist is reported when reading starts."""
        with pytest.raises(FileNotFoundError):
            list(read_jsonl(tmp_path / "nowhere.jsonl"))


def test_the_importers_export_their_error() -> None:
    """ImportFormatError is importable beside the importers that raise it."""
    from permission_networking import importers  # noqa: PLC0415

    assert ImportFormatError is importers.ImportFormatError
    assert "ImportFormatError" in importers.__all__
