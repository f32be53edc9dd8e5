"""
The data the benchmarks decide on: contacts at each stage, long logs and lazy audiences.
"""

from __future__ import annotations

import random

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs

from permission_networking import (
    Evidence,
    Interaction,
    Policy,
    Relationship,
    RelationshipState,
    replay,
)


DAY0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""
When every benchmark relationship began.
"""

AT = DAY0 + timedelta(days=10, hours=1)
"""
When the benchmark checks decide: ten days in, a weekday morning.
"""

SENDER = "ana@example.com"
STAGES = ("connected", "engaged", "opted_in")
ACTIONS = ("message", "pitch", "send_marketing")


def day(n: float) -> datetime:
    """
    Return day *n* after `DAY0`.
    """
    return DAY0 + timedelta(days=n)


def stage_log(stage: str, contact: str) -> list[Interaction]:
    """
    Return the log that brings *contact* to *stage* (``connected``, ``engaged``, ``opted_in``).

    ``engaged`` has also asked about the offer, so a pitch is allowed;
    ``opted_in`` has also given express consent to marketing by email and to sales.
    """

    def add(kind: str, n: float, **kw: object) -> None:
        log.append(Interaction(f"{contact}-{len(log)}", SENDER, contact, kind, day(n), **kw))  # type: ignore[arg-type]

    log: list[Interaction] = []
    add("connection_accepted", 0, direction="inbound")
    if stage in {"engaged", "opted_in"}:
        add("message", 1, direction="outbound")
        add("message", 1.5, direction="inbound")
        add("inquiry", 2)
    if stage == "opted_in":
        proof = Evidence("web_form", text="Send me the newsletter", source="form-7")
        add("opt_in_granted", 3, purpose="marketing", channel="email", evidence=proof)
        add("opt_in_granted", 3, purpose="sales", evidence=proof)
    return log


def stage_relationship(stage: str, contact: str = "bo@example.com") -> Relationship:
    """
    Return *contact*'s relationship at *stage*, checked to be in that state at `AT`.
    """
    relationship = replay(stage_log(stage, contact))
    expected = {
        "connected": RelationshipState.CONNECTED,
        "engaged": RelationshipState.ENGAGED,
        "opted_in": RelationshipState.OPTED_IN,
    }[stage]
    assert expected == relationship.state_at(AT)
    return relationship


_MIX = (
    ("message", "outbound"),
    ("message", "inbound"),
    ("comment", "inbound"),
    ("reaction", "inbound"),
    ("reaction", "outbound"),
    ("shared_content", "outbound"),
    ("message", "outbound"),
    ("call", "outbound"),
)


def history(length: int, contact: str = "bo@example.com") -> list[Interaction]:
    """
    Return a log of *length* interactions, in time order, ending engaged and interested.

    It opens with an accepted connection and closes with an inquiry and an
    inbound message, so ``message`` and ``pitch`` are allowed at its end
    whatever its length; in between, a fixed-seed mix of messages, comments,
    reactions, shares and calls. One interaction a minute before the end.
    """
    rng = random.Random(length)
    start = day(60) - timedelta(minutes=length)
    log = [
        Interaction(f"h{0:07d}", SENDER, contact, "connection_accepted", start, direction="inbound")
    ]
    for n in range(1, max(length - 2, 1)):
        kind, direction = rng.choice(_MIX)
        at = start + timedelta(minutes=n)
        log.append(Interaction(f"h{n:07d}", SENDER, contact, kind, at, direction=direction))
    if length >= 3:
        log.append(Interaction("z-inquiry", SENDER, contact, "inquiry", day(60)))
        log.append(Interaction("z-reply", SENDER, contact, "message", day(60), direction="inbound"))
    assert length == len(log)
    return log


HISTORY_AT = day(61)
"""
When the history benchmark decides: a day after every history ends.
"""


def audience_templates(count: int = 1_000) -> list[Relationship]:
    """
    Return *count* relationships shaped like a campaign's audience.

    Of a hundred: 70 opted in to marketing by email, 10 engaged, 10 only
    connected, 5 who opted out after opting in, 3 who complained, 2 whose
    address bounced. For ``message`` most are allowed; for ``send_marketing``
    the 70 opted in are.
    """
    out: list[Relationship] = []
    for n in range(count):
        contact = f"t{n}@example.com"
        share = n % 100
        if share < 70:
            log = stage_log("opted_in", contact)
        elif share < 80:
            log = stage_log("engaged", contact)
        elif share < 90:
            log = stage_log("connected", contact)
        else:
            log = stage_log("opted_in", contact)
            kind = {90: "complaint", 91: "complaint", 92: "complaint", 93: "bounced", 94: "bounced"}
            extra = kind.get(share, "opt_out")
            options: dict[str, object] = {"channel": "email"}
            if extra == "opt_out":
                options["purpose"] = "marketing"
            log.append(Interaction(f"{contact}-x", SENDER, contact, extra, day(4), **options))  # type: ignore[arg-type]
        out.append(replay(log))
    return out


def lazy_audience(templates: list[Relationship], count: int) -> Iterator[Relationship]:
    """
    Yield *count* relationships with distinct contacts, built one at a time from *templates*.

    Nothing is held: each relationship is made when asked for and dropped by
    whoever consumes it, like rows streamed from a database cursor.
    """
    size = len(templates)
    for n in range(count):
        yield attrs.evolve(templates[n % size], contact=f"c{n:07d}@example.com")


JURISDICTIONS = (None, "CA", "US", "DE", "GB")
"""
The jurisdictions `legal_audience` spreads an audience over: none, and one under each preset.
"""


def legal_audience(templates: list[Relationship], count: int) -> list[Relationship]:
    """
    Return *count* relationships with distinct contacts, spread evenly over `JURISDICTIONS`.

    The jurisdiction changes with every contact, and the template with every
    ``len(JURISDICTIONS)`` of them, so that each law sees every kind of contact.
    """
    size = len(templates)
    laws = len(JURISDICTIONS)
    return [
        attrs.evolve(
            templates[(n // laws) % size],
            contact=f"c{n:07d}@example.com",
            jurisdiction=JURISDICTIONS[n % laws],
        )
        for n in range(count)
    ]


ETIQUETTE = Policy.etiquette()
"""
The fixed policy of the check benchmarks: the peers encode the same etiquette rules.
"""
