"""
Tests for policy_for: every row of the jurisdiction table, and check() choosing by the contact's jurisdiction.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dateutil.relativedelta import relativedelta

from permission_networking import InvalidRequest, Policy, check, policy_for
from permission_networking._jurisdiction import _BY_CODE, _BY_CODE_MAX, EU_MEMBER_STATES
from timeline import Log, day


EU_27 = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
]  # fmt: skip

TABLE = [
    ("CA", "etiquette & casl"),
    ("ca", "etiquette & casl"),
    ("CA-QC", "etiquette & casl"),
    ("ca-on", "etiquette & casl"),
    ("US", "etiquette & can_spam & tcpa"),
    ("us", "etiquette & can_spam & tcpa"),
    ("US-NY", "etiquette & can_spam & tcpa"),
    ("US-FL", "etiquette & can_spam & tcpa"),
    ("us-fl", "etiquette & can_spam & tcpa"),
    ("GB", "etiquette & pecr"),
    ("gb", "etiquette & pecr"),
    ("GB-SCT", "etiquette & pecr"),
    ("UK", "etiquette & pecr"),
    ("uk", "etiquette & pecr"),
    ("EL", "etiquette & gdpr"),
    ("el", "etiquette & gdpr"),
    ("DE-BY", "etiquette & gdpr"),
    ("fr-75", "etiquette & gdpr"),
    (" de ", "etiquette & gdpr"),
    ("DE\u00a0", "etiquette & gdpr"),  # a no-break space, as copied from a web page
    ("\u3000de", "etiquette & gdpr"),
    ("IE-D", "etiquette & gdpr"),
    *[(code, "etiquette & gdpr") for code in EU_27],
    *[(code.lower(), "etiquette & gdpr") for code in EU_27],
    (None, "etiquette"),
    ("", "etiquette"),
    ("XX", "etiquette"),
    ("NO", "etiquette"),
    ("CH", "etiquette"),
    ("AU", "etiquette"),
    ("EU", "etiquette"),
    ("CAN", "etiquette"),
    ("USA", "etiquette"),
    ("\u0131e", "etiquette"),  # a dotless i, which upper() would make the I of IE
    ("u\u017f", "etiquette"),  # a long s, which upper() would make the S of US
]


@pytest.mark.parametrize(("jurisdiction", "name"), TABLE)
def test_table(jurisdiction: str | None, name: str) -> None:
    """Each jurisdiction maps to its row's policy, case-insensitively and by country for subdivisions."""
    assert name == policy_for(jurisdiction).name


def test_there_are_27_member_states() -> None:
    """The EU table lists the 27 member states and nothing else."""
    assert 27 == len(EU_MEMBER_STATES)
    assert set(EU_27) == EU_MEMBER_STATES


def test_parts_are_the_presets() -> None:
    """The parts of each policy are the presets its name says, with their rules."""
    assert [Policy.etiquette().rules, Policy.casl().rules] == [
        part.rules for part in policy_for("CA").leaves
    ]
    assert [Policy.etiquette().rules, Policy.can_spam().rules, Policy.tcpa().rules] == [
        part.rules for part in policy_for("US").leaves
    ]
    assert Policy.gdpr().rules == policy_for("DE").leaves[1].rules
    assert Policy.pecr().rules == policy_for("GB").leaves[1].rules


class TestDifferences:
    def test_florida_calls_end_at_eight(self) -> None:
        """US-FL's calling hours are 08:00-20:00, in every part and on the combination."""
        florida = policy_for("US-FL")

        assert (8, 20) == florida.call_hours
        assert [(8, 20), (8, 21), (8, 20)] == [part.call_hours for part in florida.leaves]
        assert (8, 21) == policy_for("US-NY").call_hours

    def test_florida_call_at_half_past_eight(self) -> None:
        """A call at 20:30 Miami time is allowed in New York's rules and denied in Florida's."""
        rel = (
            Log()
            .add("profile_updated", 0, metadata={"timezone": "America/New_York"})
            .inbound("meeting", 0)
            .relationship()
        )
        at = datetime(2026, 3, 4, 1, 30, tzinfo=UTC)  # 20:30 EST on 3 March

        assert check(rel, "call", at=at, policy=policy_for("US-NY")).allowed
        decision = check(rel, "call", at=at, policy=policy_for("US-FL"))
        assert ["quiet_hours"] == list(decision.codes)
        assert datetime(2026, 3, 4, 13, 0, tzinfo=UTC) == decision.retry_at

    def test_ireland_limits_the_soft_opt_in(self) -> None:
        """IE's soft opt-in holds 12 months after the sale; other member states set no limit."""
        ireland = policy_for("IE")
        assert relativedelta(months=12) == ireland.soft_opt_in_window
        assert [relativedelta(months=12)] * 2 == [
            part.soft_opt_in_window for part in ireland.leaves
        ]
        assert policy_for("DE").soft_opt_in_window is None

    def test_ireland_soft_opt_in_lapses(self) -> None:
        """An Irish customer's soft opt-in lapses on the sale's anniversary; a German one's does not."""
        rel = Log().inbound("purchase", 0, metadata={"soft_opt_in": "offered"}).relationship()
        anniversary = day(0) + relativedelta(months=12)
        ireland, germany = policy_for("IE").leaves[1], policy_for("DE").leaves[1]

        before = check(
            rel, "send_marketing", at=anniversary - relativedelta(seconds=1), policy=ireland
        )
        after = check(rel, "send_marketing", at=anniversary, policy=ireland)

        assert before.allowed
        assert ["consent_expired"] == list(after.codes)
        assert check(rel, "send_marketing", at=anniversary, policy=germany).allowed

    def test_unknown_jurisdiction_warns(self) -> None:
        """With no law chosen, a commercial action carries the jurisdiction_unknown warning."""
        log = Log().add("profile_updated", 0, metadata={"jurisdiction": "XX"})
        rel = log.inbound("connection_accepted", 0).inbound("inquiry", 1).relationship()

        decision = check(rel, "pitch", at=day(2))

        assert decision.allowed
        assert ["jurisdiction_unknown"] == [warning.code for warning in decision.warnings]
        assert "'XX'" in decision.warnings[0].message


