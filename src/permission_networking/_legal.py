"""
The rules of the legal presets: `Policy.casl`, `.can_spam`, `.gdpr`, `.pecr` and `.tcpa`.

Each rule encodes one law's consent rule for commercial actions, reads its
windows from the policy's settings, and reports with the library's reason
codes. Implied consent is never stored: it is derived here, at check time,
from the relationship's facts (``last_purchase_at``, ``interest_at``,
``soft_opt_in_at``, ``referral_available``) and the law's windows.

Each consent rule also registers its denial conditions (`denied_when`): a
function that gives the code of the reason its check would find, sharing
the check's helpers, without building the reason. The guards run it, and
build the reasons only for a denial; the test suite holds it to the check.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from ._conditions import DenyWith
from ._decision import Reason, ReasonCode
from ._etiquette import (
    EXPRESS,
    active_express,
    express_consent,
    express_in_force,  # noqa: F401  (read by the rules' let EXPRESS)
    in_force_with,
    lapsed_message,
    no_consent,
    quiet_hours,
)
from ._relationship import granted_after
from ._rules import (
    Codes,
    Request,
    Rule,
    allowed_when,
    denied_when,
    is_electronic,  # noqa: F401  (read by the conditions' applies)
    next_call_time,
    request_only,
    request_only_unless,
)
from ._time import Duration, format_instant, shift, within
from ._values import Action, Channel, Permission, Purpose, PurposeLike


if TYPE_CHECKING:
    from ._policy import Policy
    from ._relationship import Relationship

__all__ = ["CAN_SPAM_RULES", "CASL_RULES", "GDPR_RULES", "PECR_RULES", "TCPA_RULES"]

_A = Action
_C = ReasonCode
_NONE: Final[tuple[Reason, ...]] = ()
_MARKETING_ACTIONS = frozenset({_A.PITCH, _A.ADD_TO_LIST, _A.SEND_MARKETING})
_WRITTEN = "written"

# The CASL grounds, as `_casl_ground` names them.
_EXPRESS = "express"
_REFERRAL = "referral"

# What the laws' denial conditions give: one code each, or none.
_PASS: Final[Codes] = ()
_WITHDRAWN: Final[Codes] = (str(_C.CONSENT_WITHDRAWN),)
_EXPIRED: Final[Codes] = (str(_C.CONSENT_EXPIRED),)
_NO_CONSENT: Final[Codes] = (str(_C.NO_CONSENT),)
_UNPROVEN: Final[Codes] = (str(_C.CONSENT_UNPROVEN),)
# Why no express permission stands, as `no_consent` says it, when the contact withdrew it.
_WITHDREW = frozenset({"withdrew", "opted_out"})


def _day(value: datetime) -> str:
    return format_instant(value)[:10]


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _span(duration: Duration) -> str:
    """
    Say *duration* the way people do: ``2 years``, ``6 months``, ``90 days``.
    """
    if isinstance(duration, timedelta):
        if duration.seconds or duration.microseconds:
            return str(duration)
        return _plural(duration.days, "day")
    units = (
        (duration.years, "year"),
        (duration.months, "month"),
        (duration.days, "day"),
        (duration.hours, "hour"),
        (duration.minutes, "minute"),
    )
    return ", ".join(_plural(count, unit) for count, unit in units if count) or "0 days"


def _what(req: Request) -> str:
    purpose = req.purpose or Purpose.MARKETING
    return f"{purpose} on {req.channel.value if req.channel else 'an unknown channel'}"


def _blocked(rel: Relationship, req: Request, rule: str) -> Reason | None:
    """
    Return ``consent_withdrawn`` when the contact blocked the sender or reported spam.

    Checked before any consent, so that a preset used without etiquette
    never ignores a block or a complaint; only a new express permission
    (or connection) from the contact clears it.
    """
    if not rel.do_not_contact:
        return None
    return Reason(
        _C.CONSENT_WITHDRAWN,
        f"one of you blocked the other, or {rel.contact} reported a message as spam: "
        f"that withdraws consent to {_what(req)}",
        rule,
    )


def _objection(
    rel: Relationship, req: Request, rule: str, *, specific: bool = False
) -> Reason | None:
    """
    Return ``consent_withdrawn`` when the contact opted out of this commercial action.

    An opt-out of the purpose counts, and so does an opt-out of ``marketing``
    for any other commercial purpose: unsubscribing from commercial messages
    covers a one-to-one sales offer too. Under a law whose consent is
    specific to the channel (*specific*), only a permission for the channel
    itself lifts an opt-out.
    """
    if _objects(rel, req.at, req.channel, req.purpose or Purpose.MARKETING, specific=specific):
        return Reason(_C.CONSENT_WITHDRAWN, f"{rel.contact} opted out of {_what(req)}", rule)
    return None


def _objects(
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike,
    *,
    specific: bool = False,
) -> bool:
    # What `_objection` finds: an opt-out of *purpose*, or of marketing, on *channel*.
    if not rel.opt_outs:
        return False
    return _stands(rel, at, channel, purpose, specific=specific) or (
        purpose != Purpose.MARKETING
        and _stands(rel, at, channel, Purpose.MARKETING, specific=specific)
    )


def _stands(
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike,
    *,
    specific: bool,
) -> bool:
    # Whether an opt-out of *purpose* on *channel* stands at *at*: as
    # `Relationship.opted_out` says, or, when consent is *specific* to the
    # channel, until a permission for the channel itself is granted since.
    if not specific:
        return rel.opted_out(purpose, channel, at)
    for opt_out in rel.opt_outs:
        if opt_out.at > at or not opt_out.covers(purpose, channel):
            continue
        if channel is None or not any(
            granted_after(p, opt_out)
            and p.is_active(at)
            and p.purpose == purpose
            and p.channel is channel
            for p in rel.permissions
        ):
            return True
    return False


def _specific(
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike,
    policy: Policy,
) -> tuple[Permission | None, Permission | None]:
    """
    Return the active permission for the request's own channel, else the latest lapsed one.
    """
    ttl = policy.express_consent_ttl
    latest: Permission | None = None
    if channel is None:
        return None, None
    for permission in rel.permissions:
        if (
            permission.purpose != purpose
            or permission.channel is not channel
            or permission.granted_at > at
        ):
            continue
        if permission.is_active(at) and (ttl is None or at < shift(permission.granted_at, ttl)):
            return permission, None
        if latest is None or permission.granted_at > latest.granted_at:
            latest = permission
    return None, latest


def _channel_consent(
    rel: Relationship, req: Request, policy: Policy, rule: str
) -> tuple[Permission | None, Reason | None]:
    """
    Like `express_consent`, but only a permission for the request's own channel counts.

    A permission for every channel (``channel`` None) counts for none, and
    an unknown channel is covered by nothing.
    """
    at = req.at
    purpose = req.purpose or Purpose.MARKETING
    channel = req.channel
    active, how = _channel_why(rel, at, channel, purpose, policy)
    if active is not None:
        return active, None
    what = _what(req)
    if how == "withdrew":
        return None, Reason(_C.CONSENT_WITHDRAWN, f"{rel.contact} withdrew consent to {what}", rule)
    if how == "opted_out":
        return None, Reason(_C.CONSENT_WITHDRAWN, f"{rel.contact} opted out of {what}", rule)
    if how == "lapsed":
        lapsed = _specific(rel, at, channel, purpose, policy)[1]
        assert lapsed is not None  # noqa: S101
        return None, Reason(_C.CONSENT_EXPIRED, lapsed_message(rel, what, lapsed, policy), rule)
    if channel is None:
        why = "the channel is unknown, and consent here is given for one channel: name it"
    elif rel.permissions_at(at, purpose, channel):
        why = (
            "a consent for every channel does not count: consent here is specific to the "
            f"channel, so ask for consent on {channel.value}"
        )
    else:
        why = f"there is no consent for {channel.value} itself"
    return None, Reason(
        _C.NO_CONSENT, f"{rel.contact} has not given consent to {what}: {why}", rule
    )


def _channel_why(
    rel: Relationship, at: datetime, channel: Channel | None, purpose: PurposeLike, policy: Policy
) -> tuple[Permission | None, str | None]:
    """
    Return the active permission for *channel* itself, or None and why there is none.

    Why is said as `no_consent` says it: ``withdrew``, ``opted_out``,
    ``lapsed`` or ``never``.
    """
    active, latest = _specific(rel, at, channel, purpose, policy)
    if active is not None:
        return active, None
    if latest is not None and latest.withdrawn_at is not None and latest.withdrawn_at <= at:
        return None, "withdrew"
    if rel.opt_outs and _stands(rel, at, channel, purpose, specific=True):
        return None, "opted_out"
    return None, "never" if latest is None else "lapsed"


def _in_hours(rel: Relationship, at: datetime, hours: tuple[int, int]) -> bool:
    # The contact's zone is known and *at* is inside *hours* there.
    zone = rel.timezone
    return zone is not None and next_call_time(at, zone, hours) is None


# CASL ---------------------------------------------------------------------------------------

_CASL_ACTIONS = frozenset({_A.PITCH, _A.ADD_TO_LIST, _A.SEND_MARKETING, _A.REQUEST_OPT_IN})
# The referral exemption covers one message; putting someone on a list is not a message.
_REFERRAL_ACTIONS = frozenset({_A.PITCH, _A.SEND_MARKETING, _A.REQUEST_OPT_IN})


def _implied(rel: Relationship, req: Request, policy: Policy) -> tuple[str | None, Reason | None]:
    """
    Return the ground of implied consent: ``implied_purchase`` or ``implied_inquiry``.

    Without one, return None, with ``consent_expired`` (saying when) if a window lapsed.
    """
    ground, lapsed = _implied_ground(rel, req.at, policy)
    if lapsed is None:
        return ground, None
    since, window, fact = lapsed
    # Not `until`: a lapsed consent does not come back by time alone.
    return None, Reason(
        _C.CONSENT_EXPIRED,
        f"the implied consent from {rel.contact}'s {fact} of {_day(since)} lapsed on "
        f"{_day(shift(since, window))} ({_span(window)} later); {rel.contact} has not given express "
        f"consent to {_what(req)}",
        "casl",
    )


def _implied_ground(
    rel: Relationship, at: datetime, policy: Policy
) -> tuple[str | None, tuple[datetime, Duration, str] | None]:
    """
    Return the ground of implied consent at *at*, or None and the window that lapsed last.

    A window is given as its start, its length and the fact that opened it.
    """
    lapsed: tuple[datetime, Duration, str] | None = None
    lapses_last: datetime | None = None
    for since, window, fact, ground in (
        (rel.last_purchase_at, policy.purchase_window, "purchase", "implied_purchase"),
        (rel.interest_at, policy.inquiry_window, "inquiry", "implied_inquiry"),
    ):
        if since is None or since > at:
            continue
        lapses = shift(since, window)
        if at < lapses:
            return ground, None
        if lapses_last is None or lapses > lapses_last:
            lapsed, lapses_last = (since, window, fact), lapses
    return None, lapsed


def _casl_ground(
    rel: Relationship, req: Request, policy: Policy
) -> tuple[str | None, Reason | None]:
    """
    Return the ground a commercial electronic message stands on under CASL, or why there is none.

    The grounds, in the order they are tried: ``express``, ``implied_purchase``,
    ``implied_inquiry``, ``referral``.
    """
    permission, reason = express_consent(rel, req, policy, "casl")
    if permission is not None:
        return _EXPRESS, None
    assert reason is not None  # noqa: S101
    # An opt-out ends implied consent and the referral exemption as well; a
    # permission withdrawn by an opt-out on another channel does not.
    objection = _objection(rel, req, "casl")
    if objection is not None:
        return None, reason if reason.code == _C.CONSENT_WITHDRAWN else objection
    ground, lapsed = _implied(rel, req, policy)
    if ground is not None:
        return ground, None
    referral = req.action in _REFERRAL_ACTIONS and rel.introducer is not None
    if referral and rel.referral_available:
        return _REFERRAL, None
    # An express consent that ran out says more than a lapsed implied one.
    expired = reason if reason.code != _C.NO_CONSENT else lapsed
    if expired is not None:
        return None, expired
    used = (
        f"; the referral exemption from {rel.introducer}'s introduction covered only the "
        "first message"
        if referral
        else ""
    )
    return None, Reason(
        _C.NO_CONSENT,
        f"{rel.contact} has given no consent to {_what(req)}: no express consent, no purchase "
        f"within {_span(policy.purchase_window)} and no inquiry within "
        f"{_span(policy.inquiry_window)}{used}",
        "casl",
    )


def _casl_denies(  # noqa: PLR0913, PLR0917
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike | None,
    action: Action,
    policy: Policy,
    express: Permission | None,
) -> Codes:
    # The code of `_casl`'s reason on an electronic channel, as `_blocked` and
    # `_casl_ground` find it; *express* is what `express_in_force` finds.
    if rel.do_not_contact:
        return _WITHDRAWN
    if express is not None:
        return _PASS
    purpose = purpose or Purpose.MARKETING
    if _objects(rel, at, channel, purpose):
        return _WITHDRAWN
    ground, lapsed = _implied_ground(rel, at, policy)
    if ground is not None or (action in _REFERRAL_ACTIONS and _referral_possible(rel)):
        return _PASS
    how = no_consent(rel, at, channel, purpose)
    if how in _WITHDREW:
        return _WITHDRAWN
    return _EXPIRED if how == "lapsed" or lapsed is not None else _NO_CONSENT


@denied_when(
    DenyWith("_casl_denies(rel, at, channel, purpose, action, policy, express)"),
    applies="is_electronic(channel)",
    lets=(EXPRESS,),
)
def _casl(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if not req.electronic:
        return _NONE
    reason = _blocked(rel, req, "casl") or _casl_ground(rel, req, policy)[1]
    return _NONE if reason is None else (reason,)


def _referral_possible(rel: Relationship) -> bool:
    # Only an introduction not yet used can make the referral exemption the ground.
    return rel.introducer is not None and rel.referral_available


@request_only_unless(_referral_possible)
def _casl_obligations(rel: Relationship, req: Request, policy: Policy) -> Sequence[str]:
    if not req.electronic:
        return ()
    if _referral_possible(rel) and _casl_ground(rel, req, policy)[0] == _REFERRAL:
        return ("identify_sender", "include_unsubscribe", "name_referrer")
    return ("identify_sender", "include_unsubscribe")


CASL_RULES: tuple[Rule, ...] = (Rule("casl", _CASL_ACTIONS, _casl, _casl_obligations),)
"""
Canada's Anti-Spam Legislation: consent for every commercial electronic message.
"""


# CAN-SPAM -----------------------------------------------------------------------------------


def _email(channel: Channel | None) -> bool:
    return channel is None or channel is Channel.EMAIL


def _can_spam_denies(
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike | None,
    express: Permission | None,
) -> Codes:
    # The code of `_can_spam`'s reason by email; *express* is what `express_in_force` finds.
    if rel.do_not_contact:
        return _WITHDRAWN
    if not rel.opt_outs or express is not None:
        return _PASS
    return _WITHDRAWN if _objects(rel, at, channel, purpose or Purpose.MARKETING) else _PASS


@denied_when(
    DenyWith("_can_spam_denies(rel, at, channel, purpose, express)"),
    applies="_email(channel)",
    lets=(EXPRESS,),
)
def _can_spam(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if not _email(req.channel):
        return _NONE
    blocked = _blocked(rel, req, "can_spam")
    if blocked is not None:
        return (blocked,)
    # No consent is needed, but one the contact gave for this purpose outlives an
    # unsubscribe from marketing in general.
    purpose = req.purpose or Purpose.MARKETING
    if active_express(rel, req.at, req.channel, purpose, policy) is not None:
        return _NONE
    objection = _objection(rel, req, "can_spam")
    return _NONE if objection is None else (objection,)


@request_only
def _can_spam_obligations(rel: Relationship, req: Request, policy: Policy) -> Sequence[str]:
    if not _email(req.channel):
        return ()
    return ("include_unsubscribe", "identify_as_advertisement", "include_postal_address")


CAN_SPAM_RULES: tuple[Rule, ...] = (
    Rule("can_spam", _MARKETING_ACTIONS, _can_spam, _can_spam_obligations),
)
"""
The US CAN-SPAM Act: commercial email needs no consent, but an opt-out is final.
"""


# GDPR and PECR ------------------------------------------------------------------------------


def _unsolicited(rel: Relationship, req: Request, policy: Policy, rule: str) -> Reason | None:
    """
    Return None when the action answers the contact's inquiry or stands on the soft opt-in.

    Otherwise return ``consent_expired`` when the soft opt-in lapsed, else
    ``no_consent``.
    """
    why = _unsolicited_why(rel, req.at, req.action, policy)
    if why is None:
        return None
    if why == "no_sale":
        return Reason(
            _C.NO_CONSENT,
            f"{rel.contact} has not given consent to {_what(req)}, and there is no sale "
            "that offered the soft opt-in",
            rule,
        )
    sale = rel.soft_opt_in_at
    window = policy.soft_opt_in_window
    assert sale is not None  # noqa: S101
    assert window is not None  # noqa: S101
    return Reason(
        _C.CONSENT_EXPIRED,
        f"the soft opt-in from {rel.contact}'s purchase of {_day(sale)} lapsed on "
        f"{_day(shift(sale, window))} ({_span(window)} later) with no marketing sent "
        "before then; ask for consent",
        rule,
    )


def _unsolicited_why(rel: Relationship, at: datetime, action: Action, policy: Policy) -> str | None:
    """
    Say why `_unsolicited` finds a reason: ``no_sale``, ``lapsed`` (the soft opt-in), or None.
    """
    if action is _A.PITCH and within(rel.interest_at, at, policy.interest_ttl):
        return None
    sale = rel.soft_opt_in_at
    if sale is None or sale > at:
        return "no_sale"
    window = policy.soft_opt_in_window
    if window is None:
        return None
    end = shift(sale, window)
    if at < end:
        return None
    # Once the first message went out within the window, the soft opt-in holds.
    used = rel.soft_opt_in_used_at
    return None if used is not None and used < end else "lapsed"


def _eprivacy_denies(  # noqa: PLR0911, PLR0913, PLR0917
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike | None,
    action: Action,
    policy: Policy,
    express: Permission | None,
    specific: bool,  # noqa: FBT001
) -> Codes:
    # The code of `_eprivacy`'s reason on an electronic channel; *express* is
    # what `express_in_force` finds.
    if rel.do_not_contact:
        return _WITHDRAWN
    purpose = purpose or Purpose.MARKETING
    how: str | None
    if not specific:
        permission = express
        how = None if express is not None else no_consent(rel, at, channel, purpose)
    elif express is not None and channel is not None and express.channel is channel:
        # The first permission in force for the channel or for every channel
        # is for the channel itself: no earlier one is, so `_specific` finds it.
        permission, how = express, None
    else:
        permission, how = _channel_why(rel, at, channel, purpose, policy)
    if permission is not None and (
        permission.evidence is not None or _proven(rel, at, channel, purpose, policy, specific)
    ):
        return _PASS
    if _objects(rel, at, channel, purpose, specific=specific):
        return _WITHDRAWN
    unsolicited = _unsolicited_why(rel, at, action, policy)
    if unsolicited is None:
        return _PASS
    if permission is not None:
        return _UNPROVEN
    if how in _WITHDREW:
        return _WITHDRAWN  # by an opt-out on another channel
    return _EXPIRED if "lapsed" in (how, unsolicited) else _NO_CONSENT


def _proven(  # noqa: PLR0913, PLR0917
    rel: Relationship,
    at: datetime,
    channel: Channel | None,
    purpose: PurposeLike | None,
    policy: Policy,
    specific: bool,  # noqa: FBT001
) -> bool:
    # Whether a permission with evidence is in force for the request (for its
    # channel itself when *specific*), though the one found first has none.
    def proven(permission: Permission) -> bool:
        return permission.evidence is not None and (not specific or permission.channel is channel)

    return in_force_with(rel, at, channel, purpose, policy, proven) is not None


def _eprivacy(
    rel: Relationship, req: Request, policy: Policy, rule: str, *, specific: bool
) -> Sequence[Reason]:
    blocked = _blocked(rel, req, rule)
    if blocked is not None:
        return (blocked,)
    if specific:
        permission, reason = _channel_consent(rel, req, policy, rule)
    else:
        permission, reason = express_consent(rel, req, policy, rule)
    if permission is not None and (
        permission.evidence is not None
        or _proven(rel, req.at, req.channel, req.purpose, policy, specific)
    ):
        return _NONE
    # An objection is absolute: it ends the soft opt-in and answers to inquiries
    # too. A permission withdrawn by an opt-out on another channel is none.
    withdrawn = reason is not None and reason.code == _C.CONSENT_WITHDRAWN
    objection = _objection(rel, req, rule, specific=specific)
    if objection is not None:
        return (reason if withdrawn and reason is not None else objection,)
    unsolicited = _unsolicited(rel, req, policy, rule)
    if unsolicited is None:
        return _NONE
    if permission is not None:
        return (
            Reason(
                _C.CONSENT_UNPROVEN,
                f"{rel.contact}'s consent to {_what(req)} has no evidence; consent must be "
                "demonstrable: record how, when and where it was given",
                rule,
            ),
        )
    assert reason is not None  # noqa: S101
    # The express reason says more (expired, or not for this channel), unless the soft opt-in lapsed.
    return (
        unsolicited
        if unsolicited.code == _C.CONSENT_EXPIRED and reason.code == _C.NO_CONSENT
        else reason,
    )


@denied_when(
    DenyWith("_eprivacy_denies(rel, at, channel, purpose, action, policy, express, False)"),
    applies="is_electronic(channel)",
    lets=(EXPRESS,),
)
def _gdpr(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    return _eprivacy(rel, req, policy, "gdpr", specific=False) if req.electronic else _NONE


@denied_when(
    DenyWith("_eprivacy_denies(rel, at, channel, purpose, action, policy, express, True)"),
    applies="is_electronic(channel)",
    lets=(EXPRESS,),
)
def _pecr(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    return _eprivacy(rel, req, policy, "pecr", specific=True) if req.electronic else _NONE


@request_only
def _eprivacy_obligations(rel: Relationship, req: Request, policy: Policy) -> Sequence[str]:
    return ("include_unsubscribe",) if req.electronic else ()


GDPR_RULES: tuple[Rule, ...] = (Rule("gdpr", _MARKETING_ACTIONS, _gdpr, _eprivacy_obligations),)
"""
The GDPR with the ePrivacy Directive: demonstrable consent, or the soft opt-in.
"""

PECR_RULES: tuple[Rule, ...] = (Rule("pecr", _MARKETING_ACTIONS, _pecr, _eprivacy_obligations),)
"""
The UK's PECR: as the GDPR, with consent specific to the channel.
"""


# TCPA ---------------------------------------------------------------------------------------


@allowed_when("_in_hours(rel, at, policy.call_hours)")
def _tcpa_hours(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if rel.timezone is None:
        return (
            Reason(
                _C.TIMEZONE_UNKNOWN,
                f"{rel.contact}'s time zone is unknown, so calling hours cannot be kept; "
                "record it with profile_updated (metadata timezone)",
                "tcpa_hours",
            ),
        )
    return quiet_hours(rel, req, policy.call_hours, "tcpa_hours")


def _needs_written_consent(
    action: Action, channel: Channel | None, purpose: PurposeLike | None
) -> bool:
    if action is _A.CALL:
        return purpose == Purpose.SALES
    return channel is None or channel is Channel.SMS


@allowed_when(
    "not _needs_written_consent(action, channel, purpose)",
    applies="action is _A.CALL or _needs_written_consent(action, channel, None)",
)
def _tcpa_consent(rel: Relationship, req: Request, policy: Policy) -> Sequence[Reason]:
    if not _needs_written_consent(req.action, req.channel, req.purpose):
        return _NONE
    blocked = _blocked(rel, req, "tcpa_consent")
    if blocked is not None:
        return (blocked,)
    # A permission covering the channel counts, one given for every channel too:
    # what matters here is that it was given in writing.
    permission, reason = express_consent(rel, req, policy, "tcpa_consent")
    if permission is not None:
        method = permission.evidence.method if permission.evidence is not None else None
        if _is_written(permission) or in_force_with(
            rel, req.at, req.channel, req.purpose, policy, _is_written
        ):
            return _NONE
        return (
            Reason(
                _C.CONSENT_UNPROVEN,
                f"{rel.contact}'s consent to {_what(req)} is not prior express written "
                f"consent (its evidence method is {method or 'not recorded'}, "
                f"not {_WRITTEN!r})",
                "tcpa_consent",
            ),
        )
    assert reason is not None  # noqa: S101
    if reason.code != _C.CONSENT_WITHDRAWN:
        objection = _objection(rel, req, "tcpa_consent")
        if objection is not None:
            return (objection,)
    return (reason,)


def _is_written(permission: Permission) -> bool:
    # Whether the permission's evidence says it was given in writing.
    evidence = permission.evidence
    return evidence is not None and evidence.method.strip().lower() == _WRITTEN


TCPA_RULES: tuple[Rule, ...] = (
    Rule("tcpa_hours", {_A.CALL}, _tcpa_hours),
    Rule("tcpa_consent", {_A.CALL, _A.PITCH, _A.SEND_MARKETING}, _tcpa_consent),
)
"""
The US TCPA: calling hours, and written consent for marketing texts and sales calls.
"""
