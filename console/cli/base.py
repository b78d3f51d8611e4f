"""What every command shares: the parser class, the database, output, error words."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from console.storage import Database

PROG = "crisis-console"


class CliUsageError(Exception):
    """Raised instead of argparse's exit so main() prints one line and exits 2."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line, exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise CliUsageError(f"{self.prog}: {message} (see --help)")


def add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--db, --actor and --read-only, accepted before or after the subcommand's name."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--db", metavar="URL", default=default,
                        help="database URL (else env CRISIS_CONSOLE_DB, else the SQLite file in the user data dir)")
    parser.add_argument("--actor", metavar="NAME", default=default,
                        help="who is acting, for the audit log (default: the OS user)")
    parser.add_argument("--read-only", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="an auditor's view: refuse every command that would change the database "
                             "(also env CRISIS_CONSOLE_READ_ONLY=1)")


def open_db(args: argparse.Namespace, *, create: bool = False, key: bool = False) -> Database:
    """The database of --db / env / the default file.

    Args:
        create: make it when there is none. Only the commands that set a database up pass it
            (`contacts import`, `channels add`, `settings set`; the desktop app creates its own);
            every other command says "no database at …" (exit 2), so a mistyped path creates nothing.
        key: check the secret key now, before the command writes anything that depends on it.
    """
    from console.storage import open_database

    db = open_database(args.db, create=create, read_only=bool(getattr(args, "read_only", False)))
    if key:
        db.secrets  # noqa: B018 - a wrong or missing key is said before anything is written
    return db


def actor(args: argparse.Namespace) -> str:
    from console.audit import default_actor

    return args.actor or default_actor()


def print_json(value: Any) -> None:
    """JSON as readable UTF-8, but with C1 and bidi characters escaped (console.textsafe.safe_json)."""
    from console.textsafe import safe_json

    sys.stdout.write(safe_json(json.dumps(value, ensure_ascii=False, indent=2)) + "\n")


def fail(message: str) -> None:
    """One error line; the message often quotes user input, so control and bidi characters show escaped."""
    from console.textsafe import for_terminal

    print(f"{PROG}: error: {for_terminal(message)}", file=sys.stderr)
