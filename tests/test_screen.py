"""
Tests for screen: one action decided for many relationships.
"""

from __future__ import annotations

import json
import pickle

import attrs
import pytest

from permission_networking import (
    InvalidInteraction,
    InvalidRequest,
    Policy,
    Reason,
    Screening,
    check,
    screen,
)
from permission_networking._screen import overrule
from timeline import Log, day


def audience() -> list[Log]:
    """
    Five contacts at different stages.
    """
    return [
        Log(contact="stranger"),
        Log(contact="connected").inbound("connection_accepted", 0),
        Log(contact="engaged").inbound("connection_accepted", 0).inbound("message", 1),
        Log(contact="opted").inbound("opt_in_granted", 1, purpose="marketing", channel="email"),
        Log(contact="blocked").inbound("message", 0).inbound("blocked", 1),
    ]


@pytest.mark.parametrize("action", ["message", "send_marketing", "pitch", "connect"])
def test_screen_agrees_with_check_one_by_one(action: str) -> None:
    """allowed, denied and counts agree exactly with one check per relationship."""
    relationships = [log.relationship() for log in audience()]

    result = screen(relationships, action, at=day(2))

    decisions = {r.contact: check(r, action, at=day(2)) for r in relationships}
    assert [c for c, d in decisions.items() if d.allowed] == list(result.allowed)
    assert {c: d for c, d in decisions.items() if not d.allowed} == dict(result.denied)
    counts: dict[str, int] = {}
    for d in decisions.values():
        for code in d.codes:
            counts[code] = counts.get(code, 0) + 1
    assert counts == dict(result.counts)
    assert 5 == len(result)


def test_screening_with_a_fixed_policy() -> None:
    """A given policy applies to every relationship."""
    relationships = [log.relationship() for log in audience()]

    result = screen(relationships, "message", at=day(2), policy=Policy.etiquette())

    assert ("connected", "engaged", "opted") == result.allowed
    assert {"not_connected": 2, "do_not_contact": 1} == dict(result.counts)
    assert ["connected", "engaged", "opted"] == list(result)


def test_a_screening_round_trips_through_json() -> None:
    """to_dict gives plain JSON, every denial as its decision's dict, and from_dict an equal screening."""
    result = screen([log.relationship() for log in audience()], "pitch", at=day(2))

    data = json.loads(json.dumps(result.to_dict()))
    again = Screening.from_dict(data)

    assert "pitch" == data["action"]
    assert data["denied"]["blocked"] == result.denied["blocked"].to_dict()
    assert result == again
    assert list(result.denied) == list(again.denied)
    assert dict(result.counts) == dict(again.counts)


@pytest.mark.parametrize(
    "change",
    [
        {"allowed": "bo"},
        {"denied": []},
        {"denied": {5: {}}},
        {"counts": {"not_connected": -1}},
        {"counts": {"not_connected": True}},
        {"extra": 1},
    ],
    ids=repr,
)
def test_a_screening_from_a_bad_dict_is_refused(change: dict[str, object]) -> None:
    """Each part must be what to_dict writes."""
    data = screen([], "message", at=day(2)).to_dict() | change

    with pytest.raises(InvalidInteraction):
        Screening.from_dict(data)


def test_screen_consumes_an_iterator() -> None:
    """An iterator of relationships is screened lazily, once."""
    relationships = (log.relationship() for log in audience())

    assert 5 == len(screen(relationships, "message", at=day(2)))


def test_bad_items_are_refused() -> None:
    """An item that is not a Relationship raises InvalidRequest."""
    with pytest.raises(InvalidRequest, match="relationships"):
        screen(["bo"], "message")  # type: ignore[list-item]


@pytest.mark.parametrize("audience", [None, 5, "bo"])
def test_what_is_not_an_audience_is_refused(audience: object) -> None:
    """None, a number, a string or one relationship is not an audience: InvalidRequest."""
    with pytest.raises(InvalidRequest, match="an iterable of Relationship"):
        screen(audience, "message")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="an iterable of Relationship"):
        screen(Log().relationship(), "message")  # type: ignore[arg-type]


