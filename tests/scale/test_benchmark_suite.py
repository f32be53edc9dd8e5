"""
Tests that the benchmark suite runs: every benchmark once, at the tiny size, checked for shape.

Nothing here times anything or asserts on a time; the numbers a tiny run
prints are meaningless. It proves that `nox -s bench` will not fail on the
benchmark code itself.
"""

from __future__ import annotations

import importlib
import json
import math
import os

from pathlib import Path
from types import ModuleType

import pytest


BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def postgres_configured() -> bool:
    """
    Whether the PostgreSQL benchmark has a server (it reports nothing without one).
    """
    names = ("PERMISSION_NETWORKING_BENCH_DSN", "PERMISSION_NETWORKING_TEST_DSN")
    return any(os.environ.get(name) for name in names)


@pytest.fixture(name="suite")
def _suite(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    if not (BENCHMARKS / "run.py").exists():
        pytest.skip("the benchmarks/ folder is not beside the tests (an installed test run)")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("run")


def test_every_benchmark_reports_rows(suite: ModuleType) -> None:
    """Each benchmark runs at the tiny size and reports named, finite, unit-bearing rows."""
    size = suite.SIZES["tiny"]

    rows = suite.run([], size)

    groups = {row.group for row in rows}
    assert {
        "check vs peers",
        "check vs history length",
        "replay",
        "screen",
        "snapshots",
        "SQLiteStore",
    } | ({"PostgresStore"} if postgres_configured() else set()) == groups
    for row in rows:
        assert row.case
        assert row.unit in {"us", "/s", "B", "x"}
        assert math.isfinite(row.value)
        assert row.value >= 0
        assert (row.target is None) == (row.met is None)
    cases = {row.case for row in rows}
    assert "median ratio to the floor, allowed path (check)" in cases
    assert "median ratio to the floor, denied path (whole decision read)" in cases
    assert "relationship()" in cases


def test_the_command_line_writes_the_report(
    suite: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """run.py prints a table and writes the JSON report with the environment and every row."""
    report = tmp_path / "results.json"

    assert 0 == suite.main(["--size", "tiny", "--json", str(report), "replay", "history"])

    data = json.loads(report.read_text(encoding="utf-8"))
    assert "tiny" == data["size"]["name"]
    assert {"python", "implementation", "package"} <= set(data["environment"])
    assert {"replay", "check vs history length"} == {row["group"] for row in data["rows"]}
    assert "[replay]" in capsys.readouterr().out


def test_an_unknown_benchmark_is_refused(suite: ModuleType) -> None:
    """Naming a benchmark that does not exist stops with a usage error."""
    with pytest.raises(SystemExit):
        suite.main(["--size", "tiny", "nothing"])


def test_the_size_comes_from_the_environment(
    suite: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --size, the environment variable picks the size; an unknown one stops the run."""
    harness = suite.size_named.__globals__
    monkeypatch.setenv(harness["SIZE_VARIABLE"], "small")
    assert "small" == suite.size_named(None).name
    monkeypatch.setenv(harness["SIZE_VARIABLE"], "huge")
    with pytest.raises(SystemExit):
        suite.size_named(None)
