"""`crisis-console [gui] [--demo] [--read-only]`: the desktop console."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from console.cli.base import add_common

    p = sub.add_parser("gui", help="open the desktop console (the default)")
    add_common(p, top=False)
    p.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                   help="open on a separate demo database with demo people and a local mail inbox")
    p.set_defaults(handler=run_gui)


def run_gui(args: argparse.Namespace) -> int:
    from console.storage import ReadOnlyModeError

    if getattr(args, "read_only", False) and getattr(args, "demo", False):
        raise ReadOnlyModeError("--read-only and --demo do not go together: the demo writes its own database")
    from console.gui.app import run

    return run(db_url=args.db, demo=bool(getattr(args, "demo", False)), actor=args.actor,
               read_only=bool(getattr(args, "read_only", False)))
