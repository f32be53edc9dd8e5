from __future__ import annotations

import shutil
import zipfile

from pathlib import Path

import pytest

from hypothesis import given
from hypothesis import strategies as st

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
from permission_networking.importers import read_linkedin_export
from permission_networking.importers.linkedin import canonical_profile_url
from zips import zip_encrypted


FIXTURES = Path(__file__).parent / "fixtures" / "linkedin"
OWNER = "https://www.linkedin.com/in/jordanpike"
INES = "https://www.linkedin.com/in/ines-okafor-l-3b2a91"


def _connected_by_name(tmp_path: Path, row: str) -> Path:
    """
    Return a new export folder whose Connections.csv, of an era without URLs, holds *row*.
    """
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Connections.csv").write_text(
        f"First Name,Last Name,Email Address,Company,Position,Connected On\n{row}\n",
        encoding="utf-8",
    )
    return folder


def summary(interactions: list[Interaction]) -> list[tuple[str, str, str, str]]:
    """
    Return (at, kind, direction, contact) of each interaction, in order.
    """
    return [(i.at.isoformat(), i.kind.value, i.direction.value, i.contact) for i in interactions]


ERAS = {
    "Basic_LinkedInDataExport_05-14-2021": [
        ("2019-11-14T00:00:00+00:00", "connection_accepted", "outbound", "Tomás Reyes"),
        (
            "2021-02-01T09:12:00+00:00",
            "connection_requested",
            "outbound",
            "https://www.linkedin.com/in/priya-raman-42",
        ),
        (
            "2021-02-02T00:00:00+00:00",
            "connection_accepted",
            "inbound",
            "https://www.linkedin.com/in/priya-raman-42",
        ),
        ("2021-03-11T18:45:00+00:00", "connection_requested", "inbound", INES),
        ("2021-03-12T00:00:00+00:00", "connection_accepted", "outbound", INES),
        ("2021-03-20T08:00:00+00:00", "message", "outbound", "Tomás Reyes"),
        ("2021-04-01T17:02:11+00:00", "message", "outbound", INES),
        ("2021-04-02T09:15:40+00:00", "message", "inbound", INES),
    ],
    "Complete_LinkedInDataExport_09-18-2022": [
        ("2022-05-02T23:20:00+00:00", "connection_requested", "inbound", "Marco Bellini"),
        ("2022-05-03T00:00:00+00:00", "connection_accepted", "outbound", "Marco Bellini"),
        (
            "2022-08-21T00:00:00+00:00",
            "connection_accepted",
            "outbound",
            "https://www.linkedin.com/in/janedoe-phd",
        ),
        (
            "2022-08-22T10:00:00+00:00",
            "message",
            "outbound",
            "https://www.linkedin.com/in/janedoe-phd",
        ),
        (
            "2022-08-23T07:45:10+00:00",
            "message",
            "inbound",
            "https://www.linkedin.com/in/janedoe-phd",
        ),
    ],
    "Basic_LinkedInDataExport_10-21-2023": [
        ("2021-03-12T00:00:00+00:00", "connection_accepted", "outbound", INES),
        (
            "2023-10-01T16:05:00+00:00",
            "connection_requested",
            "outbound",
            "https://www.linkedin.com/in/amara-nwosu",
        ),
        (
            "2023-10-02T00:00:00+00:00",
            "connection_accepted",
            "inbound",
            "https://www.linkedin.com/in/amara-nwosu",
        ),
        (
            "2023-10-04T15:30:00+00:00",
            "message",
            "outbound",
            "https://www.linkedin.com/in/amara-nwosu",
        ),
        (
            "2023-10-05T09:20:00+00:00",
            "message",
            "inbound",
            "https://www.linkedin.com/in/amara-nwosu",
        ),
        (
            "2023-10-18T08:30:00+00:00",
            "connection_requested",
            "inbound",
            "https://www.linkedin.com/in/samcarter",
        ),
    ],
    "Basic_LinkedInDataExport_08-15-2025": [
        (
            "2025-06-01T14:03:22+00:00",
            "message",
            "outbound",
            "https://www.linkedin.com/in/lena-fischer-7b",
        ),
        (
            "2025-06-10T07:41:00+00:00",
            "connection_requested",
            "inbound",
            "https://www.linkedin.com/in/lena-fischer-7b",
        ),
        (
            "2025-06-11T00:00:00+00:00",
            "connection_accepted",
            "outbound",
            "https://www.linkedin.com/in/lena-fischer-7b",
        ),
        (
            "2025-06-12T19:04:51+00:00",
            "message",
            "inbound",
            "https://www.linkedin.com/in/lena-fischer-7b",
        ),
    ],
    "Complete_LinkedInDataExport_03-09-2026": [
        (
            "2026-01-14T00:00:00+00:00",
            "connection_accepted",
            "outbound",
            "https://www.linkedin.com/in/zo%c3%ab-brandt",
        ),
        (
            "2026-01-15T09:30:00+00:00",
            "message",
            "outbound",
            "https://www.linkedin.com/in/zo%c3%ab-brandt",
        ),
        (
            "2026-01-29T14:37:00+00:00",
            "connection_requested",
            "outbound",
            "https://www.linkedin.com/in/omar-haddad-3b2a91",
        ),
        (
            "2026-02-08T00:00:00+00:00",
            "connection_accepted",
            "inbound",
            "https://www.linkedin.com/in/omar-haddad-3b2a91",
        ),
        (
            "2026-02-08T18:00:00+00:00",
            "message",
            "outbound",
            "https://www.linkedin.com/in/omar-haddad-3b2a91",
        ),
        (
            "2026-02-09T07:12:03+00:00",
            "message",
            "inbound",
            "https://www.linkedin.com/in/omar-haddad-3b2a91",
        ),
    ],
}