def test_a_contact_that_comes_again_keeps_its_first_denial_counted_once() -> None:
    """Two senders' relationships with one contact, both denied: one entry, counted once."""
    blocked = Log(contact="bo").inbound("message", 0).inbound("blocked", 1).relationship()
    stranger = Log(sender="cy", contact="bo").relationship()

    result = screen([blocked, stranger, blocked], "message", at=day(2))

    assert () == result.allowed
    assert ["bo"] == list(result.denied)
    first = check(blocked, "message", at=day(2))
    assert first == result.denied["bo"]
    assert dict.fromkeys(first.codes, 1) == dict(result.counts)
    assert 1 == len(result)


def test_an_allowed_contact_is_listed_once_however_often_it_comes() -> None:
    """A contact that comes again, allowed each time, is listed once."""
    engaged = Log(contact="bo").inbound("connection_accepted", 0).relationship()

    result = screen([engaged, engaged], "message", at=day(2))

    assert ("bo",) == result.allowed
    assert 1 == len(result)


def test_a_contact_denied_once_is_not_allowed() -> None:
    """One sender's block is not outweighed by another sender's connection: the denial wins."""
    blocked = Log(contact="bo").inbound("message", 0).inbound("blocked", 1).relationship()
    connected = Log(sender="cy", contact="bo").inbound("connection_accepted", 0).relationship()

    for audience in ([blocked, connected], [connected, blocked]):
        result = screen(audience, "message", at=day(2))

        assert () == result.allowed
        assert ["bo"] == list(result.denied)
        assert {"do_not_contact": 1, "not_connected": 1} == dict(result.counts)
        assert 1 == len(result)


@pytest.mark.parametrize("travelled", [False, True])
def test_overrule_puts_denials_in_place_and_recounts(travelled: bool) -> None:  # noqa: FBT001
    """Overruling denies an allowed contact and replaces a denial, the counts following."""
    relationships = [log.relationship() for log in audience()]
    screening = screen(relationships, "message", at=day(2))
    if travelled:
        screening = pickle.loads(pickle.dumps(screening))  # noqa: S301
    stop = Reason("do_not_contact", "asked to be forgotten", "forgotten")
    decided = {r.contact: check(r, "message", at=day(2)) for r in relationships}
    decisions = {
        contact: attrs.evolve(decided[contact], allowed=False, reasons=(stop,))
        for contact in ("engaged", "stranger")
    }

    overruled = overrule(screening, decisions)

    assert ("connected", "opted") == overruled.allowed
    assert ["stranger", "blocked", "engaged"] == list(overruled.denied)
    assert stop == overruled.denied["engaged"].reasons[0]
    assert screening.denied["blocked"] == overruled.denied["blocked"]
    assert {"not_connected": 2, "do_not_contact": 1} == dict(screening.counts)
    assert {"not_connected": 1, "do_not_contact": 3} == dict(overruled.counts)


@pytest.mark.parametrize(
    ("action", "channel", "suggested"),
    [
        ("send_marketing", None, ("share_value", "message")),
        ("send_marketing", "email", ("share_value", "message")),
        ("send_marketing", "sms", ("share_value", "message")),
        ("ask_favor", None, ("share_value", "message")),
        ("ask_favor", "email", ()),
    ],
)
@pytest.mark.parametrize("policy", [None, Policy.etiquette()])
def test_denials_suggest_as_check_does_on_the_channel_named(
    action: str, channel: str | None, suggested: tuple[str, ...], policy: Policy | None
) -> None:
    """A denial's suggestions follow the channel named, or each action's default, as in check."""
    bounced = Log(contact="bo").inbound("connection_accepted", 0).add("bounced", 1, channel="email")
    relationship = bounced.relationship()

    result = screen([relationship], action, at=day(2), channel=channel, policy=policy)

    expected = check(relationship, action, at=day(2), channel=channel, policy=policy)
    assert expected == result.denied["bo"]
    assert suggested == expected.suggestions
