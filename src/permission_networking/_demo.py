"""
The demo: the seed stories of permission networking, told through a store and the guards.

`python -m permission_networking demo` runs `run_stories` on a throw-away
SQLite store and prints `render` of what it found.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import attrs

from ._decision import Decision
from ._guards import check
from ._policy import Policy
from ._values import Action, Evidence, Interaction, Purpose
from .stores import Store


__all__ = [
    "DAY0",
    "SENDER",
    "Answer",
    "Event",
    "Question",
    "Step",
    "Story",
    "foreign_interaction",
    "intro",
    "render",
    "run_stories",
    "stories",
    "to_json",
]

SENDER = "ana"
"""
Who acts in every story: you.
"""

DAY0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""
Day 0 of every story: Monday 2 March 2026, 09:00 UTC.
"""

_LABEL_WIDTH = 16


def _day(n: int, hour: int = 9, minute: int = 0) -> datetime:
    return (DAY0 + timedelta(days=n)).replace(hour=hour, minute=minute)


def _label(at: datetime) -> str:
    days = (at - DAY0.replace(hour=0)).days
    return f"day {days}" if (at.hour, at.minute) == (9, 0) else f"day {days} {at:%H:%M}"


@attrs.frozen
class Step:
    """
    Something that happened, recorded in the store.

    Attributes:
        label: When, in words (``day 2``).
        text: What happened, in words.
        interaction: The interaction recorded.
    """

    label: str
    text: str
    interaction: Interaction


@attrs.frozen
class Question:
    """
    A question put to the guard before acting.

    Attributes:
        label: When, in words.
        text: The question, in words.
        contact: Towards whom.
        actions: The actions asked about (several for "anything at all?").
        at: When it is decided for.
        options: Further keywords for `Store.check` (``channel``, ``group``).
    """

    label: str
    text: str
    contact: str
    actions: tuple[Action, ...]
    at: datetime
    options: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Answer:
    """
    What the guard answered to a question: one decision per action asked about.

    Attributes:
        question: The question.
        decisions: The decisions, in the order of ``question.actions``.
    """

    question: Question
    decisions: tuple[Decision, ...]


Event: TypeAlias = Step | Question
"""
An event of a story: a step to record or a question to ask.
"""


@attrs.frozen
class Story:
    """
    One seed story: a title, its lesson and its events in time order.

    Attributes:
        number: Its place among the stories.
        title: The title.
        lesson: What it teaches, in one sentence.
        events: The steps and questions.
    """

    number: int
    title: str
    lesson: str
    events: tuple[Event, ...]


class _Script:
    """
    Writes the events of one story.
    """

    def __init__(self, number: int) -> None:
        self.number = number
        self.events: list[Event] = []

    def _step(
        self, who: str, contact: str, kind: str, at: datetime, text: str, **fields: Any
    ) -> None:
        interaction = Interaction(
            f"demo-{self.number}-{len(self.events) + 1:02d}",
            SENDER,
            contact,
            kind,
            at,
            direction="inbound" if who == "they" else "outbound",
            **fields,
        )
        self.events.append(Step(_label(at), text, interaction))

    def they(self, contact: str, kind: str, at: datetime, text: str, **fields: Any) -> _Script:
        self._step("they", contact, kind, at, text, **fields)
        return self

    def you(self, contact: str, kind: str, at: datetime, text: str, **fields: Any) -> _Script:
        self._step("you", contact, kind, at, text, **fields)
        return self

    def ask(
        self,
        contact: str,
        action: Action | tuple[Action, ...],
        at: datetime,
        text: str,
        *,
        label: str | None = None,
        **options: str,
    ) -> _Script:
        actions = action if isinstance(action, tuple) else (action,)
        self.events.append(Question(label or _label(at), text, contact, actions, at, dict(options)))
        return self


_A = Action
_WEB_FORM = Evidence("web_form", text="Yes, send me the newsletter.")


