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
