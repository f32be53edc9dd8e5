"""
Every store, driven by the same random calls, agrees with the others and with a model of the ledger.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import attrs

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from permission_networking import (
    Action,
    Decision,
    Evidence,
    Interaction,
    Policy,
    Relationship,
    Screening,
    replay,
)
from permission_networking import check as check_relationship
from permission_networking.exceptions import ConflictError
from permission_networking.stores import MemoryStore, SQLiteStore, Store
from postgres.pg_server import ENV, open_postgres
from timeline import day


SENDERS = ("ana", "cy")
CONTACTS = ("bo", "di", "ed", "Ed")
"""
The contacts: "Ed" is not "ed" (forget matches exactly), and sorts before every lowercase name.
"""
IDS = tuple(f"i{n}" for n in range(10))

SOON = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
"""
A time after every erasure a run makes (erasures happen now): a contact's way back in.
"""

PAST = (
    day(-1),
    day(0),
    day(0).astimezone(timezone(timedelta(hours=-5))),
    day(0, hour=17),
    day(1),
    day(1) + timedelta(microseconds=1),
    day(2),
    day(4),
    day(15),
    day(100),
)
"""
Times long before any erasure, some of them one instant written in two zones, or a microsecond apart.
"""
FUTURE = (SOON, SOON + timedelta(hours=1), SOON + timedelta(days=2))
TIMES = (*PAST, *FUTURE)
LATEST = FUTURE[-1] + timedelta(days=1)

EVIDENCE = Evidence("web_form", text="Yes, send me news", source="203.0.113.9")

VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("connection_accepted", {"direction": "inbound"}),
    ("message", {"direction": "inbound"}),
    ("message", {"direction": "outbound"}),
    ("inquiry", {}),
    ("opt_in_granted", {"purpose": "marketing"}),
    ("opt_in_granted", {"purpose": "marketing", "channel": "email", "evidence": EVIDENCE}),
    ("opt_out", {"purpose": "marketing"}),
    ("opt_out", {}),
    ("complaint", {}),
    ("blocked", {"direction": "inbound"}),
    ("blocked", {"direction": "outbound"}),
    ("bounced", {"channel": "email"}),
    ("shared_content", {}),
)
"""
The kinds of interaction recorded, with the fields that make each one what it is.
"""

ACTIONS = (
    "message",
    "share_value",
    "pitch",
    "request_opt_in",
    "add_to_list",
    "send_marketing",
    "connect",
    "ask_favor",
)

_ALIAS = re.compile(r"forgotten:[0-9a-f]{64}")

senders = st.sampled_from(SENDERS)
contacts = st.sampled_from(CONTACTS)
times = st.sampled_from(TIMES)
actions = st.sampled_from(ACTIONS)
policies = st.sampled_from([None, Policy(name="anything goes")])


@st.composite
def interactions(draw: st.DrawFn) -> Interaction:
    """
    Draw an interaction of a few pairs, ids and times, so that repeats and conflicts happen.
    """
    kind, fields = draw(st.sampled_from(VARIANTS))
    return Interaction(
        draw(st.sampled_from(IDS)),
        draw(senders),
        draw(contacts),
        kind,
        draw(times),
        **fields,
    )


def _key(interaction: Interaction) -> tuple[datetime, str]:
    return (interaction.at, interaction.id)


def tombstone_view(sender: str, contact: str) -> Relationship:
    """
    Return what docs/stores.md says a store shows of a forgotten pair.
    """
    return Relationship(sender=sender, contact=contact, do_not_contact=True)


@attrs.frozen
class Expected:
    """
    A decision a store should give: the policy's on the relationship, denied when a tombstone stands.
    """

    decision: Decision
    suppressed: bool

    @property
    def codes(self) -> tuple[str, ...]:
        """
        The reason codes: a standing tombstone's ``do_not_contact`` first, in place of the policy's.
        """
        codes = self.decision.codes
        if not self.suppressed:
            return codes
        return ("do_not_contact", *(code for code in codes if code != "do_not_contact"))

    @property
    def allowed(self) -> bool:
        """
        Whether the action is allowed: never while a tombstone stands.
        """
        return self.decision.allowed and not self.suppressed

    def plain(self) -> dict[str, Any]:
        """
        Return the decision as `plain` gives a store's, any wording of the tombstone's reason.
        """
        data = plain(self.decision)
        assert isinstance(data, dict)
        if self.suppressed:
            reason = {"code": "do_not_contact", "message": ANY, "rule": ANY, "until": None}
            others = [r for r in data["reasons"] if r["code"] != "do_not_contact"]
            data.update(
                allowed=False,
                reasons=[reason, *others],
                obligations=[],
                retry_at=None,
                suggestions=[],
            )
        return data


@attrs.define
class Model:
    """
    What the stores should hold: the stored interactions, the erasures and the decision log.

    ``logged`` holds each decision an auditing store logs, and whether the
    log must no longer name its contact.
    """

    stored: dict[str, Interaction] = attrs.Factory(dict)
    erased: dict[str, datetime] = attrs.Factory(dict)
    logged: list[tuple[Expected, bool]] = attrs.Factory(list)

    def log(self, sender: str, contact: str) -> list[Interaction]:
        """
        Return the pair's stored interactions in ``(at, id)`` order.
        """
        found = [i for i in self.stored.values() if (i.sender, i.contact) == (sender, contact)]
        return sorted(found, key=_key)

    def pairs(self, sender: str | None = None) -> list[tuple[str, str]]:
        """
        Return the pairs that hold a log (of *sender*), ordered by sender, then contact.
        """
        found = {(i.sender, i.contact) for i in self.stored.values()}
        return sorted(pair for pair in found if sender is None or pair[0] == sender)

    def kept(self, interaction: Interaction) -> bool:
        """
        Whether a store keeps *interaction*: nothing from before a contact's erasure comes back.
        """
        erased_at = self.erased.get(interaction.contact)
        return erased_at is None or interaction.at > erased_at

    def conflicts(self, batch: Sequence[Interaction]) -> bool:
        """
        Whether *batch* gives a stored id, or one id twice, other content.
        """
        seen = dict(self.stored)
        for interaction in batch:
            if seen.setdefault(interaction.id, interaction) != interaction:
                return True
        return False

    def add(self, batch: Iterable[Interaction]) -> int:
        """
        Store what is new and kept of *batch*, and return how many that was.
        """
        new = 0
        for interaction in batch:
            if interaction.id not in self.stored and self.kept(interaction):
                self.stored[interaction.id] = interaction
                new += 1
        return new

    def suppressed(self, sender: str, contact: str, at: datetime | None = None) -> bool:
        """
        Whether the contact's tombstone stands for *sender* (by *at*): no opt-in since the erasure.
        """
        erased_at = self.erased.get(contact)
        if erased_at is None:
            return False
        return not any(
            i.kind == "opt_in_granted" and i.at > erased_at and (at is None or i.at <= at)
            for i in self.log(sender, contact)
        )

    def relationship(self, sender: str, contact: str, at: datetime | None = None) -> Relationship:
        """
        Return the pair's relationship (as of *at*): the tombstone's view, or the replay of its log.
        """
        if self.suppressed(sender, contact, at):
            return tombstone_view(sender, contact)
        return replay(self.log(sender, contact), at=at, sender=sender, contact=contact)

    def decision(
        self,
        sender: str,
        contact: str,
        action: str,
        at: datetime,
        policy: Policy | None,
    ) -> Expected:
        """
        Return the decision a store should give, and note it in the decision log.

        It rests on every interaction stored, also those after *at*; a time
        at or before a contact's erasure, or before their opt-in since, gets
        the tombstone's denial.
        """
        erased_at = self.erased.get(contact)
        if erased_at is not None and (at <= erased_at or self.suppressed(sender, contact, at)):
            # Nothing is decided before the contact came back but the tombstone's denial.
            suppressed, relationship = True, tombstone_view(sender, contact)
        else:
            suppressed = False
            relationship = self.relationship(sender, contact)
        decision = check_relationship(relationship, action, at=at, policy=policy)
        expected = Expected(decision, suppressed=suppressed)
        self.logged.append((expected, suppressed))
        return expected

    def forget(self, contact: str, erased_at: datetime) -> int:
        """
        Erase the contact's interactions and their name in the decision log, and return how many.
        """
        gone = [key for key, i in self.stored.items() if i.contact == contact]
        for key in gone:
            del self.stored[key]
        self.erased[contact] = erased_at
        self.logged = [(e, hidden or e.decision.contact == contact) for e, hidden in self.logged]
        return len(gone)


def plain(value: object) -> object:
    """
    Return *value* in a form that two stores' answers can be compared in.

    Decisions and screenings compare as dicts, decisions by `Decision.to_dict`
    less the ``decision_id`` (each store draws its own).
    """
    if isinstance(value, Decision):
        data = value.to_dict()
        del data["decision_id"]
        return data
    if isinstance(value, Screening):
        return {
            "action": value.action,
            "at": value.at,
            "allowed": value.allowed,
            "denied": {c: plain(d) for c, d in value.denied.items()},
            "counts": dict(value.counts),
        }
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


class StoreMachine(RuleBasedStateMachine):
    """
    The same calls on every store; after each, every store agrees with the model.
    """

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="stateful-"))
        self.stores: list[Store] = []
        self.audit = False
        self.model = Model()

    @initialize(audit=st.booleans())
    def open_stores(self, audit: bool) -> None:  # noqa: FBT001
        """
        Open an empty store of each backend, all auditing or none.
        """
        self.audit = audit
        self.stores = [
            MemoryStore(audit=audit),
            SQLiteStore(self.directory / "ledger.db", audit=audit),
        ]
        if os.environ.get(ENV):
            self.stores.append(open_postgres(audit=audit))

    def teardown(self) -> None:
        """
        Close the stores and remove the example's directory.
        """
        for store in self.stores:
            store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def every(self, call: Callable[[Store], object]) -> object:
        """
        Make *call* on every store, assert that they answered alike, and return the answer.

        An answer is ``("ok", value)`` or ``("conflict", id)`` for a `ConflictError`.
        """
        answers: list[tuple[str, object]] = []
        for store in self.stores:
            try:
                answers.append(("ok", plain(call(store))))
            except ConflictError as e:
                answers.append(("conflict", e.id))
        first = answers[0]
        for store, answer in zip(self.stores[1:], answers[1:], strict=True):
            assert first == answer, f"{type(self.stores[0]).__name__} and {type(store).__name__}"
        return first

    @rule(interaction=interactions())
    def record(self, interaction: Interaction) -> None:
        """
        Record one interaction: new, a no-op repeat, or a conflict that changes nothing.
        """
        conflict = self.model.conflicts([interaction])
        answer = self.every(lambda store: store.record(interaction))
        event(f"record: {'conflict' if conflict else 'stored or repeated'}")
        if conflict:
            assert ("conflict", interaction.id) == answer
            return
        self.model.add([interaction])
        expected = self.model.relationship(interaction.sender, interaction.contact)
        assert ("ok", expected) == answer

    @precondition(lambda self: self.model.stored)
    @rule(data=st.data())
    def record_again(self, data: st.DataObject) -> None:
        """
        Record a stored interaction again, which changes nothing.
        """
        interaction = data.draw(st.sampled_from(sorted(self.model.stored.values(), key=_key)))
        expected = self.model.relationship(interaction.sender, interaction.contact)

        assert ("ok", expected) == self.every(lambda store: store.record(interaction))

    @rule(batch=st.lists(interactions(), max_size=5), data=st.data())
    def record_many(self, batch: list[Interaction], data: st.DataObject) -> None:
        """
        Record a batch, with repeats: it counts what was new, and a conflict refuses it whole.
        """
        if self.model.stored:
            stored = sorted(self.model.stored.values(), key=_key)
            batch = [*batch, *data.draw(st.lists(st.sampled_from(stored), max_size=2))]
            batch = data.draw(st.permutations(batch))
        conflict = self.model.conflicts(batch)
        answer = self.every(lambda store: store.record_many(batch))
        event(f"record_many: {'conflict' if conflict else 'stored'}")
        if conflict:
            assert ("conflict", ANY) == answer
            return
        assert ("ok", self.model.add(batch)) == answer

    @precondition(lambda self: self.model.erased)
    @rule(
        sender=senders,
        id=st.sampled_from(IDS),
        at=st.sampled_from(FUTURE),
        evidence=st.sampled_from([None, EVIDENCE]),
        data=st.data(),
    )
    def opt_in_again(
        self,
        *,
        sender: str,
        id: str,  # noqa: A002
        at: datetime,
        evidence: Evidence | None,
        data: st.DataObject,
    ) -> None:
        """
        A forgotten contact opts in again after the erasure, which lifts the tombstone for that sender.
        """
        contact = data.draw(st.sampled_from(sorted(self.model.erased)))
        opt_in = Interaction(
            id, sender, contact, "opt_in_granted", at, purpose="marketing", evidence=evidence
        )
        conflict = self.model.conflicts([opt_in])
        answer = self.every(lambda store: store.record(opt_in))
        if conflict:
            assert ("conflict", id) == answer
            return
        self.model.add([opt_in])
        assert not self.model.suppressed(sender, contact)
        assert ("ok", self.model.relationship(sender, contact)) == answer

    @rule(
        sender=senders,
        contact=contacts,
        action=actions,
        at=times,
        id=st.sampled_from(IDS),
        policy=policies,
    )
    def perform(  # noqa: PLR0913
        self,
        *,
        sender: str,
        contact: str,
        action: str,
        at: datetime,
        id: str,  # noqa: A002
        policy: Policy | None,
    ) -> None:
        """
        Perform an action: decided as check decides, recorded when allowed, refused for a stored id.
        """
        answer = self.every(
            lambda store: store.perform(sender, contact, action, at=at, id=id, policy=policy)
        )
        if id in self.model.stored:
            event("perform: conflict")
            assert ("conflict", id) == answer
            return
        expected = self.model.decision(sender, contact, action, at, policy)
        assert ("ok", expected.plain()) == answer
        event(f"perform: {'allowed' if expected.allowed else 'denied'}")
        if expected.allowed:
            decision = expected.decision
            done = Interaction(
                id,
                sender,
                contact,
                Action(action).records,
                at,
                direction="outbound",
                channel=decision.channel or "other",
                purpose=decision.purpose,
                group=decision.group,
            )
            assert 1 == self.model.add([done])

    @rule(contact=contacts)
    def forget(self, contact: str) -> None:
        """
        Forget a contact: every sender's interactions with them go, a tombstone stays.
        """
        answer = self.every(lambda store: store.forget(contact))
        erased_at = datetime.now(UTC)
        erased = self.model.forget(contact, erased_at)
        event(f"forget: {'something' if erased else 'nothing'} erased")
        assert ("ok", erased) == answer

    @rule(sender=senders, contact=contacts, action=actions, at=times, policy=policies)
    def check(
        self, *, sender: str, contact: str, action: str, at: datetime, policy: Policy | None
    ) -> None:
        """
        Decide an action through the store: as the guard decides at *at* on the model's relationship.
        """
        answer = self.every(
            lambda store: store.check(sender, contact, action, at=at, policy=policy)
        )
        expected = self.model.decision(sender, contact, action, at, policy)

        assert ("ok", expected.plain()) == answer

    @rule(
        sender=senders,
        action=actions,
        audience=st.none() | st.lists(st.sampled_from((*CONTACTS, "zed")), max_size=4),
        at=times,
        policy=policies,
    )
    def screen(
        self,
        *,
        sender: str,
        action: str,
        audience: list[str] | None,
        at: datetime,
        policy: Policy | None,
    ) -> None:
        """
        Screen the sender's contacts, or the given ones, as check decides each of them.
        """
        answer = self.every(
            lambda store: store.screen(sender, action, contacts=audience, at=at, policy=policy)
        )
        if audience is None:
            audience = [contact for _, contact in self.model.pairs(sender)]
        decisions = {
            contact: self.model.decision(sender, contact, action, at, policy)
            for contact in dict.fromkeys(audience)
        }
        counts: dict[str, int] = {}
        for decision in decisions.values():
            for code in decision.codes:
                counts[code] = counts.get(code, 0) + 1
        expected = {
            "action": action,
            "at": at,
            "allowed": tuple(c for c, d in decisions.items() if d.allowed),
            "denied": {c: d.plain() for c, d in decisions.items() if not d.allowed},
            "counts": counts,
        }

        assert ("ok", expected) == answer

    @rule(sender=senders, contact=contacts, at=times)
    def relationship_at(self, sender: str, contact: str, at: datetime) -> None:
        """
        A relationship as of a time is the replay of what had happened by then.
        """
        answer = self.every(lambda store: store.relationship(sender, contact, at=at))

        assert ("ok", self.model.relationship(sender, contact, at)) == answer

    @invariant()
    def pairs_are_their_replay(self) -> None:
        """
        Each pair's history is the model's log in (at, id) order, its relationship that log's replay.
        """
        for sender in SENDERS:
            for contact in CONTACTS:
                log = self.model.log(sender, contact)
                assert ("ok", log) == self.every(lambda s: s.history(sender, contact))  # noqa: B023
                relationship = self.every(lambda s: s.relationship(sender, contact))  # noqa: B023
                assert ("ok", self.model.relationship(sender, contact)) == relationship
                if contact in self.model.erased and not self.model.suppressed(sender, contact):
                    event("a forgotten contact opted in again")
                if not self.model.suppressed(sender, contact):
                    expected = replay(log, sender=sender, contact=contact)
                    assert ("ok", expected) == relationship

    @invariant()
    def relationships_list_the_pairs(self) -> None:
        """
        relationships() lists every pair with a log, of every sender or of one.
        """
        for sender in (None, *SENDERS):
            expected = [self.model.relationship(s, c) for s, c in self.model.pairs(sender)]
            assert ("ok", expected) == self.every(lambda s: list(s.relationships(sender)))  # noqa: B023

    @invariant()
    def verify_checks_everything(self) -> None:
        """
        verify() passes, having checked every stored interaction.
        """
        for answer in [store.verify() for store in self.stores]:
            assert (True, len(self.model.stored), ()) == (
                answer.ok,
                answer.checked,
                answer.problems,
            )

    @invariant()
    def the_forgotten_stay_suppressed(self) -> None:
        """
        A forgotten contact is not to be contacted by a sender until they opt in again after the erasure.
        """
        for contact in self.model.erased:
            for sender in SENDERS:
                if self.model.suppressed(sender, contact):
                    self.model.decision(sender, contact, "message", LATEST, None)
                    for store in self.stores:
                        assert store.relationship(sender, contact).do_not_contact
                        decision = store.screen(sender, "message", contacts=[contact], at=LATEST)
                        assert "do_not_contact" in decision.denied[contact].codes

    @invariant()
    def decisions_are_logged(self) -> None:
        """
        An auditing store logs each decision, a forgotten contact's under one alias; a plain one logs none.
        """
        expected = [(e.plain(), hidden) for e, hidden in self.model.logged] if self.audit else []
        for store in self.stores:
            aliases: dict[str, str] = {}
            found: list[tuple[dict[str, Any], bool]] = []
            for decision in store.decisions():
                data = plain(decision)
                assert isinstance(data, dict)
                contact = data["contact"]
                hidden = _ALIAS.fullmatch(contact) is not None
                if hidden:
                    # The alias stands for the identifier the model expects in its place.
                    index = len(found)
                    original = expected[index][0]["contact"] if index < len(expected) else contact
                    assert contact == aliases.setdefault(original, contact)
                    assert not re.search(rf"\b{re.escape(original)}\b", repr(data))
                    data = unalias(data, original)
                found.append((data, hidden))
            assert expected == found


def unalias(data: dict[str, Any], identifier: str) -> dict[str, Any]:
    """
    Return a logged decision's dict with the alias of a forgotten contact read as *identifier*.
    """

    def reason(item: dict[str, Any]) -> dict[str, Any]:
        return {**item, "message": _ALIAS.sub(identifier, item["message"])}

    return {
        **data,
        "contact": identifier,
        "reasons": [reason(r) for r in data["reasons"]],
        "warnings": [reason(w) for w in data["warnings"]],
    }


TestStores = StoreMachine.TestCase
TestStores.settings = settings(
    # A PostgreSQL schema per example, and VACUUM FULL in forget, make its examples slower.
    max_examples=30 if os.environ.get(ENV) else 60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
