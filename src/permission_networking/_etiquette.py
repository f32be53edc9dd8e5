"""
The rules of `Policy.etiquette`: what each stage of a relationship entitles the sender to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from ._conditions import Deny, DenyWith
from ._decision import Reason, ReasonCode, make_reason
from ._relationship import granted_after
from ._rules import Codes, Request, Rule, denied_when, next_call_time, request_only
from ._time import END, Duration, format_instant, shift, within
from ._values import Action, Channel, Permission, Purpose, PurposeLike, RelationshipState


if TYPE_CHECKING:
    from ._policy import Policy
    from ._relationship import OptOut, Relationship

__all__ = [
    "ETIQUETTE_RULES",
    "EXPRESS",
    "JURISDICTION_UNKNOWN_RULE",
    "active_express",
    "express_consent",
    "express_in_force",
    "no_consent",
    "quiet_hours",
]

_A = Action
_NONE: Final[tuple[Reason, ...]] = ()
_PASS: Final[Codes] = ()
_OPTED_IN: Final = RelationshipState.OPTED_IN
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

# Each rule's check builds the reasons a decision shows; its denial
# conditions (see `denied_when`) give only the codes of the reasons the check
# would deny with, as expressions that the guards fuse into one function per
# plan. Where a condition is more than one comparison, the check and the
# condition read the same small predicate, and tests/scale holds every rule's
# conditions to its check on random relationships.


@denied_when(Deny(_DO_NOT_CONTACT, "rel.do_not_contact"))
def _do_not_contact(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if rel.do_not_contact:
        return (
            make_reason(
                _DO_NOT_CONTACT,
                f"one of you blocked the other, or {rel.contact} reported a message as spam",
                "do_not_contact",
            ),
        )
    return _NONE


@denied_when(Deny(_UNDELIVERABLE, "channel is not None and channel in rel.undeliverable"))
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


def _until(since: datetime | None, span: Duration, at: datetime) -> datetime | None:
    # When a span that began at *since* ends, if it has not ended by *at*.
    if since is None:
        return None
    try:
        until = since + span
    except (OverflowError, ValueError):
        until = END  # the span ends at the last instant a datetime holds
    return until if at < until else None


@denied_when(
    Deny(_ALREADY_CONNECTED, "rel.connection_at is not None"),
    Deny(
        _REQUEST_PENDING,
        "_until(rel.connection_requested_at, policy.connection_request_ttl, at) is not None",
    ),
    Deny(_RECENTLY_DECLINED, "_until(rel.declined_at, policy.decline_backoff, at) is not None"),
    warns=True,
)
def _connect(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    found: list[Reason] = []
    if rel.connection_at is not None:
        found.append(
            make_reason(_ALREADY_CONNECTED, f"{rel.contact} is already connected", "connect")
        )
    pending = _until(rel.connection_requested_at, policy.connection_request_ttl, req.at)
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
    declined = _until(rel.declined_at, policy.decline_backoff, req.at)
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
                f"a cold request: {rel.contact} has not been introduced, met you or "
                "reached out (since any earlier connection ended)",
                "connect",
            )
        )
    return found


@denied_when(Deny(_NOT_CONNECTED, "rel.connected_at is None and rel.introduced_at is None"))
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


@denied_when(Deny(_UNANSWERED_LIMIT, "rel.unanswered >= policy.max_unanswered"))
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


def _engaged(
    rel: Relationship, at: datetime, ttl: Duration, consent_ttl: Duration | None = None
) -> bool:
    # state_at(at) is engaged or opted in (by a permission younger than the
    # policy's express_consent_ttl): the engagement window is looked at
    # first, because it needs no walk over the permissions.
    connected = rel.connected_at
    engaged = rel.engaged_at
    if connected is not None and engaged is not None and connected <= at and engaged <= at:
        try:
            cools = engaged + ttl
        except (OverflowError, ValueError):
            cools = END  # the span ends at the last instant a datetime holds
        if at < cools:
            return True
    return (
        bool(rel.permissions)
        and rel.state_at(at, engagement_ttl=ttl, express_consent_ttl=consent_ttl) is _OPTED_IN
    )


def _not_engaged(rel: Relationship, req: Request, policy: Policy, rule: str) -> Reason | None:
    if _engaged(rel, req.at, policy.engagement_ttl, policy.express_consent_ttl):
        return None
    return make_reason(
        _NOT_ENGAGED,
        f"{rel.contact} has not engaged in a two-way conversation recently",
        rule,
    )


@denied_when(
    Deny(_NOT_ENGAGED, "not _engaged(rel, at, policy.engagement_ttl, policy.express_consent_ttl)"),
    Deny(_COOLING_OFF, "_until(rel.connected_at, policy.cooling_off, at) is not None"),
    Deny(_RECIPROCITY, "rel.gives <= rel.asks"),
)
def _favor(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    found: list[Reason] = []
    not_engaged = _not_engaged(rel, req, policy, "favor")
    if not_engaged is not None:
        found.append(not_engaged)
    until = _until(rel.connected_at, policy.cooling_off, req.at)
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


def _refused(rel: Relationship, at: datetime, backoff: Duration) -> bool:
    refused = rel.last_refusal_at
    if refused is None:
        return False
    return _until(refused, backoff, at) is not None or not _given_since(rel, refused)


@denied_when(Deny(_RECENT_REFUSAL, "_refused(rel, at, policy.refusal_backoff)"))
def _refusal(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    refused = rel.last_refusal_at
    if refused is None:
        return _NONE
    given = _given_since(rel, refused)
    lapses = shift(refused, policy.refusal_backoff)
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


def _no_interest(rel: Relationship, rule: str) -> Reason:
    return make_reason(
        _NO_INTEREST,
        f"{rel.contact} has not shown interest (an inquiry) recently",
        rule,
    )


def _covering(
    rel: Relationship, at: datetime, channel: Channel | None, purpose: object
) -> list[Permission]:
    if not rel.permissions:
        return []
    return [
        p
        for p in rel.permissions
        if p.purpose == purpose
        and (p.channel is None or p.channel is channel)
        and p.granted_at <= at
    ]


def _active(  # noqa: PLR0913, PLR0917
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: object,
    ttl: Duration | None,
    proof: Callable[[Permission], bool] | None = None,
) -> Permission | None:
    # The first permission covering the request that is in force at its time
    # (and younger than *ttl*, and accepted by *proof*): Permission.is_active
    # over _covering, in one pass.
    for p in rel.permissions:
        if (
            p.purpose == purpose
            and (p.channel is None or p.channel is channel)
            and p.granted_at <= at
            and (p.withdrawn_at is None or at < p.withdrawn_at)
            and (p.expires_at is None or at < p.expires_at)
            and (ttl is None or at < shift(p.granted_at, ttl))
            and (proof is None or proof(p))
        ):
            return p
    return None


def in_force_with(  # noqa: PLR0913, PLR0917
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike | None,
    policy: Policy,
    proof: Callable[[Permission], bool],
) -> Permission | None:
    """
    Return a permission in force for the request that *proof* accepts, if there is one.

    The permission a rule finds first may lack what the rule needs (a
    confirmation, evidence) while another in force has it; this finds that one.
    """
    return _active(
        rel, at, channel, purpose or Purpose.MARKETING, policy.express_consent_ttl, proof
    )


def _sales_permission(
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike | None,
    ttl: Duration | None,
) -> bool:
    # An express permission for the purpose (sales by default) in force, and
    # younger than the policy's express_consent_ttl.
    return (
        bool(rel.permissions)
        and _active(rel, at, channel, purpose or Purpose.SALES, ttl) is not None
    )


def _opted_out_since_interest(
    rel: Relationship, at: datetime, channel: Channel | None, purpose: PurposeLike | None
) -> OptOut | None:
    # The opt-out of the pitch's purpose (sales by default) on its channel that
    # stands at *at* and came after the contact's last inquiry, if any: they
    # asked to hear no more offers, and have not shown interest since.
    if not rel.opt_outs:
        return None
    wanted = purpose or Purpose.SALES
    interest = rel.interest_at
    for opt_out in rel.opt_outs:
        if (
            opt_out.at <= at
            and (interest is None or interest <= opt_out.at)
            and opt_out.covers(wanted, channel)
            and not any(
                granted_after(p, opt_out)
                and p.is_active(at)
                and p.purpose == wanted
                and p.covers(channel)
                for p in rel.permissions
            )
        ):
            return opt_out
    return None


@denied_when(
    Deny(_NOT_ENGAGED, "not _engaged(rel, at, policy.engagement_ttl, policy.express_consent_ttl)"),
    Deny(_NO_INTEREST, "not within(rel.interest_at, at, policy.interest_ttl)"),
    Deny(
        _CONSENT_WITHDRAWN,
        "rel.opt_outs and _opted_out_since_interest(rel, at, channel, purpose) is not None",
    ),
    unless="_sales_permission(rel, at, channel, purpose, policy.express_consent_ttl)",
)
def _pitch(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if _sales_permission(rel, req.at, req.channel, req.purpose, policy.express_consent_ttl):
        return _NONE
    found: list[Reason] = []
    not_engaged = _not_engaged(rel, req, policy, "pitch")
    if not_engaged is not None:
        found.append(not_engaged)
    if not within(rel.interest_at, req.at, policy.interest_ttl):
        found.append(_no_interest(rel, "pitch"))
    opted_out = _opted_out_since_interest(rel, req.at, req.channel, req.purpose)
    if opted_out is not None:
        what = f"{req.purpose or Purpose.SALES} on {req.channel or 'an unknown channel'}"
        found.append(
            make_reason(
                _CONSENT_WITHDRAWN,
                f"{rel.contact} opted out of {what} on {_day(opted_out.at)} "
                "and has not inquired since",
                "pitch",
            )
        )
    return found


def _opt_in_pending_until(rel: Relationship, at: datetime, ttl: Duration) -> datetime | None:
    # An answer at the very instant of the request does not end it (ties protect the contact).
    requested = rel.opt_in_requested_at
    if requested is None or (rel.last_answer_at is not None and rel.last_answer_at > requested):
        return None
    return _until(requested, ttl, at)


def _opt_in_declined_until(rel: Relationship, at: datetime, backoff: Duration) -> datetime | None:
    requested = rel.opt_in_requested_at
    refused = rel.last_refusal_at
    if requested is None or refused is None or refused < requested:
        return None
    return _until(refused, backoff, at)


@denied_when(
    Deny(_NOT_ENGAGED, "not _engaged(rel, at, policy.engagement_ttl, policy.express_consent_ttl)"),
    Deny(_NO_INTEREST, "not within(rel.interest_at, at, policy.interest_ttl)"),
    Deny(_REQUEST_PENDING, "_opt_in_pending_until(rel, at, policy.request_ttl) is not None"),
    Deny(_RECENTLY_DECLINED, "_opt_in_declined_until(rel, at, policy.opt_in_backoff) is not None"),
)
def _request_opt_in(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    found: list[Reason] = []
    not_engaged = _not_engaged(rel, req, policy, "request_opt_in")
    if not_engaged is not None:
        found.append(not_engaged)
    if not within(rel.interest_at, req.at, policy.interest_ttl):
        found.append(_no_interest(rel, "request_opt_in"))
    pending = _opt_in_pending_until(rel, req.at, policy.request_ttl)
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
    declined = _opt_in_declined_until(rel, req.at, policy.opt_in_backoff)
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


def active_express(
    rel: Relationship, at: datetime, channel: Channel | None, purpose: object, policy: Policy
) -> Permission | None:
    """
    Return the express permission for *purpose* that covers *channel* and is in force at *at*.
    """
    if not rel.permissions:
        return None
    return _active(rel, at, channel, purpose, policy.express_consent_ttl)


def express_in_force(
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike | None,
    ttl: Duration | None,
) -> Permission | None:
    """
    Return what `active_express` returns, from the purpose asked and the policy's TTL.

    *purpose* None means marketing; *ttl* is the policy's ``express_consent_ttl``.
    """
    if not rel.permissions:
        return None
    return _active(rel, at, channel, purpose or Purpose.MARKETING, ttl)


EXPRESS: Final = (
    "express",
    "express_in_force(rel, at, channel, purpose, policy.express_consent_ttl)",
)
"""
The let of the rules that look for the request's express consent (see `denied_when`).

