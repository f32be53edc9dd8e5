"""
The reference pages name every value the code has, as the code has it.
"""

from __future__ import annotations

import argparse
import re

from pathlib import Path

import pytest

import permission_networking

from permission_networking import (
    WARNING_CODES,
    Action,
    InteractionKind,
    ReasonCode,
    check,
    exceptions,
    replay,
)
from permission_networking.cli import build_parser
from timeline import day


DOCS = Path(__file__).parent.parent / "docs"


def rows(page: str, heading: str) -> dict[str, list[str]]:
    """
    Return the rows of the first table under *heading* in *page*, by their first cell's code.
    """
    text = (DOCS / page).read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    found: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`(\w+)`", cells[0]) if line.startswith("|") else None
        if match:
            found[match.group(1)] = cells[1:]
    return found


def test_every_interaction_kind_has_a_row() -> None:
    """The interactions table has one row per kind, and the inbound-only kinds say so."""
    table = rows("reference.md", "Interactions")

    assert [kind.value for kind in InteractionKind] == list(table)
    inbound_only = {kind for kind, cells in table.items() if cells[1] == "inbound"}
    assert {
        "inquiry",
        "purchase",
        "refusal",
        "complaint",
        "opt_in_granted",
        "opt_in_confirmed",
        "opt_out",
    } == inbound_only


def test_every_action_has_its_record_and_defaults() -> None:
    """The actions table gives what each action records and the purpose and channel it defaults to."""
    table = rows("reference.md", "Actions")
    stranger = replay([], sender="ana", contact="bo")

    assert [action.value for action in Action] == list(table)
    for action in Action:
        records, purpose, channel = table[action.value]
        decision = check(stranger, action, at=day(0), group="g")
        assert f"`{action.records.value}`" == records
        named = f"`{decision.purpose}`" if decision.purpose else ""
        assert purpose == named or (decision.purpose is None and purpose.startswith("("))
        assert (f"`{decision.channel}`" if decision.channel else "") == channel


def test_every_reason_code_has_a_row() -> None:
    """The reason codes table has one row per code, and marks exactly the warnings."""
    table = rows("reference.md", "Reason codes")

    assert [code.value for code in ReasonCode] == list(table)
    warnings = {code for code, cells in table.items() if cells[0].startswith("(warning)")}
    assert {code.value for code in WARNING_CODES} == warnings


def subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, list[str]]:
    """
    Return every (sub)command of *parser* with its option strings.
    """
    found: dict[str, list[str]] = {}
    # argparse has no public way to walk its subcommands.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(subcommands(sub, f"{prefix} {name}".strip()))
    if prefix and not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
        found[prefix] = [option for action in parser._actions for option in action.option_strings]
    return found


def test_the_command_line_page_names_every_command_and_option() -> None:
    """docs/cli.md has a section for every command, and names every option."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = subcommands(build_parser())

    assert {"demo", "import jsonl", "check", "forget"} <= set(commands)
    for command, options in commands.items():
        assert f"`{command}" in text, command
        for option in options:
            assert f"`{option}" in text, (command, option)


@pytest.mark.parametrize("name", permission_networking.__all__)
def test_every_public_name_is_in_the_api_reference(name: str) -> None:
    """Each public name is documented in docs/api.md (the exceptions through their module)."""
    text = (DOCS / "api.md").read_text(encoding="utf-8")

    assert f"permission_networking.{name}" in text or name in exceptions.__all__
