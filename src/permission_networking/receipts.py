"""
Consent receipts: a Kantara Initiative Consent Receipt (v1.1.0) for one permission.

A consent receipt is the record of a consent that the controller keeps and
gives to the person who consented. `receipt` writes one for a `Permission`
as the JSON-safe dict that the Kantara Initiative's Consent Receipt
Specification v1.1.0 defines; `Controller` holds the controller's details.

>>> from permission_networking import Evidence, Interaction, replay
>>> log = [
...     Interaction(
...         "i1",
...         "acme",
...         "bo@example.org",
...         "opt_in_granted",
...         "2026-03-02T09:00:00Z",
...         channel="email",
...         purpose="marketing",
...         evidence=Evidence("double_opt_in"),
...     )
... ]
>>> rel = replay(log)
>>> acme = Controller(
...     "Acme Ltd",
...     "Data Protection Officer",
...     "dpo@acme.example",
...     "1 Main Street, Toronto",
...     "+1-416-555-0100",
... )
>>> cr = receipt(
...     rel,
...     rel.permissions[0],
...     controller=acme,
...     policy_url="https://acme.example/privacy",
...     jurisdiction="CA",
... )
>>> cr["version"], cr["consentTimestamp"], cr["collectionMethod"]
('KI-CR-v1.1.0', 1772442000, 'double_opt_in')
"""

from __future__ import annotations

import json
import re
import uuid

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, Self

import attrs

from ._relationship import Relationship
from ._time import format_instant
from ._values import Basis, Permission, Purpose
from .exceptions import InvalidRequest


__all__ = ["POSTAL_ADDRESS_FIELDS", "RECEIPT_VERSION", "Controller", "receipt"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)

RECEIPT_VERSION: Final = "KI-CR-v1.1.0"
"""
The value of ``version`` in every receipt: the Consent Receipt Specification v1.1.0.
"""

POSTAL_ADDRESS_FIELDS: Final = frozenset(
    {
        "streetAddress",
        "postOfficeBoxNumber",
        "addressLocality",
        "addressRegion",
        "postalCode",
        "addressCountry",
    }
)
"""
The schema.org ``PostalAddress`` properties a structured `Controller.address` may use.
"""

# Every receipt id is a UUID derived (RFC 4122 version 5) from this namespace and the permission.
_RECEIPT_NAMESPACE: Final = uuid.uuid5(
    uuid.NAMESPACE_URL, "urn:permission-networking:consent-receipt"
)
_LANGUAGE: Final = re.compile(r"[a-z]{2}")
# RFC 3966 global-number-digits, with spaces allowed for people (they become hyphens).
_MARKETING_CATEGORY: Final = "6 - Marketing"
_CONTACT_PII: Final = "2 - Contact"
_CONSENT_TYPES: Final = {
    Basis.EXPRESS: "EXPLICIT",
    Basis.IMPLIED_PURCHASE: "implied by a purchase (an existing business relationship)",
    Basis.IMPLIED_INQUIRY: "implied by an inquiry",
    Basis.SOFT_OPT_IN: "soft opt-in: contact details obtained in a sale, refusal offered",
}
_CONTROLLER_KEYS: Final = frozenset({"name", "contact", "email", "address", "phone", "url"})
_CONTROLLER_REQUIRED: Final = _CONTROLLER_KEYS - {"url"}


