"""`audit verify|export`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.cli.base import add_common, open_db


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    add_common(audit, top=False)
    asub = audit.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(audit))
    ver = asub.add_parser("verify", help="recompute the hash chain; exit 0 only when it is whole")
    add_common(ver, top=False)
    ver.set_defaults(handler=verify)
    exp = asub.add_parser("export", help="export every entry with its hashes")
    add_common(exp, top=False)
    exp.add_argument("--format", required=True, choices=("csv", "json"))
    exp.add_argument("--out", type=Path, metavar="FILE", help="write here instead of standard output")
    exp.set_defaults(handler=export)


def verify(args: argparse.Namespace) -> int:
    from console.audit import verify as run_verify

    with open_db(args).read() as session:
        result = run_verify(session)
    print(result.message(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def export(args: argparse.Namespace) -> int:
    from console.audit import write_export
    from console.errors import UserError

    db = open_db(args)
    if args.out is None:
        with db.read() as session:
            write_export(session, args.format, sys.stdout)
        return 0
    tmp = args.out.with_name(args.out.name + ".part")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as out, db.read() as session:
            count = write_export(session, args.format, out)
        tmp.replace(args.out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"--out {args.out}: {exc.strerror}") from None
    print(f"exported {count} entries to {args.out}")
    return 0
