from __future__ import annotations

import contextlib
import io
import json
import sqlite3

from pathlib import Path
from typing import Any

import pytest

from permission_networking import Evidence, Interaction, InvalidRequest, cli
from permission_networking.cli import main
from permission_networking.stores import SQLiteStore
from zips import zip_encrypted


FIXTURES = Path(__file__).parent.parent / "importers" / "fixtures"
LINKEDIN_2023 = FIXTURES / "linkedin" / "Basic_LinkedInDataExport_10-21-2023"
MAILCHIMP_2024 = sorted((FIXTURES / "mailchimp" / "2024").glob("*.csv"))
OWNER = "https://www.linkedin.com/in/jordanpike"
AMARA = "https://www.linkedin.com/in/amara-nwosu"
CONTROLLER = [
    "--controller-name",
    "Acme Ltd",
    "--controller-contact",
    "Data Protection Officer",
    "--controller-email",
    "dpo@acme.example",
    "--controller-address",
    "1 Main Street, London",
    "--controller-phone",
    "+44 20 7946 0000",
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """
    Run the command line in process; return its exit status, stdout and stderr.
    """
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(name="db")
def _db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """
    A database holding the 2023 LinkedIn export and the 2024 Mailchimp audience.
    """
    path = str(tmp_path / "crm.db")
    assert 0 == main(["import", "linkedin", str(LINKEDIN_2023), "--db", path])
    assert 0 == main(
        ["import", "mailchimp", *map(str, MAILCHIMP_2024), "--sender", "acme", "--db", path]
    )
    capsys.readouterr()
    return path


@pytest.fixture(name="giving_db")
def _giving_db(tmp_path: Path) -> str:
    """
    A database where bo connected on 2 March 2026, replied, and was given an article.
    """
    path = str(tmp_path / "giving.db")
    with SQLiteStore(path) as store:
        store.record_many(
            [
                Interaction(
                    "g1",
                    "ana",
                    "bo",
                    "connection_accepted",
                    "2026-03-02T09:00:00Z",
                    direction="inbound",
                ),
                Interaction(
                    "g2", "ana", "bo", "message", "2026-03-03T09:00:00Z", direction="inbound"
                ),
                Interaction("g3", "ana", "bo", "shared_content", "2026-03-03T10:00:00Z"),
            ]
        )
    return path


class TestHelp:
    @pytest.mark.parametrize(
        "command",
        [
            ["demo"],
            ["import", "linkedin"],
            ["import", "mailchimp"],
            ["import", "jsonl"],
            ["check"],
            ["explain"],
            ["screen"],
            ["diagram"],
            ["verify"],
            ["receipt"],
            ["forget"],
        ],
    )
    def test_every_subcommand_shows_an_example(
        self, capsys: pytest.CaptureFixture[str], command: list[str]
    ) -> None:
        """--help on each subcommand prints its usage with an example, and exits 0."""
        code, out, _ = run(capsys, *command, "--help")

        assert 0 == code
        assert "example:\n  permission-networking " in out
        assert "--db FILE" in out
        assert "--json" in out

    def test_the_top_level_help_lists_the_commands(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The top-level help names every subcommand and points at the demo."""
        code, out, _ = run(capsys, "--help")

        assert 0 == code
        for name in (
            "demo",
            "import",
            "check",
            "explain",
            "screen",
            "diagram",
            "verify",
            "receipt",
            "forget",
        ):
            assert name in out
        assert "permission-networking demo" in out

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            ([], "the following arguments are required: COMMAND"),
            (["check", "ana", "bo", "wave"], "invalid choice: 'wave'"),
            (["import", "mailchimp", "x.csv"], "--sender"),
            (["screen", "ana", "message", "--channel", "pigeon"], "invalid choice: 'pigeon'"),
            (["diagram", "--format", "svg"], "invalid choice: 'svg'"),
        ],
    )
    def test_usage_errors_are_one_line_and_exit_2(
        self, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
    ) -> None:
        """A command line argparse refuses is reported in one line on stderr, exit status 2."""
        code, out, err = run(capsys, *argv)

        assert 2 == code
        assert "" == out
        assert 1 == len(err.splitlines())
        assert message in err


class TestImport:
    def test_importing_twice_adds_nothing(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """The second import of the same export reports every interaction as already stored."""
        db = str(tmp_path / "crm.db")
        first = run(capsys, "import", "linkedin", str(LINKEDIN_2023), "--db", db)
        second = run(capsys, "import", "linkedin", str(LINKEDIN_2023), "--db", db, "--json")

        assert (0, "read 6 interactions from 1 linkedin file: 6 new, 0 already stored\n") == first[
            :2
        ]
        assert {"source": "linkedin", "read": 6, "new": 0} == json.loads(second[1])

    @pytest.mark.parametrize("source", ["linkedin", "mailchimp"])
    def test_an_unreadable_zip_is_one_line_and_exit_2(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, source: str
    ) -> None:
        """An export zip that asks for a password ends with one line, exit status 2."""
        files = sorted(LINKEDIN_2023.iterdir()) if source == "linkedin" else MAILCHIMP_2024
        archive = zip_encrypted(files, tmp_path / "export.zip")
        db = str(tmp_path / "crm.db")

        code, out, err = run(capsys, "import", source, str(archive), "--sender", "acme", "--db", db)

        assert (2, "") == (code, out)
        assert 1 == len(err.splitlines())
        assert "encrypted" in err

    def test_jsonl_is_imported_whole_or_not_at_all(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A bad line anywhere stops the import before anything is recorded."""
        db = str(tmp_path / "crm.db")
        good = Interaction("j1", "ana", "bo", "inquiry", "2026-03-01T10:00:00Z")
        path = tmp_path / "log.jsonl"
        path.write_text(json.dumps(good.to_dict()) + "\n{broken\n", encoding="utf-8")

        code, _, err = run(capsys, "import", "jsonl", str(path), "--db", db)

        assert 2 == code
        assert f"{path}, line 2: not JSON" in err
        with SQLiteStore(db) as store:
            assert [] == store.history("ana", "bo")

    def test_a_refused_import_leaves_no_new_database(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """An import the store refuses (one id with two contents) creates no database file."""
        db = tmp_path / "crm.db"
        first = Interaction("j1", "ana", "bo", "inquiry", "2026-03-01T10:00:00Z")
        other = Interaction("j1", "ana", "bo", "purchase", "2026-03-01T10:00:00Z")
        path = tmp_path / "log.jsonl"
        path.write_text(
            "".join(json.dumps(i.to_dict()) + "\n" for i in (first, other)), encoding="utf-8"
        )

        code, _, err = run(capsys, "import", "jsonl", str(path), "--db", str(db))

        assert 2 == code
        assert "j1" in err
        assert [] == sorted(tmp_path.glob("crm.db*"))

    def test_a_refused_import_keeps_an_existing_database(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Into a database already there, a refused import stores nothing and keeps the file."""
        db = str(tmp_path / "crm.db")
        with SQLiteStore(db) as store:
            store.record(Interaction("j1", "ana", "bo", "inquiry", "2026-03-01T10:00:00Z"))
        other = Interaction("j1", "ana", "bo", "purchase", "2026-03-01T10:00:00Z")
        path = tmp_path / "log.jsonl"
        path.write_text(json.dumps(other.to_dict()) + "\n", encoding="utf-8")

        code, _, _ = run(capsys, "import", "jsonl", str(path), "--db", db)

        assert 2 == code
        with SQLiteStore(db) as store:
            assert ["inquiry"] == [i.kind.value for i in store.history("ana", "bo")]

    def test_a_jsonl_file_is_imported(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Each line of a JSON Lines file is recorded."""
        db = str(tmp_path / "crm.db")
        path = tmp_path / "log.jsonl"
        path.write_text(
            json.dumps(Interaction("j1", "ana", "bo", "inquiry", "2026-03-01T10:00:00Z").to_dict())
            + "\n",
            encoding="utf-8",
        )

        code, out, _ = run(capsys, "import", "jsonl", str(path), "--db", db, "--json")

        assert 0 == code
        assert {"source": "jsonl", "read": 1, "new": 1} == json.loads(out)

    def test_the_linkedin_sender_option_names_the_owner(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """--sender gives the owner's id for an export that does not name them."""
        db = str(tmp_path / "crm.db")
        connections = (
            FIXTURES / "linkedin" / "Basic_LinkedInDataExport_05-14-2021" / "Connections.csv"
        )

        refused = run(capsys, "import", "linkedin", str(connections), "--db", db)
        accepted = run(
            capsys, "import", "linkedin", str(connections), "--db", db, "--sender", OWNER
        )

        assert 2 == refused[0]
        assert "pass sender=" in refused[2]
        assert 0 == accepted[0]


class TestCheck:
    def test_a_denial_exits_1_with_its_codes(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        """Check prints the denying codes and exits 1."""
        code, out, _ = run(capsys, "check", OWNER, AMARA, "send_marketing", "--db", db)

        assert (1, "denied: no_consent\n") == (code, out)

    def test_an_allowed_action_exits_0_with_its_obligations(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        """Check prints allowed, with what the sender must do, and exits 0."""
        code, out, _ = run(
            capsys,
            "check",
            "acme",
            "ada@example.com",
            "send_marketing",
            "--policy",
            "etiquette",
            "--at",
            "2024-06-01T12:00:00Z",
            "--db",
            db,
        )

        assert 0 == code
        assert "allowed (when you act: include_unsubscribe, identify_sender)\n" == out

    def test_warnings_and_retry_times_are_shown(
        self, capsys: pytest.CaptureFixture[str], db: str, giving_db: str
    ) -> None:
        """A warning on an allowed action, and the retry time of a denial, are printed."""
        warned = run(capsys, "check", OWNER, "someone-new", "connect", "--db", db)
        retry = run(
            capsys, "check", "ana", "bo", "ask_favor", "--at", "2026-03-04T09:00:00Z",
            "--purpose", "endorsement", "--policy", "etiquette", "--db", giving_db,
        )  # fmt: skip

        assert (0, "allowed (warnings: no_shared_context)\n") == warned[:2]
        assert (1, "denied: cooling_off (ask again at 2026-03-16T09:00:00+00:00)\n") == retry[:2]

    def test_the_json_decision_has_the_contract_fields(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        """Check --json prints the decision's to_dict, with the combined policy's name."""
        code, out, _ = run(
            capsys,
            "check",
            OWNER,
            AMARA,
            "pitch",
            "--policy",
            "etiquette & casl",
            "--json",
            "--db",
            db,
        )
        data = json.loads(out)

        assert 1 == code
        assert {"action", "allowed", "state", "at", "policy", "reasons", "retry_at"} <= set(data)
        assert "etiquette & casl" == data["policy"]
        assert data["allowed"] is False

    def test_explain_prints_the_decision_in_prose(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        """Explain prints Decision.explain, and exits 0 whether it allows or denies."""
        code, out, _ = run(
            capsys, "explain", OWNER, AMARA, "send_marketing", "--policy", "etiquette", "--db", db
        )
        as_json = run(
            capsys,
            "explain",
            OWNER,
            AMARA,
            "message",
            "--at",
            "2023-10-06T00:00:00Z",
            "--json",
            "--db",
            db,
        )

        assert 0 == code
        assert f"send_marketing {OWNER} -> {AMARA}: denied" in out
        assert "[no_consent]" in out
        assert 0 == as_json[0]
        assert json.loads(as_json[1])["explanation"].startswith(
            f"message {OWNER} -> {AMARA}: allowed"
        )

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--at", "2026-01-01"], "at='2026-01-01': a time without a UTC offset"),
            (["--at", "soon"], "at='soon'"),
            (["--policy", "etiquette&nice"], "unknown preset 'nice'"),
            (["--purpose", ""], "purpose=''"),
        ],
    )
    def test_bad_options_are_one_line_and_exit_2(
        self, capsys: pytest.CaptureFixture[str], db: str, argv: list[str], message: str
    ) -> None:
        """Bad option values are reported in one line on stderr, exit status 2."""
        code, out, err = run(capsys, "check", OWNER, AMARA, "pitch", *argv, "--db", db)

        assert (2, "") == (code, out)
        assert 1 == len(err.splitlines())
        assert message in err

    def test_a_missing_database_is_not_created(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Check on a database that does not exist says so instead of creating an empty one."""
        path = tmp_path / "nothere.db"

        code, _, err = run(capsys, "check", "ana", "bo", "message", "--db", str(path))

        assert 2 == code
        assert "no database at" in err
        assert not path.exists()

    @pytest.mark.parametrize("command", [["check", "ana", "bo", "message"], ["forget", "bo"]])
    def test_an_empty_file_is_no_database(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
    ) -> None:
        """An empty --db file is not made a store by a command that never creates one."""
        path = tmp_path / "empty.db"
        path.touch()

        code, _, err = run(capsys, *command, "--db", str(path))

        assert 2 == code
        assert "no database at" in err
        assert b"" == path.read_bytes()
        assert ["empty.db"] == [p.name for p in tmp_path.iterdir()]

    def test_a_line_break_in_what_was_given_stays_one_line(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, db: str
    ) -> None:
        """A path or an id holding a line break is reported in one line, the break escaped."""
        missing = str(tmp_path / "two\nlines.db")
        contact = "x\ny"

        results = [
            run(capsys, "check", "ana", "bo", "message", "--db", missing),
            run(capsys, "import", "jsonl", str(tmp_path / "a\nb.jsonl"), "--db", db),
            run(capsys, "receipt", "acme", contact, "--policy-url", "https://x.example",
                *CONTROLLER, "--db", db),
        ]  # fmt: skip

        for code, out, err in results:
            assert (2, "") == (code, out)
            assert 1 == len(err.splitlines()), err
        assert "two\\nlines.db" in results[0][2]
        assert "x\\ny" in results[2][2]

    def test_a_file_that_is_no_database_is_refused(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A --db that is not a store's database is reported in one line."""
        path = tmp_path / "notes.db"
        path.write_text("not a database\n" * 100, encoding="utf-8")

        code, _, err = run(capsys, "check", "ana", "bo", "message", "--db", str(path))

        assert 2 == code
        assert 1 == len(err.splitlines())

    def test_the_default_database_is_in_the_working_directory(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without --db the commands use permission_networking.db in the working directory."""
        monkeypatch.chdir(tmp_path)

        code, _, _ = run(capsys, "import", "linkedin", str(LINKEDIN_2023))

        assert 0 == code
        assert (tmp_path / "permission_networking.db").exists()
        assert 0 == run(capsys, "verify")[0]


class TestScreen:
    def test_the_summary_counts_reasons(self, capsys: pytest.CaptureFixture[str], db: str) -> None:
        """Screen prints how many were screened, allowed and denied, and a table of reasons."""
        code, out, _ = run(
            capsys, "screen", "acme", "send_marketing", "--at", "2024-07-01T12:00:00Z", "--db", db
        )
        lines = out.splitlines()

        assert 0 == code
        assert (
            "send_marketing for acme at 2024-07-01T12:00:00+00:00: 4 screened, 2 allowed, 2 denied"
            == lines[0]
        )
        assert [
            "reason             denials",
            "consent_withdrawn        1",
            "undeliverable            1",
        ] == lines[1:]

    def test_csv_lists_every_contact(self, capsys: pytest.CaptureFixture[str], db: str) -> None:
        """Screen --csv prints one row per contact with its codes."""
        code, out, _ = run(
            capsys,
            "screen",
            "acme",
            "send_marketing",
            "--at",
            "2024-07-01T12:00:00Z",
            "--csv",
            "--db",
            db,
        )

        assert 0 == code
        assert [
            "contact,allowed,codes,retry_at",
            "ada@example.com,yes,,",
            "gone@example.net,no,undeliverable,",
            "grace@example.com,yes,,",
            "linus@example.de,no,consent_withdrawn,",
        ] == out.splitlines()

    def test_json_has_the_full_lists(
        self, capsys: pytest.CaptureFixture[str], db: str, giving_db: str
    ) -> None:
        """Screen --json gives the allowed contacts, each denial's codes, retry time and the counts."""
        code, out, _ = run(
            capsys, "screen", OWNER, "ask_favor", "--at", "2023-10-06T00:00:00Z", "--policy", "etiquette",
            "--json", "--db", db,
        )  # fmt: skip
        waiting = run(
            capsys, "screen", "ana", "ask_favor", "--at", "2026-03-04T09:00:00Z", "--policy", "etiquette",
            "--json", "--db", giving_db,
        )  # fmt: skip
        data = json.loads(out)

        assert 0 == code
        assert {"action", "at", "screened", "allowed", "denied", "counts"} == set(data)
        assert 3 == data["screened"]
        amara = next(d for d in data["denied"] if d["contact"] == AMARA)
        assert (["cooling_off", "reciprocity"], None) == (amara["codes"], amara["retry_at"])
        assert [
            {"contact": "bo", "codes": ["cooling_off"], "retry_at": "2026-03-16T09:00:00+00:00"}
        ] == (json.loads(waiting[1])["denied"])

    def test_an_empty_audience_prints_no_table(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        """A sender without contacts screens nobody."""
        code, out, _ = run(capsys, "screen", "nobody", "message", "--db", db)

        assert 0 == code
        assert 1 == len(out.splitlines())
        assert "0 screened" in out

    def test_csv_and_json_together_are_refused(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        """--csv and --json are alternatives."""
        code, _, err = run(capsys, "screen", "acme", "message", "--csv", "--json", "--db", db)

        assert 2 == code
        assert "choose one of --csv and --json" in err


class TestVerifyAndForget:
    def test_an_intact_store_verifies(self, capsys: pytest.CaptureFixture[str], db: str) -> None:
        """Verify exits 0 and says how many interactions it checked."""
        code, out, _ = run(capsys, "verify", "--db", db)
        as_json = run(capsys, "verify", "--db", db, "--json")

        assert (0, "verified 17 interactions: no problems\n") == (code, out)
        assert {"ok": True, "checked": 17, "problems": []} == json.loads(as_json[1])

    def test_a_tampered_store_exits_1_with_the_problems(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        """An interaction changed behind the store's back is reported, exit status 1."""
        with sqlite3.connect(db) as conn:
            conn.execute(
                "UPDATE interactions SET body = replace(body, 'web_form', 'written') "
                "WHERE contact = 'ada@example.com'"
            )
        conn.close()

        code, out, _ = run(capsys, "verify", "--db", db)

        assert 1 == code
        assert "problems" in out.splitlines()[0]
        assert "  changed: acme -> ada@example.com mailchimp:" in out

    def test_forget_erases_and_suppresses(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        """Forget erases the contact's interactions; every action is denied afterwards."""
        code, out, _ = run(capsys, "forget", "ada@example.com", "--db", db, "--json")
        after = run(capsys, "check", "acme", "ada@example.com", "send_marketing", "--db", db)
        text = run(capsys, "forget", "ada@example.com", "--db", db)

        assert (0, {"contact": "ada@example.com", "erased": 3}) == (code, json.loads(out))
        assert 1 == after[0]
        assert "do_not_contact" in after[1]
        assert text[1].startswith("erased 0 interactions with ada@example.com;")

    def test_forget_refuses_a_database_that_is_not_there(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A mistyped --db is bad input: forget does not erase in a new, empty file."""
        typo = tmp_path / "crm-typo.db"

        code, out, err = run(capsys, "forget", "ada@example.com", "--db", str(typo))

        assert (2, "") == (code, out)
        assert f"no database at {typo}" in err
        assert not typo.exists()


def _two_permissions(tmp_path: Path) -> str:
    """
    Return a new database in which bo gave acme two permissions, for marketing and for sales.
    """
    db = str(tmp_path / "two.db")
    with SQLiteStore(db) as store:
        for n, purpose in enumerate(("marketing", "sales")):
            store.record(
                Interaction(
                    f"g{n}", "acme", "bo", "opt_in_granted", "2026-01-01T00:00:00Z", purpose=purpose
                )
            )
    return db


class TestReceipt:
    def test_a_receipt_from_options(self, capsys: pytest.CaptureFixture[str], db: str) -> None:
        """Receipt prints the Kantara receipt of the contact's one active permission."""
        code, out, _ = run(
            capsys, "receipt", "acme", "ada@example.com", "--policy-url", "https://acme.example/privacy",
            *CONTROLLER, "--db", db,
        )  # fmt: skip
        data = json.loads(out)

        assert 0 == code
        assert "KI-CR-v1.1.0" == data["version"]
        assert "web_form" == data["collectionMethod"]
        assert "ada@example.com" == data["piiPrincipalId"]
        assert "GB-ENG" == data["jurisdiction"]

    @pytest.mark.parametrize(("channel", "method"), [("email", "web_form"), ("other", "verbal")])
    def test_a_channels_permission_is_chosen_over_the_one_for_every_channel(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, channel: str, method: str
    ) -> None:
        """--channel email picks the email permission; --channel other the one for every channel."""
        path = tmp_path / "crm.db"
        with SQLiteStore(path) as store:
            for id_, on, how in (("p1", "email", "web_form"), ("p2", "other", "verbal")):
                store.record(
                    Interaction(id_, "ana", "pat", "opt_in_granted", "2026-03-02T10:00:00Z",
                                purpose="marketing", channel=on, evidence=Evidence(how))
                )  # fmt: skip

        code, out, _ = run(
            capsys, "receipt", "ana", "pat", "--channel", channel, "--jurisdiction", "CA",
            "--policy-url", "https://acme.example/privacy", *CONTROLLER, "--db", str(path),
        )  # fmt: skip

        assert 0 == code
        assert method == json.loads(out)["collectionMethod"]

    def test_the_consent_in_force_is_chosen_over_an_ended_one_for_the_channel(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """An ended email consent gives way to one in force for every channel, which covers email."""
        path = tmp_path / "crm.db"
        with SQLiteStore(path) as store:
            store.record(
                Interaction("p1", "ana", "pat", "opt_in_granted", "2026-03-02T10:00:00Z",
                            purpose="marketing", channel="email", evidence=Evidence("web_form"),
                            metadata={"expires_at": "2026-03-03T00:00:00Z"})
            )  # fmt: skip
            store.record(
                Interaction("p2", "ana", "pat", "opt_in_granted", "2026-03-04T10:00:00Z",
                            purpose="marketing", evidence=Evidence("verbal"))
            )  # fmt: skip

        code, out, err = run(
            capsys, "receipt", "ana", "pat", "--channel", "email", "--jurisdiction", "CA",
            "--policy-url", "https://acme.example/privacy", *CONTROLLER, "--db", str(path),
        )  # fmt: skip

        assert (0, "") == (code, err)
        assert "verbal" == json.loads(out)["collectionMethod"]

    def test_a_receipt_from_a_controller_file(
        self, capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
    ) -> None:
        """--controller FILE.json gives the controller's details; the same receipt has the same id."""
        controller = tmp_path / "controller.json"
        controller.write_text(
            json.dumps(
                {
                    "name": "Acme Ltd",
                    "contact": "Data Protection Officer",
                    "email": "dpo@acme.example",
                    "address": "1 Main Street, London",
                    "phone": "+44 20 7946 0000",
                    "url": "https://acme.example",
                }
            ),
            encoding="utf-8",
        )
        argv = [
            "receipt",
            "acme",
            "ada@example.com",
            "--policy-url",
            "https://acme.example/privacy",
        ]

        first = run(
            capsys, *argv, "--controller", str(controller), "--purpose", "marketing", "--db", db
        )
        second = run(
            capsys, *argv, *CONTROLLER, "--channel", "email", "--jurisdiction", "GB", "--db", db
        )

        assert 0 == first[0] == second[0]
        assert json.loads(first[1])["consentReceiptID"] == json.loads(second[1])["consentReceiptID"]
        assert "GB" == json.loads(second[1])["jurisdiction"]

    def test_a_withdrawn_permission_still_has_its_receipt(
        self, capsys: pytest.CaptureFixture[str], db: str
    ) -> None:
        """A contact who withdrew gets the receipt of the consent that was, saying when it ended."""
        with SQLiteStore(db) as store:
            (permission,) = store.relationship("acme", "linus@example.de").permissions
        assert permission.withdrawn_at is not None

        code, out, err = run(
            capsys, "receipt", "acme", "linus@example.de", "--policy-url", "https://x.example",
            *CONTROLLER, "--purpose", "marketing", "--db", db,
        )  # fmt: skip
        (service,) = json.loads(out)["services"]

        assert 0 == code
        assert "no longer in force" in err
        assert permission.withdrawn_at.isoformat() in service["purposes"][0]["termination"]

    def test_no_permission_is_bad_input(self, capsys: pytest.CaptureFixture[str], db: str) -> None:
        """A contact who never gave a permission has no receipt: one line, status 2."""
        code, out, err = run(
            capsys, "receipt", "acme", "nobody@example.org", "--policy-url", "https://x.example",
            *CONTROLLER, "--purpose", "marketing", "--db", db,
        )  # fmt: skip

        assert (2, "") == (code, out)
        assert 1 == len(err.splitlines())
        assert "no permission for marketing" in err

    def test_several_permissions_need_a_choice(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """With two active permissions, the receipt asks which one."""
        db = _two_permissions(tmp_path)

        code, _, err = run(
            capsys, "receipt", "acme", "bo", "--policy-url", "https://x.example", *CONTROLLER,
            "--group", "nope", "--db", db,
        )  # fmt: skip
        code2, _, err2 = run(
            capsys,
            "receipt",
            "acme",
            "bo",
            "--policy-url",
            "https://x.example",
            *CONTROLLER,
            "--db",
            db,
        )

        assert 2 == code
        assert "no permission" in err
        assert 2 == code2
        assert "2 active permissions (marketing on every channel; sales on every channel)" in err2

    def test_several_ended_permissions_need_a_choice(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """With two withdrawn permissions and none in force, the receipt asks which one."""
        db = _two_permissions(tmp_path)
        with SQLiteStore(db) as store:
            store.record(Interaction("o", "acme", "bo", "opt_out", "2026-02-01T00:00:00Z"))

        code, out, err = run(
            capsys, "receipt", "acme", "bo", "--policy-url", "https://x.example", *CONTROLLER,
            "--db", db,
        )  # fmt: skip

        assert (2, "") == (code, out)
        assert "2 ended permissions (marketing on every channel; sales on every channel)" in err

    @pytest.mark.parametrize(
        "case",
        [
            ([], None, "the controller is missing --controller-name"),
            (
                ["--controller", "FILE", "--controller-name", "X"],
                "{}",
                "either as --controller FILE.json",
            ),
            (["--controller", "FILE"], "[1]", "expected a JSON object"),
            (["--controller", "FILE"], "{oops", "not a JSON file (Expecting property name"),
            (["--controller", "FILE"], "[" * 100_000, "not a JSON file"),
            (["--controller", "FILE"], '{"name": "x"}', "missing"),
            (["--controller", "MISSING"], None, "No such file or directory"),
        ],
    )
    def test_bad_controller_details_exit_2(
        self,
        capsys: pytest.CaptureFixture[str],
        db: str,
        tmp_path: Path,
        case: tuple[list[str], str | None, str],
    ) -> None:
        """Missing or malformed controller details are one-line errors with exit status 2."""
        extra, content, message = case
        path = tmp_path / "controller.json"
        if content is not None:
            path.write_text(content, encoding="utf-8")
        names = {"FILE": str(path), "MISSING": str(tmp_path / "missing.json")}
        argv = [names.get(a, a) for a in extra]

        code, _, err = run(
            capsys, "receipt", "acme", "ada@example.com", "--policy-url", "https://x.example", *argv,
            "--db", db,
        )  # fmt: skip

        assert 2 == code
        assert 1 == len(err.splitlines())
        assert message in err


class TestDiagramAndDemo:
    @pytest.mark.parametrize(("fmt", "start"), [("mermaid", "stateDiagram-v2"), ("dot", "digraph")])
    def test_the_diagram_renders_the_transition_table(
        self, capsys: pytest.CaptureFixture[str], fmt: str, start: str
    ) -> None:
        """Diagram prints the state diagram in Mermaid or Graphviz, or as JSON."""
        code, out, _ = run(capsys, "diagram", "--format", fmt)
        as_json = run(capsys, "diagram", "--format", fmt, "--json")

        assert 0 == code
        assert out.startswith(start)
        assert {"format": fmt, "diagram": out} == json.loads(as_json[1])

    def test_the_demo_deletes_its_store(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The demo prints the stories and leaves no database behind."""
        monkeypatch.chdir(tmp_path)

        code, out, err = run(capsys, "demo")

        assert (0, "") == (code, err)
        assert out.startswith("permission_networking demo: six short stories.")
        assert "6. Do not contact" in out
        assert "is deleted" in out
        assert [] == list(tmp_path.iterdir())

    def test_the_demo_keeps_an_explicit_store(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """With --db the stories stay in that database for further commands."""
        db = str(tmp_path / "demo.db")

        code, out, _ = run(capsys, "demo", "--db", db)
        explained = run(
            capsys, "explain", "ana", "bo", "send_marketing", "--db", db, "--policy", "etiquette"
        )

        assert 0 == code
        assert f"The stories are kept in {db}." in out
        assert 0 == explained[0]
        assert "[consent_withdrawn]" in explained[1]

    def test_the_demo_runs_again_on_its_own_store(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A second demo on the database an earlier demo wrote adds nothing and succeeds."""
        db = str(tmp_path / "demo.db")
        run(capsys, "demo", "--db", db)
        with SQLiteStore(db) as store:
            before = [store.history(r.sender, r.contact) for r in store.relationships()]

        code, _, err = run(capsys, "demo", "--db", db)

        assert (0, "") == (code, err)
        with SQLiteStore(db) as store:
            assert before == [store.history(r.sender, r.contact) for r in store.relationships()]

    def test_the_demo_refuses_a_database_with_data_of_its_own(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """The demo's stories never join a real ledger: exit 2, one line, the ledger unchanged."""
        db = str(tmp_path / "crm.db")
        mine = Interaction("x1", "ana", "bo", "message", "2026-01-05T09:00:00Z")
        with SQLiteStore(db) as store:
            store.record(mine)

        code, out, err = run(capsys, "demo", "--db", db)

        assert (2, "") == (code, out)
        assert 1 == len(err.splitlines())
        assert "already holds interactions of its own" in err
        with SQLiteStore(db) as store:
            assert [mine] == store.history("ana", "bo")
            assert 1 == len(list(store.relationships()))

    def test_the_demo_help_names_its_own_default(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Demo's --db defaults to a throw-away file, not the working database."""
        code, out, _ = run(capsys, "demo", "--help")

        assert 0 == code
        assert "throw-away" in out
        assert "permission_networking.db" not in out

    def test_the_demo_as_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Demo --json prints the six stories with their events."""
        code, out, _ = run(capsys, "demo", "--json")

        assert 0 == code
        assert ["LinkedIn is not an opt-in"] == [s["title"] for s in json.loads(out)][:1]


class TestFailures:
    @pytest.mark.parametrize(
        ("error", "code", "message"),
        [
            (KeyboardInterrupt(), 130, "permission-networking: interrupted"),
            (OSError("disk full"), 2, "permission-networking: error: disk full"),
            (ValueError(), 2, "permission-networking: error: ValueError"),
            (
                InvalidRequest("x", 1, "bad\nsecond line"),
                2,
                "permission-networking: error: x=1: bad",
            ),
            (sqlite3.OperationalError("database is locked"), 2, "error: database is locked"),
        ],
    )
    def test_errors_become_one_line_and_an_exit_status(
        self,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        error: BaseException,
        code: int,
        message: str,
    ) -> None:
        """Interrupts and library errors end with one line on stderr and no traceback."""

        def fail(args: Any) -> int:
            raise error

        monkeypatch.setattr(cli, "_cmd_diagram", fail)

        result, out, err = run(capsys, "diagram")

        assert (code, "") == (result, out)
        assert message == err.strip() or message in err
        assert 1 == len(err.splitlines())

    def test_a_closed_pipe_ends_quietly(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When the reader of stdout goes away, the command ends with status 0 and no message."""

        def fail(args: Any) -> int:
            raise BrokenPipeError

        monkeypatch.setattr(cli, "_cmd_diagram", fail)
        monkeypatch.setattr("os.dup2", lambda *_: None)

        assert (0, "", "") == run(capsys, "diagram")


class TestWhatTheDatabaseHolds:
    @staticmethod
    def ledger(path: Path) -> None:
        """
        Store two interactions of ana with bo at *path*.
        """
        with SQLiteStore(path) as store:
            store.record(
                Interaction("i1", "ana", "bo", "connection_accepted", "2026-03-01T10:00:00Z",
                            direction="inbound")
            )  # fmt: skip
            store.record(Interaction("i2", "ana", "bo", "message", "2026-03-02T10:00:00Z"))

    @pytest.mark.parametrize(
        "command", [["verify"], ["forget", "bo"], ["check", "ana", "bo", "message"]]
    )
    def test_another_apps_database_is_not_changed(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
    ) -> None:
        """A SQLite file without a store's tables is refused, byte for byte unchanged."""
        path = tmp_path / "other_app.db"
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("CREATE TABLE t (x)")
            conn.execute("DROP TABLE t")
        before = path.read_bytes()

        code, out, err = run(capsys, *command, "--db", str(path))

        assert (2, "") == (code, out)
        assert "is a SQLite database, but not one of permission-networking's" in err
        assert before == path.read_bytes()

    def test_an_import_into_another_apps_tables_is_refused(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Importing into a database of other tables would mix the ledger into it: refused."""
        path = tmp_path / "other_app.db"
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("CREATE TABLE customers (name)")
            conn.commit()
        before = path.read_bytes()

        code, _, err = run(capsys, "import", "linkedin", str(LINKEDIN_2023), "--db", str(path))

        assert 2 == code
        assert "not one of permission-networking's" in err
        assert before == path.read_bytes()

    def test_conflicting_input_is_refused_before_a_database_is_made(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """One id with two contents in the input: nothing is created, and the message names it."""
        lines = [
            Interaction("i1", "ana", "bo", "message", "2026-03-01T10:00:00Z").to_dict(),
            Interaction("i1", "ana", "bo", "message", "2026-03-02T10:00:00Z").to_dict(),
        ]
        source = tmp_path / "log.jsonl"
        source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        path = tmp_path / "new.db"

        code, _, err = run(capsys, "import", "jsonl", str(source), "--db", str(path))

        assert 2 == code
        assert "gives id 'i1' twice, with different content" in err
        assert not path.exists()

    def test_a_failed_import_leaves_what_another_process_stored(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two imports start on one new file; the one that fails removes nothing the other stored."""
        path = tmp_path / "new.db"
        source = tmp_path / "mine.jsonl"
        line = Interaction("a1", "ana", "cy", "message", "2026-03-01T10:00:00Z").to_dict()
        source.write_text(json.dumps(line) + "\n", encoding="utf-8")
        real = SQLiteStore
        writer: list[sqlite3.Connection] = []

        def racing(db: str) -> SQLiteStore:
            # The other process made the file a moment ago, and is still writing.
            self.ledger(Path(db))
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            writer.append(conn)
            return real(db, timeout=0.1)

        monkeypatch.setattr(cli, "SQLiteStore", racing)
        code, _, _ = run(capsys, "import", "jsonl", str(source), "--db", str(path))
        writer[0].execute("ROLLBACK")
        writer[0].close()

        assert 2 == code
        with real(path) as store:
            assert ["i1", "i2"] == [i.id for i in store.history("ana", "bo")]

    def test_the_demo_leaves_a_database_that_has_forgotten_someone(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Its own database after a forget, or a real one whose contacts were all forgotten: refused."""
        own, real = tmp_path / "demo.db", tmp_path / "crm.db"
        assert 0 == run(capsys, "demo", "--db", str(own))[0]
        self.ledger(real)
        for path in (own, real):
            assert 0 == run(capsys, "forget", "bo", "--db", str(path))[0]

            code, out, err = run(capsys, "demo", "--db", str(path))

            assert (2, "") == (code, out)
            assert "has forgotten someone" in err
        with SQLiteStore(real) as store:
            assert [] == list(store.relationships())

    @pytest.mark.parametrize(
        ("tamper", "command", "code"),
        [
            # The same text as bytes is the same text: nothing the chain holds changed.
            (
                "UPDATE interactions SET sender = CAST(sender AS BLOB) WHERE id = 'i1'",
                ["verify"],
                0,
            ),
            ("UPDATE pairs SET contact = CAST(contact AS BLOB)", ["verify"], 0),
            ("UPDATE interactions SET sender = CAST('zed' AS BLOB) WHERE id = 'i1'", ["verify"], 1),
            (
                "INSERT INTO tombstones VALUES ('k', CAST('2026-01-01T00:00:00+00:00' AS BLOB), 1)",
                ["screen", "ana", "message"],
                2,
            ),
        ],
    )
    def test_a_file_changed_behind_the_stores_back_is_no_traceback(
        self,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
        tamper: str,
        command: list[str],
        code: int,
    ) -> None:
        """Columns rewritten as blobs are verified as the text they hold; a broken tombstone is one line."""
        path = tmp_path / "crm.db"
        self.ledger(path)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute(tamper)
            conn.commit()

        result, _, err = run(capsys, *command, "--db", str(path))

        assert code == result
        if code == 2:
            assert 1 == len(err.splitlines())
            assert err.rstrip().endswith("was changed behind the store's back")
        else:
            assert "" == err

    def test_a_line_break_in_a_path_keeps_the_reason(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """The whole message is one line, a line break in the path shown escaped."""
        path = tmp_path / "two\nlines.db"
        path.write_text("not a database\n", encoding="utf-8")

        code, _, err = run(capsys, "check", "ana", "bo", "message", "--db", str(path))

        assert 2 == code
        assert 1 == len(err.splitlines())
        assert "two\\nlines.db" in err
        assert "not a SQLite database" in err


class TestProgress:
    def test_progress_shows_only_on_a_terminal(self) -> None:
        """The progress line is written and cleared on a terminal, and never elsewhere."""

        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        terminal, pipe = Terminal(), io.StringIO()
        for stream in (terminal, pipe):
            status = cli._Status(stream)
            status.show("reading x ...")
            status.clear()
            status.clear()

        assert "\r\x1b[Kreading x ...\r\x1b[K" == terminal.getvalue()
        assert "" == pipe.getvalue()