def stories() -> tuple[Story, ...]:
    """
    Return the six seed stories.
    """
    one = (
        _Script(1)
        .they(
            "bo",
            "connection_accepted",
            _day(0),
            "bo accepted your connection request",
            channel="linkedin",
        )
        .you(
            "bo", "message", _day(0, 10), 'you wrote: "Thanks for connecting!"', channel="linkedin"
        )
        .they("bo", "message", _day(1), 'bo replied: "Glad to connect!"', channel="linkedin")
        .ask("bo", _A.SEND_MARKETING, _day(2), "send bo your newsletter by email?")
        .they("bo", "inquiry", _day(3), "bo asked about your workshop", channel="linkedin")
        .ask("bo", _A.REQUEST_OPT_IN, _day(3, 10), "ask bo for permission to email the newsletter?")
        .you(
            "bo",
            "opt_in_requested",
            _day(3, 11),
            'you asked: "May I send you my newsletter?"',
            channel="linkedin",
            purpose="marketing",
        )
        .they(
            "bo",
            "opt_in_granted",
            _day(4),
            "bo said yes on your sign-up form (email)",
            channel="email",
            purpose="marketing",
            evidence=_WEB_FORM,
        )
        .ask("bo", _A.SEND_MARKETING, _day(5), "send the newsletter by email now?")
        .ask("bo", _A.SEND_MARKETING, _day(5, 10), "and by text message?", channel="sms")
        .they("bo", "opt_out", _day(30), "bo unsubscribed", channel="email", purpose="marketing")
        .ask("bo", _A.SEND_MARKETING, _day(31), "send the next newsletter?")
        .ask("bo", _A.MESSAGE, _day(31, 10), "send bo a personal message?")
    )
    two = (
        _Script(2)
        .they(
            "cy",
            "connection_accepted",
            _day(0),
            "cy accepted your connection request",
            channel="linkedin",
        )
        .ask("cy", _A.PITCH, _day(0, 10), "pitch your course to cy right away?")
        .they("cy", "message", _day(1), 'cy replied: "Thanks for connecting!"', channel="linkedin")
        .ask("cy", _A.PITCH, _day(2), "pitch now that cy replied?")
        .ask("cy", _A.ASK_FAVOR, _day(2, 10), "ask cy to endorse you?")
        .you(
            "cy",
            "shared_content",
            _day(2, 11),
            "you sent cy an article they'd like",
            channel="linkedin",
        )
        .ask("cy", _A.ASK_FAVOR, _day(2, 12), "ask for the endorsement now?")
        .they("cy", "inquiry", _day(3), "cy asked what your course costs", channel="linkedin")
        .ask("cy", _A.PITCH, _day(4), "make cy an offer now?")
    )
    three = (
        _Script(3)
        .they(
            "dee",
            "connection_accepted",
            _day(0),
            "dee accepted your connection request",
            channel="linkedin",
        )
        .ask("dee", _A.REQUEST_MEETING, _day(3), "ask dee for a call?")
        .they(
            "dee",
            "meeting_requested",
            _day(5),
            'dee asked: "Could we have a call?"',
            channel="linkedin",
        )
        .ask("dee", _A.REQUEST_MEETING, _day(5, 10), "propose a time for the call?")
    )
    four = (
        _Script(4)
        .they(
            "eli",
            "connection_accepted",
            _day(0),
            "eli accepted your connection request",
            channel="linkedin",
        )
        .you(
            "eli",
            "profile_updated",
            _day(0, 10),
            "eli's profile says: New York",
            metadata={"timezone": "America/New_York"},
        )
        .they("eli", "message", _day(1), "eli replied to your hello", channel="linkedin")
        .ask(
            "eli",
            _A.CALL,
            datetime(2026, 3, 5, 3, 0, tzinfo=UTC),
            "phone eli now?",
            label="day 2 22:00 NY",
        )
        .you("eli", "message", _day(3), "you messaged eli (no answer)", channel="linkedin")
        .you("eli", "message", _day(4), "you messaged eli again (no answer)", channel="linkedin")
        .you("eli", "message", _day(5), "and again (no answer)", channel="linkedin")
        .ask("eli", _A.MESSAGE, _day(6), "message eli a fourth time?")
        .they("eli", "message", _day(7), "eli answered", channel="linkedin")
        .ask("eli", _A.MESSAGE, _day(7, 10), "write back?")
    )
    five = (
        _Script(5)
        .they(
            "fay",
            "connection_accepted",
            _day(0),
            "fay, who runs the Makers group, accepted",
            channel="linkedin",
        )
        .ask(
            "fay", _A.PROMOTE_IN_GROUP, _day(1), "promote your workshop in Makers?", group="makers"
        )
        .you("fay", "group_joined", _day(1, 10), "you joined Makers", group="makers")
        .you("fay", "group_introduced", _day(2), "you introduced yourself there", group="makers")
        .they(
            "fay",
            "opt_in_granted",
            _day(3),
            "fay allowed you to promote in Makers",
            purpose=Purpose.GROUP_PROMOTION,
            group="makers",
        )
        .ask(
            "fay",
            _A.PROMOTE_IN_GROUP,
            _day(4),
            "promote your workshop in Makers now?",
            group="makers",
        )
        .ask(
            "fay", _A.PROMOTE_IN_GROUP, _day(4, 10), "and in the Founders group?", group="founders"
        )
        .they("fay", "inquiry", _day(5), "fay asked about your workshop", channel="linkedin")
        .you("fay", "pitch", _day(6), "you made fay an offer", channel="linkedin", purpose="sales")
        .they("fay", "refusal", _day(7), 'fay said: "Not now, thanks."', channel="linkedin")
        .ask("fay", _A.PITCH, _day(10), "pitch fay again?")
        .you(
            "fay", "shared_content", _day(12), "you sent fay a useful template", channel="linkedin"
        )
        .ask("fay", _A.PITCH, _day(20), "pitch fay again now?")
        .ask("fay", _A.PITCH, _day(38), "and a month after the refusal?")
    )
    six = (
        _Script(6)
        .they(
            "gil",
            "connection_accepted",
            _day(0),
            "gil accepted your connection request",
            channel="linkedin",
        )
        .they(
            "hal",
            "opt_in_granted",
            _day(0, 10),
            "hal subscribed to your newsletter",
            channel="email",
            purpose="marketing",
            evidence=_WEB_FORM,
        )
        .they("gil", "message", _day(1), "gil replied", channel="linkedin")
        .you(
            "hal",
            "marketing_sent",
            _day(1, 10),
            "you sent hal the newsletter",
            channel="email",
            purpose="marketing",
        )
        .they("gil", "blocked", _day(2), "gil blocked you", channel="linkedin")
        .ask("gil", tuple(Action), _day(3), "do anything at all with gil?", group="makers")
        .they("hal", "complaint", _day(5), "hal reported the newsletter as spam", channel="email")
        .ask("hal", _A.SEND_MARKETING, _day(6), "send hal the next newsletter?")
        .they(
            "hal",
            "opt_in_granted",
            _day(30),
            "hal subscribed again",
            channel="email",
            purpose="marketing",
            evidence=_WEB_FORM,
        )
        .ask("hal", _A.SEND_MARKETING, _day(31), "send hal the newsletter now?")
    )
    return (
        Story(
            1,
            "LinkedIn is not an opt-in",
            "A connection, even a friendly one, is not consent to market.",
            tuple(one.events),
        ),
        Story(
            2,
            "Connecting is not permission to sell",
            "Give first, wait for interest, then offer.",
            tuple(two.events),
        ),
        Story(
            3,
            "Wait until they come to you",
            "Ask for a meeting once they engage, or when they ask.",
            tuple(three.events),
        ),
        Story(
            4,
            "Pick up the phone, don't flood",
            "Three unanswered messages are enough; call in daytime.",
            tuple(four.events),
        ),
        Story(
            5,
            "Groups and refusals",
            "Introduce yourself and ask the owner; a refusal is not personal.",
            tuple(five.events),
        ),
        Story(
            6,
            "Do not contact",
            "A block or a spam complaint ends everything, until they come back themselves.",
            tuple(six.events),
        ),
    )


