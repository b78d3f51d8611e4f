"""The command line: argparse commands, one module per command group."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from console.cli import (
    acks_cmd,
    audit_cmd,
    broadcast_cmd,
    channels_cmd,
    directory_cmd,
    gui_cmd,
    incident_cmd,
    report_cmd,
    schedule_cmd,
    settings_cmd,
)
from console.cli.base import PROG, CliUsageError, Parser, add_common, fail
from console.errors import ConsoleError, UserError

COMMAND_MODULES = (gui_cmd, directory_cmd, channels_cmd, settings_cmd, broadcast_cmd, schedule_cmd, incident_cmd,
                   audit_cmd, report_cmd, acks_cmd)

READING_COMMANDS = frozenset({
    "gui", "contacts list", "groups list", "channels list", "settings list", "status", "scheduled list",
    "incident list", "incident show", "audit verify", "audit export", "audit check-export", "audit seal",
    "audit public-key", "report",
    "cap",
})
"""What `--read-only` (env CRISIS_CONSOLE_READ_ONLY=1) lets run: commands that only read the database.
Sealing writes the checkpoint file, never the database. Any other command, one added later
included, is refused until it is listed here; the database's own read-only mode is the backstop."""


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="Crisis Console: reach every employee, know who is safe.")
    add_common(parser, top=True)
    parser.add_argument("--demo", action="store_true", help="open the desktop console on the demo database")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args: argparse.Namespace | None = None
    try:
        args = parser.parse_args(argv)
        _refuse_writes(args)
        handler = getattr(args, "handler", None) or gui_cmd.run_gui
        return int(handler(args) or 0)
    except CliUsageError as exc:
        fail(str(exc).removeprefix(f"{PROG}: "))
        return 2
    except UserError as exc:
        problems = getattr(exc, "problems", None)  # FILE:LINE: lines, already placed
        if problems:
            from console.textsafe import for_terminal

            print("\n".join(for_terminal(p) for p in problems), file=sys.stderr)
        else:
            fail(str(exc))
        return 2
    except ConsoleError as exc:
        fail(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except Exception as exc:
        from console.storage.faults import is_driver_error

        if not is_driver_error(exc):
            raise
        return _database_fault(exc, args)


def command_name(args: argparse.Namespace) -> str:
    """The command as typed, without options: "contacts import", "send", "gui" (also for no command)."""
    command = getattr(args, "command", None) or "gui"
    action = getattr(args, "action", None)
    return f"{command} {action}" if action else command


def _refuse_writes(args: argparse.Namespace) -> None:
    """In read-only mode a command that would write is refused before it opens anything (exit 2)."""
    from console.storage import ReadOnlyModeError, read_only_requested

    if not read_only_requested(bool(getattr(args, "read_only", False))):
        return
    args.read_only = True  # env or flag: every database this command opens is read-only too
    name = command_name(args)
    if name not in READING_COMMANDS:
        raise ReadOnlyModeError(f"read-only mode: `{name}` would change the database; run it without "
                                "--read-only (and without env CRISIS_CONSOLE_READ_ONLY=1)")


def _database_fault(exc: Exception, args: argparse.Namespace | None) -> int:
    """Last resort: a database-layer error that escaped the storage layer is one line too, never a traceback."""
    from console.storage import resolve_url, shown_url
    from console.storage.faults import last_resort

    error = last_resort(exc, shown_url(resolve_url(getattr(args, "db", None))))
    fail(str(error))
    return 2 if isinstance(error, UserError) else 1

