"""
`check` against the engines users would pick instead, and against the history length.

The peers decide the same rules (``message``, ``pitch`` and ``send_marketing``
of the etiquette policy) the way their users would write them: casbin as an
ABAC model whose request carries the relationship's precomputed attributes,
cedarpy's ``is_authorized`` with those attributes in the context, and a
hand-written plain-Python function over a slotted object holding the
relationship's raw facts as the floor. The peers answer yes or no (cedarpy
also names the policies that decided); `check` answers with a `Decision`
whose ``allowed`` is decided at once and whose other fields (on the denied
path its reasons, ``retry_at`` and suggestions) are worked out when first
read, so each case is timed twice: ``check`` alone, and ``check`` with a
field read, which builds the whole decision. The allowed path's target is
held to the first (an allowed send reads nothing more); the denied path's
target, which names the reasons, ``retry_at`` and suggestions, to the second.
"""

from __future__ import annotations

import statistics

from datetime import datetime, timedelta
from typing import Any

import attrs

from harness import Row, Size, compare, micro
from workload import ACTIONS, AT, ETIQUETTE, HISTORY_AT, STAGES, history, stage_relationship

from permission_networking import (
    Channel,
    Decision,
    Purpose,
    Relationship,
    RelationshipState,
    check,
    policy_for,
    replay,
)
from permission_networking._decision import set_allowed, set_pending


new_decision = object.__new__
ENGAGEMENT_TTL = timedelta(days=365)
INTEREST_TTL = timedelta(days=90)
REFUSAL_BACKOFF = timedelta(days=30)
MAX_UNANSWERED = 3
SENDER_ID = "ana"


class Facts:
    """
    The floor's input: a relationship's raw facts in a slotted object.
    """

    __slots__ = (
        "connected_at",
        "do_not_contact",
        "email_bounced",
        "engaged_at",
        "interest_at",
        "introduced_at",
        "last_given_at",
        "last_refusal_at",
        "marketing_email",
        "sales",
        "unanswered",
    )

    def __init__(self, relationship: Relationship) -> None:
        self.do_not_contact = relationship.do_not_contact
        self.email_bounced = Channel.EMAIL in relationship.undeliverable
        self.connected_at = relationship.connected_at
        self.introduced_at = relationship.introduced_at
        self.engaged_at = relationship.engaged_at
        self.interest_at = relationship.interest_at
        self.last_refusal_at = relationship.last_refusal_at
        self.last_given_at = relationship.last_given_at
        self.unanswered = relationship.unanswered
        self.sales = _window(relationship, Purpose.SALES, None)
        self.marketing_email = _window(relationship, Purpose.MARKETING, Channel.EMAIL)


def _window(
    relationship: Relationship, purpose: str, channel: Channel | None
) -> tuple[datetime, datetime | None] | None:
    for p in relationship.permissions:
        if p.purpose == purpose and (p.channel is None or p.channel is channel):
            return (p.granted_at, p.withdrawn_at)
    return None


def floor_message(f: Facts, at: datetime) -> bool:  # noqa: ARG001
    return (
        not f.do_not_contact
        and (f.connected_at is not None or f.introduced_at is not None)
        and f.unanswered < MAX_UNANSWERED
    )


def floor_pitch(f: Facts, at: datetime) -> bool:
    if f.do_not_contact:
        return False
    sales = f.sales
    if sales is None or at < sales[0] or (sales[1] is not None and sales[1] <= at):
        engaged_at = f.engaged_at
        interest_at = f.interest_at
        if engaged_at is None or not engaged_at <= at < engaged_at + ENGAGEMENT_TTL:
            return False
        if interest_at is None or not interest_at <= at < interest_at + INTEREST_TTL:
            return False
    refused = f.last_refusal_at
    if refused is not None and (
        at < refused + REFUSAL_BACKOFF or f.last_given_at is None or f.last_given_at <= refused
    ):
        return False
    return f.unanswered < MAX_UNANSWERED


def floor_send_marketing(f: Facts, at: datetime) -> bool:
    if f.do_not_contact or f.email_bounced:
        return False
    consent = f.marketing_email
    return consent is not None and consent[0] <= at and (consent[1] is None or at < consent[1])


FLOORS = {
    "message": floor_message,
    "pitch": floor_pitch,
    "send_marketing": floor_send_marketing,
}


class Attributes:
    """
    The peers' input: a relationship's attributes precomputed for one time.
    """

    __slots__ = (
        "connected",
        "dnc",
        "email_bounced",
        "engaged",
        "interested",
        "marketing_email_consent",
        "recent_refusal",
        "sales_consent",
        "unanswered",
    )

    def __init__(self, relationship: Relationship, at: datetime) -> None:
        f = Facts(relationship)
        self.dnc = f.do_not_contact
        self.email_bounced = f.email_bounced
        self.connected = f.connected_at is not None or f.introduced_at is not None
        self.engaged = relationship.state_at(at) >= RelationshipState.ENGAGED
        self.interested = f.interest_at is not None and f.interest_at <= at < f.interest_at + (
            INTEREST_TTL
        )
        self.recent_refusal = f.last_refusal_at is not None and not floor_pitch(f, at)
        self.unanswered = f.unanswered
        self.sales_consent = bool(relationship.permissions_at(at, Purpose.SALES))
        self.marketing_email_consent = bool(
            relationship.permissions_at(at, Purpose.MARKETING, Channel.EMAIL)
        )

    def context(self) -> dict[str, Any]:
        """
        The attributes as a Cedar context record.
        """
        return {name: getattr(self, name) for name in self.__slots__}