def copy_era(era: str, tmp_path: Path) -> Path:
    """
    Return a writable copy of an era's export folder.
    """
    return Path(shutil.copytree(FIXTURES / era, tmp_path / era))


def era_2023_with(tmp_path: Path, row: str) -> Path:
    """
    Return a writable copy of the 2023 export with *row* added to its messages.csv.
    """
    folder = copy_era("Basic_LinkedInDataExport_10-21-2023", tmp_path)
    with (folder / "messages.csv").open("a", encoding="utf-8") as file:
        file.write(row + "\n")
    return folder


def zip_folder(folder: Path, target: Path, *, prefix: str = "") -> Path:
    """
    Zip the files of *folder* into *target*, under *prefix* inside the archive.
    """
    with zipfile.ZipFile(target, "w") as zf:
        if prefix:
            zf.writestr(prefix, "")
        for file in sorted(folder.iterdir()):
            zf.write(file, prefix + file.name)
    return target


@pytest.mark.parametrize("value", ["[oops", "http://[::1", ""])
def test_what_is_not_a_url_gives_no_profile_url(value: str) -> None:
    """A cell that cannot be read as a URL names no profile; the person keeps their name."""
    assert canonical_profile_url(value) is None


class TestEras:
    @pytest.mark.parametrize("era", sorted(ERAS))
    def test_every_era_loads_into_the_expected_interactions(self, era: str) -> None:
        """Each era's export gives exactly its connections, invitations and direct messages."""
        interactions = read_linkedin_export(FIXTURES / era)

        assert ERAS[era] == summary(interactions)
        assert {OWNER} == {i.sender for i in interactions}
        assert {"linkedin"} == {i.channel.value for i in interactions}

    @pytest.mark.parametrize("era", sorted(ERAS))
    def test_importing_twice_gives_the_same_ids(self, era: str) -> None:
        """Ids depend only on the content, so a second import adds nothing new."""
        first = read_linkedin_export(FIXTURES / era)
        second = read_linkedin_export(FIXTURES / era)

        assert [i.id for i in first] == [i.id for i in second]
        assert len(first) == len({i.id for i in first})
        assert all(i.id.startswith("linkedin:") for i in first)

    def test_the_zip_reads_like_the_folder(self, tmp_path: Path) -> None:
        """A zip with the files at its root gives what the folder gives."""
        era = "Basic_LinkedInDataExport_10-21-2023"
        archive = zip_folder(FIXTURES / era, tmp_path / f"{era}.zip")

        assert summary(read_linkedin_export(FIXTURES / era)) == summary(
            read_linkedin_export(archive)
        )

    def test_a_zip_with_a_top_folder_reads_like_the_folder(self, tmp_path: Path) -> None:
        """Files one folder down in the zip are found too."""
        era = "Complete_LinkedInDataExport_03-09-2026"
        archive = zip_folder(FIXTURES / era, tmp_path / "export.zip", prefix=f"{era}/")

        assert ERAS[era] == summary(read_linkedin_export(archive))

    def test_a_byte_order_mark_and_crlf_line_ends_change_nothing(self, tmp_path: Path) -> None:
        """A file re-saved with a BOM and CRLF line ends reads the same."""
        era = "Complete_LinkedInDataExport_09-18-2022"
        folder = copy_era(era, tmp_path)
        for name in ("Connections.csv", "messages.csv", "Invitations.csv"):
            path = folder / name
            text = path.read_text(encoding="utf-8").replace("\n", "\r\n") + "\r\n\r\n"
            path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))

        assert ERAS[era] == summary(read_linkedin_export(folder))

    def test_drafts_spam_sponsored_and_hidden_senders_give_nothing(self) -> None:
        """Only real one-to-one messages become interactions."""
        contents = {
            i.contact
            for era in ERAS
            for i in read_linkedin_export(FIXTURES / era)
            if i.kind.value == "message"
        }

        assert "https://www.linkedin.com/in/quick-loans-4u" not in contents
        assert not any("member" in contact.lower() for contact in contents)
        expected_2025 = 2
        assert expected_2025 == sum(
            1
            for i in read_linkedin_export(FIXTURES / "Basic_LinkedInDataExport_08-15-2025")
            if i.kind.value == "message"
        )


class TestRelationships:
    def test_an_imported_conversation_makes_the_contact_engaged_not_opted_in(self) -> None:
        """A reply on LinkedIn engages the contact, and still does not permit marketing."""
        interactions = read_linkedin_export(FIXTURES / "Basic_LinkedInDataExport_10-21-2023")
        amara = [i for i in interactions if i.contact.endswith("/amara-nwosu")]
        relationship = replay(amara)

        decision = check(
            relationship,
            Action.SEND_MARKETING,
            at="2023-10-06T00:00:00Z",
            policy=Policy.etiquette(),
        )

        assert RelationshipState.ENGAGED == relationship.state
        assert ("no_consent",) == decision.codes

    def test_an_unanswered_outbound_message_counts_as_unanswered(self) -> None:
        """An outbound LinkedIn message no one answered is counted as unanswered."""
        interactions = read_linkedin_export(FIXTURES / "Basic_LinkedInDataExport_05-14-2021")
        tomas = replay([i for i in interactions if i.contact == "Tomás Reyes"])

        assert 1 == tomas.unanswered
        assert RelationshipState.CONNECTED == tomas.state


