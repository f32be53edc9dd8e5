"""
Tests for permission_networking.receipts: Kantara Consent Receipts v1.1 checked against a JSON Schema.
"""

from __future__ import annotations

import copy
import json
import pickle
import uuid

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from permission_networking import Basis, Channel, Evidence, InvalidRequest, Permission, Relationship
from permission_networking.receipts import RECEIPT_VERSION, Controller, receipt
from timeline import Log, day


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SCHEMA = json.loads(Path(__file__).with_name("consent_receipt_v1_1.schema.json").read_text("utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
ACME = Controller(
    "Acme Ltd",
    "Data Protection Officer",
    "dpo@acme.example",
    "1 Main Street, Toronto",
    "+1 416 555 0100",
)
POLICY_URL = "https://acme.example/privacy"


def consented(**kw: Any) -> Relationship:
    """
    A Canadian contact who gave consent to marketing on day 0 (keywords go to the opt_in_granted).
    """
    options: dict[str, Any] = {
        "purpose": "marketing",
        "channel": "email",
        "evidence": Evidence("double_opt_in"),
    }
    options.update(kw)
    log = (
        Log()
        .add("profile_updated", 0, metadata={"jurisdiction": "CA"})
        .inbound("opt_in_granted", 0, **options)
    )
    return log.relationship()


def make(rel: Relationship, **kw: Any) -> dict[str, Any]:
    """
    Return the receipt for the relationship's first permission.
    """
    options: dict[str, Any] = {"controller": ACME, "policy_url": POLICY_URL}
    options.update(kw)
    return receipt(rel, rel.permissions[0], **options)


def test_the_schema_is_a_valid_schema() -> None:
    """The test schema itself is a valid JSON Schema (draft 2020-12)."""
    Draft202012Validator.check_schema(SCHEMA)


class TestFields:
    def test_a_receipt_validates(self) -> None:
        """A receipt is valid against the schema written from the v1.1 field table."""
        VALIDATOR.validate(make(consented()))

    def test_header(self) -> None:
        """version, jurisdiction, consentTimestamp and collectionMethod come from the permission."""
        cr = make(consented())

        assert "KI-CR-v1.1.0" == RECEIPT_VERSION == cr["version"]
        assert "CA" == cr["jurisdiction"]
        assert int(day(0).timestamp()) == cr["consentTimestamp"]
        assert isinstance(cr["consentTimestamp"], int)
        assert "double_opt_in" == cr["collectionMethod"]
        assert "en" == cr["language"]
        assert "publicKey" not in cr

    @pytest.mark.parametrize(
        ("granted", "seconds"),
        [
            (datetime(2026, 3, 2, 9, 0, 0, 999999, tzinfo=UTC), 1772442000),
            (datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), -1),
            (datetime.max.replace(tzinfo=UTC), 253402300799),
        ],
    )
    def test_the_timestamp_is_the_second_the_consent_falls_in(
        self, granted: datetime, seconds: int
    ) -> None:
        """The consent timestamp counts whole seconds down to the grant, never rounded up past it."""
        permission = Permission("marketing", "email", "express", "bo", granted)
        rel = Relationship(sender="ana", contact="bo", jurisdiction="CA")

        cr = receipt(rel, permission, controller=ACME, policy_url=POLICY_URL)

        assert seconds == cr["consentTimestamp"]

    def test_parties(self) -> None:
        """The contact is the PII principal and the controller is listed with its details."""
        cr = make(consented())

        assert "bo" == cr["piiPrincipalId"]
        assert [
            {
                "piiController": "Acme Ltd",
                "contact": "Data Protection Officer",
                "address": {"streetAddress": "1 Main Street, Toronto"},
                "email": "dpo@acme.example",
                "phone": "+1-416-555-0100",
            }
        ] == cr["piiControllers"]
        assert POLICY_URL == cr["policyUrl"]

    def test_services_and_purposes(self) -> None:
        """The sender is the service, with the permission as its one explicit purpose."""
        cr = make(consented())

        assert [
            {
                "service": "ana",
                "purposes": [
                    {
                        "purpose": "marketing on email",
                        "purposeCategory": ["6 - Marketing"],
                        "consentType": "EXPLICIT",
                        "piiCategory": ["2 - Contact"],
                        "primaryPurpose": True,
                        "termination": "until the PII Principal withdraws it (an opt-out), at any time",
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ] == cr["services"]
        assert cr["sensitive"] is False
        assert [] == cr["spiCat"]

    def test_json_safe(self) -> None:
        """A receipt survives a JSON round trip unchanged."""
        cr = make(consented())

        assert cr == json.loads(json.dumps(cr))

    def test_optional_fields(self) -> None:
        """A public key, a language and a controller URL appear when given."""
        controller = attrs.evolve(ACME, url="https://acme.example")
        cr = make(consented(), controller=controller, public_key="ssh-ed25519 AAAA", language="fr")

        VALIDATOR.validate(cr)
        assert "ssh-ed25519 AAAA" == cr["publicKey"]
        assert "fr" == cr["language"]
        assert "https://acme.example" == cr["piiControllers"][0]["piiControllerUrl"]

    def test_without_evidence(self) -> None:
        """Without evidence the collection method says it was not recorded."""
        cr = make(consented(evidence=None))

        VALIDATOR.validate(cr)
        assert "not recorded" == cr["collectionMethod"]

    def test_every_channel_group_and_custom_purpose(self) -> None:
        """A permission for every channel, in a group, for a purpose of one's own is described."""
        cr = make(consented(purpose="newsletter", channel="other", group="founders"))

        VALIDATOR.validate(cr)
        purpose = cr["services"][0]["purposes"][0]
        assert "newsletter on every channel in the group 'founders'" == purpose["purpose"]
        assert ["newsletter"] == purpose["purposeCategory"]

    def test_expiring_consent(self) -> None:
        """A consent given until a date says so in its termination."""
        cr = make(consented(metadata={"expires_at": "2027-03-02T09:00:00+00:00"}))

        VALIDATOR.validate(cr)
        assert (
            "at the latest on 2027-03-02T09:00:00+00:00"
            in cr["services"][0]["purposes"][0]["termination"]
        )

    def test_withdrawn_consent(self) -> None:
        """A receipt for a withdrawn consent records when it was withdrawn."""
        log = (
            Log()
            .inbound("opt_in_granted", 0, purpose="sales", evidence=Evidence("written"))
            .inbound("opt_out", 5)
        )
        rel = log.relationship()

        cr = make(rel, jurisdiction="US")

        VALIDATOR.validate(cr)
        assert cr["services"][0]["purposes"][0]["termination"].startswith(
            "withdrawn by the PII Principal on 2026-03-07"
        )

    @pytest.mark.parametrize(
        ("basis", "consent_type"),
        [
            (Basis.EXPRESS, "EXPLICIT"),
            (Basis.IMPLIED_PURCHASE, "implied by a purchase (an existing business relationship)"),
            (Basis.IMPLIED_INQUIRY, "implied by an inquiry"),
            (Basis.SOFT_OPT_IN, "soft opt-in: contact details obtained in a sale, refusal offered"),
        ],
    )
    def test_consent_type(self, basis: Basis, consent_type: str) -> None:
        """An express permission is EXPLICIT; any other basis is described, as v1.1 requires."""
        rel = consented()
        permission = attrs.evolve(rel.permissions[0], basis=basis)

        cr = receipt(rel, permission, controller=ACME, policy_url=POLICY_URL)

        assert consent_type == cr["services"][0]["purposes"][0]["consentType"]

    def test_structured_address(self) -> None:
        """A structured address is a schema.org PostalAddress on the receipt."""
        address = {
            "streetAddress": "1 Main Street",
            "addressLocality": "Toronto",
            "addressCountry": "CA",
        }
        controller = Controller("Acme Ltd", "DPO", "dpo@acme.example", address, "+1-416-555-0100")

        cr = make(consented(), controller=controller)

        VALIDATOR.validate(cr)
        assert address == cr["piiControllers"][0]["address"]


class TestReceiptId:
    def test_the_same_permission_gets_the_same_id(self) -> None:
        """Two receipts for one permission share their id, whatever controller or policy URL."""
        rel = consented()
        other = Controller(
            "Other Co", "Privacy", "privacy@other.example", "2 Side Road", "+44 20 7946 0000"
        )

        first = make(rel)
        second = make(
            consented(), controller=other, policy_url="https://other.example/p", jurisdiction="GB"
        )

        assert first["consentReceiptID"] == second["consentReceiptID"]
        assert 5 == uuid.UUID(first["consentReceiptID"]).version

    def test_other_permissions_get_other_ids(self) -> None:
        """Another purpose, channel or time gives another id."""
        ids = {
            make(consented())["consentReceiptID"],
            make(consented(purpose="sales"))["consentReceiptID"],
            make(consented(channel="sms"))["consentReceiptID"],
            make(consented(group="g1"))["consentReceiptID"],
        }
        later = (
            Log().inbound("opt_in_granted", 1, purpose="marketing", channel="email").relationship()
        )

        assert 4 == len(ids)
        assert make(later, jurisdiction="CA")["consentReceiptID"] not in ids

    def test_another_pair_gets_another_id(self) -> None:
        """The same permission facts between another pair give another id."""
        mine = Log().inbound("opt_in_granted", 0, purpose="marketing").relationship()
        theirs = Log(sender="cy").inbound("opt_in_granted", 0, purpose="marketing").relationship()

        assert (
            make(mine, jurisdiction="CA")["consentReceiptID"]
            != make(theirs, jurisdiction="CA")["consentReceiptID"]
        )


class TestJurisdiction:
    def test_the_argument_wins(self) -> None:
        """An explicit jurisdiction is used over the relationship's."""
        assert "CA-QC" == make(consented(), jurisdiction="CA-QC")["jurisdiction"]

    def test_falls_back_to_the_relationship(self) -> None:
        """Without the argument the relationship's jurisdiction is used."""
        assert "CA" == make(consented())["jurisdiction"]

    def test_neither_is_a_value_error(self) -> None:
        """With no jurisdiction anywhere, receipt raises a ValueError that says what to do."""
        rel = Log().inbound("opt_in_granted", 0, purpose="marketing").relationship()

        with pytest.raises(ValueError, match="jurisdiction=") as info:
            make(rel)

        assert isinstance(info.value, InvalidRequest)
        assert "jurisdiction" == info.value.field


class TestInvalid:
    @pytest.mark.parametrize(
        ("kw", "field"),
        [
            ({"controller": "Acme"}, "controller"),
            ({"policy_url": ""}, "policy_url"),
            ({"jurisdiction": " "}, "jurisdiction"),
            ({"language": "english"}, "language"),
            ({"language": 7}, "language"),
            ({"public_key": ""}, "public_key"),
        ],
    )
    def test_bad_arguments(self, kw: dict[str, Any], field: str) -> None:
        """Each invalid argument raises InvalidRequest naming it."""
        with pytest.raises(InvalidRequest) as info:
            make(consented(), **kw)

        assert field == info.value.field

    def test_not_a_relationship(self) -> None:
        """The relationship must be a Relationship."""
        rel = consented()

        with pytest.raises(InvalidRequest, match="relationship"):
            receipt(rel.to_dict(), rel.permissions[0], controller=ACME, policy_url=POLICY_URL)  # type: ignore[arg-type]

    def test_not_a_permission(self) -> None:
        """The permission must be a Permission."""
        rel = consented()

        with pytest.raises(InvalidRequest, match="permission"):
            receipt(rel, rel.permissions[0].to_dict(), controller=ACME, policy_url=POLICY_URL)  # type: ignore[arg-type]

    def test_another_contacts_permission(self) -> None:
        """A permission granted by someone else than the relationship's contact is refused."""
        rel = consented()
        foreign = attrs.evolve(rel.permissions[0], grantor="cy")

        with pytest.raises(InvalidRequest, match="'cy'"):
            receipt(rel, foreign, controller=ACME, policy_url=POLICY_URL)


class TestController:
    def test_round_trip(self) -> None:
        """to_dict and from_dict round-trip, through JSON too, for both address forms."""
        structured = Controller(
            "Acme",
            "DPO",
            "dpo@acme.example",
            {"streetAddress": "1 Main", "addressCountry": "CA"},
            "+1-555-0100",
            url="https://acme.example",
        )
        for controller in (ACME, structured):
            assert controller == Controller.from_dict(json.loads(json.dumps(controller.to_dict())))

    def test_pickles_and_copies(self) -> None:
        """A controller travels to worker processes and deep-copies, with either address form."""
        structured = Controller(
            "Acme", "DPO", "dpo@acme.example", {"streetAddress": "1 Main"}, "+1-555-0100",
            url="https://acme.example",
        )  # fmt: skip
        for controller in (ACME, structured):
            back = pickle.loads(pickle.dumps(controller))  # noqa: S301
            assert controller == back
            assert controller == copy.deepcopy(controller)
        with pytest.raises(TypeError):
            back.address["streetAddress"] = "2 Main"

    def test_frozen_and_hashable(self) -> None:
        """A controller is an immutable, hashable value, its address mapping read-only."""
        controller = Controller(
            "Acme", "DPO", "dpo@acme.example", {"streetAddress": "1 Main"}, "+1-555-0100"
        )

        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            controller.name = "Other"  # type: ignore[misc]
        with pytest.raises(TypeError):
            controller.address["streetAddress"] = "2 Main"  # type: ignore[index]
        assert hash(controller) == hash(Controller.from_dict(controller.to_dict()))

    @pytest.mark.parametrize(
        ("args", "field"),
        [
            (("", "DPO", "dpo@acme.example", "1 Main", "+1-555-0100"), "name"),
            (("Acme", None, "dpo@acme.example", "1 Main", "+1-555-0100"), "contact"),
            (("Acme", "DPO", " ", "1 Main", "+1-555-0100"), "email"),
            (("Acme", "DPO", "dpo@acme.example", "", "+1-555-0100"), "address"),
            (("Acme", "DPO", "dpo@acme.example", {}, "+1-555-0100"), "address"),
            (("Acme", "DPO", "dpo@acme.example", ["1 Main"], "+1-555-0100"), "address"),
            (("Acme", "DPO", "dpo@acme.example", {"street": "1 Main"}, "+1-555-0100"), "address"),
            (
                ("Acme", "DPO", "dpo@acme.example", {"streetAddress": ""}, "+1-555-0100"),
                "address.streetAddress",
            ),
            (("Acme", "DPO", "dpo@acme.example", "1 Main", " "), "phone"),
        ],
    )
    def test_invalid_fields(self, args: tuple[Any, ...], field: str) -> None:
        """Each invalid field raises InvalidRequest naming it."""
        with pytest.raises(InvalidRequest) as info:
            Controller(*args)

        assert field == info.value.field

    def test_invalid_url(self) -> None:
        """An empty URL is refused; None means no URL."""
        with pytest.raises(InvalidRequest, match="url"):
            Controller("Acme", "DPO", "dpo@acme.example", "1 Main", "+1-555-0100", url="")

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ("Acme", "expected a mapping"),
            ({"name": "Acme"}, "missing keys: address, contact, email, phone"),
            ({**ACME.to_dict(), "fax": "+1"}, "unknown keys: fax"),
        ],
    )
    def test_from_dict_refuses(self, data: Any, message: str) -> None:
        """from_dict names missing and unknown keys."""
        with pytest.raises(InvalidRequest, match=message):
            Controller.from_dict(data)


PERMISSIONS = st.builds(
    Permission,
    purpose=st.sampled_from(["marketing", "sales", "group_promotion", "newsletter"]),
    channel=st.none() | st.sampled_from(list(Channel)),
    basis=st.sampled_from(list(Basis)),
    grantor=st.just("bo"),
    # Hypothesis takes naive bounds and attaches the zone itself.
    granted_at=st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    expires_at=st.none() | st.just(datetime(2101, 1, 1, tzinfo=UTC)),
    withdrawn_at=st.none() | st.just(datetime(2101, 1, 1, tzinfo=UTC)),
    group=st.none() | st.text(min_size=1, max_size=8),
    source=st.none() | st.text(min_size=1, max_size=8),
    evidence=st.none() | st.builds(Evidence, st.sampled_from(["web_form", "written", "import"])),
)


@given(permission=PERMISSIONS)
def test_every_receipt_is_valid_and_deterministic(permission: Permission) -> None:
    """Any permission of the contact gives a schema-valid receipt whose id does not change."""
    rel = Relationship(sender="ana", contact="bo", jurisdiction="DE")

    first = receipt(rel, permission, controller=ACME, policy_url=POLICY_URL)
    second = receipt(rel, permission, controller=ACME, policy_url=POLICY_URL)

    VALIDATOR.validate(first)
    assert first == second
    since_epoch = timedelta(seconds=first["consentTimestamp"])
    assert (
        permission.granted_at - timedelta(seconds=1) < EPOCH + since_epoch <= permission.granted_at
    )
