"""
The rules of `Policy.etiquette`: what each stage of a relationship entitles the sender to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from ._decision import Reason, ReasonCode, make_reason
from ._rules import Codes, Request, Rule, denied_when, next_call_time
from ._time import Duration, format_instant
from ._values import Action, Permission, Purpose, PurposeLike, RelationshipState


if TYPE_CHECKING:
    from ._policy import Policy
    from ._relationship import Relationship

__all__ = ["ETIQUETTE_RULES", "JURISDICTION_UNKNOWN_RULE"]

_A = Action
_NONE: Final[tuple[Reason, ...]] = ()
_PASS: Final[Codes] = ()
_ENGAGED_OR_MORE: Final = frozenset({RelationshipState.ENGAGED, RelationshipState.OPTED_IN})
# Reason codes as plain strings, as Reason's converter would make them.
_DO_NOT_CONTACT: Final = str(ReasonCode.DO_NOT_CONTACT)
_UNDELIVERABLE: Final = str(ReasonCode.UNDELIVERABLE)
_ALREADY_CONNECTED: Final = str(ReasonCode.ALREADY_CONNECTED)
_REQUEST_PENDING: Final = str(ReasonCode.REQUEST_PENDING)
_RECENTLY_DECLINED: Final = str(ReasonCode.RECENTLY_DECLINED)
_NO_SHARED_CONTEXT: Final = str(ReasonCode.NO_SHARED_CONTEXT)
_NOT_CONNECTED: Final = str(ReasonCode.NOT_CONNECTED)
_UNANSWERED_LIMIT: Final = str(ReasonCode.UNANSWERED_LIMIT)
_NOT_ENGAGED: Final = str(ReasonCode.NOT_ENGAGED)
_COOLING_OFF: Final = str(ReasonCode.COOLING_OFF)
_RECIPROCITY: Final = str(ReasonCode.RECIPROCITY)
_RECENT_REFUSAL: Final = str(ReasonCode.RECENT_REFUSAL)
_NO_INTEREST: Final = str(ReasonCode.NO_INTEREST)
_CONSENT_WITHDRAWN: Final = str(ReasonCode.CONSENT_WITHDRAWN)
_CONSENT_EXPIRED: Final = str(ReasonCode.CONSENT_EXPIRED)
_NO_CONSENT: Final = str(ReasonCode.NO_CONSENT)
_CONSENT_UNCONFIRMED: Final = str(ReasonCode.CONSENT_UNCONFIRMED)
_QUIET_HOURS: Final = str(ReasonCode.QUIET_HOURS)
_NOT_INTRODUCED: Final = str(ReasonCode.NOT_INTRODUCED)
_NO_OWNER_PERMISSION: Final = str(ReasonCode.NO_OWNER_PERMISSION)
_JURISDICTION_UNKNOWN: Final = str(ReasonCode.JURISDICTION_UNKNOWN)
# What a denial test gives for each code found alone, shared.
_ONE: Final[dict[str, Codes]] = {str(code): (str(code),) for code in ReasonCode}

# Each rule's check builds the reasons a decision shows; its denial test (see
# `denied_when`) gives only the codes of the reasons the check would deny
# with, without building them, for `screen` and for the suggestions of a
# denied decision. Where a condition is more than one comparison both read
# the same small predicate, and tests/scale holds every test to its check on
# random relationships.


def _codes(*pairs: tuple[bool, str]) -> Codes:
    # The codes whose conditions hold, in order: a denial test with several.
    return tuple(code for holds, code in pairs if holds)


def _do_not_contact_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    return _ONE[_DO_NOT_CONTACT] if rel.do_not_contact else _PASS


@denied_when(_do_not_contact_denies)
def _do_not_contact(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if rel.do_not_contact:
        return (
            make_reason(
                _DO_NOT_CONTACT,
                f"{rel.contact} blocked contact or reported a message as spam",
                "do_not_contact",
            ),
        )
    return _NONE


def _undeliverable_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    if req.channel is not None and req.channel in rel.undeliverable:
        return _ONE[_UNDELIVERABLE]
    return _PASS


@denied_when(_undeliverable_denies)
def _undeliverable(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if req.channel is not None and req.channel in rel.undeliverable:
        return (
            make_reason(
                _UNDELIVERABLE,
                f"{rel.contact}'s address on {req.channel.value} bounced",
                "undeliverable",
            ),
        )
    return _NONE


def _request_pending_until(rel: Relationship, req: Request, policy: Policy) -> datetime | None:
    requested = rel.connection_requested_at
    if requested is None:
        return None
    until = requested + policy.connection_request_ttl
    return until if req.at < until else None


def _declined_until(rel: Relationship, req: Request, policy: Policy) -> datetime | None:
    declined = rel.declined_at
    if declined is None:
        return None
    until = declined + policy.decline_backoff
    return until if req.at < until else None


def _connect_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    return _codes(
        (rel.connection_at is not None, _ALREADY_CONNECTED),
        (_request_pending_until(rel, req, policy) is not None, _REQUEST_PENDING),
        (_declined_until(rel, req, policy) is not None, _RECENTLY_DECLINED),
    )


@denied_when(_connect_denies, warns=True)
def _connect(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    found: list[Reason] = []
    if rel.connection_at is not None:
        found.append(
            make_reason(_ALREADY_CONNECTED, f"{rel.contact} is already connected", "connect")
        )
    pending = _request_pending_until(rel, req, policy)
    if pending is not None:
        requested = rel.connection_requested_at
        assert requested is not None  # noqa: S101
        found.append(
            make_reason(
                _REQUEST_PENDING,
                f"a connection request sent {_day(requested)} is still pending",
                "connect",
                pending,
            )
        )
    declined = _declined_until(rel, req, policy)
    if declined is not None:
        assert rel.declined_at is not None  # noqa: S101
        found.append(
            make_reason(
                _RECENTLY_DECLINED,
                f"{rel.contact} declined a connection request on {_day(rel.declined_at)}",
                "connect",
                declined,
            )
        )
    if (
        not found
        and rel.introduced_at is None
        and rel.connected_at is None
        and rel.inbound_request_at is None
    ):
        found.append(
            make_reason(
                _NO_SHARED_CONTEXT,
                f"a cold request: {rel.contact} was not introduced, has not met you "
                "and has not reached out",
                "connect",
            )
        )
    return found


def _reach_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    if rel.connected_at is None and rel.introduced_at is None:
        return _ONE[_NOT_CONNECTED]
    return _PASS


@denied_when(_reach_denies)
def _reach(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if rel.connected_at is None and rel.introduced_at is None:
        return (
            make_reason(
                _NOT_CONNECTED,
                f"{rel.contact} is not connected, introduced or met",
                "connected",
            ),
        )
    return _NONE


def _unanswered_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    return _ONE[_UNANSWERED_LIMIT] if rel.unanswered >= policy.max_unanswered else _PASS


@denied_when(_unanswered_denies)
def _unanswered(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if rel.unanswered >= policy.max_unanswered:
        return (
            make_reason(
                _UNANSWERED_LIMIT,
                f"{rel.unanswered} messages to {rel.contact} are unanswered "
                f"(the limit is {policy.max_unanswered}); wait for an answer",
                "unanswered",
            ),
        )
    return _NONE


def _engaged(rel: Relationship, req: Request, policy: Policy) -> bool:
    return rel.state_at(req.at, engagement_ttl=policy.engagement_ttl) in _ENGAGED_OR_MORE


def _not_engaged(rel: Relationship, req: Request, policy: Policy, rule: str) -> Reason | None:
    if _engaged(rel, req, policy):
        return None
    return make_reason(
        _NOT_ENGAGED,
        f"{rel.contact} has not engaged in a two-way conversation recently",
        rule,
    )


def _cooling_until(rel: Relationship, req: Request, policy: Policy) -> datetime | None:
    connected = rel.connected_at
    if connected is None:
        return None
    until = connected + policy.cooling_off
    return until if req.at < until else None


def _favor_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    return _codes(
        (not _engaged(rel, req, policy), _NOT_ENGAGED),
        (_cooling_until(rel, req, policy) is not None, _COOLING_OFF),
        (rel.gives <= rel.asks, _RECIPROCITY),
    )


@denied_when(_favor_denies)
def _favor(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    found: list[Reason] = []
    not_engaged = _not_engaged(rel, req, policy, "favor")
    if not_engaged is not None:
        found.append(not_engaged)
    until = _cooling_until(rel, req, policy)
    if until is not None:
        assert rel.connected_at is not None  # noqa: S101
        found.append(
            make_reason(
                _COOLING_OFF,
                f"you connected with {rel.contact} on {_day(rel.connected_at)}; "
                f"wait until {_day(until)} before asking",
                "favor",
                until,
            )
        )
    if rel.gives <= rel.asks:
        found.append(
            make_reason(
                _RECIPROCITY,
                f"you have asked {rel.contact} for {rel.asks} and given {rel.gives}; "
                "give before you ask",
                "favor",
            )
        )
    return found


def _given_since(rel: Relationship, refused: datetime) -> bool:
    return rel.last_given_at is not None and rel.last_given_at > refused


def _refusal_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    refused = rel.last_refusal_at
    if refused is not None and (
        req.at < refused + policy.refusal_backoff or not _given_since(rel, refused)
    ):
        return _ONE[_RECENT_REFUSAL]
    return _PASS


@denied_when(_refusal_denies)
def _refusal(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    refused = rel.last_refusal_at
    if refused is None:
        return _NONE
    given = _given_since(rel, refused)
    lapses = refused + policy.refusal_backoff
    if req.at < lapses:
        return (
            make_reason(
                _RECENT_REFUSAL,
                f"{rel.contact} refused on {_day(refused)}; wait until {_day(lapses)}"
                + ("" if given else " and give something useful first"),
                "refusal",
                lapses if given else None,
            ),
        )
    if not given:
        return (
            make_reason(
                _RECENT_REFUSAL,
                f"{rel.contact} refused on {_day(refused)} and nothing was given since",
                "refusal",
            ),
        )
    return _NONE


def _interested(rel: Relationship, req: Request, policy: Policy) -> bool:
    interest = rel.interest_at
    return interest is not None and interest <= req.at < interest + policy.interest_ttl


def _no_interest(rel: Relationship, rule: str) -> Reason:
    return make_reason(
        _NO_INTEREST,
        f"{rel.contact} has not shown interest (an inquiry) recently",
        rule,
    )


def _covering(rel: Relationship, req: Request, purpose: object) -> list[Permission]:
    if not rel.permissions:
        return []
    at = req.at
    channel = req.channel
    return [
        p
        for p in rel.permissions
        if p.purpose == purpose
        and (p.channel is None or p.channel is channel)
        and p.granted_at <= at
    ]


def _active(
    rel: Relationship, req: Request, purpose: object, ttl: Duration | None
) -> Permission | None:
    # The first permission covering the request that is in force at its time
    # (and younger than *ttl*): Permission.is_active over _covering, in one pass.
    at = req.at
    channel = req.channel
    for p in rel.permissions:
        if (
            p.purpose == purpose
            and (p.channel is None or p.channel is channel)
            and p.granted_at <= at
            and (p.withdrawn_at is None or at < p.withdrawn_at)
            and (p.expires_at is None or at < p.expires_at)
            and (ttl is None or at < p.granted_at + ttl)
        ):
            return p
    return None


def _sales_permission(rel: Relationship, req: Request) -> bool:
    return (
        bool(rel.permissions) and _active(rel, req, req.purpose or Purpose.SALES, None) is not None
    )


def _pitch_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    if _sales_permission(rel, req):
        return _PASS
    return _codes(
        (not _engaged(rel, req, policy), _NOT_ENGAGED),
        (not _interested(rel, req, policy), _NO_INTEREST),
    )


@denied_when(_pitch_denies)
def _pitch(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if _sales_permission(rel, req):
        return _NONE
    found: list[Reason] = []
    not_engaged = _not_engaged(rel, req, policy, "pitch")
    if not_engaged is not None:
        found.append(not_engaged)
    if not _interested(rel, req, policy):
        found.append(_no_interest(rel, "pitch"))
    return found


def _opt_in_pending_until(rel: Relationship, req: Request, policy: Policy) -> datetime | None:
    requested = rel.opt_in_requested_at
    if requested is None or (rel.last_answer_at is not None and rel.last_answer_at >= requested):
        return None
    until = requested + policy.request_ttl
    return until if req.at < until else None


def _opt_in_declined_until(rel: Relationship, req: Request, policy: Policy) -> datetime | None:
    requested = rel.opt_in_requested_at
    refused = rel.last_refusal_at
    if requested is None or refused is None or refused < requested:
        return None
    until = refused + policy.opt_in_backoff
    return until if req.at < until else None


def _request_opt_in_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    return _codes(
        (not _engaged(rel, req, policy), _NOT_ENGAGED),
        (not _interested(rel, req, policy), _NO_INTEREST),
        (_opt_in_pending_until(rel, req, policy) is not None, _REQUEST_PENDING),
        (_opt_in_declined_until(rel, req, policy) is not None, _RECENTLY_DECLINED),
    )


@denied_when(_request_opt_in_denies)
def _request_opt_in(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    found: list[Reason] = []
    not_engaged = _not_engaged(rel, req, policy, "request_opt_in")
    if not_engaged is not None:
        found.append(not_engaged)
    if not _interested(rel, req, policy):
        found.append(_no_interest(rel, "request_opt_in"))
    pending = _opt_in_pending_until(rel, req, policy)
    if pending is not None:
        assert rel.opt_in_requested_at is not None  # noqa: S101
        found.append(
            make_reason(
                _REQUEST_PENDING,
                f"the opt-in request of {_day(rel.opt_in_requested_at)} is still unanswered",
                "request_opt_in",
                pending,
            )
        )
    declined = _opt_in_declined_until(rel, req, policy)
    if declined is not None:
        assert rel.last_refusal_at is not None  # noqa: S101
        found.append(
            make_reason(
                _RECENTLY_DECLINED,
                f"{rel.contact} declined the opt-in request on {_day(rel.last_refusal_at)}",
                "request_opt_in",
                declined,
            )
        )
    return found


def _active_express(
    rel: Relationship, req: Request, policy: Policy, purpose: object
) -> Permission | None:
    if not rel.permissions:
        return None
    return _active(rel, req, purpose, policy.express_consent_ttl)


def express_consent(
    rel: Relationship, req: Request, policy: Policy, rule: str
) -> tuple[Permission | None, Reason | None]:
    """
    Find the active express permission for the request's purpose and channel.

    Returns the permission, or None and the reason there is none
    (``no_consent``, ``consent_withdrawn`` or ``consent_expired``).
    """
    purpose = req.purpose or Purpose.MARKETING
    active = _active_express(rel, req, policy, purpose)
    if active is not None:
        return active, None
    how = _no_consent(rel, req, purpose)
    what = f"{purpose} on {req.channel or 'an unknown channel'}"
    if how == "withdrew":
        message = f"{rel.contact} withdrew consent to {what}"
    elif how == "opted_out":
        message = f"{rel.contact} opted out of {what}"
    elif how == "lapsed":
        message = f"{rel.contact}'s consent to {what} lapsed"
    else:
        message = f"{rel.contact} has not given consent to {what}"
    return None, make_reason(_WHY[how][0], message, rule)


_WHY: Final[dict[str, Codes]] = {
    "withdrew": _ONE[_CONSENT_WITHDRAWN],
    "opted_out": _ONE[_CONSENT_WITHDRAWN],
    "lapsed": _ONE[_CONSENT_EXPIRED],
    "never": _ONE[_NO_CONSENT],
}
"""
Why no express permission is active, each with the one code it denies with.
"""


def _no_consent(rel: Relationship, req: Request, purpose: PurposeLike) -> str:
    # Why no express permission covers the request, as a key of _WHY: the
    # latest covering permission was withdrawn, an opt-out stands, it lapsed,
    # or there never was one.
    at = req.at
    latest: Permission | None = None
    for permission in _covering(rel, req, purpose):
        if latest is None or permission.granted_at > latest.granted_at:
            latest = permission
    if latest is not None and latest.withdrawn_at is not None and latest.withdrawn_at <= at:
        return "withdrew"
    if rel.opted_out(purpose, req.channel, at):
        return "opted_out"
    if latest is not None:
        return "lapsed"
    return "never"


def _unconfirmed(permission: Permission, req: Request, policy: Policy) -> bool:
    return policy.double_opt_in and (
        permission.confirmed_at is None or permission.confirmed_at > req.at
    )


def _marketing_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    purpose = req.purpose or Purpose.MARKETING
    permission = _active_express(rel, req, policy, purpose)
    if permission is None:
        return _WHY[_no_consent(rel, req, purpose)]
    if _unconfirmed(permission, req, policy):
        return _ONE[_CONSENT_UNCONFIRMED]
    return _PASS


@denied_when(_marketing_denies)
def _marketing(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    permission, reason = express_consent(rel, req, policy, "marketing")
    if reason is not None:
        return (reason,)
    assert permission is not None  # noqa: S101
    if _unconfirmed(permission, req, policy):
        return (
            make_reason(
                _CONSENT_UNCONFIRMED,
                f"{rel.contact} has not confirmed the opt-in (double opt-in is required)",
                "marketing",
            ),
        )
    return _NONE


_MARKETING_OBLIGATIONS: Final = ("include_unsubscribe", "identify_sender")


def _marketing_obligations(rel: Relationship, req: Request, policy: Policy) -> Sequence[str]:
    return _MARKETING_OBLIGATIONS


def _meeting_asked(rel: Relationship, req: Request, policy: Policy) -> bool:
    asked = rel.meeting_requested_at
    return asked is not None and asked <= req.at < asked + policy.engagement_ttl


def _meeting_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    if not _meeting_asked(rel, req, policy) and not _engaged(rel, req, policy):
        return _ONE[_NOT_ENGAGED]
    return _PASS


@denied_when(_meeting_denies)
def _meeting(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if _meeting_asked(rel, req, policy):
        return _NONE
    not_engaged = _not_engaged(rel, req, policy, "meeting")
    return _NONE if not_engaged is None else (not_engaged,)


def _call_hours_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    zone = rel.timezone
    if zone is not None and next_call_time(req.at, zone, policy.call_hours) is not None:
        return _ONE[_QUIET_HOURS]
    return _PASS


@denied_when(_call_hours_denies)
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
        make_reason(
            _QUIET_HOURS,
            f"it is outside {start:02d}:00-{end:02d}:00 in {rel.contact}'s zone ({rel.timezone})",
            rule,
            opens,
        ),
    )


def _introduced_in_group(rel: Relationship, req: Request) -> bool:
    return req.group is not None and req.group in rel.groups_introduced


def _owner_allows(rel: Relationship, req: Request) -> bool:
    group = req.group
    if group is None or not rel.permissions:
        return False
    at = req.at
    return any(
        p.group == group and p.grantor == rel.contact and p.is_active(at)
        for p in _covering(rel, req, req.purpose or Purpose.GROUP_PROMOTION)
    )


def _group_denies(rel: Relationship, req: Request, policy: Policy) -> Codes:
    return _codes(
        (not _introduced_in_group(rel, req), _NOT_INTRODUCED),
        (not _owner_allows(rel, req), _NO_OWNER_PERMISSION),
    )


@denied_when(_group_denies)
def _group(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    group = req.group
    found: list[Reason] = []
    if not _introduced_in_group(rel, req):
        found.append(
            make_reason(
                _NOT_INTRODUCED,
                "introduce yourself in the group before promoting there"
                if group is None
                else f"you have not introduced yourself in {group!r}",
                "group",
            )
        )
    if not _owner_allows(rel, req):
        found.append(
            make_reason(
                _NO_OWNER_PERMISSION,
                "no group was named, so no owner has allowed promotion"
                if group is None
                else f"{rel.contact}, the owner of {group!r}, has not allowed promotion",
                "group",
            )
        )
    return found


def _warns_only(rel: Relationship, req: Request, policy: Policy) -> Codes:
    return _PASS


@denied_when(_warns_only, warns=True)
def _jurisdiction_unknown(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if req.commercial:
        return (
            make_reason(
                _JURISDICTION_UNKNOWN,
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