CASBIN_MODEL = """
[request_definition]
r = sub, obj, act

[policy_definition]
p = rule, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.act == p.act && eval(p.rule)
"""

CASBIN_RULES = {
    "message": "!r.obj.dnc && r.obj.connected && r.obj.unanswered < 3",
    "pitch": (
        "!r.obj.dnc && (r.obj.sales_consent || (r.obj.engaged && r.obj.interested))"
        " && !r.obj.recent_refusal && r.obj.unanswered < 3"
    ),
    "send_marketing": "!r.obj.dnc && !r.obj.email_bounced && r.obj.marketing_email_consent",
}

CEDAR_POLICIES = """
permit(principal, action == Action::"message", resource)
when { !context.dnc && context.connected && context.unanswered < 3 };

permit(principal, action == Action::"pitch", resource)
when {
    !context.dnc && (context.sales_consent || (context.engaged && context.interested))
    && !context.recent_refusal && context.unanswered < 3
};

permit(principal, action == Action::"send_marketing", resource)
when { !context.dnc && !context.email_bounced && context.marketing_email_consent };
"""


def _casbin() -> Any | None:
    try:
        import casbin  # noqa: PLC0415
    except ImportError:
        return None
    model = casbin.model.Model()
    model.load_model_from_text(CASBIN_MODEL)
    enforcer = casbin.Enforcer(model)
    for action, rule in CASBIN_RULES.items():
        enforcer.add_policy(rule, action)
    return enforcer


def _cedar() -> Any | None:
    try:
        import cedarpy  # noqa: PLC0415
    except ImportError:
        return None
    return cedarpy


def peers(size: Size) -> list[Row]:
    """
    Time `check` and its peers for each action on each kind of contact.
    """
    enforcer = _casbin()
    cedar = _cedar()
    rows: list[Row] = []
    ratios: dict[bool, list[float]] = {True: [], False: []}
    for stage in STAGES:
        relationship = stage_relationship(stage)
        facts = Facts(relationship)
        attributes = Attributes(relationship, AT)
        for action in ACTIONS:
            decision = check(relationship, action, at=AT, policy=ETIQUETTE)
            floor = FLOORS[action]
            assert decision.allowed == floor(facts, AT), (stage, action)
            namespace: dict[str, Any] = {
                "check": check,
                "relationship": relationship,
                "action": action,
                "at": AT,
                "policy": ETIQUETTE,
                "floor": floor,
                "facts": facts,
                "attributes": attributes,
                "enforcer": enforcer,
                "cedar": cedar,
            }
            statements = {
                "floor": "floor(facts, at)",
                "check": "check(relationship, action, at=at, policy=policy)",
                "whole": "check(relationship, action, at=at, policy=policy).reasons",
            }
            if enforcer is not None:
                assert decision.allowed == enforcer.enforce(SENDER_ID, attributes, action)
                statements["casbin"] = "enforcer.enforce('ana', attributes, action)"
            if cedar is not None:
                namespace["request"] = {
                    "principal": 'User::"ana"',
                    "action": f'Action::"{action}"',
                    "resource": 'Contact::"bo"',
                    "context": attributes.context(),
                }
                namespace["policies"] = CEDAR_POLICIES
                assert (
                    decision.allowed
                    == cedar.is_authorized(namespace["request"], CEDAR_POLICIES, []).allowed
                )
                statements["cedarpy"] = "cedar.is_authorized(request, policies, [])"
            times = compare(statements, namespace, size)
            path = "allowed" if decision.allowed else "denied"
            case = f"{action} on {stage} ({path})"
            held = "check" if decision.allowed else "whole"
            ratio = times[held] / times["floor"]
            ratios[decision.allowed].append(ratio)
            limit = 5 if decision.allowed else 20
            for name, label in (("check", "check"), ("whole", "check, whole decision read")):
                rows.append(
                    Row(
                        "check vs peers",
                        f"{label}: {case}",
                        micro(times[name]),
                        "us",
                        times[name] / times["floor"],
                        "floor",
                        f"<= {limit}" if name == held else None,
                        ratio <= limit if name == held else None,
                        {"codes": list(decision.codes), "suggestions": list(decision.suggestions)},
                    )
                )
            rows.append(
                Row("check vs peers", f"floor: {case}", micro(times["floor"]), "us", 1.0, "floor")
            )
            rows.extend(
                Row(
                    "check vs peers",
                    f"{peer}: {case}",
                    micro(times[peer]),
                    "us",
                    times[peer] / times["check"],
                    "check",
                )
                for peer in ("casbin", "cedarpy")
                if peer in times
            )
    rows.extend(_decision_alone(size))
    rows.append(_policy_chosen(size))
    for allowed, values in ratios.items():
        limit = 5 if allowed else 20
        median = statistics.median(values)
        rows.append(
            Row(
                "check vs peers",
                (
                    "median ratio to the floor, allowed path (check)"
                    if allowed
                    else "median ratio to the floor, denied path (whole decision read)"
                ),
                median,
                "x",
                median,
                "floor",
                f"<= {limit}",
                median <= limit,
            )
        )
    return rows