class TestCache:
    def test_policies_are_built_once(self) -> None:
        """The same row gives the very same policy object, whatever the spelling."""
        assert policy_for("DE") is policy_for("fr-75")
        assert policy_for("UK") is policy_for("gb")
        assert policy_for("GR") is policy_for("EL")
        assert policy_for(None) is policy_for("XX")

    def test_rows_with_other_settings_are_other_policies(self) -> None:
        """Ireland and Florida have policies of their own."""
        assert policy_for("IE") is not policy_for("DE")
        assert policy_for("US-FL") is not policy_for("US")
        assert policy_for("US-FL") == Policy.etiquette(
            call_hours=(8, 20)
        ) & Policy.can_spam() & Policy.tcpa(call_hours=(8, 20))


@pytest.mark.parametrize("value", [124, ["CA"], b"CA"])
def test_a_non_string_is_refused(value: object) -> None:
    """A jurisdiction that is neither a string nor None is an InvalidRequest naming it, every time."""
    for _ in range(2):
        with pytest.raises(InvalidRequest) as info:
            policy_for(value)  # type: ignore[arg-type]

        assert "jurisdiction" == info.value.field


class _Code(str):
    """
    A str subclass, as an ORM may hand one over.
    """

    __slots__ = ()


def test_codes_as_written_give_the_shared_policies() -> None:
    """Each spelling of a code, asked again or as a str subclass, gives the one shared policy."""
    for code in ("CA", "ca-on", " ca ", _Code("CA-QC"), "CA"):
        assert policy_for("CA") is policy_for(code)
    assert policy_for(None) is policy_for(None)
    assert policy_for(None) is policy_for("XX")


def test_the_codes_remembered_are_bounded() -> None:
    """Thousands of distinct codes leave a bounded memory of them, and the right policies."""
    codes = [f"DE-{n}" for n in range(3000)]

    policies = {policy_for(code).name for code in codes}

    assert {"etiquette & gdpr"} == policies
    assert len(_BY_CODE) <= _BY_CODE_MAX


class TestCheckChoosesByJurisdiction:
    @pytest.mark.parametrize(
        ("jurisdiction", "policy"),
        [
            ("CA-BC", "etiquette & casl"),
            ("US-TX", "etiquette & can_spam & tcpa"),
            ("NL", "etiquette & gdpr"),
            ("UK", "etiquette & pecr"),
        ],
    )
    def test_policy_none_uses_the_contacts_jurisdiction(
        self, jurisdiction: str, policy: str
    ) -> None:
        """check(policy=None) decides with policy_for(relationship.jurisdiction)."""
        rel = (
            Log().add("profile_updated", 0, metadata={"jurisdiction": jurisdiction}).relationship()
        )

        assert policy == check(rel, "send_marketing", at=day(1)).policy

    def test_without_jurisdiction(self) -> None:
        """check(policy=None) on a contact of unknown jurisdiction warns on a commercial action."""
        rel = Log().inbound("connection_accepted", 0).inbound("inquiry", 1).relationship()

        decision = check(rel, "pitch", at=day(2))

        assert "etiquette" == decision.policy
        assert ["jurisdiction_unknown"] == [warning.code for warning in decision.warnings]

    def test_canadian_purchase(self) -> None:
        """A Canadian customer: CASL allows on implied consent, but etiquette still wants an opt-in."""
        rel = (
            Log()
            .add("profile_updated", 0, metadata={"jurisdiction": "CA"})
            .inbound("purchase", 0)
            .inbound("message", 0)
            .relationship()
        )

        decision = check(rel, "send_marketing", at=day(1))

        assert ["no_consent"] == list(decision.codes)
        assert ["marketing"] == [reason.rule for reason in decision.reasons]