class TestSender:
    def test_a_given_profile_url_is_written_in_canonical_form(self) -> None:
        """sender= as a profile URL is normalised like every other profile URL."""
        interactions = read_linkedin_export(
            FIXTURES / "Basic_LinkedInDataExport_08-15-2025",
            sender="https://WWW.linkedin.com/in/JordanPike/?trk=public",
        )

        assert {OWNER} == {i.sender for i in interactions}

    def test_another_sender_id_keeps_the_directions(self) -> None:
        """A sender id of your own is used as is; directions still come from the owner's URL."""
        interactions = read_linkedin_export(
            FIXTURES / "Basic_LinkedInDataExport_08-15-2025", sender="team-jordan"
        )

        assert {"team-jordan"} == {i.sender for i in interactions}
        assert ERAS["Basic_LinkedInDataExport_08-15-2025"] == summary(interactions)

    def test_the_owner_is_found_from_conversations_alone(self, tmp_path: Path) -> None:
        """Without Profile.csv or Invitations.csv, the owner is the URL in the most conversations."""
        folder = copy_era("Basic_LinkedInDataExport_10-21-2023", tmp_path)
        # The owner's name changed since: no message was sent under the profile's name.
        (folder / "Profile.csv").write_text(
            "First Name,Last Name\nJordan,Pike-Ng\n", encoding="utf-8"
        )
        (folder / "Invitations.csv").unlink()
        with (folder / "messages.csv").open("a", encoding="utf-8") as file:
            file.write(
                "2-T1RIRVIxMjM0NTY3,,Jordan Pike,https://www.linkedin.com/in/jordanpike,"
                "Ines Okafor-Lindqvist,https://www.linkedin.com/in/ines-okafor-l-3b2a91,"
                "2023-10-09 10:00:00 UTC,,Coffee next week?,INBOX\n"
            )

        interactions = read_linkedin_export(folder)

        assert {OWNER} == {i.sender for i in interactions}
        assert ("message", "outbound", INES) in {
            (i.kind.value, i.direction.value, i.contact) for i in interactions
        }

    def test_an_export_without_the_owner_needs_a_sender(self, tmp_path: Path) -> None:
        """When nothing in the export names its owner, the error asks for sender=."""
        folder = tmp_path / "export"
        folder.mkdir()
        shutil.copy(FIXTURES / "Basic_LinkedInDataExport_05-14-2021" / "Connections.csv", folder)

        with pytest.raises(ImportFormatError, match="pass sender="):
            read_linkedin_export(folder)
        assert 3 == len(read_linkedin_export(folder, sender=OWNER))

    def test_messages_without_a_known_owner_are_refused(self, tmp_path: Path) -> None:
        """With a sender id that is no URL and no way to find the owner, messages cannot be read."""
        messages = tmp_path / "messages.csv"
        messages.write_text(
            "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,DATE,SUBJECT,CONTENT,FOLDER\n"
            "c1,,Jo Doe,https://www.linkedin.com/in/jodoe,Al Roe,2024-01-02 10:00:00 UTC,,Hi,INBOX\n"
            "c1,,Al Roe,https://www.linkedin.com/in/alroe,Jo Doe,2024-01-02 11:00:00 UTC,,Hi!,INBOX\n",
            encoding="utf-8",
        )

        with pytest.raises(ImportFormatError, match="which messages the owner sent"):
            read_linkedin_export(messages, sender="jordan")

    def test_without_any_owner_url_the_profile_name_tells_the_direction(
        self, tmp_path: Path
    ) -> None:
        """An owner who never wrote has no URL in old exports; their profile name still tells inbound."""
        folder = tmp_path / "export"
        folder.mkdir()
        shutil.copy(FIXTURES / "Basic_LinkedInDataExport_05-14-2021" / "Profile.csv", folder)
        (folder / "messages.csv").write_text(
            "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,DATE,SUBJECT,CONTENT,FOLDER\n"
            "c1,,Jo Doe,https://www.linkedin.com/in/jodoe,Jordan Pike,2021-01-02 10:00:00 UTC,,Hi,INBOX\n"
            "c2,,Al Roe,https://www.linkedin.com/in/alroe,Jordan Pike,2021-01-03 10:00:00 UTC,,Yo,INBOX\n",
            encoding="utf-8",
        )

        interactions = read_linkedin_export(folder, sender="jordan")

        assert [
            ("inbound", "https://www.linkedin.com/in/jodoe"),
            ("inbound", "https://www.linkedin.com/in/alroe"),
        ] == [(i.direction.value, i.contact) for i in interactions]
        with pytest.raises(ImportFormatError, match="pass sender="):
            read_linkedin_export(folder)

    def test_the_owner_of_one_conversation_with_a_connection_is_found(self, tmp_path: Path) -> None:
        """One two-person conversation names the owner when the other person is a connection."""
        folder = tmp_path / "export"
        folder.mkdir()
        (folder / "Connections.csv").write_text(
            "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
            f"Ines,Okafor-Lindqvist,{INES},,,,12 Mar 2021\n",
            encoding="utf-8",
        )
        (folder / "messages.csv").write_text(
            "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,"
            "RECIPIENT PROFILE URLS,DATE,SUBJECT,CONTENT,FOLDER\n"
            f"c1,,Ines Okafor-Lindqvist,{INES},Jordan Pike,{OWNER},"
            "2021-04-02 09:15:40 UTC,,Thanks!,INBOX\n"
            f"c1,,Jordan Pike,{OWNER},Ines Okafor-Lindqvist,{INES},"
            "2021-04-01 17:02:11 UTC,,Here is the article,INBOX\n",
            encoding="utf-8",
        )

        interactions = read_linkedin_export(folder)

        assert {OWNER} == {i.sender for i in interactions}
        assert [
            ("2021-03-12T00:00:00+00:00", "connection_accepted", "outbound", INES),
            ("2021-04-01T17:02:11+00:00", "message", "outbound", INES),
            ("2021-04-02T09:15:40+00:00", "message", "inbound", INES),
        ] == summary(interactions)

    def test_one_conversation_with_a_stranger_names_no_owner(self, tmp_path: Path) -> None:
        """Of two people in one conversation, neither a connection, neither is taken for the owner."""
        messages = tmp_path / "messages.csv"
        messages.write_text(
            "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,"
            "RECIPIENT PROFILE URLS,DATE,SUBJECT,CONTENT,FOLDER\n"
            f"c1,,Ines Okafor-Lindqvist,{INES},Jordan Pike,{OWNER},"
            "2021-04-02 09:15:40 UTC,,Hello,INBOX\n",
            encoding="utf-8",
        )

        with pytest.raises(ImportFormatError, match="pass sender="):
            read_linkedin_export(messages)

    def test_the_one_person_who_wrote_is_not_taken_for_the_owner(self, tmp_path: Path) -> None:
        """A connection's message, the only URL in an old export, names no owner: sender= is asked."""
        folder = _connected_by_name(tmp_path, "Ines,Okafor-Lindqvist,,Acme,CTO,08 Feb 2021")
        (folder / "Invitations.csv").write_text(
            'From,To,Sent At,Message,Direction\nJordan Pike,Ines Okafor-Lindqvist,"2/1/21, 2:37 PM",,OUTGOING\n',
            encoding="utf-8",
        )
        (folder / "messages.csv").write_text(
            "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,DATE,SUBJECT,CONTENT,FOLDER\n"
            f"c1,,Ines Okafor-Lindqvist,{INES},Jordan Pike,2021-02-09 18:03:22 UTC,,Hi,INBOX\n",
            encoding="utf-8",
        )

        with pytest.raises(ImportFormatError, match="pass sender="):
            read_linkedin_export(folder)
        with pytest.raises(ImportFormatError, match="pass sender="):
            read_linkedin_export(folder / "messages.csv")

        interactions = read_linkedin_export(folder, sender=OWNER)

        assert {OWNER} == {i.sender for i in interactions}
        assert ("message", "inbound", INES) in {
            (i.kind.value, i.direction.value, i.contact) for i in interactions
        }

    @pytest.mark.parametrize("profile", [False, True])
    def test_a_namesake_connection_does_not_hide_the_owner(
        self,
        tmp_path: Path,
        profile: bool,  # noqa: FBT001
    ) -> None:
        """A connection of the owner's own name, known by name only, keeps the owner found."""
        folder = _connected_by_name(tmp_path, "Jordan,Pike,,Other Corp,Engineer,08 Feb 2021")
        if profile:
            (folder / "Profile.csv").write_text(
                "First Name,Last Name\nJordan,Pike\n", encoding="utf-8"
            )
        xavier = "https://www.linkedin.com/in/xavier-ng"
        (folder / "messages.csv").write_text(
            "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,"
            "RECIPIENT PROFILE URLS,DATE,SUBJECT,CONTENT,FOLDER\n"
            f"c1,,Xavier Ng,{xavier},Jordan Pike,{OWNER},2021-02-09 18:03:22 UTC,,Hi,INBOX\n"
            f"c2,,Xavier Ng,{xavier},Jordan Pike,{OWNER},2021-03-09 18:03:22 UTC,,Hi,INBOX\n"
            f"c3,,Ines Okafor-Lindqvist,{INES},Jordan Pike,{OWNER},"
            "2021-04-09 18:03:22 UTC,,Hi,INBOX\n",
            encoding="utf-8",
        )

        interactions = read_linkedin_export(folder)

        assert {OWNER} == {i.sender for i in interactions}
        assert {("inbound", xavier), ("inbound", INES)} <= {
            (i.direction.value, i.contact) for i in interactions
        }

    def test_one_person_writing_to_two_is_the_owner(self, tmp_path: Path) -> None:
        """In an old export, the only URL, on messages to two people, is the owner's."""
        messages = tmp_path / "messages.csv"
        messages.write_text(
            "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,DATE,SUBJECT,CONTENT,FOLDER\n"
            f"c1,,Jordan Pike,{OWNER},Ines Okafor-Lindqvist,2021-02-09 18:03:22 UTC,,Hi,INBOX\n"
            f"c2,,Jordan Pike,{OWNER},Al Roe,2021-02-10 18:03:22 UTC,,Hi,INBOX\n",
            encoding="utf-8",
        )

        interactions = read_linkedin_export(messages)

        assert [("outbound", "Ines Okafor-Lindqvist"), ("outbound", "Al Roe")] == [
            (i.direction.value, i.contact) for i in interactions
        ]
        assert {OWNER} == {i.sender for i in interactions}

    def test_a_single_messages_file_reads_with_the_owner_url(self, tmp_path: Path) -> None:
        """One CSV of an export can be imported alone."""
        messages = tmp_path / "messages.csv"
        shutil.copy(FIXTURES / "Complete_LinkedInDataExport_03-09-2026" / "messages.csv", messages)

        interactions = read_linkedin_export(messages, sender=OWNER)

        assert 3 == len(interactions)

    def test_an_empty_sender_is_refused(self) -> None:
        """sender= must be None or a non-empty id."""
        with pytest.raises(InvalidRequest, match="sender"):
            read_linkedin_export(FIXTURES / "Basic_LinkedInDataExport_08-15-2025", sender="")


