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


def register(sub: argparse._SubParsersAction) -> None:
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
    from console.services.audit import verify as run_verify

    result = run_verify(open_db(args))
    print(for_terminal(result.message()), file=sys.stdout if result.ok else sys.stderr)
    if result.ok:
        from console.audit.verify import LIMITS

        print(f"note: {LIMITS}")
    return 0 if result.ok else 1


def export(args: argparse.Namespace) -> int:
    from console.errors import UserError
    from console.services.audit import export_file

    db = open_db(args)
    if args.out is None:
        _export_to_stdout(db, args.format)
        return 0
    try:
        count = export_file(db, args.format, args.out)
    except OSError as exc:
        raise UserError(f"--out {args.out}: {exc.strerror}") from None
    print(f"exported {count} entries to {for_terminal(str(args.out))}")
    return 0


def _export_to_stdout(db: Database, fmt: str) -> None:
    """Redirected: the exact bytes (UTF-8, CRLF, BOM for CSV) whatever the locale.

    On a terminal the text is for reading, so control and bidi characters are
    shown escaped: that copy is not the one to re-verify (use --out or a pipe).
    """
    from console.services.audit import export_to

    if sys.stdout.isatty():
        export_to(db, fmt, TerminalWriter(sys.stdout))
        return
    sys.stdout.flush()
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    try:
        export_to(db, fmt, out)
        out.flush()
    finally:
        out.detach()
