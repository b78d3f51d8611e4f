"""`audit verify|export`."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from console.cli.base import add_common, open_db
from console.textsafe import TerminalWriter, for_terminal

if TYPE_CHECKING:
    from console.storage import Database


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
    print(for_terminal(result.message()), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def export(args: argparse.Namespace) -> int:
    from console.audit import write_export
    from console.errors import UserError

    db = open_db(args)
    if args.out is None:
        _export_to_stdout(db, args.format)
        return 0
    tmp = args.out.with_name(args.out.name + ".part")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as out, db.read() as session:
            count = write_export(session, args.format, out)
        tmp.replace(args.out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"--out {args.out}: {exc.strerror}") from None
    print(f"exported {count} entries to {for_terminal(str(args.out))}")
    return 0


def _export_to_stdout(db: Database, fmt: str) -> None:
    """Redirected: the exact bytes (UTF-8, CRLF, BOM for CSV) whatever the locale.

    On a terminal the text is for reading, so control and bidi characters are
    shown escaped: that copy is not the one to re-verify (use --out or a pipe).
    """
    from console.audit import write_export

    if sys.stdout.isatty():
        with db.read() as session:
            write_export(session, fmt, TerminalWriter(sys.stdout))
        return
    sys.stdout.flush()
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    try:
        with db.read() as session:
            write_export(session, fmt, out)
        out.flush()
    finally:
        out.detach()