def _text(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(field, value, "expected a non-empty string")
    return value


def _language(value: object) -> str:
    if not isinstance(value, str) or not _LANGUAGE.fullmatch(value):
        raise InvalidRequest("language", value, "expected an ISO 639-1 code such as 'en'")
    return value


def _address(value: object) -> str | MappingProxyType[str, str]:
    if isinstance(value, str):
        return _text("address", value)
    if not isinstance(value, Mapping) or not value:
        raise InvalidRequest(
            "address",
            value,
            "expected the postal address as one string, or a mapping of schema.org "
            "PostalAddress properties such as streetAddress and addressCountry",
        )
    unknown = sorted(str(key) for key in value if key not in POSTAL_ADDRESS_FIELDS)
    if unknown:
        raise InvalidRequest(
            "address",
            dict(value),
            f"unknown PostalAddress properties {', '.join(unknown)}; "
            f"use {', '.join(sorted(POSTAL_ADDRESS_FIELDS))}",
        )
    return MappingProxyType({key: _text(f"address.{key}", item) for key, item in value.items()})


@attrs.frozen(init=False)
class Controller:
    """
    The PII controller who collected a consent: the organisation accountable for it.

    Args:
        name: The controller's name, e.g. ``Acme Ltd``.
        contact: Whom to contact about the consent, e.g. a data protection officer.
        email: The contact's email address.
        address: The postal address, as one string or as a mapping of
            schema.org ``PostalAddress`` properties (`POSTAL_ADDRESS_FIELDS`).
        phone: The contact's telephone number, best in international form such as
            ``+1-416-555-0100`` (spaces become hyphens on a receipt, as RFC 3966 wants).
        url: The controller's web site, if any.

    Raises:
        InvalidRequest: A field is empty or not a string, or the address is invalid.

    >>> Controller("Acme Ltd", "DPO", "dpo@acme.example", "1 Main St", "+1-555-0100").url is None
    True
    """

    name: str
    contact: str
    email: str
    address: str | Mapping[str, str] = attrs.field(hash=False)
    phone: str
    url: str | None

    def __init__(  # noqa: PLR0913, PLR0917
        self,
        name: str,
        contact: str,
        email: str,
        address: str | Mapping[str, str],
        phone: str,
        url: str | None = None,
    ) -> None:
        self.__attrs_init__(
            _text("name", name),
            _text("contact", contact),
            _text("email", email),
            _address(address),
            _text("phone", phone),
            None if url is None else _text("url", url),
        )

    def __reduce__(self) -> tuple[type[Controller], tuple[Any, ...]]:
        # Pickled with a structured address as a plain dict (a mappingproxy
        # does not pickle), so that a controller travels to worker processes.
        address = self.address
        if not isinstance(address, str):
            address = dict(address)
        return (Controller, (self.name, self.contact, self.email, address, self.phone, self.url))

    def to_dict(self) -> dict[str, Any]:
        """
        Return a JSON-safe dict that `from_dict` turns back into an equal controller.
        """
        address = self.address
        return {
            "name": self.name,
            "contact": self.contact,
            "email": self.email,
            "address": address if isinstance(address, str) else dict(address),
            "phone": self.phone,
            "url": self.url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """
        Build a controller from the output of `to_dict` (e.g. a ``--controller`` JSON file).

        Raises:
            InvalidRequest: A key is missing or unknown, or a value is invalid.
        """
        if not isinstance(data, Mapping):
            raise InvalidRequest("controller", data, "expected a mapping")
        missing = sorted(_CONTROLLER_REQUIRED - data.keys())
        if missing:
            raise InvalidRequest("controller", dict(data), f"missing keys: {', '.join(missing)}")
        unknown = sorted(str(key) for key in data if key not in _CONTROLLER_KEYS)
        if unknown:
            raise InvalidRequest(
                "controller",
                dict(data),
                f"unknown keys: {', '.join(unknown)}; the keys are "
                f"{', '.join(sorted(_CONTROLLER_KEYS))}",
            )
        return cls(
            data["name"],
            data["contact"],
            data["email"],
            data["address"],
            data["phone"],
            data.get("url"),
        )

    def to_receipt(self) -> dict[str, Any]:
        """
        Return the controller as an entry of a receipt's ``piiControllers``.
        """
        address = self.address
        entry: dict[str, Any] = {
            "piiController": self.name,
            "contact": self.contact,
            # The specification wants a schema.org PostalAddress; a one-line address
            # is all street address as far as a reader of the receipt can tell.
            "address": {"streetAddress": address} if isinstance(address, str) else dict(address),
            "email": self.email,
            "phone": self.phone.replace(" ", "-"),
        }
        if self.url is not None:
            entry["piiControllerUrl"] = self.url
        return entry


def _receipt_id(relationship: Relationship, permission: Permission) -> str:
    """
    Return the id of *permission*'s receipt: a UUID derived from the permission alone.

    The same permission always gets the same id, whoever the controller is
    and whenever the receipt is written.
    """
    channel = permission.channel
    name = json.dumps(
        [
            relationship.sender,
            relationship.contact,
            str(permission.purpose),
            None if channel is None else channel.value,
            permission.group,
            permission.source,
            format_instant(permission.granted_at),
        ]
    )
    return str(uuid.uuid5(_RECEIPT_NAMESPACE, name))


def _purpose(permission: Permission) -> dict[str, Any]:
    channel = permission.channel
    what = f"{permission.purpose} on {'every channel' if channel is None else channel.value}"
    if permission.group is not None:
        what += f" in the group {permission.group!r}"
    if permission.withdrawn_at is not None:
        termination = f"withdrawn by the PII Principal on {format_instant(permission.withdrawn_at)}"
    else:
        termination = "until the PII Principal withdraws it (an opt-out), at any time"
        if permission.expires_at is not None:
            termination += f", and at the latest on {format_instant(permission.expires_at)}"
    known = permission.purpose in {Purpose.MARKETING, Purpose.SALES, Purpose.GROUP_PROMOTION}
    return {
        "purpose": what,
        "purposeCategory": [_MARKETING_CATEGORY if known else str(permission.purpose)],
        "consentType": _CONSENT_TYPES[permission.basis],
        "piiCategory": [_CONTACT_PII],
        "primaryPurpose": True,
        "termination": termination,
        "thirdPartyDisclosure": False,
    }


def receipt(  # noqa: PLR0913
    relationship: Relationship,
    permission: Permission,
    *,
    controller: Controller,
    policy_url: str,
    jurisdiction: str | None = None,
    language: str = "en",
    public_key: str | None = None,
) -> dict[str, Any]:
    """
    Return a Kantara Initiative Consent Receipt (v1.1.0) for *permission*, as a JSON-safe dict.

    The receipt names the contact as the PII principal, *controller* as the
    PII controller and the relationship's sender as the service; its
    ``consentTimestamp`` is when the permission was granted (integer seconds
    since the epoch), its ``collectionMethod`` the evidence method (``not
    recorded`` when there is no evidence), and its ``consentReceiptID`` a
    UUID derived from the permission, so the same permission always gets the
    same id.

    Args:
        relationship: The pair whose contact granted the permission.
        permission: The permission, e.g. one of ``relationship.permissions``.
        controller: Who collected the consent and is accountable for it.
        policy_url: The privacy policy the consent was given under.
        jurisdiction: The jurisdiction of the consent; None means the relationship's.
        language: The ISO 639-1 code of the receipt's language (its texts are English).
        public_key: The controller's public key, when receipts are signed.

    Returns:
        A dict with ``version``, ``jurisdiction``, ``consentTimestamp``,
        ``collectionMethod``, ``consentReceiptID``, ``publicKey`` (when
        given), ``language``, ``piiPrincipalId``, ``piiControllers``,
        ``policyUrl``, ``services``, ``sensitive`` and ``spiCat``.

    Raises:
        InvalidRequest: An argument is invalid, the permission was not
            granted by the relationship's contact, or no jurisdiction is known.
    """
    if not isinstance(relationship, Relationship):
        raise InvalidRequest("relationship", relationship, "expected a Relationship")
    if not isinstance(permission, Permission):
        raise InvalidRequest("permission", permission, "expected a Permission")
    if permission.grantor != relationship.contact:
        raise InvalidRequest(
            "permission",
            permission.source,
            f"was granted by {permission.grantor!r}, not by the relationship's contact "
            f"{relationship.contact!r}",
        )
    if not isinstance(controller, Controller):
        raise InvalidRequest("controller", controller, "expected a Controller")
    _text("policy_url", policy_url)
    if jurisdiction is None:
        jurisdiction = relationship.jurisdiction
        if jurisdiction is None:
            raise InvalidRequest(
                "jurisdiction",
                None,
                f"the jurisdiction of {relationship.contact!r} is not known; pass "
                "jurisdiction='CA' (an ISO 3166 code) or record a profile_updated "
                "with metadata jurisdiction",
            )
    _text("jurisdiction", jurisdiction)
    _language(language)
    if public_key is not None:
        _text("public_key", public_key)
    out: dict[str, Any] = {
        "version": RECEIPT_VERSION,
        "jurisdiction": jurisdiction,
        "consentTimestamp": (permission.granted_at - _EPOCH) // _SECOND,
        "collectionMethod": (
            "not recorded" if permission.evidence is None else permission.evidence.method
        ),
        "consentReceiptID": _receipt_id(relationship, permission),
    }
    if public_key is not None:
        out["publicKey"] = public_key
    out.update(
        {
            "language": language,
            "piiPrincipalId": relationship.contact,
            "piiControllers": [controller.to_receipt()],
            "policyUrl": policy_url,
            "services": [{"service": relationship.sender, "purposes": [_purpose(permission)]}],
            "sensitive": False,
            "spiCat": [],
        }
    )
    return out
