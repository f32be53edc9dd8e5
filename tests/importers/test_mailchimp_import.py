from __future__ import annotations

import zipfile

from pathlib import Path

import pytest

from permission_networking import (
    Action,
    ImportFormatError,
    Interaction,
    InvalidRequest,
    Policy,
    RelationshipState,
    check,
    replay,
)
from permission_networking.importers import read_linkedin_export, read_mailchimp_export
from permission_networking.importers._common import parse_utc
from zips import zip_encrypted


FIXTURES = Path(__file__).parent / "fixtures" / "mailchimp"
HEADER = "Email Address,First Name,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,TIMEZONE,CC,REGION,LAST_CHANGED"


def era_files(era: str) -> list[Path]:
    """
    Return the member CSVs of an era's export.
    """
    return sorted((FIXTURES / era).glob("*.csv"))


def summary(interactions: list[Interaction]) -> set[tuple[str, str, str, str | None, str]]:
    """
    Return (at, kind, channel, purpose, contact) of each interaction.
    """
    return {
        (
            i.at.isoformat(),
            i.kind.value,
            i.channel.value,
            None if i.purpose is None else str(i.purpose),
            i.contact,
        )
        for i in interactions
    }


def of(interactions: list[Interaction], contact: str) -> list[Interaction]:
    """
    Return the interactions with *contact*.
    """
    return [i for i in interactions if i.contact == contact]


ERAS = {
    "2016": {
        (
            "2016-04-18T13:51:14+00:00",
            "opt_in_granted",
            "email",
            "marketing",
            "maya.white@example.com",
        ),
        (
            "2016-04-18T13:52:40+00:00",
            "opt_in_confirmed",
            "email",
            "marketing",
            "maya.white@example.com",
        ),
        ("2016-04-18T13:51:14+00:00", "profile_updated", "other", None, "maya.white@example.com"),
        (
            "2016-04-18T13:51:14+00:00",
            "opt_in_granted",
            "email",
            "marketing",
            "b.mwangi@example.com",
        ),
        ("2015-06-25T17:38:27+00:00", "opt_in_granted", "email", "marketing", "rick@example.org"),
        ("2015-06-25T17:38:27+00:00", "profile_updated", "other", None, "rick@example.org"),
        ("2016-02-01T09:00:00+00:00", "opt_out", "other", "marketing", "rick@example.org"),
        (
            "2014-09-01T08:00:00+00:00",
            "opt_in_granted",
            "email",
            "marketing",
            "old.address@example.net",
        ),
        (
            "2014-09-01T08:03:10+00:00",
            "opt_in_confirmed",
            "email",
            "marketing",
            "old.address@example.net",
        ),
        ("2016-03-03T10:15:00+00:00", "bounced", "email", None, "old.address@example.net"),
    },
    "2024": {
        ("2024-03-14T09:12:31+00:00", "opt_in_granted", "email", "marketing", "ada@example.com"),
        ("2024-03-14T09:14:00+00:00", "opt_in_confirmed", "email", "marketing", "ada@example.com"),
        ("2024-03-14T09:12:31+00:00", "profile_updated", "other", None, "ada@example.com"),
        ("2024-04-01T16:20:05+00:00", "opt_in_granted", "email", "marketing", "grace@example.com"),
        ("2024-04-01T16:20:05+00:00", "profile_updated", "other", None, "grace@example.com"),
        ("2023-11-02T10:00:00+00:00", "opt_in_granted", "email", "marketing", "linus@example.de"),
        ("2023-11-02T10:05:00+00:00", "opt_in_confirmed", "email", "marketing", "linus@example.de"),
        ("2023-11-02T10:00:00+00:00", "profile_updated", "other", None, "linus@example.de"),
        ("2024-06-30T21:45:12+00:00", "opt_out", "other", "marketing", "linus@example.de"),
        ("2022-01-10T12:00:00+00:00", "opt_in_granted", "email", "marketing", "gone@example.net"),
        ("2024-02-14T07:30:00+00:00", "bounced", "email", None, "gone@example.net"),
    },
}


