"""The command line: argparse commands, one module per command group."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from console.cli import acks_cmd, audit_cmd, broadcast_cmd, channels_cmd, directory_cmd, gui_cmd, settings_cmd
from console.cli.base import PROG, CliUsageError, Parser, add_common, fail
from console.errors import ConsoleError, UserError

COMMAND_MODULES = (gui_cmd, directory_cmd, channels_cmd, settings_cmd, broadcast_cmd, audit_cmd, acks_cmd)


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
