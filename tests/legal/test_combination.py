"""
Tests for combining the legal presets with etiquette and with each other through ``&``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dateutil.relativedelta import relativedelta

from permission_networking import Evidence, InvalidRequest, Policy, check, policy_for
from timeline import Log, day


ETIQUETTE = Policy.etiquette()
NEW_YORK = "America/New_York"


def engaged() -> Log:
    """
    A contact who accepted on day 0 and replied on day 1.
    """
    return Log().inbound("connection_accepted", 0).inbound("message", 1)


class TestNames:
    def test_name_joins_the_parts(self) -> None:
        """The combination's name joins its parts' names with ' & '."""
        assert "etiquette & casl" == (ETIQUETTE & Policy.casl()).name
        assert "etiquette & can_spam & tcpa" == (ETIQUETTE & Policy.can_spam() & Policy.tcpa()).name

    def test_decision_names_the_combination(self) -> None:
        """A decision under a combination carries the combination's name."""
        decision = check(
            engaged().relationship(), "message", at=day(2), policy=ETIQUETTE & Policy.gdpr()
        )

        assert "etiquette & gdpr" == decision.policy

    def test_parts_keep_their_own_settings(self) -> None:
        """Each part of a combination decides with its own settings."""
        combined = Policy.etiquette() & Policy.tcpa(call_hours=(8, 20))

        assert [(8, 21), (8, 20)] == [part.call_hours for part in combined.leaves]


class TestOnlyOnePartDenies:
    def test_only_the_law_denies(self) -> None:
        """Etiquette allows a pitch answering an inquiry 7 months ago; CASL's 6-month window has lapsed."""
        rel = engaged().inbound("inquiry", 1).inbound("message", 200).relationship()
        lenient = Policy.etiquette(interest_ttl=relativedelta(years=1))

        alone = check(rel, "pitch", at=day(215), channel="email", policy=lenient)
        combined = check(rel, "pitch", at=day(215), channel="email", policy=lenient & Policy.casl())

        assert alone.allowed
        assert ["consent_expired"] == list(combined.codes)
        assert "casl" == combined.reasons[0].rule
        assert () == combined.obligations

    def test_only_etiquette_denies(self) -> None:
        """CASL allows marketing on implied consent from a purchase; etiquette wants express consent."""
        rel = engaged().inbound("purchase", 1).relationship()

        law = check(rel, "send_marketing", at=day(2), policy=Policy.casl())
        combined = check(rel, "send_marketing", at=day(2), policy=ETIQUETTE & Policy.casl())

        assert law.allowed
        assert ["no_consent"] == list(combined.codes)
        assert "marketing" == combined.reasons[0].rule

    def test_only_tcpa_denies_a_text_pitch(self) -> None:
        """Etiquette and CAN-SPAM allow a pitch by text answering an inquiry; the TCPA wants written consent."""
        rel = engaged().inbound("inquiry", 1).relationship()
        us = ETIQUETTE & Policy.can_spam() & Policy.tcpa()

        assert check(rel, "pitch", at=day(2), channel="sms", policy=ETIQUETTE).allowed
        decision = check(rel, "pitch", at=day(2), channel="sms", policy=us)

        assert ["no_consent"] == list(decision.codes)
        assert "tcpa_consent" == decision.reasons[0].rule

    def test_both_allow(self) -> None:
        """When every part allows, the combination allows with every part's obligations once each."""
        rel = (
            engaged()
            .inbound(
                "opt_in_granted",
                1,
                purpose="marketing",
                channel="email",
                evidence=Evidence("web_form"),
            )
            .relationship()
        )

        decision = check(
            rel, "send_marketing", at=day(2), policy=ETIQUETTE & Policy.casl() & Policy.can_spam()
        )

        assert decision.allowed
        assert (
            "include_unsubscribe",
            "identify_sender",
            "identify_as_advertisement",
            "include_postal_address",
        ) == decision.obligations

    def test_referral_obligation_survives_the_combination(self) -> None:
        """name_referrer comes through a combination that allows under the referral exemption."""
        rel = (
            engaged()
            .add("introduced", 1, metadata={"introducer": "Cy"})
            .inbound("inquiry", 1)
            .relationship()
        )
        law = Policy.casl(inquiry_window=relativedelta(days=1))

        decision = check(rel, "pitch", at=day(3), channel="email", policy=ETIQUETTE & law)

        assert decision.allowed
        assert "name_referrer" in decision.obligations


