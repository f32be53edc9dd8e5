"""
`Policy`: a named, immutable set of rules and their settings, and `policy_for`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, TypedDict

import attrs

from dateutil.relativedelta import relativedelta
from typing_extensions import Unpack

from ._rules import Rule
from ._time import Duration, span_problem
from ._values import Action, check_iterable, encodable, plain
from .exceptions import InvalidRequest


__all__ = ["Policy", "PolicySettings"]


def _duration(instance: Policy, attribute: attrs.Attribute[Any], value: object) -> None:
    problem = span_problem(value)
    if problem is not None:
        raise InvalidRequest(attribute.name, value, problem)


def _optional_duration(instance: Policy, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _duration(instance, attribute, value)


def _positive_int(instance: Policy, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequest(attribute.name, value, "expected a whole number of at least 1")


def _bool(instance: Policy, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidRequest(attribute.name, value, "expected True or False")


def _hours(instance: Policy, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        not isinstance(value, tuple)
        or len(value) != 2  # noqa: PLR2004
        or not all(isinstance(h, int) and not isinstance(h, bool) for h in value)
        or not 0 <= value[0] < value[1] <= 24  # noqa: PLR2004
    ):
        raise InvalidRequest(
            attribute.name, value, "expected (start, end) whole hours with 0 <= start < end <= 24"
        )


class _Cache(dict[object, Any]):
    """
    What the guards work out once for a policy; it pickles and copies empty.
    """

    def __reduce__(self) -> tuple[type[_Cache], tuple[()]]:
        return (type(self), ())


def _rules(value: Iterable[Rule]) -> tuple[Rule, ...]:
    return _items("rules", value, Rule)


def _parts(value: Iterable[Policy]) -> tuple[Policy, ...]:
    return _items("parts", value, Policy)


def _items(field: str, value: object, kind: type) -> tuple[Any, ...]:
    check_iterable(field, value, kind, InvalidRequest)
    assert isinstance(value, Iterable)  # noqa: S101
    items = tuple(value)
    for item in items:
        if not isinstance(item, kind):
            raise InvalidRequest(field, item, f"expected {kind.__name__} values")
    return items


def _name(instance: Policy, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(attribute.name, value, "a policy is named by a non-empty string")
    if not encodable(value):
        raise InvalidRequest(attribute.name, value, "not text: it holds a lone surrogate")


class PolicySettings(TypedDict, total=False):
    """
    The settings a preset and `Policy.replace` take by keyword, each typed; see `Policy` for what each means.

    >>> settings: PolicySettings = {"max_unanswered": 1, "double_opt_in": True}
    >>> Policy.etiquette(**settings).max_unanswered
    1
    """

    engagement_ttl: Duration
    cooling_off: Duration
    max_unanswered: int
    refusal_backoff: Duration
    interest_ttl: Duration
    request_ttl: Duration
    opt_in_backoff: Duration
    decline_backoff: Duration
    connection_request_ttl: Duration
    double_opt_in: bool
    express_consent_ttl: Duration | None
    call_hours: tuple[int, int]
    purchase_window: Duration
    inquiry_window: Duration
    soft_opt_in_window: Duration | None


@attrs.frozen
class Policy:
    """
    A named, immutable collection of rules and the settings they read.

    Build one with a preset such as `Policy.etiquette`, override settings by
    keyword, and combine policies with ``&``: the combination allows only
    what every part allows. A combination's own settings are its first
    part's; each part decides with its own.

    >>> Policy.etiquette(cooling_off=timedelta(days=7)).cooling_off
    datetime.timedelta(days=7)
    >>> (Policy.etiquette() & Policy.etiquette(max_unanswered=1)).name
    'etiquette & etiquette'

    Attributes:
        name: Shown as `Decision.policy`.
        rules: The rules, in the order they run.
        parts: For a combination, the policies combined; empty otherwise.
        engagement_ttl: How long an engagement signal keeps a contact engaged.
        cooling_off: How long after connecting before asking a favour.
        max_unanswered: How many messages may go unanswered.
        refusal_backoff: How long a refusal holds off asks, pitches and opt-in requests.
        interest_ttl: How long an ``inquiry`` counts as interest.
        request_ttl: How long an unanswered opt-in request stays pending.
        opt_in_backoff: How long a refused opt-in request holds off the next.
        decline_backoff: How long a declined connection request holds off the next.
        connection_request_ttl: How long a connection request stays pending.
        double_opt_in: Whether marketing needs a confirmed permission.
        express_consent_ttl: How long express consent lasts; None until withdrawn.
        call_hours: The contact-local hours ``(start, end)`` in which calls may be placed.
        purchase_window: How long a purchase implies consent (CASL: 2 years).
        inquiry_window: How long an inquiry implies consent (CASL: 6 months).
        soft_opt_in_window: How long after a sale the first message on the
            soft opt-in may go out (Ireland: 12 months); once one has, the
            soft opt-in holds until the customer objects. None: no limit.
    """

    name: str = attrs.field(converter=plain, validator=_name)
    rules: tuple[Rule, ...] = attrs.field(default=(), converter=_rules)
    parts: tuple[Policy, ...] = attrs.field(default=(), converter=_parts)
    engagement_ttl: Duration = attrs.field(default=timedelta(days=365), validator=_duration)
    cooling_off: Duration = attrs.field(default=timedelta(days=14), validator=_duration)
    max_unanswered: int = attrs.field(default=3, validator=_positive_int)
    refusal_backoff: Duration = attrs.field(default=timedelta(days=30), validator=_duration)
    interest_ttl: Duration = attrs.field(default=timedelta(days=90), validator=_duration)
    request_ttl: Duration = attrs.field(default=timedelta(days=30), validator=_duration)
    opt_in_backoff: Duration = attrs.field(default=timedelta(days=90), validator=_duration)
    decline_backoff: Duration = attrs.field(default=timedelta(days=180), validator=_duration)
    connection_request_ttl: Duration = attrs.field(default=timedelta(days=90), validator=_duration)
    double_opt_in: bool = attrs.field(default=False, validator=_bool)
    express_consent_ttl: Duration | None = attrs.field(default=None, validator=_optional_duration)
    call_hours: tuple[int, int] = attrs.field(default=(8, 21), validator=_hours)
    purchase_window: Duration = attrs.field(default=relativedelta(years=2), validator=_duration)
    inquiry_window: Duration = attrs.field(default=relativedelta(months=6), validator=_duration)
    soft_opt_in_window: Duration | None = attrs.field(default=None, validator=_optional_duration)
    _by_action: dict[Action, tuple[Rule, ...]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )
    _plan: dict[Action, tuple[tuple[Policy, Rule], ...]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )
    _guards: dict[object, Any] = attrs.field(
        init=False, eq=False, repr=False, hash=False, factory=_Cache
    )

    def __attrs_post_init__(self) -> None:
        if self.rules and self.parts:
            raise InvalidRequest(
                "parts",
                self.parts,
                "a policy has rules of its own or parts, not both; combine the two with &",
            )
        by_action = {
            action: tuple(rule for rule in self.rules if action in rule.actions)
            for action in Action
        }
        object.__setattr__(self, "_by_action", by_action)
        plan = {
            action: tuple((leaf, rule) for leaf in self.leaves for rule in leaf.rules_for(action))
            for action in Action
        }
        object.__setattr__(self, "_plan", plan)

    @property
    def leaves(self) -> tuple[Policy, ...]:
        """
        The policies that decide, which are the parts of a combination (theirs, when a part is one) or this one alone.
        """
        if not self.parts:
            return (self,)
        return tuple(leaf for part in self.parts for leaf in part.leaves)

    def rules_for(self, action: Action) -> tuple[Rule, ...]:
        """
        The rules of this (single) policy that apply to *action*.
        """
        return self._by_action[action]

    def plan(self, action: Action) -> tuple[tuple[Policy, Rule], ...]:
        """
        Every ``(part, rule)`` that decides *action*, in order, across the parts.
        """
        return self._plan[action]

    def replace(self, **settings: Unpack[PolicySettings]) -> Policy:
        """
        Return a copy with *settings* changed; a combination's, in every part.

        Each part of a combination decides with its own settings, so a
        setting changed on the combination is changed in each of them:
        ``policy_for("US").replace(max_unanswered=1)`` holds every part to it.

        Raises:
            InvalidRequest: A setting is unknown or its value is invalid.
        """
        given: dict[str, object] = dict(settings)
        unknown = sorted(set(given) - _SETTINGS)
        if unknown:
            raise InvalidRequest(
                unknown[0],
                given[unknown[0]],
                f"not a policy setting; the settings are {', '.join(sorted(_SETTINGS))}",
            )
        if not self.parts:
            return attrs.evolve(self, **settings)
        return attrs.evolve(
            self, parts=[part.replace(**settings) for part in self.leaves], **settings
        )

    def __and__(self, other: Policy) -> Policy:
        if not isinstance(other, Policy):
            return NotImplemented
        return attrs.evolve(
            self,
            name=f"{self.name} & {other.name}",
            rules=(),
            parts=self.leaves + other.leaves,
        )

    @classmethod
    def etiquette(cls, **settings: Unpack[PolicySettings]) -> Policy:
        """
        The etiquette of permission networking (the default policy).

        Args:
            settings: Overrides of the settings, e.g. ``cooling_off=relativedelta(days=7)``.

        Raises:
            InvalidRequest: A setting is unknown or its value is invalid.
        """
        from ._etiquette import ETIQUETTE_RULES  # noqa: PLC0415

        return cls(name="etiquette", rules=ETIQUETTE_RULES).replace(**settings)

    @classmethod
    def casl(cls, **settings: Unpack[PolicySettings]) -> Policy:
        """
        Canada's Anti-Spam Legislation (CASL) for commercial electronic messages.

        A ``pitch``, ``add_to_list``, ``send_marketing`` or ``request_opt_in``
        on an electronic channel needs express consent, implied consent from a
        purchase within ``purchase_window`` (2 years) or an inquiry within
        ``inquiry_window`` (6 months), or the referral exemption (the first
        message only).

        Args:
            settings: Overrides of the settings, e.g. ``inquiry_window=relativedelta(months=3)``.

        Raises:
            InvalidRequest: A setting is unknown or its value is invalid.
        """
        from ._legal import CASL_RULES  # noqa: PLC0415

        return cls(name="casl", rules=CASL_RULES).replace(**settings)

    @classmethod
    def can_spam(cls, **settings: Unpack[PolicySettings]) -> Policy:
        """
        The US CAN-SPAM Act for commercial email: no consent needed, an opt-out is final.

        Args:
            settings: Overrides of the settings.

        Raises:
            InvalidRequest: A setting is unknown or its value is invalid.
        """
        from ._legal import CAN_SPAM_RULES  # noqa: PLC0415

        return cls(name="can_spam", rules=CAN_SPAM_RULES).replace(**settings)

    @classmethod
    def gdpr(cls, **settings: Unpack[PolicySettings]) -> Policy:
        """
        The EU's GDPR and ePrivacy Directive for electronic marketing.

        Marketing needs consent with evidence, or the soft opt-in from a sale
        (whose first message must go out within ``soft_opt_in_window`` when
        it is set); an objection is absolute.

        Args:
            settings: Overrides of the settings, e.g. ``soft_opt_in_window=relativedelta(months=12)``.

        Raises:
            InvalidRequest: A setting is unknown or its value is invalid.
        """
        from ._legal import GDPR_RULES  # noqa: PLC0415

        return cls(name="gdpr", rules=GDPR_RULES).replace(**settings)

    @classmethod
    def pecr(cls, **settings: Unpack[PolicySettings]) -> Policy:
        """
        The UK's Privacy and Electronic Communications Regulations: as `gdpr`, per channel.

        Args:
            settings: Overrides of the settings.

        Raises:
            InvalidRequest: A setting is unknown or its value is invalid.
        """
        from ._legal import PECR_RULES  # noqa: PLC0415

        return cls(name="pecr", rules=PECR_RULES).replace(**settings)

    @classmethod
    def tcpa(cls, **settings: Unpack[PolicySettings]) -> Policy:
        """
        The US Telephone Consumer Protection Act for calls and texts.

        Calls only within ``call_hours`` (08:00-21:00) in the contact's zone;
        marketing texts and sales calls need prior express written consent.

        Args:
            settings: Overrides of the settings, e.g. ``call_hours=(8, 20)``.

        Raises:
            InvalidRequest: A setting is unknown or its value is invalid.
        """
        from ._legal import TCPA_RULES  # noqa: PLC0415

        return cls(name="tcpa", rules=TCPA_RULES).replace(**settings)


_SETTINGS = frozenset(
    field.name
    for field in attrs.fields(Policy)
    if field.name not in {"name", "rules", "parts", "_by_action", "_plan", "_guards"}
)