A plan looks once for all the rules that name it under the same TTL.
"""


def express_consent(
    rel: Relationship, req: Request, policy: Policy, rule: str
) -> tuple[Permission | None, Reason | None]:
    """
    Find the active express permission for the request's purpose and channel.

    Returns the permission, or None and the reason there is none
    (``no_consent``, ``consent_withdrawn`` or ``consent_expired``).
    """
    purpose = req.purpose or Purpose.MARKETING
    active = active_express(rel, req.at, req.channel, purpose, policy)
    if active is not None:
        return active, None
    how = no_consent(rel, req.at, req.channel, purpose)
    what = f"{purpose} on {req.channel or 'an unknown channel'}"
    if how == "withdrew":
        message = f"{rel.contact} withdrew consent to {what}"
    elif how == "opted_out":
        message = f"{rel.contact} opted out of {what}"
    elif how == "lapsed":
        lapsed = latest_covering(rel, req.at, req.channel, purpose)
        assert lapsed is not None  # noqa: S101
        message = lapsed_message(rel, what, lapsed, policy)
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


def no_consent(
    rel: Relationship, at: datetime, channel: Channel | None, purpose: PurposeLike
) -> str:
    """
    Say why no express permission covers *purpose* on *channel* at *at*.

    Returns ``withdrew`` (the latest covering permission was withdrawn),
    ``opted_out`` (an opt-out stands), ``lapsed`` or ``never``.
    """
    latest = latest_covering(rel, at, channel, purpose) if rel.permissions else None
    if latest is not None and latest.withdrawn_at is not None and latest.withdrawn_at <= at:
        return "withdrew"
    # An opt-out stands, unless what lapsed is the contact's last word: a consent given after it.
    if (
        rel.opt_outs
        and rel.opted_out(purpose, channel, at)
        and (latest is None or not _after_every_opt_out(rel, latest, at, channel, purpose))
    ):
        return "opted_out"
    if latest is not None:
        return "lapsed"
    return "never"


def _after_every_opt_out(
    rel: Relationship,
    permission: Permission,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike,
) -> bool:
    # Whether *permission* was granted after every opt-out of *purpose* on *channel* by *at*.
    return all(
        granted_after(permission, opt_out)
        for opt_out in rel.opt_outs
        if opt_out.at <= at and opt_out.covers(purpose, channel)
    )


def latest_covering(
    rel: Relationship, at: datetime, channel: Channel | None, purpose: object
) -> Permission | None:
    """
    Return the permission covering *purpose* on *channel* granted last before *at*.
    """
    latest: Permission | None = None
    for permission in _covering(rel, at, channel, purpose):
        if latest is None or permission.granted_at > latest.granted_at:
            latest = permission
    return latest


def lapsed_on(permission: Permission, ttl: Duration | None) -> datetime:
    """
    Return when a lapsed *permission* lapsed: at its expiry, or *ttl* after it was given.

    Of the two, the earlier; the permission must lapse by one of them.
    """
    ends = [] if ttl is None else [shift(permission.granted_at, ttl)]
    if permission.expires_at is not None:
        ends.append(permission.expires_at)
    return min(ends)


def lapsed_message(rel: Relationship, what: str, permission: Permission, policy: Policy) -> str:
    """
    Say that the contact's consent to *what* lapsed, and when, as ``consent_expired`` does.
    """
    ended = lapsed_on(permission, policy.express_consent_ttl)
    return (
        f"{rel.contact}'s consent to {what}, given on {_day(permission.granted_at)}, "
        f"lapsed on {_day(ended)}"
    )


def _unconfirmed(permission: Permission, at: datetime, policy: Policy) -> bool:
    return policy.double_opt_in and (
        permission.confirmed_at is None or permission.confirmed_at > at
    )


def _marketing_denies(  # noqa: PLR0913, PLR0917
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike | None,
    policy: Policy,
    express: Permission | None,
) -> Codes:
    # *express* is what `express_in_force` finds for the request.
    if express is None:
        return _WHY[no_consent(rel, at, channel, purpose or Purpose.MARKETING)]
    if _unconfirmed(express, at, policy) and not _confirmed_in_force(
        rel, at, channel, purpose, policy
    ):
        return _ONE[_CONSENT_UNCONFIRMED]
    return _PASS


def _confirmed_in_force(
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike | None,
    policy: Policy,
) -> bool:
    # Whether a confirmed permission is in force for the request, though the first is not.
    def confirmed(permission: Permission) -> bool:
        return not _unconfirmed(permission, at, policy)

    return in_force_with(rel, at, channel, purpose, policy, confirmed) is not None


@denied_when(
    DenyWith("_marketing_denies(rel, at, channel, purpose, policy, express)"), lets=(EXPRESS,)
)
def _marketing(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    permission, reason = express_consent(rel, req, policy, "marketing")
    if reason is not None:
        return (reason,)
    assert permission is not None  # noqa: S101
    if _unconfirmed(permission, req.at, policy) and not _confirmed_in_force(
        rel, req.at, req.channel, req.purpose, policy
    ):
        return (
            make_reason(
                _CONSENT_UNCONFIRMED,
                f"{rel.contact} has not confirmed the opt-in (double opt-in is required)",
                "marketing",
            ),
        )
    return _NONE


_MARKETING_OBLIGATIONS: Final = ("include_unsubscribe", "identify_sender")


@request_only
def _marketing_obligations(rel: Relationship, req: Request, policy: Policy) -> Sequence[str]:
    return _MARKETING_OBLIGATIONS


@denied_when(
    Deny(
        _NOT_ENGAGED,
        "not within(rel.meeting_requested_at, at, policy.engagement_ttl)"
        " and not _engaged(rel, at, policy.engagement_ttl, policy.express_consent_ttl)",
    )
)
def _meeting(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if within(rel.meeting_requested_at, req.at, policy.engagement_ttl):
        return _NONE
    not_engaged = _not_engaged(rel, req, policy, "meeting")
    return _NONE if not_engaged is None else (not_engaged,)


@denied_when(
    Deny(
        _QUIET_HOURS,
        "rel.timezone is not None"
        " and next_call_time(at, rel.timezone, policy.call_hours) is not None",
    )
)
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


def _owner_permissions(
    rel: Relationship, at: datetime, purpose: PurposeLike | None, group: str | None
) -> list[Permission]:
    # The owner's permissions for the group in force: the channel one was
    # given on (a message, the group itself, every channel) does not narrow it.
    if group is None or not rel.permissions:
        return []
    purpose = purpose or Purpose.GROUP_PROMOTION
    return [
        p
        for p in rel.permissions
        if p.purpose == purpose and p.group == group and p.grantor == rel.contact
        if p.is_active(at)
    ]


def _owner_allows(
    rel: Relationship,
    at: datetime,
    purpose: PurposeLike | None,
    group: str | None,
    ttl: Duration | None,
) -> bool:
    # An owner's permission in force, and younger than express_consent_ttl.
    return any(
        ttl is None or at < shift(p.granted_at, ttl)
        for p in _owner_permissions(rel, at, purpose, group)
    )


@denied_when(
    Deny(_NOT_INTRODUCED, "group is None or group not in rel.groups_introduced"),
    Deny(
        _NO_OWNER_PERMISSION,
        "not _owner_allows(rel, at, purpose, group, policy.express_consent_ttl)",
    ),
)
def _group(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    group = req.group
    found: list[Reason] = []
    if group is None or group not in rel.groups_introduced:
        found.append(
            make_reason(
                _NOT_INTRODUCED,
                "introduce yourself in the group before promoting there"
                if group is None
                else f"you have not introduced yourself in {group!r}",
                "group",
            )
        )
    ttl = policy.express_consent_ttl
    if not _owner_allows(rel, req.at, req.purpose, group, ttl):
        given = _owner_permissions(rel, req.at, req.purpose, group)
        if group is None:
            message = "no group was named, so no owner has allowed promotion"
        elif not given:
            message = f"{rel.contact}, the owner of {group!r}, has not allowed promotion"
        else:
            last = max(p.granted_at for p in given)
            message = (
                f"{rel.contact}, the owner of {group!r}, allowed promotion on "
                f"{_day(last)}, longer ago than this policy's consent lasts"
            )
        found.append(make_reason(_NO_OWNER_PERMISSION, message, "group"))
    return found


@denied_when(warns=True)
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