class TestEras:
    @pytest.mark.parametrize("era", sorted(ERAS))
    def test_every_era_loads_into_the_expected_interactions(self, era: str) -> None:
        """Subscribed, unsubscribed and cleaned members give their consents, opt-outs and bounces."""
        interactions = read_mailchimp_export(*era_files(era), sender="acme")

        assert ERAS[era] == summary(interactions)
        assert len(ERAS[era]) == len(interactions)
        assert {"acme"} == {i.sender for i in interactions}

    @pytest.mark.parametrize("era", sorted(ERAS))
    def test_importing_twice_gives_the_same_ids(self, era: str) -> None:
        """Ids depend only on the content, so a second import adds nothing new."""
        first = read_mailchimp_export(*era_files(era), sender="acme")
        second = read_mailchimp_export(*era_files(era), sender="acme")

        assert [i.id for i in first] == [i.id for i in second]
        assert all(i.id.startswith("mailchimp:") for i in first)

    def test_the_zip_mailchimp_sends_reads_like_its_files(self, tmp_path: Path) -> None:
        """The export's zip gives what its three CSVs give."""
        archive = tmp_path / "members_export_3b1f0c9d2e.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for file in era_files("2024"):
                zf.write(file, file.name)
            zf.writestr("__MACOSX/._subscribed.csv", b"\x00\x05\x16\x07")

        assert ERAS["2024"] == summary(read_mailchimp_export(archive, sender="acme"))


class TestConsent:
    def test_double_opt_in_keeps_both_steps_with_their_evidence(self) -> None:
        """OPTIN and CONFIRM become a grant and a confirmation, with method, time and IP."""
        ada = of(read_mailchimp_export(*era_files("2024"), sender="acme"), "ada@example.com")
        granted = next(i for i in ada if i.kind.value == "opt_in_granted")
        confirmed = next(i for i in ada if i.kind.value == "opt_in_confirmed")

        assert granted.evidence is not None
        assert confirmed.evidence is not None
        assert ("web_form", "192.0.2.10") == (granted.evidence.method, granted.evidence.source)
        assert granted.at == granted.evidence.captured_at
        assert ("double_opt_in", "192.0.2.10") == (
            confirmed.evidence.method,
            confirmed.evidence.source,
        )

    def test_a_confirm_time_alone_is_an_imported_consent(self) -> None:
        """A member with only CONFIRM_TIME was imported: the grant's evidence method is import."""
        (granted,) = of(
            read_mailchimp_export(*era_files("2016"), sender="acme"), "b.mwangi@example.com"
        )

        assert granted.evidence is not None
        assert ("import", None) == (granted.evidence.method, granted.evidence.source)

    def test_a_subscriber_may_be_sent_marketing_with_unsubscribe(self) -> None:
        """A double opt-in from the export permits marketing email under the etiquette."""
        ada = replay(
            of(read_mailchimp_export(*era_files("2024"), sender="acme"), "ada@example.com")
        )

        decision = check(
            ada, Action.SEND_MARKETING, at="2024-06-01T12:00:00Z", policy=Policy.etiquette()
        )

        assert RelationshipState.OPTED_IN == ada.state
        assert decision.allowed
        assert "include_unsubscribe" in decision.obligations

    def test_an_unsubscribe_withdraws_marketing(self) -> None:
        """An unsubscribed member may not be sent marketing: their consent is withdrawn."""
        linus = replay(
            of(read_mailchimp_export(*era_files("2024"), sender="acme"), "linus@example.de")
        )

        decision = check(
            linus, Action.SEND_MARKETING, at="2024-07-01T12:00:00Z", policy=Policy.etiquette()
        )

        assert "consent_withdrawn" in decision.codes
        assert {"reason": "NORMAL"} == dict(
            next(
                i
                for i in of(
                    read_mailchimp_export(*era_files("2024"), sender="acme"), "linus@example.de"
                )
                if i.kind.value == "opt_out"
            ).metadata
        )

    def test_a_cleaned_address_is_undeliverable(self) -> None:
        """A cleaned member's email bounced: marketing by email is denied undeliverable."""
        gone = replay(
            of(read_mailchimp_export(*era_files("2024"), sender="acme"), "gone@example.net")
        )

        decision = check(
            gone, Action.SEND_MARKETING, at="2024-03-01T12:00:00Z", policy=Policy.etiquette()
        )

        assert "undeliverable" in decision.codes


