"""
Nox sessions: a plain `nox` runs what CI runs.
"""

from __future__ import annotations

import os
import shutil

from pathlib import Path

import nox


nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_external_run = True
# The tests run last, so their summary closes the output.
nox.options.sessions = ["lint", "typing", "docs", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
LINT_PATHS = ["src", "tests", "docs", "noxfile.py", "benchmarks"]
SPHINX_ARGS = ["-n", "-W", "--keep-going", "-b", "html", "-d", "docs/_build/doctrees"]


@nox.session
def tests(session: nox.Session) -> None:
    """
    Run the tests and every doctest against the installed package, with branch coverage.
    """
    session.install(".[postgres]", *nox.project.dependency_groups(PYPROJECT, "tests"))

    session.run("coverage", "erase")
    # The package's doctests come from the installed copy (--pyargs), never
    # from src/, so it is imported once; coverage maps it back onto src/.
    args = session.posargs or ["tests", "docs", "README.md", "--pyargs", "permission_networking"]
    session.run("coverage", "run", "-m", "pytest", *args)
    session.run("coverage", "combine")
    report = ["coverage", "report"]
    if not os.environ.get("PERMISSION_NETWORKING_TEST_DSN"):
        # Without a server the PostgreSQL tests skip, so its store cannot be covered;
        # CI (.ci/run) always starts one and measures it.
        session.log("no PERMISSION_NETWORKING_TEST_DSN: PostgresStore is left out of coverage")
        report.append("--omit=*/permission_networking/stores/postgres.py")
    session.run(*report)


@nox.session
def typing(session: nox.Session) -> None:
    """
    Type-check the package and its tests with mypy --strict.
    """
    session.install(".[postgres]", *nox.project.dependency_groups(PYPROJECT, "typing"))

    session.run("mypy", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """
    Lint and check the formatting with ruff.
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))

    paths = [path for path in LINT_PATHS if Path(path).exists()]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session
def docs(session: nox.Session) -> None:
    """
    Build the HTML documentation; every warning, and every broken reference, is an error.
    """
    # The postgres extra lets the API reference import PostgresStore.
    session.install(".[postgres]", *nox.project.dependency_groups(PYPROJECT, "docs"))

    shutil.rmtree("docs/_build", ignore_errors=True)
    session.run("sphinx-build", *SPHINX_ARGS, "docs", "docs/_build/html", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """
    Run the benchmark suite (not part of a plain `nox`); extra arguments go to benchmarks/run.py.

    For example `nox -s bench -- --size small check replay`; the report is
    printed and written to benchmarks/results.json.
    """
    session.install(".[postgres]", *nox.project.dependency_groups(PYPROJECT, "bench"))

    session.run("python", "benchmarks/run.py", *session.posargs)