class TestMatching:
    def test_a_name_with_two_profile_urls_is_not_merged(self, tmp_path: Path) -> None:
        """Two people with one name stay apart: a name only stands for a URL when it is unique."""
        folder = tmp_path / "export"
        folder.mkdir()
        (folder / "Invitations.csv").write_text(
            "From,To,Sent At,Message,Direction,inviterProfileUrl,inviteeProfileUrl\n"
            'Jordan Pike,Alex Kim,"1/2/26, 9:00 AM",,OUTGOING,'
            f"{OWNER},https://www.linkedin.com/in/alex-kim-1\n"
            'Jordan Pike,Alex Kim,"1/3/26, 9:00 AM",,OUTGOING,'
            f"{OWNER},https://www.linkedin.com/in/alex-kim-2\n",
            encoding="utf-8",
        )
        (folder / "Connections.csv").write_text(
            "First Name,Last Name,Email Address,Company,Position,Connected On\n"
            "Alex,Kim,,,,05 Jan 2026\n",
            encoding="utf-8",
        )

        contacts = {i.contact for i in read_linkedin_export(folder)}

        assert {
            "https://www.linkedin.com/in/alex-kim-1",
            "https://www.linkedin.com/in/alex-kim-2",
            "Alex Kim",
        } == contacts

    def test_a_namesake_of_the_owner_is_someone_else(self, tmp_path: Path) -> None:
        """A connection named as the owner, in an export without URLs, is keyed by their name."""
        folder = copy_era("Basic_LinkedInDataExport_05-14-2021", tmp_path)
        with (folder / "Connections.csv").open("a", encoding="utf-8") as file:
            file.write("\nJordan,Pike,,Acme,Sales,01 Jun 2021")
        with (folder / "Invitations.csv").open("a", encoding="utf-8") as file:
            file.write('Jordan Pike,Jordan Pike,"5/30/21, 9:12 AM",Hello namesake!,INCOMING\n')

        found = read_linkedin_export(folder)

        assert [] == [i for i in found if i.contact == i.sender]
        assert {"connection_accepted", "connection_requested"} == {
            i.kind.value for i in found if i.contact == "Jordan Pike"
        }

    def test_namesakes_threads_with_the_owner_are_each_one_to_one(self, tmp_path: Path) -> None:
        """Two connections of one name, each in a thread with the owner, keep their messages apart."""
        folder = copy_era("Complete_LinkedInDataExport_09-18-2022", tmp_path)
        acme, globex = (f"https://www.linkedin.com/in/john-smith-{c}" for c in ("acme", "globex"))
        with (folder / "Connections.csv").open("a", encoding="utf-8") as file:
            file.write("\nJohn,Smith,,Acme,CEO,01 Jun 2022\nJohn,Smith,,Globex,CTO,02 Jun 2022\n")
        rows = [
            f"2-QUFB,,John Smith,{acme},Jordan Pike,2022-06-03 10:00:00 UTC,,Hi from Acme,INBOX",
            f"2-QUFB,,Jordan Pike,{OWNER},John Smith,2022-06-03 11:00:00 UTC,,Hi back,INBOX",
            f"2-QkJC,,John Smith,{globex},Jordan Pike,2022-06-04 10:00:00 UTC,,Hi from Globex,INBOX",
            f"2-QkJC,,Jordan Pike,{OWNER},John Smith,2022-06-04 11:00:00 UTC,,Hello,INBOX",
        ]
        with (folder / "messages.csv").open("a", encoding="utf-8") as file:
            file.write("\n".join(rows) + "\n")

        messages = [
            i
            for i in read_linkedin_export(folder)
            if i.metadata.get("conversation_id") in {"2-QUFB", "2-QkJC"}
        ]

        assert {
            (acme, "inbound"),
            (acme, "outbound"),
            (globex, "inbound"),
            (globex, "outbound"),
        } == {(i.contact, i.direction.value) for i in messages}

    @pytest.mark.parametrize("first", ["theirs", "mine"])
    def test_the_owners_messages_to_a_namesake_go_to_them(self, tmp_path: Path, first: str) -> None:
        """In a thread with a connection named as the owner, both sides' messages are kept."""
        folder = copy_era("Complete_LinkedInDataExport_09-18-2022", tmp_path)
        other = "https://www.linkedin.com/in/jordan-pike-globex"
        with (folder / "Connections.csv").open("a", encoding="utf-8") as file:
            file.write("\nJordan,Pike,,Globex,CTO,02 Jun 2022\n")
        rows = {
            "theirs": f"2-TkFN,,Jordan Pike,{other},Jordan Pike,2022-06-03 10:00:00 UTC,,Hi,INBOX",
            "mine": f"2-TkFN,,Jordan Pike,{OWNER},Jordan Pike,2022-06-03 11:00:00 UTC,,Hi,INBOX",
        }
        with (folder / "messages.csv").open("a", encoding="utf-8") as file:
            file.write(rows[first] + "\n" + rows[{"theirs": "mine", "mine": "theirs"}[first]])

        found = read_linkedin_export(folder, sender=OWNER)

        assert {(other, "inbound"), (other, "outbound")} == {
            (i.contact, i.direction.value)
            for i in found
            if i.metadata.get("conversation_id") == "2-TkFN"
        }

    def test_the_owners_message_to_a_namesake_known_by_name_goes_to_them(
        self, tmp_path: Path
    ) -> None:
        """A namesake of the owner who never wrote, and has no URL, gets the owner's message."""
        folder = copy_era("Complete_LinkedInDataExport_09-18-2022", tmp_path)
        with (folder / "Connections.csv").open("a", encoding="utf-8") as file:
            file.write("\nJordan,Pike,,Globex,CTO,02 Jun 2022\n")
        with (folder / "messages.csv").open("a", encoding="utf-8") as file:
            file.write(
                f"2-TkFO,,Jordan Pike,{OWNER},Jordan Pike,2022-06-03 11:00:00 UTC,,Hi,INBOX\n"
            )

        found = read_linkedin_export(folder, sender=OWNER)

        namesake = {(i.kind.value, i.direction.value) for i in found if i.contact == "Jordan Pike"}
        assert ("message", "outbound") in namesake
        assert "connection_accepted" in {kind for kind, _ in namesake}

    def test_an_inbound_message_to_someone_else_is_skipped(self, tmp_path: Path) -> None:
        """A message between two other people says nothing about the owner's relationships."""
        folder = era_2023_with(
            tmp_path,
            "2-RUxTRTEyMzQ1Njc4,,Amara Nwosu,https://www.linkedin.com/in/amara-nwosu,"
            "Sam Carter,https://www.linkedin.com/in/samcarter,"
            "2023-10-10 10:00:00 UTC,,Hi Sam,INBOX",
        )

        assert ERAS["Basic_LinkedInDataExport_10-21-2023"] == summary(read_linkedin_export(folder))

    @pytest.mark.parametrize(
        "url",
        [
            "https://www.linkedin.com/company/acme-ads/",
            "https://www.linkedin.com/school/some-university",
            "https://www.linkedin.com/pub/jo-doe/1/23/456",
            "https://www.linkedin.com/in/",
        ],
    )
    def test_a_message_from_a_page_that_is_no_member_gives_nothing(
        self, tmp_path: Path, url: str
    ) -> None:
        """A sender whose URL is not a member's profile (/in/<slug>) has no profile URL: nothing."""
        folder = era_2023_with(
            tmp_path,
            f"2-QUNNRTEyMzQ1Njc4,,Acme Ads,{url},"
            f"Jordan Pike,{OWNER},2023-10-11 10:00:00 UTC,,Buy our thing,INBOX",
        )

        interactions = read_linkedin_export(folder)

        assert ERAS["Basic_LinkedInDataExport_10-21-2023"] == summary(interactions)

    @pytest.mark.parametrize("folder", ["DRAFT", "Drafts", "SPAM"])
    def test_a_message_in_a_draft_or_spam_folder_gives_nothing(
        self, tmp_path: Path, folder: str
    ) -> None:
        """A row filed as a draft was never sent, and spam never engaged anyone: nothing."""
        export = era_2023_with(
            tmp_path,
            f"2-RFJBRlQxMjM0NTY3,,Jordan Pike,{OWNER},Sam Carter,"
            "https://www.linkedin.com/in/samcarter,2023-10-20 10:00:00 UTC,,"
            f"Unfinished thought,{folder}",
        )

        interactions = read_linkedin_export(export)

        assert ERAS["Basic_LinkedInDataExport_10-21-2023"] == summary(interactions)

    def test_a_thread_of_three_people_is_a_group(self, tmp_path: Path) -> None:
        """A conversation with three participants gives nothing, even row by row one-to-one."""
        folder = era_2023_with(
            tmp_path,
            "2-QU1BUkExMjM0NTY3,,Jordan Pike,https://www.linkedin.com/in/jordanpike,"
            "Sam Carter,https://www.linkedin.com/in/samcarter,"
            "2023-10-06 10:00:00 UTC,,Looping in Sam,INBOX",
        )

        kinds = [i.kind.value for i in read_linkedin_export(folder)]

        assert 0 == kinds.count("message")

    def test_rows_without_a_person_and_repeated_rows_give_one_or_nothing(
        self, tmp_path: Path
    ) -> None:
        """An invitation without a person gives nothing; a row repeated in the file gives one.

        Without a name, or with the name LinkedIn gives every hidden member,
        a row names no one.
        """
        path = tmp_path / "Invitations.csv"
        path.write_text(
            "From,To,Sent At,Message,Direction\n"
            'Jordan Pike,,"1/2/26, 9:00 AM",,OUTGOING\n'
            'Jordan Pike,Jo Doe,"1/3/26, 9:00 AM",Hi,OUTGOING\n'
            'Jordan Pike,Jo Doe,"1/3/26, 9:00 AM",Hi,OUTGOING\n'
            'LinkedIn Member,Jordan Pike,"1/4/26, 9:00 AM",,INCOMING\n'
            'Jordan Pike,LinkedIn Member,"1/5/26, 9:00 AM",,OUTGOING\n',
            encoding="utf-8",
        )

        assert [("connection_requested", "Jo Doe")] == [
            (i.kind.value, i.contact) for i in read_linkedin_export(path, sender=OWNER)
        ]

    def test_messages_without_profile_urls_from_before_2019_give_nothing(
        self, tmp_path: Path
    ) -> None:
        """The old messages.csv names no profile URLs, so it is read but gives no interactions."""
        folder = tmp_path / "export"
        folder.mkdir()
        shutil.copy(FIXTURES / "Basic_LinkedInDataExport_05-14-2021" / "Connections.csv", folder)
        (folder / "messages.csv").write_text(
            "From,To,Date,Subject,Content,Direction,Folder\n"
            "Jordan Pike,Tomás Reyes,2018-05-01 10:00:00 UTC,,Hello,OUTGOING,INBOX\n",
            encoding="utf-8",
        )

        kinds = {i.kind.value for i in read_linkedin_export(folder, sender=OWNER)}

        assert {"connection_accepted"} == kinds

    def test_a_messages_file_of_another_kind_is_refused(self, tmp_path: Path) -> None:
        """A messages.csv with neither the old nor the new header is not LinkedIn's."""
        path = tmp_path / "messages.csv"
        path.write_text("id,text\n1,hello\n", encoding="utf-8")

        with pytest.raises(ImportFormatError, match="CONVERSATION ID"):
            read_linkedin_export(path, sender=OWNER)

    @pytest.mark.parametrize(
        "content", [b"something else\n", "Name\nJos\u00e9 Pike\n".encode("latin-1")]
    )
    def test_a_broken_helper_file_does_not_stop_the_import(
        self, tmp_path: Path, content: bytes
    ) -> None:
        """Profile.csv and the endorsement files only help; a strange or non-UTF-8 one is ignored."""
        era = "Complete_LinkedInDataExport_09-18-2022"
        folder = copy_era(era, tmp_path)
        (folder / "Endorsement_Received_Info.csv").write_bytes(content)
        archive = shutil.make_archive(str(tmp_path / "export"), "zip", folder)

        assert ERAS[era] == summary(read_linkedin_export(folder))
        assert ERAS[era] == summary(read_linkedin_export(archive))

    def test_a_profile_csv_without_rows_is_ignored(self, tmp_path: Path) -> None:
        """An empty Profile.csv leaves the owner to the other files."""
        era = "Basic_LinkedInDataExport_10-21-2023"
        folder = copy_era(era, tmp_path)
        (folder / "Profile.csv").write_text("First Name,Last Name\n", encoding="utf-8")

        assert ERAS[era] == summary(read_linkedin_export(folder))


