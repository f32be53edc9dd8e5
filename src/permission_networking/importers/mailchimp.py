"""
Read Mailchimp audience exports into interactions.

Mailchimp exports an audience as a zip of three CSV files: subscribed,
unsubscribed and cleaned members. Each has the audience's own fields (``Email
Address``, ``First Name``, ...) followed by Mailchimp's: ``MEMBER_RATING``,
``OPTIN_TIME``, ``OPTIN_IP``, ``CONFIRM_TIME``, ``CONFIRM_IP``, ``LATITUDE``,
``LONGITUDE``, ``GMTOFF``, ``DSTOFF``, ``TIMEZONE``, ``CC``, ``REGION``,
``LAST_CHANGED``, ``LEID``, ``EUID``, ``NOTES`` and (since 2019) ``TAGS``;
unsubscribed members add ``UNSUB_TIME``, ``UNSUB_CAMPAIGN_TITLE``,
``UNSUB_CAMPAIGN_ID``, ``UNSUB_REASON``, ``UNSUB_REASON_OTHER``, cleaned
ones ``CLEAN_TIME``, ``CLEAN_CAMPAIGN_TITLE``, ``CLEAN_CAMPAIGN_ID``. Times
look like ``2024-03-14 09:12:31``, in UTC.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import zipfile

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs

from permission_networking._values import Channel, Evidence, Interaction, InteractionKind, Purpose
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


__all__ = ["read_mailchimp_export"]

_PREFIX = "mailchimp"
_EXPECTED = (
    "a Mailchimp audience export (the subscribed, unsubscribed or cleaned members CSV, "
    "or the zip holding them) whose header has Email Address, OPTIN_TIME and CONFIRM_TIME"
)
_EMAIL_COLUMNS = ("email address", "email", "e-mail address", "e-mail")
_TIME_COLUMNS = ("optin_time", "confirm_time", "unsub_time", "clean_time", "last_changed")
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_REGION = re.compile(r"[A-Za-z0-9]{1,3}")


def read_mailchimp_export(*paths: StrPath, sender: str) -> list[Interaction]:
    """
    Read Mailchimp audience exports: member CSVs, or the zip Mailchimp sends.

    For each member (the contact id is the lowercased email address), for
    ``marketing`` on ``email``:

    * ``OPTIN_TIME`` gives an ``opt_in_granted`` then (evidence method
      ``web_form``, source ``OPTIN_IP``), and a ``CONFIRM_TIME`` as well an
      ``opt_in_confirmed`` then (method ``double_opt_in``, source
      ``CONFIRM_IP``; at the ``OPTIN_TIME`` itself, its id sorts after the
      grant's, so that it confirms it); a
      ``CONFIRM_TIME`` alone gives the ``opt_in_granted`` at that time with
      method ``import``;
    * ``UNSUB_TIME`` gives an ``opt_out`` of marketing on every channel;
    * ``CLEAN_TIME`` gives a ``bounced`` on ``email``;
    * ``TIMEZONE`` (when it is an IANA name) and ``CC``/``REGION`` (as the
      jurisdiction ``CC`` or ``CC-REGION``) give a ``profile_updated`` at
      the earliest time of the row.

    Ids are deterministic: importing the same file twice adds nothing.

    Args:
        paths: The CSV files or zips.
        sender: Your id for the audience's owner (a brand, a team, a list).

    Returns:
        Every interaction, in ``(at, id)`` order; a complete list or an error.

    Raises:
        ImportFormatError: A file is not a Mailchimp member export, or a row
            of it is invalid (the error names the file and line).
        InvalidRequest: *sender* is not a non-empty string.
        FileNotFoundError: A path does not exist.
    """
    if not isinstance(sender, str) or not sender.strip():  # type: ignore[redundant-expr, unused-ignore]
        raise InvalidRequest("sender", sender, "expected a non-empty string")
    found: list[Interaction] = []
    for path in paths:
        for where, text in _files(path):
            found.extend(_read_members(where, text, sender))
    return sorted(iter_unique(found), key=lambda i: (i.at, i.id))


def _files(path: StrPath) -> list[tuple[str, str]]:
    where = os.fspath(path)
    p = Path(path)
    if p.is_dir():
        raise ImportFormatError(where, f"a folder; expected {_EXPECTED}")
    if not p.is_file():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), where)
    if not zipfile.is_zipfile(p):
        return [(where, decode(where, p.read_bytes()))]
    try:
        with zipfile.ZipFile(p) as zf:
            members = sorted(
                info.filename
                for info in zf.infolist()
                if not info.is_dir()
                and info.filename.lower().endswith(".csv")
                and not posixpath.basename(info.filename).startswith(".")
            )
            files = [
                (f"{where}/{m}", decode(f"{where}/{m}", zf.read(m)))
                for m in members
                if not m.startswith("__MACOSX/")
            ]
    except ImportFormatError:
        raise
    except ZIP_ERRORS as e:
        raise ImportFormatError(where, f"cannot read the zip archive ({e})") from None
    if not files:
        raise ImportFormatError(where, f"expected {_EXPECTED}; the zip holds no CSV file")
    return files


def _email_column(table: Table) -> str | None:
    for name in _EMAIL_COLUMNS:
        if name in table.columns:
            return name
    # The audience owner may rename the field; Mailchimp still exports it first.
    first = table.columns[0]
    if table.rows and all("@" in row.get(first) for row in table.rows):
        return first
    return None


def _read_members(where: str, text: str, sender: str) -> list[Interaction]:
    # A row cut short could lose its UNSUB_TIME or CLEAN_TIME and read as consent: refused.
    table = read_table(
        where, text, required=("optin_time", "confirm_time"), expected=_EXPECTED, complete=True
    )
    email_column = _email_column(table)
    if email_column is None:
        raise ImportFormatError(where, f"no Email Address column; expected {_EXPECTED}")
    found: list[Interaction] = []
    for row in table.rows:
        found.extend(_member(table, row, email_column, sender))
    return found


def _time(table: Table, row: Row, column: str) -> datetime | None:
    text = row.get(column)
    if not text:
        return None
    try:
        return parse_utc(text)
    except ValueError:
        raise ImportFormatError(
            table.where,
            f"{column.upper()} {shown(text)} is not a time like 2024-03-14 09:12:31",
            line=row.line,
        ) from None


def _timezone(value: str) -> str | None:
    """
    Return *value* when it is an IANA time zone name, else None.
    """
    if not _ZONE_NAME.fullmatch(value):
        return None
    try:
        ZoneInfo(value)
    except Exception:  # noqa: BLE001
        # Mailchimp writes whatever it guessed; a value that is no zone is left out.
        return None
    return value


def _jurisdiction(country: str, region: str) -> str | None:
    if not _COUNTRY.fullmatch(country):
        return None
    if _REGION.fullmatch(region):
        return f"{country}-{region}".upper()
    return country.upper()


def _consent(
    row: Row, email: str, sender: str, optin: datetime | None, confirm: datetime | None
) -> list[Interaction]:
    # The grant, and its confirmation, that a member's OPTIN_TIME and CONFIRM_TIME give.
    consent = {
        "sender": sender,
        "contact": email,
        "channel": Channel.EMAIL,
        "purpose": Purpose.MARKETING,
    }
    if optin is None:
        if confirm is None:
            return []
        evidence = Evidence("import", confirm, source=row.get("confirm_ip") or None)
        return [_make(InteractionKind.OPT_IN_GRANTED, confirm, evidence=evidence, **consent)]
    evidence = Evidence("web_form", optin, source=row.get("optin_ip") or None)
    granted = _make(InteractionKind.OPT_IN_GRANTED, optin, evidence=evidence, **consent)
    if confirm is None:
        return [granted]
    evidence = Evidence("double_opt_in", confirm, source=row.get("confirm_ip") or None)
    confirmed = _make(InteractionKind.OPT_IN_CONFIRMED, confirm, evidence=evidence, **consent)
    if confirm == optin:
        # At the grant's own instant the fold applies the two in the order
        # of their ids: this one must come after the grant it confirms, which
        # a hash alone would decide by chance.
        confirmed = attrs.evolve(confirmed, id=f"{granted.id}:confirmed")
    return [granted, confirmed]


def _member(table: Table, row: Row, email_column: str, sender: str) -> list[Interaction]:
    email = row.get(email_column).lower()
    if "@" not in email.strip("@"):
        raise ImportFormatError(
            table.where, f"{shown(email)} is not an email address", line=row.line
        )
    times = {column: _time(table, row, column) for column in _TIME_COLUMNS}
    found = _consent(row, email, sender, times["optin_time"], times["confirm_time"])
    if (unsubscribed := times["unsub_time"]) is not None:
        reason = row.get("unsub_reason")
        opt_out = _make(
            InteractionKind.OPT_OUT,
            unsubscribed,
            sender=sender,
            contact=email,
            purpose=Purpose.MARKETING,
            metadata={"reason": reason} if reason else {},
        )
        found.append(_last_at_its_instant(opt_out, found))
    if (cleaned := times["clean_time"]) is not None:
        bounced = _make(
            InteractionKind.BOUNCED, cleaned, sender=sender, contact=email, channel=Channel.EMAIL
        )
        found.append(_last_at_its_instant(bounced, found))
    profile = {}
    if (zone := _timezone(row.get("timezone"))) is not None:
        profile["timezone"] = zone
    if (jurisdiction := _jurisdiction(row.get("cc"), row.get("region"))) is not None:
        profile["jurisdiction"] = jurisdiction
    known = [t for t in times.values() if t is not None]
    if profile and known:
        found.append(
            _make(
                InteractionKind.PROFILE_UPDATED,
                min(known),
                sender=sender,
                contact=email,
                metadata=profile,
            )
        )
    return found


def _last_at_its_instant(interaction: Interaction, before: list[Interaction]) -> Interaction:
    # The fold applies interactions of one instant in the order of their ids.
    # An unsubscribe or a clean is where the member stands now, so at the
    # instant of a consent it must come after it, which a hash alone would
    # decide by chance: its id is then the latest one's, extended.
    tied = [i.id for i in before if i.at == interaction.at]
    if not tied:
        return interaction
    return attrs.evolve(interaction, id=f"{max(tied)}:{interaction.kind}")


def _make(kind: InteractionKind, at: datetime, **fields: object) -> Interaction:
    return make_interaction(_PREFIX, (), kind=kind, at=at, **fields)
