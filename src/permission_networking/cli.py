"""
The command line: ``permission-networking`` (also ``python -m permission_networking``).

Every subcommand takes ``--db FILE`` (default ``permission_networking.db``
in the working directory) and ``--json``. Exit status: 0 when allowed or
done, 1 when denied (``check``) or when problems were found (``verify``), 2
on bad input, with a one-line message on stderr. ``explain`` is done when it
has explained, allowed or denied; ``receipt`` for a pair without an active
permission is bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import sqlite3
import sys
import tempfile

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from ._decision import Decision
from ._demo import foreign_interaction, intro, render, run_stories, to_json
from ._guards import resolve_at
from ._machine import state_diagram
from ._policy import Policy
from ._time import now
from ._values import Action, Channel, Interaction, Permission
from .exceptions import PermissionNetworkingError
from .importers import read_jsonl, read_linkedin_export, read_mailchimp_export
from .receipts import Controller, receipt
from .stores import SQLiteStore


__all__ = ["build_parser", "main"]

PROG = "permission-networking"
DEFAULT_DB = "permission_networking.db"

_PRESETS: dict[str, Callable[[], Policy]] = {
    "etiquette": Policy.etiquette,
    "casl": Policy.casl,
    "can_spam": Policy.can_spam,
    "gdpr": Policy.gdpr,
    "pecr": Policy.pecr,
    "tcpa": Policy.tcpa,
}
_ACTIONS = [action.value for action in Action]
_CHANNELS = [channel.value for channel in Channel]
_CONTROLLER_FIELDS = ("name", "contact", "email", "address", "phone", "url")


class _UsageError(Exception):
    """
    Bad input found after parsing: reported in one line, exit status 2.
    """


class _Parser(argparse.ArgumentParser):
    """
    An argument parser whose errors are one line on stderr and exit status 2.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Status:
    """
    A one-line progress display on stderr, shown only when stderr is a terminal.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.active = stream.isatty()
        self.shown = False

    def show(self, text: str) -> None:
        if self.active:
            self.stream.write(f"\r\x1b[K{text}")
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _policy(text: str | None) -> Policy | None:
    """
    Return the policy a ``--policy`` value names: a preset, or presets joined by ``&``.
    """
    if text is None or text.strip().lower() == "auto":
        return None
    policy: Policy | None = None
    for part in text.split("&"):
        name = part.strip().lower().replace("-", "_")
        if name not in _PRESETS:
            choices = ", ".join(_PRESETS)
            msg = (
                f"--policy {text!r}: unknown preset {part.strip()!r}; use auto, one of "
                f"{choices}, or several joined by & (e.g. etiquette&casl)"
            )
            raise _UsageError(msg)
        preset = _PRESETS[name]()
        policy = preset if policy is None else policy & preset
    return policy


def _db_path(args: argparse.Namespace) -> str:
    return args.db if args.db is not None else DEFAULT_DB


@contextlib.contextmanager
def _store(args: argparse.Namespace, *, create: bool = False) -> Iterator[SQLiteStore]:
    path = _db_path(args)
    file = Path(path)
    # An empty file is no database either: SQLite would make a new store of it.
    if not create and (not file.exists() or (file.is_file() and file.stat().st_size == 0)):
        msg = (
            f"no database at {path}; import something first "
            f"({PROG} import linkedin EXPORT.zip) or pass --db FILE"
        )
        raise _UsageError(msg)
    tables = _tables(file)
    # A SQLite database without a store's tables: opening it as a store would
    # write them into it (into an empty one, only what creates a store may).
    if tables is not None and "interactions" not in tables and (tables or not create):
        msg = (
            f"{path} is a SQLite database, but not one of {PROG}'s; "
            "pass --db with the file your imports wrote, or a new file name"
        )
        raise _UsageError(msg)
    with SQLiteStore(path) as store:
        yield store


def _tables(file: Path) -> set[str] | None:
    # The tables of the SQLite database *file*, read without changing it;
    # None when there is none to read (the store then says what is wrong).
    if not file.is_file() or file.stat().st_size == 0:
        return None
    try:
        with contextlib.closing(
            sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        ) as conn:
            return {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error:
        return None


def _has_forgotten(store: SQLiteStore) -> bool:
    with store._begin(write=False) as tx:  # noqa: SLF001 (the CLI is the store's own)
        return tx.tombstoned()


def _when(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def _print_json(data: object) -> None:
    # Readable UTF-8 where the output takes it, escapes elsewhere (a Windows
    # console or file in cp1252, say): valid JSON either way.
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    print(json.dumps(data, indent=2, ensure_ascii=encoding != "utf8"))


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.db is None:
        with tempfile.TemporaryDirectory(prefix="permission_networking-demo-") as tmp:
            with SQLiteStore(Path(tmp) / "demo.db") as store:
                results = run_stories(store)
            kept = None
    else:
        with _store(args, create=True) as store:
            found = foreign_interaction(store)
            if found is not None:
                msg = (
                    f"{args.db} already holds interactions of its own (e.g. {found.id!r} of "
                    f"{found.sender} -> {found.contact}); the demo writes its stories only into "
                    "a new database or its own: pass --db with a new file name"
                )
                raise _UsageError(msg)
            if _has_forgotten(store):
                msg = (
                    f"{args.db} has forgotten someone, so the stories would not play as told; "
                    "the demo writes only into a new database or its own: "
                    "pass --db with a new file name"
                )
                raise _UsageError(msg)
            results = run_stories(store)
        kept = args.db
    if args.json:
        _print_json(to_json(results))
        return 0
    print(intro())
    print(render(results))
    if kept is None:
        print("The store was a throw-away file and is deleted. Next, with your own data:")
        print(f"  {PROG} import linkedin YOUR_EXPORT.zip")
        print(f"  {PROG} screen YOUR_PROFILE_URL send_marketing")
    else:
        print(f"The stories are kept in {kept}. Try:")
        print(f"  {PROG} explain ana bo send_marketing --db {kept}")
    return 0


def _read(args: argparse.Namespace, status: _Status) -> list[Interaction]:
    found: list[Interaction] = []
    for path in args.paths:
        status.show(f"reading {path} ...")
        if args.source == "linkedin":
            found.extend(read_linkedin_export(path, sender=args.sender))
        elif args.source == "mailchimp":
            found.extend(read_mailchimp_export(path, sender=args.sender))
        else:
            found.extend(read_jsonl(path))
    return found


def _refuse_conflicts(interactions: list[Interaction]) -> None:
    # Bad input changes nothing: an id given twice with two contents is
    # refused before any database is opened (or created).
    seen: dict[str, Interaction] = {}
    for interaction in interactions:
        first = seen.setdefault(interaction.id, interaction)
        if first is not interaction and first != interaction:
            msg = (
                f"the input gives id {interaction.id!r} twice, with different content "
                f"({first.kind} at {_when(first.at)}, then {interaction.kind} at "
                f"{_when(interaction.at)}); nothing was stored"
            )
            raise _UsageError(msg)


def _cmd_import(args: argparse.Namespace) -> int:
    status = _Status(sys.stderr)
    try:
        interactions = _read(args, status)
        _refuse_conflicts(interactions)
        with _store(args, create=True) as store:
            status.show(f"recording {len(interactions)} interactions ...")
            new = store.record_many(interactions)
    finally:
        status.clear()
    if args.json:
        _print_json({"source": args.source, "read": len(interactions), "new": new})
    else:
        files = "file" if len(args.paths) == 1 else "files"
        print(
            f"read {len(interactions)} interactions from {len(args.paths)} {args.source} "
            f"{files}: {new} new, {len(interactions) - new} already stored"
        )
    return 0


def _check_at(args: argparse.Namespace) -> None:
    # A bad --at is bad input whatever the database holds: say so before opening it.
    if args.at is not None:
        resolve_at(args.at)


def _decide(args: argparse.Namespace) -> Decision:
    policy = _policy(args.policy)
    _check_at(args)
    with _store(args) as store:
        return store.check(
            args.sender,
            args.contact,
            args.action,
            at=args.at,
            policy=policy,
            channel=args.channel,
            purpose=args.purpose,
            group=args.group,
        )


def _summary(decision: Decision) -> str:
    if decision.allowed:
        notes = []
        if decision.obligations:
            notes.append(f"when you act: {', '.join(decision.obligations)}")
        if decision.warnings:
            notes.append(f"warnings: {', '.join(r.code for r in decision.warnings)}")
        return "allowed" + (f" ({'; '.join(notes)})" if notes else "")
    text = f"denied: {', '.join(decision.codes)}"
    if decision.retry_at is not None:
        text += f" (ask again at {_when(decision.retry_at)})"
    return text


def _cmd_check(args: argparse.Namespace) -> int:
    decision = _decide(args)
    args.outcome = 0 if decision.allowed else 1
    if args.json:
        _print_json(decision.to_dict())
    else:
        print(_summary(decision))
    return 0 if decision.allowed else 1


def _cmd_explain(args: argparse.Namespace) -> int:
    decision = _decide(args)
    if args.json:
        _print_json({**decision.to_dict(), "explanation": decision.explain()})
    else:
        print(decision.explain())
    return 0


def _cmd_screen(args: argparse.Namespace) -> int:
    if args.csv and args.json:
        msg = "choose one of --csv and --json"
        raise _UsageError(msg)
    policy = _policy(args.policy)
    _check_at(args)
    status = _Status(sys.stderr)
    try:
        with _store(args) as store:
            status.show(f"screening {args.sender}'s contacts for {args.action} ...")
            screening = store.screen(
                args.sender,
                args.action,
                at=args.at,
                policy=policy,
                channel=args.channel,
                purpose=args.purpose,
                group=args.group,
            )
    finally:
        status.clear()
    denied = sorted(screening.denied.items())
    counts = sorted(screening.counts.items(), key=lambda item: (-item[1], item[0]))
    if args.json:
        _print_json(
            {
                "action": screening.action.value,
                "at": screening.at.isoformat(),
                "screened": len(screening),
                "allowed": sorted(screening.allowed),
                "denied": [
                    {
                        "contact": contact,
                        "codes": list(decision.codes),
                        "retry_at": None
                        if decision.retry_at is None
                        else decision.retry_at.isoformat(),
                    }
                    for contact, decision in denied
                ],
                "counts": dict(counts),
            }
        )
        return 0
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["contact", "allowed", "codes", "retry_at"])
        rows = [(contact, "yes", "", "") for contact in screening.allowed]
        rows.extend(
            (
                contact,
                "no",
                " ".join(decision.codes),
                "" if decision.retry_at is None else _when(decision.retry_at),
            )
            for contact, decision in denied
        )
        writer.writerows(sorted(rows))
        return 0
    print(
        f"{screening.action.value} for {args.sender} at {_when(screening.at)}: "
        f"{len(screening)} screened, {len(screening.allowed)} allowed, "
        f"{len(screening.denied)} denied"
    )
    if counts:
        width = max(len("reason"), *(len(code) for code, _ in counts))
        print(f"{'reason':<{width}}  denials")
        for code, count in counts:
            print(f"{code:<{width}}  {count:>7}")
    return 0


def _cmd_diagram(args: argparse.Namespace) -> int:
    text = state_diagram(args.format)
    if args.json:
        _print_json({"format": args.format, "diagram": text})
    else:
        sys.stdout.write(text)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    with _store(args) as store:
        verification = store.verify()
    args.outcome = 0 if verification.ok else 1
    if args.json:
        _print_json(verification.to_dict())
    elif verification.ok:
        print(f"verified {verification.checked} interactions: no problems")
    else:
        print(
            f"verified {verification.checked} interactions: {len(verification.problems)} problems"
        )
        for problem in verification.problems:
            which = "" if problem.id is None else f" {problem.id}"
            print(
                f"  {problem.kind.value}: {problem.sender} -> {problem.contact}{which}: "
                f"{problem.detail}"
            )
    return 0 if verification.ok else 1


def _controller(args: argparse.Namespace) -> Controller:
    given = {f: getattr(args, f"controller_{f}") for f in _CONTROLLER_FIELDS}
    if args.controller is not None:
        if any(value is not None for value in given.values()):
            msg = (
                "give the controller either as --controller FILE.json or as --controller-* options"
            )
            raise _UsageError(msg)
        try:
            data = json.loads(Path(args.controller).read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as e:
            # JSONDecodeError and UnicodeDecodeError are ValueErrors.
            msg = f"--controller {args.controller}: not a JSON file ({e})"
            raise _UsageError(msg) from None
        if not isinstance(data, dict):
            msg = f"--controller {args.controller}: expected a JSON object with name, contact, email, address, phone"
            raise _UsageError(msg)
        return Controller.from_dict(data)
    missing = [f for f in _CONTROLLER_FIELDS[:-1] if given[f] is None]
    if missing:
        options = ", ".join(f"--controller-{f}" for f in missing)
        msg = f"the controller is missing {options} (or give --controller FILE.json)"
        raise _UsageError(msg)
    return Controller(
        given["name"],
        given["contact"],
        given["email"],
        given["address"],
        given["phone"],
        given["url"],
    )


def _cmd_receipt(args: argparse.Namespace) -> int:
    controller = _controller(args)
    with _store(args) as store:
        relationship = store.relationship(args.sender, args.contact)
    at = now()
    channel = None if args.channel is None else Channel(args.channel)

    def wanted(permission: Permission) -> bool:
        return (args.purpose is None or str(permission.purpose) == args.purpose) and (
            args.group is None or permission.group == args.group
        )

    matching = [p for p in relationship.permissions if wanted(p)]
    if channel is Channel.OTHER:
        matching = [p for p in matching if p.channel is None]  # given for every channel
    elif channel is not None:
        matching = [p for p in matching if p.channel in {channel, None}]
    # The permission in force (for the channel itself before one for every
    # channel), else one that was withdrawn or lapsed: its receipt proves the
    # consent a past message rested on, and says when it ended.
    active = [p for p in matching if p.is_active(at)]
    found = active or matching
    if channel is not None and channel is not Channel.OTHER:
        found = [p for p in found if p.channel is channel] or found
    what = "" if args.purpose is None else f" for {args.purpose}"
    if not found:
        msg = f"{args.contact} has given {args.sender} no permission{what}"
        raise _UsageError(msg)
    if len(found) > 1:
        keys = "; ".join(
            f"{p.purpose} on {p.channel or 'every channel'}" + (f" in {p.group}" if p.group else "")
            for p in found
        )
        state = "active" if found[0].is_active(at) else "ended"
        msg = (
            f"{len(found)} {state} permissions ({keys}); "
            "choose one with --purpose, --channel or --group"
        )
        raise _UsageError(msg)
    if not found[0].is_active(at):
        print(
            f"note: {args.contact}'s permission{what} is no longer in force; "
            "the receipt says when it ended",
            file=sys.stderr,
        )
    _print_json(
        receipt(
            relationship,
            found[0],
            controller=controller,
            policy_url=args.policy_url,
            jurisdiction=args.jurisdiction,
        )
    )
    return 0


def _cmd_forget(args: argparse.Namespace) -> int:
    # Never create the database: a mistyped --db would erase nothing and say it did.
    with _store(args) as store:
        erased = store.forget(args.contact)
    if args.json:
        _print_json({"contact": args.contact, "erased": erased})
    else:
        print(
            f"erased {erased} interactions with {args.contact}; they stay suppressed "
            "(do_not_contact) until they opt in again"
        )
    return 0


def _common(
    db_help: str = f"the SQLite database (default: {DEFAULT_DB})",
) -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--db", metavar="FILE", help=db_help)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    return common


def _decision_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--channel",
        choices=_CHANNELS,
        metavar="CHANNEL",
        help=f"where: {', '.join(_CHANNELS)} (default: by action)",
    )
    parser.add_argument("--purpose", help="what for (default: by action)")
    parser.add_argument("--group", help="the group, for promote_in_group")
    parser.add_argument("--at", metavar="TIME", help="when, ISO 8601 with an offset (default: now)")
    parser.add_argument(
        "--policy",
        metavar="POLICY",
        help="auto (the contact's jurisdiction, the default), a preset "
        f"({', '.join(_PRESETS)}) or presets joined by & (etiquette&casl)",
    )


def _add(  # noqa: PLR0913
    subparsers: Any,
    name: str,
    run: Callable[[argparse.Namespace], int],
    *,
    help: str,  # noqa: A002
    example: str,
    parents: Sequence[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog="example:\n  " + example.replace("\n", "\n  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=list(parents),
    )
    parser.set_defaults(run=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """
    Return the command line's argument parser.
    """
    common = _common()
    parser = _Parser(
        prog=PROG,
        description="Decide, before acting, whether a relationship entitles you to act.",
        epilog=f"start with:\n  {PROG} demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = [common]

    _add(
        commands,
        "demo",
        _cmd_demo,
        help="walk through the seed stories on a throw-away database",
        example=f"{PROG} demo\n{PROG} demo --db demo.db   # keep the stories to explore them",
        parents=[
            _common(
                "keep the stories in this SQLite database, new or an earlier demo's "
                "(default: a throw-away file, deleted afterwards)"
            )
        ],
    )

    imp = commands.add_parser(
        "import",
        help="import interactions from a LinkedIn or Mailchimp export, or JSON Lines",
        description="Import interactions; importing the same file twice adds nothing.",
        epilog=f"example:\n  {PROG} import linkedin Basic_LinkedInDataExport_03-09-2026.zip",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sources = imp.add_subparsers(dest="source", required=True, metavar="SOURCE")
    linkedin = _add(
        sources,
        "linkedin",
        _cmd_import,
        help="a LinkedIn 'Download your data' export, as its folder or zip",
        example=f"{PROG} import linkedin Basic_LinkedInDataExport_03-09-2026.zip",
        parents=p,
    )
    linkedin.add_argument("paths", nargs="+", metavar="PATH")
    linkedin.add_argument(
        "--sender", help="your id for the export's owner (default: their profile URL, found in it)"
    )
    mailchimp = _add(
        sources,
        "mailchimp",
        _cmd_import,
        help="Mailchimp audience exports: the member CSVs or the zip",
        example=f"{PROG} import mailchimp members_export_3b1f0c9d2e.zip --sender acme",
        parents=p,
    )
    mailchimp.add_argument("paths", nargs="+", metavar="PATH")
    mailchimp.add_argument("--sender", required=True, help="your id for the audience's owner")
    jsonl = _add(
        sources,
        "jsonl",
        _cmd_import,
        help="JSON Lines of Interaction.to_dict() objects",
        example=f"{PROG} import jsonl interactions.jsonl",
        parents=p,
    )
    jsonl.add_argument("paths", nargs="+", metavar="PATH")

    for name, run, help_text, example in (
        (
            "check",
            _cmd_check,
            "decide whether SENDER may do ACTION to CONTACT (exit 1 when denied)",
            f"{PROG} check ana bo@example.com send_marketing --policy etiquette&casl",
        ),
        (
            "explain",
            _cmd_explain,
            "the same decision as check, in plain English",
            f"{PROG} explain ana bo@example.com pitch --at 2026-03-05T09:00:00Z",
        ),
    ):
        sub = _add(commands, name, run, help=help_text, example=example, parents=p)
        sub.add_argument("sender", metavar="SENDER")
        sub.add_argument("contact", metavar="CONTACT")
        sub.add_argument("action", metavar="ACTION", choices=_ACTIONS, help=", ".join(_ACTIONS))
        _decision_options(sub)

    scr = _add(
        commands,
        "screen",
        _cmd_screen,
        help="decide ACTION for every contact of SENDER: a table of reasons",
        example=f"{PROG} screen ana send_marketing --csv > audience.csv",
        parents=p,
    )
    scr.add_argument("sender", metavar="SENDER")
    scr.add_argument("action", metavar="ACTION", choices=_ACTIONS, help=", ".join(_ACTIONS))
    _decision_options(scr)
    scr.add_argument("--csv", action="store_true", help="print every contact as CSV")

    dia = _add(
        commands,
        "diagram",
        _cmd_diagram,
        help="print the relationship state diagram",
        example=f"{PROG} diagram --format dot | dot -Tsvg > states.svg",
        parents=p,
    )
    dia.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")

    _add(
        commands,
        "verify",
        _cmd_verify,
        help="check every stored log's hash chain (exit 1 on problems)",
        example=f"{PROG} verify --db crm.db",
        parents=p,
    )

    rec = _add(
        commands,
        "receipt",
        _cmd_receipt,
        help="print a Kantara consent receipt for CONTACT's permission",
        example=(
            f"{PROG} receipt acme ada@example.com --controller controller.json \\\n"
            "    --policy-url https://acme.example/privacy --purpose marketing"
        ),
        parents=p,
    )
    rec.add_argument("sender", metavar="SENDER")
    rec.add_argument("contact", metavar="CONTACT")
    rec.add_argument("--policy-url", required=True, metavar="URL", help="your privacy policy")
    rec.add_argument("--purpose", help="the permission's purpose, e.g. marketing")
    rec.add_argument(
        "--channel", choices=_CHANNELS, metavar="CHANNEL", help="the permission's channel"
    )
    rec.add_argument("--group", help="the permission's group")
    rec.add_argument("--jurisdiction", help="e.g. CA or DE (default: the contact's)")
    rec.add_argument(
        "--controller",
        metavar="FILE",
        help="a JSON file with name, contact, email, address, phone (and url)",
    )
    for field in _CONTROLLER_FIELDS:
        rec.add_argument(f"--controller-{field}", metavar=field.upper())

    forget = _add(
        commands,
        "forget",
        _cmd_forget,
        help="erase CONTACT's personal data and keep them suppressed",
        example=f"{PROG} forget bo@example.com",
        parents=p,
    )
    forget.add_argument("contact", metavar="CONTACT")
    return parser


def _fail(message: str) -> int:
    # One line, whatever the input held: a line break in a path or an id shows as \n.
    line = "\\n".join(message.splitlines())
    print(f"{PROG}: error: {line}", file=sys.stderr)
    return 2


def _os_message(error: OSError) -> str:
    if error.filename is not None and error.strerror:
        return f"{error.strerror}: {error.filename}"
    return str(error)


def main(argv: list[str] | None = None) -> int:
    """
    Run the command line with *argv* (None: ``sys.argv[1:]``) and return the exit status.
    """
    _attach_streams()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        _flush()
        return stop.code if isinstance(stop.code, int) else 2
    code: int | None = None
    try:
        code = args.run(args)
        if not _flush():
            return code
    except BrokenPipeError:
        # The reader went away (`| head`): nothing left to say to anyone, but
        # the status still tells what was decided (a denial, problems found).
        _silence_stdout()
        code = code if code is not None else getattr(args, "outcome", 0)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        code = 130
    except _UsageError as error:
        code = _fail(str(error))
    except OSError as error:
        code = _fail(_os_message(error))
    except MemoryError:
        code = _fail("out of memory: the input is too large to read at once")
    except (PermissionNetworkingError, ValueError, sqlite3.Error) as error:
        code = _fail(str(error) or type(error).__name__)
    return code


def _attach_streams() -> None:
    # A stream closed by the caller (`>&-`) is None: write into nothing instead.
    # One that cannot encode a character (a cp1252 console) escapes it instead
    # of failing half way through a table.
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, Path(os.devnull).open("w", encoding="utf-8"))  # noqa: SIM115
        elif isinstance(stream, io.TextIOWrapper):
            with contextlib.suppress(ValueError):
                stream.reconfigure(errors="backslashreplace")


def _flush() -> bool:
    # Flush now, while a reader that went away can still be answered quietly;
    # False when it had.
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return False
    except ValueError:
        return True  # already closed by the command's caller
    return True


def _silence_stdout() -> None:
    # What is still buffered for a reader that went away goes nowhere, so the
    # interpreter's own flush at exit finds nothing to complain about.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
