"""
The rules of `Policy.etiquette`: what each stage of a relationship entitles the sender to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from ._decision import Reason, ReasonCode
from ._rules import Request, Rule, next_call_time
from ._time import format_instant
from ._values import Action, Permission, Purpose, RelationshipState


if TYPE_CHECKING:
    from ._policy import Policy
    from ._relationship import Relationship

__all__ = ["ETIQUETTE_RULES", "JURISDICTION_UNKNOWN_RULE"]

_A = Action
_C = ReasonCode
_NONE: Final[tuple[Reason, ...]] = ()


def _do_not_contact(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if rel.do_not_contact:
        return (
            Reason(
                _C.DO_NOT_CONTACT,
                f"{rel.contact} blocked contact or reported a message as spam",
                "do_not_contact",
            ),
        )
    return _NONE


def _undeliverable(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if req.channel is not None and req.channel in rel.undeliverable:
        return (
            Reason(
                _C.UNDELIVERABLE,
                f"{rel.contact}'s address on {req.channel.value} bounced",
                "undeliverable",
            ),
        )
    return _NONE


def _connect(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    at = req.at
    found: list[Reason] = []
    if rel.connection_at is not None:
        found.append(Reason(_C.ALREADY_CONNECTED, f"{rel.contact} is already connected", "connect"))
    requested = rel.connection_requested_at
    if requested is not None and at < requested + policy.connection_request_ttl:
        until = requested + policy.connection_request_ttl
        found.append(
            Reason(
                _C.REQUEST_PENDING,
                f"a connection request sent {_day(requested)} is still pending",
                "connect",
                until,
            )
        )
    declined = rel.declined_at
    if declined is not None and at < declined + policy.decline_backoff:
        found.append(
            Reason(
                _C.RECENTLY_DECLINED,
                f"{rel.contact} declined a connection request on {_day(declined)}",
                "connect",
                declined + policy.decline_backoff,
            )
        )
    if (
        not found
        and rel.introduced_at is None
        and rel.connected_at is None
        and rel.inbound_request_at is None
    ):
        found.append(
            Reason(
                _C.NO_SHARED_CONTEXT,
                f"a cold request: {rel.contact} was not introduced, has not met you "
                "and has not reached out",
                "connect",
            )
        )
    return found


def _reach(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if rel.connected_at is None and rel.introduced_at is None:
        return (
            Reason(
                _C.NOT_CONNECTED,
                f"{rel.contact} is not connected, introduced or met",
                "connected",
            ),
        )
    return _NONE


def _unanswered(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if rel.unanswered >= policy.max_unanswered:
        return (
            Reason(
                _C.UNANSWERED_LIMIT,
                f"{rel.unanswered} messages to {rel.contact} are unanswered "
                f"(the limit is {policy.max_unanswered}); wait for an answer",
                "unanswered",
            ),
        )
    return _NONE


def _not_engaged(rel: Relationship, req: Request, policy: Policy, rule: str) -> Reason | None:
    if rel.state_at(req.at, engagement_ttl=policy.engagement_ttl) >= RelationshipState.ENGAGED:
        return None
    return Reason(
        _C.NOT_ENGAGED,
        f"{rel.contact} has not engaged in a two-way conversation recently",
        rule,
    )


def _favor(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    found: list[Reason] = []
    not_engaged = _not_engaged(rel, req, policy, "favor")
    if not_engaged is not None:
        found.append(not_engaged)
    connected = rel.connected_at
    if connected is not None and req.at < connected + policy.cooling_off:
        until = connected + policy.cooling_off
        found.append(
            Reason(
                _C.COOLING_OFF,
                f"you connected with {rel.contact} on {_day(connected)}; "
                f"wait until {_day(until)} before asking",
                "favor",
                until,
            )
        )
    if rel.gives <= rel.asks:
        found.append(
            Reason(
                _C.RECIPROCITY,
                f"you have asked {rel.contact} for {rel.asks} and given {rel.gives}; "
                "give before you ask",
                "favor",
            )
        )
    return found


def _refusal(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    refused = rel.last_refusal_at
    if refused is None:
        return _NONE
    given = rel.last_given_at is not None and rel.last_given_at > refused
    lapses = refused + policy.refusal_backoff
    if req.at < lapses:
        return (
            Reason(
                _C.RECENT_REFUSAL,
                f"{rel.contact} refused on {_day(refused)}; wait until {_day(lapses)}"
                + ("" if given else " and give something useful first"),
                "refusal",
                lapses if given else None,
            ),
        )
    if not given:
        return (
            Reason(
                _C.RECENT_REFUSAL,
                f"{rel.contact} refused on {_day(refused)} and nothing was given since",
                "refusal",
            ),
        )
    return _NONE


def _interested(rel: Relationship, req: Request, policy: Policy) -> bool:
    interest = rel.interest_at
    return interest is not None and interest <= req.at < interest + policy.interest_ttl


def _no_interest(rel: Relationship, rule: str) -> Reason:
    return Reason(
        _C.NO_INTEREST,
        f"{rel.contact} has not shown interest (an inquiry) recently",
        rule,
    )


def _covering(rel: Relationship, req: Request, purpose: object) -> list[Permission]:
    return [
        p
        for p in rel.permissions
        if p.purpose == purpose and p.covers(req.channel) and p.granted_at <= req.at
    ]


def _pitch(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    purpose = req.purpose or Purpose.SALES
    if any(p.is_active(req.at) for p in _covering(rel, req, purpose)):
        return _NONE
    found: list[Reason] = []
    not_engaged = _not_engaged(rel, req, policy, "pitch")
    if not_engaged is not None:
        found.append(not_engaged)
    if not _interested(rel, req, policy):
        found.append(_no_interest(rel, "pitch"))
    return found


def _request_opt_in(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    at = req.at
    found: list[Reason] = []
    not_engaged = _not_engaged(rel, req, policy, "request_opt_in")
    if not_engaged is not None:
        found.append(not_engaged)
    if not _interested(rel, req, policy):
        found.append(_no_interest(rel, "request_opt_in"))
    requested = rel.opt_in_requested_at
    if requested is not None:
        answered = rel.last_answer_at is not None and rel.last_answer_at >= requested
        if not answered and at < requested + policy.request_ttl:
            found.append(
                Reason(
                    _C.REQUEST_PENDING,
                    f"the opt-in request of {_day(requested)} is still unanswered",
                    "request_opt_in",
                    requested + policy.request_ttl,
                )
            )
        refused = rel.last_refusal_at
        if refused is not None and refused >= requested and at < refused + policy.opt_in_backoff:
            found.append(
                Reason(
                    _C.RECENTLY_DECLINED,
                    f"{rel.contact} declined the opt-in request on {_day(refused)}",
                    "request_opt_in",
                    refused + policy.opt_in_backoff,
                )
            )
    return found


def express_consent(
    rel: Relationship, req: Request, policy: Policy, rule: str
) -> tuple[Permission | None, Reason | None]:
    """
    Find the active express permission for the request's purpose and channel.

    Returns the permission, or None and the reason there is none
    (``no_consent``, ``consent_withdrawn`` or ``consent_expired``).
    """
    at = req.at
    purpose = req.purpose or Purpose.MARKETING
    what = f"{purpose} on {req.channel.value if req.channel else 'an unknown channel'}"
    latest: Permission | None = None
    for permission in _covering(rel, req, purpose):
        ttl = policy.express_consent_ttl
        if permission.is_active(at) and (ttl is None or at < permission.granted_at + ttl):
            return permission, None
        if latest is None or permission.granted_at > latest.granted_at:
            latest = permission
    if latest is not None and latest.withdrawn_at is not None and latest.withdrawn_at <= at:
        return None, Reason(_C.CONSENT_WITHDRAWN, f"{rel.contact} withdrew consent to {what}", rule)
    if rel.opted_out(purpose, req.channel, at):
        return None, Reason(_C.CONSENT_WITHDRAWN, f"{rel.contact} opted out of {what}", rule)
    if latest is not None:
        return None, Reason(_C.CONSENT_EXPIRED, f"{rel.contact}'s consent to {what} lapsed", rule)
    return None, Reason(_C.NO_CONSENT, f"{rel.contact} has not given consent to {what}", rule)


def _marketing(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    permission, reason = express_consent(rel, req, policy, "marketing")
    if reason is not None:
        return (reason,)
    if policy.double_opt_in and (
        permission is None or permission.confirmed_at is None or permission.confirmed_at > req.at
    ):
        return (
            Reason(
                _C.CONSENT_UNCONFIRMED,
                f"{rel.contact} has not confirmed the opt-in (double opt-in is required)",
                "marketing",
            ),
        )
    return _NONE


def _marketing_obligations(rel: Relationship, req: Request, policy: Policy) -> Sequence[str]:
    return ("include_unsubscribe", "identify_sender")


def _meeting(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    asked = rel.meeting_requested_at
    if asked is not None and asked <= req.at < asked + policy.engagement_ttl:
        return _NONE
    not_engaged = _not_engaged(rel, req, policy, "meeting")
    return _NONE if not_engaged is None else (not_engaged,)


def _call_hours(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if rel.timezone is None:
        return _NONE
    return quiet_hours(rel, req, policy.call_hours, "call_hours")


def quiet_hours(
    rel: Relationship, req: Request, hours: tuple[int, int], rule: str
) -> Sequence[Reason]:
    """
    Deny with ``quiet_hours`` when *req* falls outside *hours* in the contact's zone.
    """
    assert rel.timezone is not None  # noqa: S101
    opens = next_call_time(req.at, rel.timezone, hours)
    if opens is None:
        return _NONE
    start, end = hours
    return (
        Reason(
            _C.QUIET_HOURS,
            f"it is outside {start:02d}:00-{end:02d}:00 in {rel.contact}'s zone ({rel.timezone})",
            rule,
            opens,
        ),
    )


def _group(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    group = req.group
    found: list[Reason] = []
    if group is None or group not in rel.groups_introduced:
        found.append(
            Reason(
                _C.NOT_INTRODUCED,
                "introduce yourself in the group before promoting there"
                if group is None
                else f"you have not introduced yourself in {group!r}",
                "group",
            )
        )
    purpose = req.purpose or Purpose.GROUP_PROMOTION
    if group is None or not any(
        p.group == group and p.grantor == rel.contact and p.is_active(req.at)
        for p in _covering(rel, req, purpose)
    ):
        found.append(
            Reason(
                _C.NO_OWNER_PERMISSION,
                "no group was named, so no owner has allowed promotion"
                if group is None
                else f"{rel.contact}, the owner of {group!r}, has not allowed promotion",
                "group",
            )
        )
    return found


def _jurisdiction_unknown(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if req.commercial:
        return (
            Reason(
                _C.JURISDICTION_UNKNOWN,
                "no law could be chosen for this commercial action: "
                f"{rel.contact}'s jurisdiction is "
                + ("unknown" if rel.jurisdiction is None else f"{rel.jurisdiction!r}"),
                "jurisdiction",
            ),
        )
    return _NONE


def _day(value: datetime) -> str:
    return format_instant(value)[:10]


_EVERY = frozenset(Action)

ETIQUETTE_RULES: tuple[Rule, ...] = (
    Rule("do_not_contact", _EVERY, _do_not_contact),
    Rule("undeliverable", _EVERY, _undeliverable),
    Rule("connect", {_A.CONNECT}, _connect),
    Rule("connected", {_A.MESSAGE, _A.SHARE_VALUE}, _reach),
    Rule("favor", {_A.ASK_FAVOR}, _favor),
    Rule("pitch", {_A.PITCH}, _pitch),
    Rule("request_opt_in", {_A.REQUEST_OPT_IN}, _request_opt_in),
    Rule(
        "marketing",
        {_A.ADD_TO_LIST, _A.SEND_MARKETING},
        _marketing,
        _marketing_obligations,
    ),
    Rule("meeting", {_A.CALL, _A.REQUEST_MEETING}, _meeting),
    Rule("call_hours", {_A.CALL}, _call_hours),
    Rule("group", {_A.PROMOTE_IN_GROUP}, _group),
    Rule("refusal", {_A.ASK_FAVOR, _A.PITCH, _A.REQUEST_OPT_IN}, _refusal),
    Rule(
        "unanswered",
        {_A.MESSAGE, _A.SHARE_VALUE, _A.ASK_FAVOR, _A.PITCH, _A.REQUEST_OPT_IN},
        _unanswered,
    ),
)
"""
The etiquette table as rules, in the order their reasons are reported.
"""

JURISDICTION_UNKNOWN_RULE = Rule(
    "jurisdiction", {_A.PITCH, _A.ADD_TO_LIST, _A.SEND_MARKETING, _A.CALL}, _jurisdiction_unknown
)
"""
Warns ``jurisdiction_unknown`` on commercial actions when no law could be chosen.
"""
