"""`audit verify|export|seal|public-key`."""

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
    ver.add_argument("--checkpoints", type=Path, metavar="FILE",
                     help="also prove the log against the signed checkpoints in FILE (`audit seal` writes them)")
    ver.add_argument("--public-key", metavar="KEY_OR_FILE",
                     help="the key checkpoints must be signed with: ed25519:<base64> or a file holding it "
                          "(default: this machine's signing key)")
    ver.set_defaults(handler=verify)
    seal = asub.add_parser("seal", help="sign a checkpoint of the log's head into the checkpoint file "
                                        "(and post it to the auditors' channel)")
    add_common(seal, top=False)
    seal.add_argument("--json", action="store_true", help="machine-readable output")
    seal.set_defaults(handler=seal_now)
    pub = asub.add_parser("public-key", help="the public key checkpoints are signed with, for auditors to pin")
    add_common(pub, top=False)
    pub.add_argument("--json", action="store_true", help="machine-readable output")
    pub.set_defaults(handler=public_key)
    exp = asub.add_parser("export", help="export every entry with its hashes")
    add_common(exp, top=False)
    exp.add_argument("--format", required=True, choices=("csv", "json"))
    exp.add_argument("--out", type=Path, metavar="FILE", help="write here instead of standard output")
    exp.set_defaults(handler=export)
    chk = asub.add_parser("check-export", help="check an export from the file alone: its chain, its count and "
                                               "head, and the signed checkpoints in it (no database needed)")
    add_common(chk, top=False)
    chk.add_argument("file", type=Path, metavar="FILE", help="an `audit export` file, JSON or CSV")
    chk.add_argument("--public-key", metavar="KEY_OR_FILE",
                     help="the key the checkpoints must be signed with: ed25519:<base64> or a file holding it "
                          "(default: the key each checkpoint names, which proves less)")
    chk.set_defaults(handler=check_export)


def verify(args: argparse.Namespace) -> int:
    from console.services.audit import verify as run_verify

    if args.checkpoints is not None or args.public_key is not None:
        return _verify_with_checkpoints(args)
    result = run_verify(open_db(args))
    print(for_terminal(result.message()), file=sys.stdout if result.ok else sys.stderr)
    if result.ok:
        from console.audit.verify import LIMITS

        print(f"note: {LIMITS}")
    return 0 if result.ok else 1


def _verify_with_checkpoints(args: argparse.Namespace) -> int:
    from console.services.audit import verify_with_checkpoints

    verdict = verify_with_checkpoints(open_db(args), args.checkpoints, args.public_key)
    for line in verdict.message().splitlines():
        print(for_terminal(line), file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


def seal_now(args: argparse.Namespace) -> int:
    from console.cli.base import print_json
    from console.services.audit import seal

    report = seal(open_db(args))
    cp = report.checkpoint
    if args.json:
        print_json({**(cp.as_dict() if cp else {}), "file": str(report.path), "fingerprint": report.fingerprint,
                    "channel": report.channel, "posted": report.posted, "warning": report.warning})
    elif cp is not None:
        print(f"sealed seq {cp.seq} ({cp.count} entries, hash {cp.hash}) at {cp.time}")
        print(f"checkpoint file: {for_terminal(str(report.path))} line {cp.line}; key {report.fingerprint}")
        if report.posted:
            print(f"posted to the auditors' channel {for_terminal(report.channel or '')}")
    if report.warning:
        print(f"warning: {for_terminal(report.warning)}", file=sys.stderr)
    return 0


def public_key(args: argparse.Namespace) -> int:
    from console.cli.base import print_json
    from console.services.audit import public_key as get_public_key

    info = get_public_key()
    if args.json:
        print_json({"public_key": info.text, "fingerprint": info.fingerprint, "source": info.source})
    else:
        print(info.text)
        print(f"fingerprint {info.fingerprint} (from {for_terminal(info.source)})", file=sys.stderr)
    return 0


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


def check_export(args: argparse.Namespace) -> int:
    from console.services.audit import check_export as run_check

    result = run_check(args.file, args.public_key)
    print(for_terminal(result.message()), file=sys.stdout if result.ok else sys.stderr)
    for problem in result.problems[1:]:
        print(for_terminal(f"also: {problem}"), file=sys.stderr)
    if result.ok and args.public_key is None and result.checkpoints:
        print("note: checkpoint signatures were checked against the key each names; pass --public-key to pin "
              "the auditors' copy", file=sys.stderr)
    return 0 if result.ok else 1
