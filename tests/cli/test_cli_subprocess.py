from __future__ import annotations

import json
import os
import subprocess
import sys

from pathlib import Path

import pytest

import permission_networking


FIXTURES = Path(__file__).parent.parent / "importers" / "fixtures"
LINKEDIN_2026 = FIXTURES / "linkedin" / "Complete_LinkedInDataExport_03-09-2026"
OWNER = "https://www.linkedin.com/in/jordanpike"
OMAR = "https://www.linkedin.com/in/omar-haddad-3b2a91"


def cli(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """
    Run ``python -m permission_networking`` in *cwd*, as a user would.
    """
    package_root = str(Path(permission_networking.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "permission_networking", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


class TestAsAUser:
    def test_the_demo_runs_end_to_end(self, tmp_path: Path) -> None:
        """Python -m permission_networking demo prints the stories, exits 0 and leaves nothing behind."""
        done = cli(tmp_path, "demo")

        assert (0, "") == (done.returncode, done.stderr)
        assert "1. LinkedIn is not an opt-in" in done.stdout
        assert "[no_consent]" in done.stdout
        assert "promote_in_group  denied [do_not_contact" in done.stdout
        assert [] == list(tmp_path.iterdir())

    def test_import_then_check_and_screen(self, tmp_path: Path) -> None:
        """An import is idempotent, check exits 1 when denied, and the JSON has the decision's shape."""
        first = cli(tmp_path, "import", "linkedin", str(LINKEDIN_2026), "--json")
        second = cli(tmp_path, "import", "linkedin", str(LINKEDIN_2026), "--json")
        denied = cli(tmp_path, "check", OWNER, OMAR, "send_marketing", "--json")
        screened = cli(tmp_path, "screen", OWNER, "send_marketing", "--json")

        assert 0 == first.returncode == second.returncode
        assert {"source": "linkedin", "read": 6, "new": 6} == json.loads(first.stdout)
        assert {"source": "linkedin", "read": 6, "new": 0} == json.loads(second.stdout)
        assert 1 == denied.returncode
        decision = json.loads(denied.stdout)
        assert (False, ["no_consent"]) == (
            decision["allowed"],
            [r["code"] for r in decision["reasons"]],
        )
        assert 0 == screened.returncode
        assert {"no_consent": 2} == json.loads(screened.stdout)["counts"]

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["check", "ana", "bo", "wave"], "invalid choice: 'wave'"),
            (["import", "linkedin", "README.md"], "expected a LinkedIn data export"),
            (["import", "jsonl", "missing.jsonl"], "No such file or directory: missing.jsonl"),
            (["explain", "ana", "bo", "pitch", "--at", "tomorrow"], "at='tomorrow'"),
        ],
    )
    def test_bad_input_is_one_line_without_a_traceback(
        self, tmp_path: Path, argv: list[str], message: str
    ) -> None:
        """Bad input ends with exit status 2, one line on stderr, and no traceback."""
        (tmp_path / "README.md").write_text("# not an export\n", encoding="utf-8")

        done = cli(tmp_path, *argv)

        assert 2 == done.returncode
        assert "" == done.stdout
        assert 1 == len(done.stderr.splitlines())
        assert message in done.stderr
        assert "Traceback" not in done.stderr


def _without_unbuffered(**extra: str) -> dict[str, str]:
    # As a user's shell has it: output buffered until the end, unless told otherwise.
    package_root = str(Path(permission_networking.__file__).resolve().parent.parent)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _to_a_reader_that_left(cwd: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Like `... | head -1` once head has exited: the pipe's reading end is closed.
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(  # noqa: S603
            [sys.executable, "-m", "permission_networking", *argv],
            cwd=cwd,
            env=_without_unbuffered(**env),
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write)


@pytest.fixture(name="denying_db")
def _denying_db(tmp_path: Path) -> Path:
    """A database in which bo only connected: marketing to bo is denied."""
    path = tmp_path / "crm.db"
    with permission_networking.SQLiteStore(path) as store:
        store.record(
            permission_networking.Interaction(
                "c1",
                "ana",
                "bo",
                "connection_accepted",
                "2026-03-02T09:00:00Z",
                direction="inbound",
            )
        )
    return path


class TestOutputThatCannotBeWritten:
    @pytest.mark.parametrize("unbuffered", ["", "1"])
    @pytest.mark.parametrize("argv", [["diagram"], ["diagram", "--format", "dot", "--json"]])
    def test_a_reader_that_went_away_is_no_error(
        self, tmp_path: Path, argv: list[str], unbuffered: str
    ) -> None:
        """Piped into a reader that left, a command says nothing more and exits 0."""
        env = {"PYTHONUNBUFFERED": unbuffered} if unbuffered else {}

        done = _to_a_reader_that_left(tmp_path, *argv, **env)

        assert (0, "") == (done.returncode, done.stderr)

    @pytest.mark.parametrize("unbuffered", ["", "1"])
    def test_a_denial_exits_1_though_the_reader_went_away(
        self, tmp_path: Path, denying_db: Path, unbuffered: str
    ) -> None:
        """The status still says what was decided when nobody reads the output."""
        env = {"PYTHONUNBUFFERED": unbuffered} if unbuffered else {}

        done = _to_a_reader_that_left(
            tmp_path, "check", "ana", "bo", "send_marketing", "--db", str(denying_db), **env
        )

        assert (1, "") == (done.returncode, done.stderr)

    @pytest.mark.parametrize(
        "argv", [["diagram"], ["screen", "ana", "send_marketing", "--csv"], ["verify", "--json"]]
    )
    def test_a_closed_stdout_is_no_traceback(
        self, tmp_path: Path, denying_db: Path, argv: list[str]
    ) -> None:
        """With stdout closed (`>&-`) the output goes nowhere and the status stands."""
        command = [sys.executable, "-m", "permission_networking", *argv]
        if argv[0] != "diagram":
            command += ["--db", str(denying_db)]
        done = subprocess.run(  # noqa: S603
            command,
            cwd=tmp_path,
            env=_without_unbuffered(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            preexec_fn=lambda: os.close(1),
        )

        assert (0, "") == (done.returncode, done.stderr)

    def test_json_is_valid_whatever_the_output_encoding(self, tmp_path: Path) -> None:
        """On an output that cannot hold every character, JSON escapes them and CSV goes on."""
        path = tmp_path / "crm.db"
        name = "Łukasz Żółw"
        with permission_networking.SQLiteStore(path) as store:
            store.record(
                permission_networking.Interaction(
                    "c1", "ana", name, "connection_accepted", "2026-03-02T09:00:00Z"
                )
            )
        env = _without_unbuffered(PYTHONIOENCODING="cp1252")
        argv = [sys.executable, "-m", "permission_networking", "screen", "ana", "message"]

        as_json = subprocess.run(  # noqa: S603
            [*argv, "--db", str(path), "--json"], env=env, capture_output=True, check=False
        )
        as_csv = subprocess.run(  # noqa: S603
            [*argv, "--db", str(path), "--csv"], env=env, capture_output=True, check=False
        )

        assert (0, b"") == (as_json.returncode, as_json.stderr)
        assert [name] == json.loads(as_json.stdout)["allowed"]
        assert (0, b"") == (as_csv.returncode, as_csv.stderr)
        assert b"\\u0141ukasz" in as_csv.stdout