class TestCanonicalProfileUrl:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("https://www.linkedin.com/in/jordanpike/", OWNER),
            ("http://linkedin.com/in/JordanPike?trk=x#top", OWNER),
            ("www.linkedin.com/in/jordanpike", OWNER),
            ("https://ca.linkedin.com/in/jordanpike/en", OWNER),
            (
                "https://www.linkedin.com/in/zoë-brandt",
                "https://www.linkedin.com/in/zo%c3%ab-brandt",
            ),
            (
                "https://www.linkedin.com/in/%C3%89lise-Martin",
                "https://www.linkedin.com/in/%c3%a9lise-martin",
            ),
            (
                "https://www.linkedin.com/in/Élise-martin",
                "https://www.linkedin.com/in/%c3%a9lise-martin",
            ),
            (
                "https://www.linkedin.com/pub/jo-doe/1/23/456/",
                "https://www.linkedin.com/pub/jo-doe/1/23/456",
            ),
            ("https://example.org/People/X/", "https://example.org/people/x"),
            ("   ", None),
        ],
    )
    def test_profile_urls_take_one_form(self, value: str, expected: str | None) -> None:
        """Every spelling of a profile URL becomes the same lowercase canonical URL."""
        assert expected == canonical_profile_url(value)

    @given(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N")), min_size=1))
    def test_canonical_form_is_stable(self, slug: str) -> None:
        """Canonicalising a canonical URL changes nothing."""
        url = canonical_profile_url(f"https://www.linkedin.com/in/{slug}/")

        assert url is not None
        assert url == canonical_profile_url(url)


class TestBadInput:
    def test_a_missing_path_raises_file_not_found(self, tmp_path: Path) -> None:
        """A path that does not exist is reported as such."""
        with pytest.raises(FileNotFoundError):
            read_linkedin_export(tmp_path / "nowhere")

    def test_a_folder_without_linkedin_files_is_refused(self, tmp_path: Path) -> None:
        """A folder with none of the three files is not an export."""
        (tmp_path / "Profile.csv").write_text("First Name,Last Name\nJo,Doe\n", encoding="utf-8")

        with pytest.raises(ImportFormatError, match="found none of those files"):
            read_linkedin_export(tmp_path)

    def test_another_kind_of_file_is_refused(self, tmp_path: Path) -> None:
        """A file that is neither a zip nor one of the export's CSVs is refused."""
        path = tmp_path / "contacts.txt"
        path.write_text("hello\n", encoding="utf-8")

        with pytest.raises(ImportFormatError, match="expected a LinkedIn data export"):
            read_linkedin_export(path)

    def test_a_broken_zip_is_refused(self, tmp_path: Path) -> None:
        """A zip that cannot be read is reported, not half-read."""
        archive = zip_folder(
            FIXTURES / "Basic_LinkedInDataExport_10-21-2023", tmp_path / "export.zip"
        )
        data = bytearray(archive.read_bytes())
        start = data.index(b"PK\x03\x04") + 30 + len("Connections.csv")
        data[start : start + 40] = b"\x00" * 40
        archive.write_bytes(bytes(data))

        with pytest.raises(ImportFormatError, match="cannot read the zip archive"):
            read_linkedin_export(archive)

    def test_an_encrypted_zip_is_refused(self, tmp_path: Path) -> None:
        """A zip that asks for a password is an export this reader cannot read."""
        folder = FIXTURES / "Basic_LinkedInDataExport_10-21-2023"
        archive = zip_encrypted(sorted(folder.iterdir()), tmp_path / "export.zip")

        with pytest.raises(ImportFormatError, match=r"cannot read the zip archive.*encrypted"):
            read_linkedin_export(archive)

    def test_a_connections_file_without_its_header_is_refused(self, tmp_path: Path) -> None:
        """The error says which header Connections.csv should have."""
        path = tmp_path / "Connections.csv"
        path.write_text("Name,Since\nJo Doe,2024\n", encoding="utf-8")

        with pytest.raises(ImportFormatError, match="Connected On") as raised:
            read_linkedin_export(path, sender=OWNER)
        assert str(path) == raised.value.path

    @pytest.mark.parametrize(
        ("name", "text", "match", "line"),
        [
            (
                "Connections.csv",
                (
                    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
                    "Jo,Doe,,,,,sometime\n"
                ),
                "Connected On 'sometime'",
                2,
            ),
            (
                "Connections.csv",
                (
                    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
                    "Jo,Doe,,,,,31 Feb 2024\n"
                ),
                "not a date",
                2,
            ),
            (
                "messages.csv",
                (
                    "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,DATE,SUBJECT,CONTENT,FOLDER\n"
                    "c1,,Jo Doe,https://www.linkedin.com/in/jodoe,Jordan Pike,yesterday,,Hi,INBOX\n"
                ),
                "DATE 'yesterday'",
                2,
            ),
            (
                "Invitations.csv",
                'From,To,Sent At,Message,Direction\nJo Doe,Jordan Pike,"1/2/26, 9:00 AM",,SIDEWAYS\n',
                "expected INCOMING or OUTGOING",
                2,
            ),
            (
                "Invitations.csv",
                'From,To,Sent At,Message,Direction\nJo Doe,Jordan Pike,"13/45/26, 9:00 AM",,INCOMING\n',
                "Sent At",
                2,
            ),
            (
                "Invitations.csv",
                'From,To,Sent At,Message,Direction\nJo Doe,Jordan Pike,"1/2/26, 13:37 PM",,INCOMING\n',
                "Sent At '1/2/26, 13:37 PM'",
                2,
            ),
            (
                "Connections.csv",
                "First Name,Last Name,Connected On\nJo,Doe,01 Jan 2024,extra\n",
                "4 cells where the header has 3",
                2,
            ),
            (
                "Connections.csv",
                'First Name,Last Name,Connected On\nJo,Doe,01 Jan 2024\nAl,"Unfinished,02 Jan 2024\n',
                "broken CSV",
                3,
            ),
        ],
    )
    def test_a_bad_row_names_the_file_and_line(
        self, tmp_path: Path, name: str, text: str, match: str, line: int
    ) -> None:
        """A row LinkedIn would not write stops the whole import, naming its line."""
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")

        with pytest.raises(ImportFormatError, match=match) as raised:
            read_linkedin_export(path, sender=OWNER)
        assert line == raised.value.line

    def test_text_that_is_not_utf8_is_refused(self, tmp_path: Path) -> None:
        """A file in another encoding is refused with a clear message."""
        path = tmp_path / "Connections.csv"
        path.write_bytes(
            "First Name,Last Name,Connected On\nJosé,Doe,01 Jan 2024\n".encode("latin-1")
        )

        with pytest.raises(ImportFormatError, match="not UTF-8"):
            read_linkedin_export(path, sender=OWNER)

    def test_text_in_a_zip_that_is_not_utf8_names_its_member(self, tmp_path: Path) -> None:
        """In a zip, a file in another encoding is refused naming the file inside the zip."""
        archive = tmp_path / "export.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr(
                "Connections.csv",
                "First Name,Last Name,Connected On\nJos\u00e9,Doe,01 Jan 2024\n".encode("latin-1"),
            )

        with pytest.raises(ImportFormatError, match="not UTF-8") as raised:
            read_linkedin_export(archive, sender=OWNER)
        assert f"{archive}/Connections.csv" == raised.value.path


