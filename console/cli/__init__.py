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
    schedule_cmd,
    settings_cmd,
)
from console.cli.base import PROG, CliUsageError, Parser, add_common, fail
from console.errors import ConsoleError, UserError

COMMAND_MODULES = (gui_cmd, directory_cmd, channels_cmd, settings_cmd, broadcast_cmd, schedule_cmd, incident_cmd,
                   audit_cmd, acks_cmd)


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


def _database_fault(exc: Exception, args: argparse.Namespace | None) -> int:
    """Last resort: a database-layer error that escaped the storage layer is one line too, never a traceback."""
    from console.storage import resolve_url, shown_url
    from console.storage.faults import last_resort

    error = last_resort(exc, shown_url(resolve_url(getattr(args, "db", None))))
    fail(str(error))
    return 2 if isinstance(error, UserError) else 1

