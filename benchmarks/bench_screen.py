"""
`screen`: decisions per second over a large audience, and the memory it holds.

Each action is measured in a child process of its own, so that its peak RSS
is its own. There, the audience is first generated lazily, one relationship
at a time, and screened as it streams: the growth of the peak RSS over what
the process held before, divided by the audience size, is the memory per
relationship (it includes the allowed contact ids and the denied contacts'
decisions, which is what a `Screening` holds). Then the same audience is
built as a list and screened again, interleaved with a hand-written filter
over the same relationships, for the decisions per second.

Under the legal presets, ``send_marketing`` is screened with each contact's
own law (``policy=None``, jurisdictions spread over none, Canada, the US,
Germany and the UK), against the same audience screened under etiquette alone.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

from dataclasses import replace
from datetime import datetime
from typing import Any

from harness import SIZES, Row, Size, compare
from workload import AT, ETIQUETTE, audience_templates, lazy_audience, legal_audience

from permission_networking import Channel, Purpose, Relationship, screen


SCREENED = ("message", "send_marketing")
MAX_UNANSWERED = 3
_EMAIL = Channel.EMAIL


def filter_message(r: Relationship, at: datetime) -> bool:  # noqa: ARG001
    return (
        not r.do_not_contact
        and (r.connected_at is not None or r.introduced_at is not None)
        and r.unanswered < MAX_UNANSWERED
    )


def filter_send_marketing(r: Relationship, at: datetime) -> bool:
    if r.do_not_contact or _EMAIL in r.undeliverable:
        return False
    for p in r.permissions:
        if (
            p.purpose == Purpose.MARKETING
            and (p.channel is None or p.channel is _EMAIL)
            and p.granted_at <= at
            and (p.withdrawn_at is None or at < p.withdrawn_at)
        ):
            return True
    return False


FILTERS = {"message": filter_message, "send_marketing": filter_send_marketing}


def _peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024


def child(action: str, count: int, size: Size) -> dict[str, Any]:
    """
    Measure *action* over an audience of *count*, in this (fresh) process.
    """
    templates = audience_templates()
    warm = screen(templates, action, at=AT, policy=ETIQUETTE)
    allowed_share = len(warm.allowed) / len(warm)
    del warm
    before = _peak_rss()
    start = time.perf_counter()
    result = screen(lazy_audience(templates, count), action, at=AT, policy=ETIQUETTE)
    streamed = time.perf_counter() - start
    peak = _peak_rss()
    assert count == len(result)
    assert all(type(contact) is str for contact in result.allowed)
    allowed, denied = len(result.allowed), len(result.denied)
    del result

    audience = list(lazy_audience(templates, count))
    keep = FILTERS[action]
    assert [r.contact for r in audience if keep(r, AT)] == list(
        screen(audience, action, at=AT, policy=ETIQUETTE).allowed
    )
    namespace = {
        "screen": screen,
        "audience": audience,
        "action": action,
        "at": AT,
        "policy": ETIQUETTE,
        "keep": keep,
    }
    times = compare(
        {
            "screen": "screen(audience, action, at=at, policy=policy)",
            "filter": "[r.contact for r in audience if keep(r, at)]",
        },
        namespace,
        replace(size, rounds=max(size.rounds // 5, 1)),
    )
    return {
        "action": action,
        "count": count,
        "allowed": allowed,
        "denied": denied,
        "template_allowed_share": allowed_share,
        "streamed_seconds": streamed,
        "rss_growth": peak - before,
        "screen_seconds": times["screen"],
        "filter_seconds": times["filter"],
    }


def under_the_laws(size: Size) -> Row:
    """
    Screen ``send_marketing`` under each contact's law, against etiquette alone, in this process.
    """
    audience = legal_audience(audience_templates(), size.audience)
    namespace = {"screen": screen, "audience": audience, "at": AT, "policy": ETIQUETTE}
    times = compare(
        {
            "laws": "screen(audience, 'send_marketing', at=at)",
            "etiquette": "screen(audience, 'send_marketing', at=at, policy=policy)",
        },
        namespace,
        replace(size, rounds=max(size.rounds // 5, 1)),
    )
    count = len(audience)
    rate = count / times["laws"]
    final = count >= 1_000_000
    return Row(
        "screen",
        f"screen send_marketing under each contact's law, {count:,} relationships",
        rate,
        "/s",
        times["laws"] / times["etiquette"],
        "the same under etiquette (time)",
        ">= 1,000,000/s" if final else None,
        rate >= 1_000_000 if final else None,
        {"etiquette_per_second": count / times["etiquette"]},
    )


def screening(size: Size) -> list[Row]:
    """
    Run each screened action in a child process and report its speed and memory.
    """
    rows: list[Row] = []
    for action in SCREENED:
        out = subprocess.run(  # noqa: S603
            [sys.executable, __file__, action, str(size.audience), size.name],
            capture_output=True,
            check=True,
            text=True,
        )
        m = json.loads(out.stdout)
        count = m["count"]
        share = f"{m['allowed'] / count:.0%} allowed"
        rate = count / m["screen_seconds"]
        filter_rate = count / m["filter_seconds"]
        per = m["rss_growth"] / count
        final = count >= 1_000_000
        rows.extend(
            [
                Row(
                    "screen",
                    f"screen {action}, {count:,} relationships ({share})",
                    rate,
                    "/s",
                    m["screen_seconds"] / m["filter_seconds"],
                    "hand-written filter (time)",
                    ">= 1,000,000/s" if final else None,
                    rate >= 1_000_000 if final else None,
                    {"allowed": m["allowed"], "denied": m["denied"]},
                ),
                Row(
                    "screen",
                    f"hand-written filter {action}, {count:,} relationships",
                    filter_rate,
                    "/s",
                    1.0,
                    "hand-written filter (time)",
                ),
                Row(
                    "screen",
                    f"screen {action}, streamed lazily incl. generating each relationship",
                    count / m["streamed_seconds"],
                    "/s",
                ),
                Row(
                    "screen",
                    f"screen {action}, peak RSS growth per relationship ({share})",
                    per,
                    "B",
                    None,
                    None,
                    "< 1024 B" if final else None,
                    per < 1024 if final else None,
                    {"rss_growth": m["rss_growth"]},
                ),
            ]
        )
    rows.append(under_the_laws(size))
    return rows


if __name__ == "__main__":
    _action, _count, _size = sys.argv[1:4]
    print(json.dumps(child(_action, int(_count), SIZES[_size])))
