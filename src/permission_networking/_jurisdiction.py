"""
`policy_for`: the policy for a contact's jurisdiction.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Final

from dateutil.relativedelta import relativedelta

from ._etiquette import ETIQUETTE_RULES, JURISDICTION_UNKNOWN_RULE
from ._policy import Policy
from .exceptions import InvalidRequest


__all__ = ["EU_MEMBER_STATES", "policy_for"]

EU_MEMBER_STATES: Final = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip
"""
The ISO 3166-1 codes of the 27 member states of the European Union.
"""

# The EU writes Greece as EL; ISO 3166 says GR. The United Kingdom's ISO code is GB.
_ALIASES: Final = {"EL": "GR", "UK": "GB"}
_FLORIDA_CALL_HOURS: Final = (8, 20)
# S.I. 336/2011 reg. 13(11): in Ireland the soft opt-in holds for 12 months after the sale.
_IRELAND_SOFT_OPT_IN: Final = relativedelta(months=12)


def _florida() -> Policy:
    return (
        Policy.etiquette(call_hours=_FLORIDA_CALL_HOURS)
        & Policy.can_spam()
        & Policy.tcpa(call_hours=_FLORIDA_CALL_HOURS)
    )


def _ireland() -> Policy:
    return Policy.etiquette(soft_opt_in_window=_IRELAND_SOFT_OPT_IN) & Policy.gdpr(
        soft_opt_in_window=_IRELAND_SOFT_OPT_IN
    )


def _unknown() -> Policy:
    return Policy(name="etiquette", rules=(*ETIQUETTE_RULES, JURISDICTION_UNKNOWN_RULE))


# A combination's own settings are its first part's, so the Florida and Irish
# etiquette parts carry the law's numbers too: `policy_for("US-FL").call_hours` reads right.
_BUILDERS: Final[dict[str, Callable[[], Policy]]] = {
    "CA": lambda: Policy.etiquette() & Policy.casl(),
    "US": lambda: Policy.etiquette() & Policy.can_spam() & Policy.tcpa(),
    "US-FL": _florida,
    "GDPR": lambda: Policy.etiquette() & Policy.gdpr(),
    "IE": _ireland,
    "GB": lambda: Policy.etiquette() & Policy.pecr(),
}


@cache
def _policy(key: str) -> Policy:
    return _BUILDERS.get(key, _unknown)()


def _key(jurisdiction: str) -> str:
    code = jurisdiction.strip()
    if not code.isascii():
        # Not an ISO 3166 code; and upper() would make one of a look-alike
        # (a dotless i before an e becomes the I of IE).
        return ""
    code = code.upper()
    country = code.split("-", 1)[0]
    country = _ALIASES.get(country, country)
    if country in {"CA", "GB"}:
        return country
    if country == "US":
        return "US-FL" if code == "US-FL" else "US"
    if country in EU_MEMBER_STATES:
        return "IE" if country == "IE" else "GDPR"
    return ""


def policy_for(jurisdiction: str | None) -> Policy:
    """
    Return the policy for a contact in *jurisdiction* (an ISO 3166 code, or None).

    * ``CA``, ``CA-*``: etiquette & casl;
    * ``US``, ``US-*``: etiquette & can_spam & tcpa (``US-FL``: calls 08:00-20:00);
    * an EU member state: etiquette & gdpr (``IE``: the soft opt-in only
      within 12 months of the sale);
    * ``GB`` (also ``UK``): etiquette & pecr;
    * None or anything else: etiquette, warning ``jurisdiction_unknown`` on
      commercial actions.

    Codes are case-insensitive, a subdivision maps like its country
    (``DE-BY`` as ``DE``), and Greece is both ``GR`` and ``EL``. The
    policies are built once and shared.

    Args:
        jurisdiction: The contact's jurisdiction, e.g. ``Relationship.jurisdiction``.

    Returns:
        The policy to decide with.

    Raises:
        InvalidRequest: *jurisdiction* is neither a string nor None.

    >>> policy_for("ca-on").name
    'etiquette & casl'
    >>> policy_for("US-FL").call_hours
    (8, 20)
    >>> policy_for(None).name
    'etiquette'
    """
    # A guard given no policy asks this for every check: the code as written
    # is looked up first, before it is read.
    try:
        return _BY_CODE[jurisdiction]
    except (KeyError, TypeError):
        pass
    if jurisdiction is not None and not isinstance(jurisdiction, str):
        raise InvalidRequest(
            "jurisdiction",
            jurisdiction,
            "expected an ISO 3166 code such as 'CA' or 'DE-BY', or None",
        )
    policy = _policy("" if jurisdiction is None else _key(jurisdiction))
    if type(jurisdiction) is str or jurisdiction is None:
        if len(_BY_CODE) >= _BY_CODE_MAX:
            _BY_CODE.clear()
        _BY_CODE[jurisdiction] = policy
    return policy


_BY_CODE: Final[dict[str | None, Policy]] = {}
"""
The policy of each code as written (``"ca-on"``, ``"DE"``, None), as `policy_for` found it.
"""

_BY_CODE_MAX: Final = 1024