class TestDates:
    @pytest.mark.parametrize(
        ("connected_on", "expected"),
        [
            ("08 Feb 2026", "2026-02-08T00:00:00+00:00"),
            ("8 Feb 2026", "2026-02-08T00:00:00+00:00"),
            ("4-Apr-21", "2021-04-04T00:00:00+00:00"),
            ("2026-02-08", "2026-02-08T00:00:00+00:00"),
        ],
    )
    def test_connected_on_is_midnight_utc(
        self, tmp_path: Path, connected_on: str, expected: str
    ) -> None:
        """Connected On becomes midnight UTC of that day, in the forms exports and re-saves use."""
        path = tmp_path / "Connections.csv"
        path.write_text(
            f"First Name,Last Name,Connected On\nJo,Doe,{connected_on}\n", encoding="utf-8"
        )

        (interaction,) = read_linkedin_export(path, sender=OWNER)

        assert expected == interaction.at.isoformat()

    @pytest.mark.parametrize(
        ("sent_at", "expected"),
        [
            ("1/29/26, 2:37 PM", "2026-01-29T14:37:00+00:00"),
            ("1/29/26, 12:05 AM", "2026-01-29T00:05:00+00:00"),
            ("12/1/2025, 12:00\u202fPM", "2025-12-01T12:00:00+00:00"),
            ("2026-01-29 14:37:00", "2026-01-29T14:37:00+00:00"),
        ],
    )
    def test_sent_at_is_month_first_and_utc(
        self, tmp_path: Path, sent_at: str, expected: str
    ) -> None:
        """Sent At is read month first, with a 12-hour clock, in UTC."""
        path = tmp_path / "Invitations.csv"
        path.write_text(
            f'From,To,Sent At,Message,Direction\nJordan Pike,Jo Doe,"{sent_at}",,OUTGOING\n',
            encoding="utf-8",
        )

        (interaction,) = read_linkedin_export(path, sender=OWNER)

        assert expected == interaction.at.isoformat()