class TestProfile:
    def test_timezone_and_region_become_the_contact_profile(self) -> None:
        """TIMEZONE and CC/REGION give the contact's zone and jurisdiction."""
        maya = replay(
            of(read_mailchimp_export(*era_files("2016"), sender="acme"), "maya.white@example.com")
        )

        assert ("America/Toronto", "CA-ON") == (maya.timezone, maya.jurisdiction)

    def test_a_timezone_that_is_no_iana_name_is_left_out(self) -> None:
        """A TIMEZONE Mailchimp guessed wrong (GMT-5) does not break the import and is skipped."""
        grace = of(read_mailchimp_export(*era_files("2024"), sender="acme"), "grace@example.com")
        (profile,) = [i for i in grace if i.kind.value == "profile_updated"]

        assert {"jurisdiction": "US-DC"} == dict(profile.metadata)

    @pytest.mark.parametrize(
        ("timezone", "country", "region", "expected"),
        [
            ("Europe/Berlin", "de", "be", {"timezone": "Europe/Berlin", "jurisdiction": "DE-BE"}),
            ("America/", "", "", None),
            ("../etc/passwd", "FR", "Île-de-France", {"jurisdiction": "FR"}),
            ("Mars/Olympus_Mons", "USA", "CA", None),
        ],
    )
    def test_profile_values_are_checked(
        self,
        tmp_path: Path,
        timezone: str,
        country: str,
        region: str,
        expected: dict[str, str] | None,
    ) -> None:
        """Only IANA zones, two-letter countries and short region codes make the profile."""
        path = tmp_path / "members.csv"
        path.write_text(
            HEADER
            + f"\njo@example.com,Jo,2,2024-01-01 10:00:00,,,,{timezone},{country},{region},\n",
            encoding="utf-8",
        )

        profiles = [
            dict(i.metadata)
            for i in read_mailchimp_export(path, sender="acme")
            if i.kind.value == "profile_updated"
        ]

        assert ([] if expected is None else [expected]) == profiles

    def test_a_row_without_any_time_gives_no_profile(self, tmp_path: Path) -> None:
        """Without a time in the row there is nothing to date the profile by."""
        path = tmp_path / "members.csv"
        path.write_text(HEADER + "\njo@example.com,Jo,2,,,,,Europe/Paris,FR,,\n", encoding="utf-8")

        assert [] == read_mailchimp_export(path, sender="acme")


