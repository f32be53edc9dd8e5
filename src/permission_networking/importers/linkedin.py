"""
Read a LinkedIn "Download your data" export into interactions.

The export is a folder or a zip of CSV files. Three of them say something
about relationships: ``Connections.csv`` (who is connected, since when),
``messages.csv`` (direct messages) and ``Invitations.csv`` (connection
requests). Their shape changed over the years; `read_linkedin_export` reads
every era:

* ``Connections.csv`` with or without the ``Notes:`` preamble (mid-2021 on)
  and the ``URL`` column (mid-2023 on), with date-only rows for members who
  hid their profile, ``Connected On`` like ``08 Feb 2026``;
* ``messages.csv`` with 9 to 13 columns (``RECIPIENT PROFILE URLS`` from
  mid-2023, ``ATTACHMENTS`` and draft flags from 2024), every field quoted
  and line breaks in ``CONTENT`` from 2026, ``DATE`` like
  ``2025-06-01 14:03:22 UTC``;
* ``Invitations.csv`` with or without the profile URL columns (late 2023
  on), ``Sent At`` like ``1/29/26, 2:37 PM`` (month first, UTC).
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import zipfile

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import attrs

from permission_networking._values import Channel, Direction, Interaction, InteractionKind
from permission_networking.exceptions import ImportFormatError, InvalidRequest, shown

from ._common import (
    ZIP_ERRORS,
    Row,
    StrPath,
    Table,
    decode,
    iter_unique,
    make_interaction,
    parse_utc,
    read_table,
)


__all__ = ["canonical_profile_url", "read_linkedin_export"]

_PREFIX = "linkedin"
_CONNECTIONS = "connections.csv"
_MESSAGES = "messages.csv"
_INVITATIONS = "invitations.csv"
_PROFILE = "profile.csv"
# Files that only name people: they help match a name to a profile URL.
_NAME_FILES = {
    "endorsement_received_info.csv": (
        "endorser first name",
        "endorser last name",
        "endorser public url",
    ),
    "endorsement_given_info.csv": (
        "endorsee first name",
        "endorsee last name",
        "endorsee public url",
    ),
    "notes.csv": ("connection first name", "connection last name", "connection profile url"),
}
_RELATIONSHIP_FILES = (_CONNECTIONS, _MESSAGES, _INVITATIONS)
_WANTED = frozenset({*_RELATIONSHIP_FILES, _PROFILE, *_NAME_FILES})
_EXPECTED_EXPORT = (
    "expected a LinkedIn data export: its folder or .zip (with Connections.csv, "
    "messages.csv or Invitations.csv), or one of those files"
)
_EXPECTED = {
    _CONNECTIONS: "LinkedIn's Connections.csv: a header with First Name, Last Name, "
    "(URL,) Email Address, Company, Position, Connected On, after an optional Notes: preamble",
    _MESSAGES: "LinkedIn's messages.csv: a header with CONVERSATION ID, CONVERSATION TITLE, "
    "FROM, SENDER PROFILE URL, TO, DATE, SUBJECT, CONTENT, FOLDER",
    _INVITATIONS: "LinkedIn's Invitations.csv: a header with From, To, Sent At, Message, Direction",
}
_REQUIRED = {
    _CONNECTIONS: ("first name", "last name", "connected on"),
    _MESSAGES: ("conversation id", "from", "sender profile url", "to", "date"),
    _INVITATIONS: ("from", "to", "sent at", "direction"),
}
_LEGACY_MESSAGES = ("from", "to", "date", "subject", "content", "direction")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_CONNECTED_ON = re.compile(r"(\d{1,2})[ -]([A-Za-z]{3})[A-Za-z]*\.?[ -](\d{4}|\d{2})")
_SENT_AT = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp])\.?[Mm]\.?"
)
_SPONSORED = "spinmail-quill-editor"
# Folders of messages.csv whose rows were never a message between two people.
_NOT_SENT = frozenset({"SPAM", "DRAFT", "DRAFTS"})
_HIDDEN_MEMBER = "linkedin member"
_YES = frozenset({"yes", "true", "1"})


def canonical_profile_url(value: str) -> str | None:
    """
    Return a LinkedIn profile URL in the form ``https://www.linkedin.com/in/<slug>``.

    The result is lowercase, without a trailing slash, query or fragment, and
    with the slug percent-encoded, however the export wrote it. Other URLs
    are lowercased the same way; an empty value, or one that cannot be read
    as a URL at all, gives None.

    >>> canonical_profile_url("www.LinkedIn.com/in/Zo%C3%AB-Brandt/?trk=x")
    'https://www.linkedin.com/in/zo%c3%ab-brandt'
    """
    text = value.strip()
    if not text:
        return None
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. "[oops": an unclosed IPv6 host
        return None
    segments = [segment for segment in unquote(parts.path).split("/") if segment]
    if host == "linkedin.com" or host.endswith(".linkedin.com"):
        host = "www.linkedin.com"
        if len(segments) >= 2 and segments[0].lower() == "in":  # noqa: PLR2004
            segments = segments[:2]
    # Lowercased before it is percent-encoded, so that a letter outside ASCII
    # folds too (%C3%89 for É becomes %c3%a9 for é, not %c3%89).
    path = "".join("/" + quote(segment.lower(), safe="-_.~") for segment in segments)
    return f"https://{host}{path}".lower()


_MEMBER = "https://www.linkedin.com/in/"


def _member_url(value: str) -> str | None:
    # A member's profile URL, canonical; None for anything else (a company
    # page, a school, a legacy /pub/ address): it is not a person's id.
    url = canonical_profile_url(value)
    if url is None or not url.startswith(_MEMBER):
        return None
    return url


def read_linkedin_export(path: StrPath, *, sender: str | None = None) -> list[Interaction]:
    """
    Read a LinkedIn "Download your data" export, as its folder or its zip.

    ``Connections.csv`` gives ``connection_accepted`` (at midnight UTC of
    ``Connected On``; inbound when the export shows the owner's invitation
    to that person, else outbound), ``messages.csv`` gives ``message`` on
    ``linkedin`` (outbound when the owner sent it, else inbound), and
    ``Invitations.csv`` gives ``connection_requested`` (its ``Direction``).
    Drafts, spam, sponsored messages, messages from senders without a member's
    profile URL (a company page's is not one), group threads and rows of
    members who hid their profile give nothing.

    A contact's id is their profile URL in the form
    ``https://www.linkedin.com/in/<slug>`` whenever any file of the export
    gives one for them (matched across files by URL, else by full name), and
    their full name otherwise. Ids are deterministic: importing the same
    export twice adds nothing.

    Args:
        path: The export's folder or zip, or one of its CSV files.
        sender: Your id for the export's owner, normally their profile URL;
            None finds the owner's profile URL in the export.

    Returns:
        Every interaction, in ``(at, id)`` order; a complete list or an error.

    Raises:
        ImportFormatError: The path is not a LinkedIn export, a file in it
            is not in LinkedIn's format (the error names the file and line),
            or *sender* is None and the owner cannot be found in the export.
        InvalidRequest: *sender* is not a non-empty string.
        FileNotFoundError: *path* does not exist.
    """
    if sender is not None and (not isinstance(sender, str) or not sender.strip()):  # type: ignore[redundant-expr, unused-ignore]
        raise InvalidRequest("sender", sender, "expected a non-empty string, or None")
    files = _load(path)
    return _Reader(os.fspath(path), files, sender).read()


def _file_key(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def _load(path: StrPath) -> dict[str, tuple[str, str]]:
    where = os.fspath(path)
    p = Path(path)
    if p.is_dir():
        found = _from_folder(p)
    elif not p.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), where)
    elif zipfile.is_zipfile(p):
        found = _from_zip(p)
    elif _file_key(p.name) in _RELATIONSHIP_FILES:
        found = {_file_key(p.name): (where, decode(where, p.read_bytes()))}
    else:
        raise ImportFormatError(where, _EXPECTED_EXPORT)
    if not any(key in found for key in _RELATIONSHIP_FILES):
        raise ImportFormatError(where, _EXPECTED_EXPORT + "; found none of those files")
    return found


def _from_folder(folder: Path) -> dict[str, tuple[str, str]]:
    chosen: dict[str, tuple[int, str]] = {}
    for directory, _, names in os.walk(folder):
        depth = len(Path(directory).relative_to(folder).parts)
        for name in names:
            key = _file_key(name)
            full = os.path.join(directory, name)  # noqa: PTH118
            if key in _WANTED and (key not in chosen or (depth, full) < chosen[key]):
                chosen[key] = (depth, full)
    return _decoded({key: (full, Path(full).read_bytes()) for key, (_, full) in chosen.items()})


def _from_zip(archive: Path) -> dict[str, tuple[str, str]]:
    chosen: dict[str, tuple[int, str]] = {}
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                key = _file_key(posixpath.basename(info.filename))
                depth = info.filename.count("/")
                if key in _WANTED and (key not in chosen or (depth, info.filename) < chosen[key]):
                    chosen[key] = (depth, info.filename)
            read = {
                key: (f"{archive}/{member}", zf.read(member)) for key, (_, member) in chosen.items()
            }
    except ZIP_ERRORS as e:
        raise ImportFormatError(os.fspath(archive), f"cannot read the zip archive ({e})") from None
    return _decoded(read)


def _decoded(files: dict[str, tuple[str, bytes]]) -> dict[str, tuple[str, str]]:
    # Each file as text; a file that only helps match names is left out when
    # it is not UTF-8, as when its CSV is broken, instead of stopping the import.
    found = {}
    for key, (where, data) in files.items():
        try:
            found[key] = (where, decode(where, data))
        except ImportFormatError:
            if key in _RELATIONSHIP_FILES:
                raise
    return found


def _full_name(*parts: str) -> str:
    return " ".join(" ".join(parts).split())


def _yes(value: str) -> bool:
    return value.strip().lower() in _YES


def _connected_on(row: Row, where: str) -> datetime:
    text = row.get("connected on")
    match = _CONNECTED_ON.fullmatch(text)
    try:
        if match is not None:
            day, month, year = match.groups()
            full_year = int(year) + (2000 if len(year) == 2 else 0)  # noqa: PLR2004
            return datetime(full_year, _MONTHS[month.lower()], int(day), tzinfo=UTC)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except (KeyError, ValueError):
        pass
    raise ImportFormatError(
        where, f"Connected On {shown(text)} is not a date like 08 Feb 2026", line=row.line
    )


def _message_date(row: Row, where: str) -> datetime:
    text = row.get("date")
    try:
        return parse_utc(text)
    except ValueError:
        raise ImportFormatError(
            where, f"DATE {shown(text)} is not a time like 2025-06-01 14:03:22 UTC", line=row.line
        ) from None


def _hour24(hour: int, half: str) -> int:
    # The hour of a 12-hour clock (1 to 12, AM or PM) on a 24-hour one.
    if not 1 <= hour <= 12:  # noqa: PLR2004
        msg = f"hour {hour} of a 12-hour clock"
        raise ValueError(msg)
    return hour % 12 + (12 if half.lower() == "p" else 0)


def _sent_at(row: Row, where: str) -> datetime:
    text = " ".join(row.get("sent at").replace("\u202f", " ").replace("\xa0", " ").split())
    match = _SENT_AT.fullmatch(text)
    try:
        if match is not None:
            month, day, year, hour, minute, second, half = match.groups()
            full_year = int(year) + (2000 if len(year) == 2 else 0)  # noqa: PLR2004
            hour24 = _hour24(int(hour), half)
            return datetime(
                full_year,
                int(month),
                int(day),
                hour24,
                int(minute),
                int(second or 0),
                tzinfo=UTC,
            )
        return parse_utc(text)
    except ValueError:
        raise ImportFormatError(
            where, f"Sent At {shown(text)} is not a time like 1/29/26, 2:37 PM", line=row.line
        ) from None


@attrs.frozen
class _Message:
    """
    A usable row of messages.csv, before the owner is known.
    """

    row: Row
    conversation: str
    sender_name: str
    sender_url: str
    recipient_urls: tuple[str, ...]
    to: str


def _by_owner(message: _Message, owner_url: str | None, owner_name: str) -> bool:
    # By the owner's URL when it is known, else by their name.
    if owner_url is not None:
        return message.sender_url == owner_url
    return message.sender_name.casefold() == owner_name.casefold()


class _Reader:
    """
    Turns the files of one export into interactions.
    """

    def __init__(self, where: str, files: dict[str, tuple[str, str]], sender: str | None) -> None:
        self.where = where
        self.files = files
        self.given_url = None if sender is None else _member_url(sender)
        self.sender = self.given_url or sender
        self.tables: dict[str, Table] = {}
        for key in _RELATIONSHIP_FILES:
            if key in files and (table := self._table(key)) is not None:
                self.tables[key] = table
        self.urls_by_name: dict[str, set[str]] = {}
        self.connection_urls: set[str] = set()
        self.connection_names: set[str] = set()
        self.owner_names: set[str] = set()
        self.names: set[str] = set()
        self.profile_name = self._profile_name()

    def _table(self, key: str) -> Table | None:
        where, text = self.files[key]
        try:
            return read_table(
                where,
                text,
                required=_REQUIRED[key],
                expected=_EXPECTED[key],
                preamble=5 if key == _CONNECTIONS else 0,
            )
        except ImportFormatError:
            # Before 2019 messages.csv had no profile URLs at all, so none of its rows can be used.
            if key == _MESSAGES and self._optional_table(key, _LEGACY_MESSAGES) is not None:
                return None
            raise

    def _optional_table(self, key: str, required: Iterable[str]) -> Table | None:
        if key not in self.files:
            return None
        where, text = self.files[key]
        try:
            return read_table(where, text, required=required, expected=key)
        except ImportFormatError:
            # A file that only helps match names must not stop the import.
            return None

    def _profile_name(self) -> str:
        table = self._optional_table(_PROFILE, ("first name", "last name"))
        if table is None or not table.rows:
            return ""
        row = table.rows[0]
        return _full_name(row.get("first name"), row.get("last name"))

    def _mention(self, name: str, url: str | None) -> None:
        if name:
            self.names.add(name.casefold())
            if url is not None:
                self.urls_by_name.setdefault(name.casefold(), set()).add(url)

    def _collect_names(self) -> None:
        self._mention(self.profile_name, None)
        if (table := self.tables.get(_CONNECTIONS)) is not None:
            self._collect_connections(table)
        if (table := self.tables.get(_INVITATIONS)) is not None:
            self._collect_invitations(table)
        if (table := self.tables.get(_MESSAGES)) is not None:
            for row in table.rows:
                self._mention(row.get("from"), _member_url(row.get("sender profile url")))
                urls = self._recipient_urls(row)
                if len(urls) == 1:
                    self._mention(row.get("to"), urls[0])
        for key, (first, last, url) in _NAME_FILES.items():
            names = self._optional_table(key, (first, last))
            for row in () if names is None else names.rows:
                self._mention(_full_name(row.get(first), row.get(last)), _member_url(row.get(url)))

    def _collect_invitations(self, table: Table) -> None:
        for row in table.rows:
            self._mention(row.get("from"), _member_url(row.get("inviterprofileurl")))
            self._mention(row.get("to"), _member_url(row.get("inviteeprofileurl")))
            sides = {"OUTGOING": ("from", "to"), "INCOMING": ("to", "from")}
            owner, other = sides.get(row.get("direction").upper(), ("", ""))
            if row.get(owner):
                self.owner_names.add(row.get(owner).casefold())
            if row.get(other):
                self.connection_names.add(row.get(other).casefold())

    def _collect_connections(self, table: Table) -> None:
        for row in table.rows:
            url = _member_url(row.get("url"))
            name = _full_name(row.get("first name"), row.get("last name"))
            self._mention(name, url)
            if name:
                self.connection_names.add(name.casefold())
            if url is not None:
                self.connection_urls.add(url)

    @staticmethod
    def _recipient_urls(row: Row) -> tuple[str, ...]:
        urls = (_member_url(u) for u in row.get("recipient profile urls").split(","))
        return tuple(dict.fromkeys(u for u in urls if u is not None))

    def resolve(self, name: str, url: str | None) -> str | None:
        """
        Return the contact id of a person: their profile URL, else their full name.

        None for a hidden member ("LinkedIn Member") without a URL: the name
        is the same for everyone LinkedIn hides, so it names no one.
        """
        if url is not None:
            return url
        if name.casefold() == _HIDDEN_MEMBER:
            return None
        urls = self.urls_by_name.get(name.casefold(), set())
        if len(urls) == 1:
            return next(iter(urls))
        return name or None

    def resolve_other(self, name: str, url: str | None, sender: str) -> str | None:
        """
        Return what `resolve` does, for a person who is not the owner *sender*.

        A namesake of the owner, found by name alone, keeps their name as
        their id; a row that gives the owner's own URL names no one else.
        """
        contact = self.resolve(name, url)
        if contact != sender:
            return contact
        return (name or None) if url is None else None

    def read(self) -> list[Interaction]:
        self._collect_names()
        messages = self._usable_messages()
        owner_url, owner_name = self._owner(messages)
        sender = self.sender if self.sender is not None else owner_url
        if sender is None:
            raise ImportFormatError(
                self.where,
                "cannot find the owner's profile URL in this export (exports before "
                "mid-2023 have it only on messages the owner sent); pass sender= "
                "(on the command line --sender) with your profile URL",
            )
        interactions: list[Interaction] = []
        outgoing: set[str] = set()
        interactions.extend(self._invitations(sender, outgoing))
        interactions.extend(self._connections(sender, outgoing))
        interactions.extend(self._messages(messages, sender, owner_url, owner_name))
        return sorted(iter_unique(interactions), key=lambda i: (i.at, i.id))

    def _owner(self, messages: list[_Message]) -> tuple[str | None, str]:
        url = (
            self.given_url or self._owner_from_invitations() or self._owner_from_messages(messages)
        )
        name = self.profile_name
        if not name and url is not None:
            sent = Counter(m.sender_name for m in messages if m.sender_url == url and m.sender_name)
            name = sent.most_common(1)[0][0] if sent else ""
        return url, name

    def _owner_from_invitations(self) -> str | None:
        table = self.tables.get(_INVITATIONS)
        if table is None:
            return None
        found: Counter[str] = Counter()
        for row in table.rows:
            direction = row.get("direction").upper()
            column = {"OUTGOING": "inviterprofileurl", "INCOMING": "inviteeprofileurl"}.get(
                direction
            )
            url = None if column is None else _member_url(row.get(column))
            if url is not None:
                found[url] += 1
        return found.most_common(1)[0][0] if found else None

    def _owner_from_messages(self, messages: list[_Message]) -> str | None:
        if self.profile_name:
            mine = Counter(
                m.sender_url
                for m in messages
                if m.sender_name.casefold() == self.profile_name.casefold()
            )
            if mine:
                return mine.most_common(1)[0][0]
        # The owner takes part in every conversation, and is never one of their
        # own connections, nor someone they invited or who invited them: known
        # by URL, or by name where a file gives no URL and the owner's own name
        # is known to be another (a namesake of the owner is not ruled out).
        others = set(self.connection_urls)
        for name in self._others_by_name():
            others.update(self.urls_by_name.get(name, ()))
        coverage: dict[str, set[str]] = {}
        for m in messages:
            for url in (m.sender_url, *m.recipient_urls):
                if url not in others:
                    coverage.setdefault(url, set()).add(m.conversation)
        ranked = sorted(((len(c), url) for url, c in coverage.items()), reverse=True)
        if len(ranked) >= 2 and ranked[0][0] > ranked[1][0]:  # noqa: PLR2004
            return ranked[0][1]
        conversations = {m.conversation for m in messages}
        if len(ranked) == 1 and ranked[0][0] == len(conversations):
            url = ranked[0][1]
            if self._talks_to_others(url, messages):
                return url
        return None

    def _talks_to_others(self, url: str, messages: list[_Message]) -> bool:
        # Whether the one person with a URL in every conversation is the owner.
        # Everyone else's messages in an export go to its owner, so they are
        # when they wrote to two people, or talked with someone the export
        # knows as another (any other URL, a connection or an invitation's
        # other side). One person writing to one name alone could be either.
        names: set[str] = set()
        for m in messages:
            if m.sender_url != url:
                return True  # a message from a known other, to them
            if m.recipient_urls:
                return True  # a message to a known other
            names.add(m.to.casefold())
        return len(names) >= 2 or bool(names & self._others_by_name())  # noqa: PLR2004

    def _others_by_name(self) -> set[str]:
        # The names of connections and invitations' other sides that are not
        # the owner's: none when the owner's name is unknown.
        owner = set(self.owner_names)
        if self.profile_name:
            owner.add(self.profile_name.casefold())
        return self.connection_names - owner if owner else set()

    def _connections(self, sender: str, outgoing: set[str]) -> list[Interaction]:
        table = self.tables.get(_CONNECTIONS)
        if table is None:
            return []
        found = []
        for row in table.rows:
            name = _full_name(row.get("first name"), row.get("last name"))
            contact = self.resolve_other(name, _member_url(row.get("url")), sender)
            if contact is None:
                continue  # a member who hid their profile: only the date is left
            at = _connected_on(row, table.where)
            # Who accepted is known only when the export shows the owner's invitation.
            direction = Direction.INBOUND if contact in outgoing else Direction.OUTBOUND
            found.append(
                make_interaction(
                    _PREFIX,
                    (_CONNECTIONS,),
                    sender=sender,
                    contact=contact,
                    kind=InteractionKind.CONNECTION_ACCEPTED,
                    at=at,
                    direction=direction,
                    channel=Channel.LINKEDIN,
                )
            )
        return found

    def _invitations(self, sender: str, outgoing: set[str]) -> list[Interaction]:
        table = self.tables.get(_INVITATIONS)
        if table is None:
            return []
        found = []
        for row in table.rows:
            direction_text = row.get("direction").upper()
            if direction_text == "OUTGOING":
                direction = Direction.OUTBOUND
                name, url = row.get("to"), row.get("inviteeprofileurl")
            elif direction_text == "INCOMING":
                direction = Direction.INBOUND
                name, url = row.get("from"), row.get("inviterprofileurl")
            else:
                raise ImportFormatError(
                    table.where,
                    f"Direction {shown(row.get('direction'))}; expected INCOMING or OUTGOING",
                    line=row.line,
                )
            contact = self.resolve_other(name, _member_url(url), sender)
            if contact is None:
                continue
            if direction is Direction.OUTBOUND:
                outgoing.add(contact)
            found.append(
                make_interaction(
                    _PREFIX,
                    (_INVITATIONS, row.get("message")),
                    sender=sender,
                    contact=contact,
                    kind=InteractionKind.CONNECTION_REQUESTED,
                    at=_sent_at(row, table.where),
                    direction=direction,
                    channel=Channel.LINKEDIN,
                )
            )
        return found

    def _usable_messages(self) -> list[_Message]:
        table = self.tables.get(_MESSAGES)
        if table is None:
            return []
        found = []
        for row in table.rows:
            if _yes(row.get("is message draft")) or _yes(row.get("is conversation draft")):
                continue
            if row.get("folder").upper() in _NOT_SENT or _SPONSORED in row.get("content")[:200]:
                continue
            sender_url = _member_url(row.get("sender profile url"))
            if sender_url is None:
                continue  # "LinkedIn Member", deleted accounts and sponsored mail
            found.append(
                _Message(
                    row,
                    row.get("conversation id"),
                    row.get("from"),
                    sender_url,
                    self._recipient_urls(row),
                    row.get("to"),
                )
            )
        return found

    def _is_group(self, message: _Message) -> bool:
        if message.recipient_urls:
            return len(message.recipient_urls) > 1
        # TO joins several names with ", ", and a name may hold ", " too ("Jane Doe, Ph.D.").
        return ", " in message.to and message.to.casefold() not in self.names

    def _single_recipient(self, message: _Message) -> str | None:
        """
        Return the one recipient's id, or None for a group or an unknown recipient.
        """
        if self._is_group(message):
            return None
        if message.recipient_urls:
            return message.recipient_urls[0]
        to = message.to
        if not to or to.casefold() == _HIDDEN_MEMBER:
            return None
        return self.resolve(to, None)

    def _named_recipient(
        self, message: _Message, writers: dict[tuple[str, str], set[str]], sender: str
    ) -> str | None:
        """
        Return whom the owner's *message* to a recipient known by name went to.

        In a one-to-one thread it is the one other person who wrote there under
        that name; else the person of that name who is not the owner, as
        `resolve_other` finds them.
        """
        others = writers.get((message.conversation, message.to.casefold()), set())
        others = others - {message.sender_url}
        if len(others) == 1:
            return next(iter(others))
        return self.resolve_other(message.to, None, sender)

    def _group_conversations(self, messages: list[_Message]) -> set[str]:
        # A conversation of more than two people. A recipient known only by a
        # name (two people share it) is one of the senders when a sender with
        # a URL has that name: namesakes' one-to-one threads stay one-to-one.
        urls: dict[str, set[str]] = {}
        names_with_urls: dict[str, set[str]] = {}
        named: dict[str, set[str]] = {}
        groups: set[str] = set()
        for m in messages:
            if self._is_group(m):
                groups.add(m.conversation)
            urls.setdefault(m.conversation, set()).add(m.sender_url)
            names_with_urls.setdefault(m.conversation, set()).add(m.sender_name.casefold())
            recipient = self._single_recipient(m)
            if recipient is None:
                continue
            if recipient.startswith("https://"):
                urls[m.conversation].add(recipient)
            else:
                named.setdefault(m.conversation, set()).add(recipient.casefold())
        for conversation, found in urls.items():
            others = named.get(conversation, set()) - names_with_urls[conversation]
            if len(found) + len(others) > 2:  # noqa: PLR2004
                groups.add(conversation)
        return groups

    def _messages(
        self, messages: list[_Message], sender: str, owner_url: str | None, owner_name: str
    ) -> list[Interaction]:
        if not messages:
            return []
        where = self.tables[_MESSAGES].where
        if owner_url is None and not owner_name:
            raise ImportFormatError(
                where,
                "cannot tell which messages the owner sent; pass sender= with your profile URL",
            )
        groups = self._group_conversations(messages)
        writers: dict[tuple[str, str], set[str]] = {}
        for m in messages:
            writers.setdefault((m.conversation, m.sender_name.casefold()), set()).add(m.sender_url)
        found = []
        for m in messages:
            if m.conversation in groups:
                continue
            recipient = self._single_recipient(m)
            if _by_owner(m, owner_url, owner_name):
                if recipient is not None and not m.recipient_urls:
                    recipient = self._named_recipient(m, writers, sender)
                direction, contact = Direction.OUTBOUND, recipient
            else:
                direction, contact = Direction.INBOUND, m.sender_url
                if m.recipient_urls and owner_url is not None and recipient != owner_url:
                    continue
            if contact is None or contact in {owner_url, sender}:
                continue
            metadata = {"conversation_id": m.conversation} if m.conversation else {}
            found.append(
                make_interaction(
                    _PREFIX,
                    (_MESSAGES, m.row.get("content")),
                    sender=sender,
                    contact=contact,
                    kind=InteractionKind.MESSAGE,
                    at=_message_date(m.row, where),
                    direction=direction,
                    channel=Channel.LINKEDIN,
                    metadata=metadata,
                )
            )
        return found
