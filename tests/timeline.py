"""
A fixed timeline and a builder of one pair's log, shared by the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from permission_networking import Interaction, Relationship, replay


DAY0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""
Day 0 of every story: a Monday, 09:00 UTC, when the connection is accepted.
"""


def day(n: float, *, hour: int | None = None) -> datetime:
    """
    Return day *n* of the timeline, at 09:00 UTC or at *hour* UTC.
    """
    moment = DAY0 + timedelta(days=n)
    return moment if hour is None else moment.replace(hour=hour)


class Log:
    """
    A growing log of one ``(sender, contact)`` pair with readable steps.
    """

    def __init__(self, sender: str = "ana", contact: str = "bo") -> None:
        self.sender = sender
        self.contact = contact
        self.items: list[Interaction] = []

    def add(
        self,
        kind: str,
        at: float | datetime,
        *,
        metadata: Mapping[str, str] | None = None,
        **kw: Any,
    ) -> Log:
        """
        Append an interaction of *kind* at day *at* (or at the datetime *at*).
        """
        when = at if isinstance(at, datetime) else day(at)
        self.items.append(
            Interaction(
                f"i{len(self.items) + 1:04d}",
                self.sender,
                self.contact,
                kind,
                when,
                metadata=metadata or {},
                **kw,
            )
        )
        return self

    def inbound(self, kind: str, at: float | datetime, **kw: Any) -> Log:
        """
        Append something the contact did.
        """
        return self.add(kind, at, direction="inbound", **kw)

    def relationship(self, at: datetime | None = None) -> Relationship:
        """
        Replay the log (up to *at*).
        """
        return replay(self.items, at=at, sender=self.sender, contact=self.contact)
