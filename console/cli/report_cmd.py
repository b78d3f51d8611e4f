"""`report BROADCAST_ID --out FILE` and `report --incident ID --out FILE`: a report an auditor can file.

The format is `--format`, else the file's suffix (.pdf, .csv, .json); CSV and JSON hold the
people table. The file appears whole or not at all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from console.cli.base import actor, add_common, open_db, print_json
from console.errors import UserError
from console.textsafe import for_terminal


def register(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser("report", help="a report of an incident or one message: PDF, or its people as CSV/JSON")
    add_common(rep, top=False)
    rep.add_argument("broadcast_id", nargs="?", type=int, metavar="BROADCAST_ID",
                     help="the message to report on (or use --incident)")
    rep.add_argument("--incident", type=int, metavar="ID", help="report on the whole incident")
    rep.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write it (.pdf, .csv, .json)")
    rep.add_argument("--format", choices=("pdf", "csv", "json"),
                     help="pdf (the whole report) or csv/json (the people table); default: from FILE's suffix")
    rep.add_argument("--checkpoints", type=Path, metavar="FILE",
                     help="the checkpoint file to cite (default: this log's, as `audit seal` writes it)")
    rep.add_argument("--json", action="store_true", help="say what was written as JSON")
    rep.set_defaults(handler=report)


def report(args: argparse.Namespace) -> int:
    from console.services.reports import ReportFormat, ReportScope, format_for, write_report

    if (args.broadcast_id is None) == (args.incident is None):
        raise UserError("report: give either BROADCAST_ID or --incident ID (one of them)")
    scope = ReportScope.INCIDENT if args.incident is not None else ReportScope.BROADCAST
    subject = args.incident if args.incident is not None else args.broadcast_id
    out: Path = args.out
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; name the file to write")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: no such folder {out.parent}")
    fmt = format_for(out, args.format)
    db = open_db(args)
    try:
        done = write_report(db, scope, subject, out, fmt, actor(args), args.checkpoints)
    except OSError as exc:
        raise UserError(f"--out {out}: {exc.strerror or exc}") from None
    cp = done.checkpoint
    if args.json:
        print_json({"out": str(out), "format": fmt.value, "scope": scope.value, "id": subject,
                    "incident_id": done.incident.id, "title": done.title, "counts": done.counts.as_json(),
                    "people": len(done.people), "failures": len(done.failures), "audit_entries": len(done.audit),
                    "checkpoint": {"seq": cp.seq, "hash": cp.hash, "time": cp.time, "key": cp.key_fingerprint}
                    if cp.found else None})
        return 0
    what = f"incident {subject}" if scope is ReportScope.INCIDENT else f"message {subject}"
    held = f"{len(done.people)} people" + (f", {len(done.audit)} audit entries" if fmt is ReportFormat.PDF else "")
    print(f"{fmt.value} report of {what} ({held}) written to {for_terminal(str(out))}")
    return 0
