"""`contacts import|list`, `groups list`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.cli.base import actor, add_common, open_db, print_json
from console.textsafe import for_terminal as safe


def register(sub: argparse._SubParsersAction) -> None:
    contacts = sub.add_parser("contacts", help="the directory of people")
    add_common(contacts, top=False)
    csub = contacts.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(contacts))
    imp = csub.add_parser("import", help="import or update contacts from a CSV file (all or nothing)",
                          description="Header: name,email,phone,groups (groups split by ';'). "
                                      "Existing contacts are matched by email and updated.")
    add_common(imp, top=False)
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    imp.set_defaults(handler=import_contacts)
    lst = csub.add_parser("list", help="list contacts")
    add_common(lst, top=False)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(handler=list_contacts)

    groups = sub.add_parser("groups", help="groups of contacts")
    add_common(groups, top=False)
    gsub = groups.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(groups))
    glst = gsub.add_parser("list", help="list groups with member counts and group channels")
    add_common(glst, top=False)
    glst.add_argument("--json", action="store_true", help="machine-readable output")
    glst.set_defaults(handler=list_groups)


def import_contacts(args: argparse.Namespace) -> int:
    from console.services.directory import import_csv

    report = import_csv(open_db(args, create=True), args.file, actor(args))
    if report.ignored_columns:
        print(safe(f"{args.file}:1: ignored columns: {', '.join(report.ignored_columns)}"), file=sys.stderr)
    print(safe(report.summary()))
    return 0


def list_contacts(args: argparse.Namespace) -> int:
    from console.services.directory import list_contacts as rows

    contacts = rows(open_db(args))
    if args.json:
        print_json([c.as_json() for c in contacts])
        return 0
    for c in contacts:
        name, email, phone, groups = (safe(v) for v in (c.name, c.email, c.phone or "", ", ".join(c.groups)))
        print(f"{c.id:>6}  {name:<30} {email:<35} {phone:<16} {groups}")
    print(f"{len(contacts)} contacts")
    return 0


def list_groups(args: argparse.Namespace) -> int:
    from console.services.directory import list_groups as rows

    groups = rows(open_db(args))
    if args.json:
        print_json([g.as_json() for g in groups])
        return 0
    for g in groups:
        channels = f"  channels: {safe(', '.join(g.channels))}" if g.channels else ""
        print(f"{g.id:>4}  {safe(g.name):<30} {g.members:>7} members{channels}")
    return 0