class TestBadInput:
    def test_an_empty_sender_is_refused(self) -> None:
        """The audience's owner must be named."""
        with pytest.raises(InvalidRequest, match="sender"):
            read_mailchimp_export(*era_files("2024"), sender=" ")

    def test_a_missing_file_raises_file_not_found(self, tmp_path: Path) -> None:
        """A path that does not exist is reported as such."""
        with pytest.raises(FileNotFoundError):
            read_mailchimp_export(tmp_path / "nowhere.csv", sender="acme")

    def test_another_csv_is_refused(self, tmp_path: Path) -> None:
        """A CSV without Mailchimp's columns says what was expected."""
        path = tmp_path / "contacts.csv"
        path.write_text("email,name\njo@example.com,Jo\n", encoding="utf-8")

        with pytest.raises(ImportFormatError, match="OPTIN_TIME and CONFIRM_TIME"):
            read_mailchimp_export(path, sender="acme")

    def test_a_renamed_email_field_is_found_in_the_first_column(self, tmp_path: Path) -> None:
        """An audience whose email field was renamed still imports: Mailchimp exports it first."""
        path = tmp_path / "members.csv"
        path.write_text(
            "E-Mail-Adresse,Vorname,OPTIN_TIME,CONFIRM_TIME\nJo@Example.de,Jo,2024-01-01 10:00:00,\n",
            encoding="utf-8",
        )

        (granted,) = read_mailchimp_export(path, sender="acme")

        assert "jo@example.de" == granted.contact

    def test_a_file_without_an_email_column_is_refused(self, tmp_path: Path) -> None:
        """The email column must be there: it is the contact's id."""
        path = tmp_path / "members.csv"
        path.write_text("Name,OPTIN_TIME,CONFIRM_TIME\nJo,,\n", encoding="utf-8")

        with pytest.raises(ImportFormatError, match="no Email Address column"):
            read_mailchimp_export(path, sender="acme")

    @pytest.mark.parametrize(
        ("row", "match"),
        [
            ("not-an-address,Jo,2,2024-01-01 10:00:00,,,,,,,", "not an email address"),
            ("jo@example.com,Jo,2,last tuesday,,,,,,,", "OPTIN_TIME 'last tuesday'"),
            # Cut short before its UNSUB_TIME, a row would read as consent.
            ("jo@example.com,Jo,2,2024-01-01 10:00:00", "4 cells where the header has 11"),
            ("jo@example.com,Jo,2," + "9" * 5000 + ",,,,,,,", r"'9{199}\.\.\. \(5002 characters\)"),
        ],
    )
    def test_a_bad_row_names_the_file_and_line(self, tmp_path: Path, row: str, match: str) -> None:
        """A row Mailchimp would not write stops the whole import, naming its line."""
        path = tmp_path / "members.csv"
        path.write_text(
            HEADER + "\nok@example.com,Ok,2,2024-01-01 10:00:00,,,,,,,\n" + row + "\n",
            encoding="utf-8",
        )

        with pytest.raises(ImportFormatError, match=match) as raised:
            read_mailchimp_export(path, sender="acme")
        assert 3 == raised.value.line

    def test_a_confirmation_at_the_instant_of_the_opt_in_confirms_it(self, tmp_path: Path) -> None:
        """Equal OPTIN_TIME and CONFIRM_TIME confirm the grant for every member, whatever their ids."""
        path = tmp_path / "members.csv"
        rows = [
            f"m{n}@example.com,M,2,2024-01-01 10:00:00,,2024-01-01 10:00:00,,,,," for n in range(20)
        ]
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")

        interactions = read_mailchimp_export(path, sender="acme")

        assert 20 == sum(i.kind.value == "opt_in_confirmed" for i in interactions)
        strict = Policy.etiquette(double_opt_in=True)
        for n in range(20):
            relationship = replay(of(interactions, f"m{n}@example.com"))
            assert check(relationship, "send_marketing", policy=strict).allowed
        assert interactions == read_mailchimp_export(path, sender="acme")

    @pytest.mark.parametrize(
        ("header", "ending", "code"),
        [
            ("UNSUB_TIME,UNSUB_REASON", "NORMAL", "consent_withdrawn"),
            ("CLEAN_TIME,CLEAN_CAMPAIGN_TITLE", "June news", "undeliverable"),
        ],
    )
    @pytest.mark.parametrize("confirm", ["", "2024-01-01 10:00:00"])
    def test_an_unsubscribe_or_clean_at_the_instant_of_the_opt_in_stands(
        self, tmp_path: Path, header: str, ending: str, code: str, confirm: str
    ) -> None:
        """A member unsubscribed or cleaned at the instant they opted in may not be sent marketing."""
        at = "2024-01-01 10:00:00"
        path = tmp_path / "members.csv"
        rows = [f"m{n}@example.com,M,2,{at},,{confirm},,,,,{at},{ending},{at}" for n in range(20)]
        columns = HEADER.removesuffix(",LAST_CHANGED") + f",{header},LAST_CHANGED"
        path.write_text("\n".join([columns, *rows]) + "\n", encoding="utf-8")

        interactions = read_mailchimp_export(path, sender="acme")

        for n in range(20):
            relationship = replay(of(interactions, f"m{n}@example.com"))
            decision = check(relationship, "send_marketing", at="2024-01-02T00:00:00Z")
            assert code in decision.codes
        assert interactions == read_mailchimp_export(path, sender="acme")

    def test_times_are_imported_as_written(self, tmp_path: Path) -> None:
        """A confirmation dated before its grant is kept as the export dated it; an offset is honoured."""
        path = tmp_path / "members.csv"
        path.write_text(
            HEADER + "\njo@example.com,Jo,2,2024-01-01 10:00:00,,2024-01-01T02:00:00+03:00,,,,,\n",
            encoding="utf-8",
        )

        (confirmed, granted) = read_mailchimp_export(path, sender="acme")

        assert ("opt_in_confirmed", "2023-12-31T23:00:00+00:00") == (
            confirmed.kind.value,
            confirmed.at.isoformat(),
        )
        assert "opt_in_granted" == granted.kind.value

    def test_a_zip_naming_a_file_in_bytes_that_are_not_utf8_is_refused(
        self, tmp_path: Path
    ) -> None:
        """A zip whose flags promise UTF-8 names it does not hold is a broken zip."""
        archive = tmp_path / "export.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("members.csv", HEADER + "\n")
            zf.writestr("\u00e9.csv", "x\n")
        archive.write_bytes(archive.read_bytes().replace("\u00e9".encode(), b"\xff\xfe"))

        with pytest.raises(ImportFormatError, match="cannot read the zip archive"):
            read_mailchimp_export(archive, sender="acme")
        with pytest.raises(ImportFormatError, match="cannot read the zip archive"):
            read_linkedin_export(archive, sender="https://www.linkedin.com/in/owner")

    def test_a_zip_without_csv_files_is_refused(self, tmp_path: Path) -> None:
        """A zip holding no member CSV is not an audience export."""
        archive = tmp_path / "export.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("readme.txt", "nothing here")

        with pytest.raises(ImportFormatError, match="no CSV file"):
            read_mailchimp_export(archive, sender="acme")

    def test_a_broken_zip_is_refused(self, tmp_path: Path) -> None:
        """A zip that cannot be read is reported, not half-read."""
        archive = tmp_path / "export.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for file in era_files("2024"):
                zf.write(file, file.name)
        data = bytearray(archive.read_bytes())
        data[40:80] = b"\x00" * 40
        archive.write_bytes(bytes(data))

        with pytest.raises(ImportFormatError, match="cannot read the zip archive"):
            read_mailchimp_export(archive, sender="acme")

    def test_a_folder_is_refused(self, tmp_path: Path) -> None:
        """A folder is neither a member CSV nor a zip: ImportFormatError says so."""
        with pytest.raises(ImportFormatError, match="a folder"):
            read_mailchimp_export(tmp_path, sender="acme")

    def test_an_encrypted_zip_is_refused(self, tmp_path: Path) -> None:
        """A zip that asks for a password is an export this reader cannot read."""
        archive = zip_encrypted(era_files("2024"), tmp_path / "export.zip")

        with pytest.raises(ImportFormatError, match=r"cannot read the zip archive.*encrypted"):
            read_mailchimp_export(archive, sender="acme")


def test_a_time_out_of_range_is_a_value_error() -> None:
    """A zoned time that falls past year 9999 in UTC is a ValueError, which readers report."""
    with pytest.raises(ValueError, match="out of range"):
        parse_utc("9999-12-31 23:00:00-05:00")