def run_stories(
    store: Store, *, policy: Policy | None = None
) -> list[tuple[Story, list[Step | Answer]]]:
    """
    Record each story's steps in *store* and ask its questions, in time order.

    Args:
        store: Where to record; the stories' ids are fixed, so running twice adds nothing.
        policy: The rules; None means `Policy.etiquette`.

    Returns:
        Each story with its steps and the guard's answers.
    """
    rules = Policy.etiquette() if policy is None else policy
    results: list[tuple[Story, list[Step | Answer]]] = []
    for story in stories():
        told: list[Step | Answer] = []
        for event in story.events:
            if isinstance(event, Step):
                store.record(event.interaction)
                told.append(event)
                continue
            # The question is asked at its point in the story, on what had
            # happened by then, also when a rerun finds the whole story stored.
            relationship = store.relationship(SENDER, event.contact, at=event.at)
            decisions = tuple(
                check(
                    relationship,
                    action,
                    at=event.at,
                    policy=rules,
                    channel=event.options.get("channel"),
                    group=event.options.get("group"),
                )
                for action in event.actions
            )
            told.append(Answer(event, decisions))
        results.append((story, told))
    return results


def foreign_interaction(store: Store) -> Interaction | None:
    """
    Return an interaction *store* holds that is none of the stories' steps, or None.

    The demo writes only into a store that is empty or holds its own
    stories: its interactions would otherwise join a real ledger, which
    keeps everything it is given.
    """
    steps = {
        event.interaction.id: event.interaction
        for story in stories()
        for event in story.events
        if isinstance(event, Step)
    }
    for relationship in store.relationships():
        for interaction in store.history(relationship.sender, relationship.contact):
            if steps.get(interaction.id) != interaction:
                return interaction
    return None


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line for line in text.splitlines()]


