from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from permission_networking._demo import (
    DAY0,
    Answer,
    Step,
    Story,
    render,
    run_stories,
    stories,
    to_json,
)
from permission_networking.stores import MemoryStore, SQLiteStore


Results = list[tuple[Story, list[Step | Answer]]]


def day(n: int) -> datetime:
    """
    Return day *n* of the demo's timeline, at 09:00 UTC.
    """
    return DAY0 + timedelta(days=n)


# For each story: (action, allowed, reason codes, retry_at) of each answer, in order.
EXPECTED: dict[int, list[tuple[str, bool, tuple[str, ...], datetime | None]]] = {
    1: [
        ("send_marketing", False, ("no_consent",), None),
        ("request_opt_in", True, (), None),
        ("send_marketing", True, (), None),
        ("send_marketing", False, ("no_consent",), None),
        ("send_marketing", False, ("consent_withdrawn",), None),
        ("message", True, (), None),
    ],
    2: [
        ("pitch", False, ("not_engaged", "no_interest"), None),
        ("pitch", False, ("no_interest",), None),
        ("ask_favor", False, ("cooling_off", "reciprocity"), None),
        ("ask_favor", False, ("cooling_off",), day(14)),
        ("pitch", True, (), None),
    ],
    3: [
        ("request_meeting", False, ("not_engaged",), None),
        ("request_meeting", True, (), None),
    ],
    4: [
        ("call", False, ("quiet_hours",), datetime(2026, 3, 5, 13, 0, tzinfo=UTC)),
        ("message", False, ("unanswered_limit",), None),
        ("message", True, (), None),
    ],
    5: [
        ("promote_in_group", False, ("not_introduced", "no_owner_permission"), None),
        ("promote_in_group", True, (), None),
        ("promote_in_group", False, ("not_introduced", "no_owner_permission"), None),
        ("pitch", False, ("recent_refusal",), None),
        ("pitch", False, ("recent_refusal",), day(37)),
        ("pitch", True, (), None),
    ],
    6: [
        ("send_marketing", False, ("do_not_contact", "consent_withdrawn"), None),
        ("send_marketing", True, (), None),
    ],
}


def single_answers(
    told: list[Step | Answer],
) -> list[tuple[str, bool, tuple[str, ...], datetime | None]]:
    """
    Return (action, allowed, codes, retry_at) of each one-action answer.
    """
    return [
        (d.action.value, d.allowed, d.codes, d.retry_at)
        for item in told
        if isinstance(item, Answer) and len(item.decisions) == 1
        for d in item.decisions
    ]


@pytest.fixture(name="results", scope="module")
def _results() -> Results:
    with MemoryStore() as store:
        return run_stories(store)


class TestStories:
    def test_there_are_six_stories_in_time_order(self) -> None:
        """The demo tells the six seed stories; each story's events are in time order."""
        told = stories()

        assert [1, 2, 3, 4, 5, 6] == [s.number for s in told]
        for story in told:
            times = [e.interaction.at if isinstance(e, Step) else e.at for e in story.events]
            assert sorted(times) == times

    @pytest.mark.parametrize("number", sorted(EXPECTED))
    def test_every_decision_is_what_the_story_teaches(self, results: Results, number: int) -> None:
        """Each story's questions get the decisions, reasons and retry times of the seed stories."""
        (told,) = [t for s, t in results if s.number == number]

        assert EXPECTED[number] == single_answers(told)

    def test_a_block_denies_every_action(self, results: Results) -> None:
        """After gil's block every one of the eleven actions is denied do_not_contact."""
        told = results[5][1]
        (everything,) = [a for a in told if isinstance(a, Answer) and len(a.decisions) > 1]

        assert 11 == len(everything.decisions)
        assert all("do_not_contact" in d.codes and not d.allowed for d in everything.decisions)

    def test_the_marketing_permission_carries_its_obligations(self, results: Results) -> None:
        """Sending the newsletter with consent obliges an unsubscribe link and the sender's name."""
        told = results[0][1]
        allowed = [d for a in told if isinstance(a, Answer) for d in a.decisions if d.allowed]

        assert ("include_unsubscribe", "identify_sender") == allowed[1].obligations


class TestOutput:
    def test_the_text_shows_each_step_and_explanation(self, results: Results) -> None:
        """The rendered demo holds the titles, the steps and each decision's explanation."""
        text = render(results)

        assert text.startswith("1. LinkedIn is not an opt-in\n")
        assert "6. Do not contact" in text
        assert "bo accepted your connection request" in text
        assert "send_marketing ana -> bo: denied" in text
        assert "[quiet_hours]" in text
        assert "ask again at 2026-03-16T09:00:00+00:00" in text
        assert "promote_in_group  denied [do_not_contact" in text
        assert max(len(line) for line in text.splitlines()) < 120

    def test_the_json_keeps_steps_and_decisions(self, results: Results) -> None:
        """The JSON form lists each story's steps with interactions and questions with decisions."""
        data = to_json(results)

        assert 6 == len(data)
        first = data[0]["events"]
        assert {"when", "step", "interaction"} == set(first[0])
        assert "connection_accepted" == first[0]["interaction"]["kind"]
        question = next(e for e in first if "question" in e)
        assert ["no_consent"] == [r["code"] for r in question["decisions"][0]["reasons"]]


class TestStores:
    def test_sqlite_tells_the_same_stories_and_a_rerun_adds_nothing(self, tmp_path: Path) -> None:
        """On SQLite the decisions are the same as in memory, and running twice records nothing new."""
        with SQLiteStore(tmp_path / "demo.db") as store:
            first = run_stories(store)
            count = sum(
                len(store.history("ana", c))
                for c in ("bo", "cy", "dee", "eli", "fay", "gil", "hal")
            )
            second = run_stories(store)
            again = sum(
                len(store.history("ana", c))
                for c in ("bo", "cy", "dee", "eli", "fay", "gil", "hal")
            )

        assert count == again
        for (story, told), (_, retold) in zip(first, second, strict=True):
            assert EXPECTED[story.number] == single_answers(told)
            assert single_answers(told) == single_answers(retold)