class TestSameCode:
    def test_the_later_until_is_kept(self) -> None:
        """Two parts denying with quiet_hours keep the reason with the later until, in either order."""
        rel = Log().add("profile_updated", 0, metadata={"timezone": NEW_YORK}).inbound("meeting", 0)
        early = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # 07:00 EST
        nine = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
        late_etiquette = Policy.etiquette(call_hours=(9, 21))

        for policy in (late_etiquette & Policy.tcpa(), Policy.tcpa() & late_etiquette):
            decision = check(rel.relationship(), "call", at=early, policy=policy)

            assert ["quiet_hours"] == list(decision.codes)
            assert nine == decision.reasons[0].until
            assert nine == decision.retry_at

    def test_the_same_code_without_until_appears_once(self) -> None:
        """Etiquette and GDPR both say no_consent: the decision lists it once."""
        decision = check(
            engaged().relationship(), "send_marketing", at=day(2), policy=ETIQUETTE & Policy.gdpr()
        )

        assert ["no_consent"] == list(decision.codes)
        assert decision.retry_at is None

    def test_retry_at_is_none_when_one_reason_has_no_until(self) -> None:
        """quiet_hours from etiquette and no_consent from the TCPA: time alone will not do."""
        rel = Log().add("profile_updated", 0, metadata={"timezone": NEW_YORK}).inbound("meeting", 0)
        night = datetime(2026, 3, 4, 4, 0, tzinfo=UTC)

        decision = check(
            rel.relationship(), "call", at=night, purpose="sales", policy=ETIQUETTE & Policy.tcpa()
        )

        assert {"quiet_hours", "no_consent"} == set(decision.codes)
        assert decision.retry_at is None


def test_warnings_come_through() -> None:
    """A warning of one part (no_shared_context) survives the combination."""
    decision = check(Log().relationship(), "connect", at=day(0), policy=ETIQUETTE & Policy.casl())

    assert decision.allowed
    assert ["no_shared_context"] == [warning.code for warning in decision.warnings]


def test_suggestions_use_the_combination() -> None:
    """A denied commercial action suggests what the whole combination allows now."""
    rel = engaged().relationship()

    decision = check(rel, "send_marketing", at=day(2), policy=ETIQUETTE & Policy.casl())

    assert "share_value" in decision.suggestions
    assert "request_opt_in" not in decision.suggestions


@pytest.mark.parametrize(
    ("policy", "channel"),
    [
        (Policy.casl(), "email"),
        (Policy.can_spam(), "email"),
        (Policy.gdpr(), "email"),
        (Policy.pecr(), "email"),
        (Policy.tcpa(), "sms"),
    ],
    ids=["casl", "can_spam", "gdpr", "pecr", "tcpa"],
)
def test_every_preset_honours_a_complaint_alone(policy: Policy, channel: str) -> None:
    """A spam complaint denies a pitch in every preset used alone, even with a sales consent, until a new opt-in."""
    written = Evidence("written")
    log = Log().inbound("opt_in_granted", 0, purpose="sales", channel=channel, evidence=written)
    log.inbound("complaint", 1)

    after_complaint = check(log.relationship(), "pitch", at=day(2), channel=channel, policy=policy)
    log.inbound("opt_in_granted", 3, purpose="sales", channel=channel, evidence=written)
    after_new_opt_in = check(log.relationship(), "pitch", at=day(4), channel=channel, policy=policy)

    assert ["consent_withdrawn"] == list(after_complaint.codes)
    assert "spam" in after_complaint.reasons[0].message
    assert after_new_opt_in.allowed


class TestBuildingCombinations:
    def test_a_combination_given_as_a_part_keeps_its_rules(self) -> None:
        """A policy whose part is itself a combination decides with that combination's parts."""
        strict = Policy.etiquette(max_unanswered=1)
        nested = Policy("nested", parts=[strict & Policy.casl()])
        rel = Log().inbound("connection_accepted", 0).add("message", 1).relationship()

        assert ("unanswered_limit",) == check(rel, "message", at=day(2), policy=nested).codes
        assert ["etiquette", "casl"] == [leaf.name for leaf in nested.leaves]

    def test_rules_and_parts_together_are_refused(self) -> None:
        """A policy cannot have rules of its own beside parts: one of them would be ignored."""
        with pytest.raises(InvalidRequest) as raised:
            Policy("both", rules=Policy.etiquette().rules, parts=[Policy.casl()])

        assert "parts" == raised.value.field

    def test_a_setting_replaced_on_a_combination_holds_in_every_part(self) -> None:
        """policy_for(...).replace(...) tightens what each part decides with."""
        strict = policy_for("US").replace(max_unanswered=1)
        rel = Log().inbound("connection_accepted", 0).add("message", 1).relationship()

        assert {1} == {leaf.max_unanswered for leaf in strict.leaves}
        assert ("unanswered_limit",) == check(rel, "message", at=day(2), policy=strict).codes
        assert "etiquette & can_spam & tcpa" == strict.name

    def test_a_nan_span_is_refused(self) -> None:
        """A span of NaN days is no span of time, in a preset or a replacement."""
        with pytest.raises(InvalidRequest) as raised:
            Policy.etiquette().replace(cooling_off=relativedelta(days=float("nan")))  # type: ignore[arg-type]

        assert "cooling_off" == raised.value.field

    def test_a_name_that_cannot_be_written_is_refused(self) -> None:
        """A policy's name holding a lone surrogate is refused, as a group's is."""
        with pytest.raises(InvalidRequest) as raised:
            Policy("bad\ud800name")

        assert "name" == raised.value.field