def render(results: list[tuple[Story, list[Step | Answer]]]) -> str:
    """
    Return the stories and their decisions as text for a terminal.
    """
    pad = " " * 3
    lines: list[str] = []
    for story, told in results:
        lines.extend(["", f"{story.number}. {story.title}", f"{pad}{story.lesson}", ""])
        for item in told:
            if isinstance(item, Step):
                lines.append(f"{pad}{item.label:<{_LABEL_WIDTH}}{item.text}")
                continue
            question = item.question
            lines.append(f"{pad}{question.label:<{_LABEL_WIDTH}}? {question.text}")
            if len(item.decisions) == 1:
                lines.extend(_indent(item.decisions[0].explain(), pad + "  "))
                continue
            width = max(len(d.action.value) for d in item.decisions)
            for decision in item.decisions:
                verdict = "allowed" if decision.allowed else "denied"
                codes = f" [{', '.join(decision.codes)}]" if decision.codes else ""
                lines.append(f"{pad}  {decision.action.value:<{width}}  {verdict}{codes}")
    return "\n".join(lines).lstrip("\n") + "\n"


def to_json(results: list[tuple[Story, list[Step | Answer]]]) -> list[dict[str, Any]]:
    """
    Return the stories and their decisions as JSON-safe dicts.
    """
    out: list[dict[str, Any]] = []
    for story, told in results:
        events: list[dict[str, Any]] = []
        for item in told:
            if isinstance(item, Step):
                events.append(
                    {
                        "when": item.label,
                        "step": item.text,
                        "interaction": item.interaction.to_dict(),
                    }
                )
            else:
                events.append(
                    {
                        "when": item.question.label,
                        "question": item.question.text,
                        "decisions": [d.to_dict() for d in item.decisions],
                    }
                )
        out.append(
            {"number": story.number, "title": story.title, "lesson": story.lesson, "events": events}
        )
    return out


_INTRO = """\
permission_networking demo: six short stories.

You are "ana". In each story things happen (recorded in a store), and
before acting you ask the guard, which answers with a decision and why.
Day 0 is Monday 2 March 2026, 09:00 UTC. Policy: etiquette.
"""


def intro() -> str:
    """
    Return the text printed before the stories.
    """
    return _INTRO