def flat_history(size: Size) -> list[Row]:
    """
    Time the same checks on relationships folded from logs of each history length.
    """
    relationships = {length: replay(history(length)) for length in size.history}
    statements: dict[str, str] = {}
    namespace: dict[str, Any] = {"check": check, "at": HISTORY_AT, "policy": ETIQUETTE}
    for length, relationship in relationships.items():
        namespace[f"r{length}"] = relationship
        for action in ("message", "send_marketing"):
            statements[f"{action}/{length}"] = (
                f"check(r{length}, {action!r}, at=at, policy=policy).reasons"
            )
    times = compare(statements, namespace, size)
    rows: list[Row] = []
    shortest = min(size.history)
    longest = max(size.history)
    for action in ("message", "send_marketing"):
        decision = check(relationships[longest], action, at=HISTORY_AT, policy=ETIQUETTE)
        path = "allowed" if decision.allowed else "denied"
        for length in size.history:
            ratio = times[f"{action}/{length}"] / times[f"{action}/{shortest}"]
            final = length == longest and length != shortest
            rows.append(
                Row(
                    "check vs history length",
                    f"{action} ({path}) after {length:,} interactions",
                    micro(times[f"{action}/{length}"]),
                    "us",
                    ratio,
                    f"{shortest} interactions",
                    "<= 1.2" if final else None,
                    ratio <= 1.2 if final else None,
                )
            )
    return rows


def least_check(  # noqa: PLR0913
    relationship: Relationship,
    action: str,  # noqa: ARG001  (check's signature; the request is prepared in advance)
    *,
    at: datetime | None = None,
    policy: object = None,
    channel: str | None = None,  # noqa: ARG001
    purpose: str | None = None,  # noqa: ARG001
    group: str | None = None,  # noqa: ARG001
) -> Decision:
    """
    What any `check` must do, and no more: take its arguments and return a new `Decision`.

    The decision has `allowed` set and holds what would complete it, as a
    deferred decision does; no rule runs.
    """
    decision = new_decision(Decision)
    set_allowed(decision, True)  # noqa: FBT003
    set_pending(decision, (None, relationship, at, policy))
    return decision


def _decision_alone(size: Size) -> list[Row]:
    """
    Time the least an allowed `check` can cost, and building the whole `Decision` with its constructor.
    """
    relationship = stage_relationship("engaged")
    decision = check(relationship, "message", at=AT, policy=ETIQUETTE)
    namespace: dict[str, Any] = {
        "Decision": Decision,
        "fields": attrs.astuple(decision, recurse=False),
        "floor": floor_message,
        "facts": Facts(relationship),
        "least": least_check,
        "relationship": relationship,
        "policy": ETIQUETTE,
        "at": AT,
    }
    times = compare(
        {
            "floor": "floor(facts, at)",
            "least": "least(relationship, 'message', at=at, policy=policy)",
            "decision": "Decision(*fields)",
        },
        namespace,
        size,
    )
    return [
        Row(
            "check vs peers",
            "least a check can cost: its call returning a new Decision, no rule run",
            micro(times["least"]),
            "us",
            times["least"] / times["floor"],
            "floor (message)",
        ),
        Row(
            "check vs peers",
            "Decision(...) alone: the constructor with every field",
            micro(times["decision"]),
            "us",
            times["decision"] / times["floor"],
            "floor (message)",
        ),
    ]


def _policy_chosen(size: Size) -> Row:
    """
    Time a check that leaves the policy to the contact's jurisdiction, against one given it.
    """
    relationship = attrs.evolve(stage_relationship("opted_in"), jurisdiction="ca-on")
    namespace: dict[str, Any] = {
        "check": check,
        "relationship": relationship,
        "policy": policy_for(relationship.jurisdiction),
        "at": AT,
    }
    assert check(relationship, "send_marketing", at=AT).allowed
    times = compare(
        {
            "given": "check(relationship, 'send_marketing', at=at, policy=policy)",
            "chosen": "check(relationship, 'send_marketing', at=at)",
        },
        namespace,
        size,
    )
    return Row(
        "check vs peers",
        "check with policy=None, a contact in ca-on (etiquette & casl)",
        micro(times["chosen"]),
        "us",
        times["chosen"] / times["given"],
        "the same check given its policy",
    )
