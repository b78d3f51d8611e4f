"""`incident list|show|handle|reopen|close`: the incident picture and help requests from the command line."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from console.cli.base import actor, add_common, open_db, print_json
from console.textsafe import for_terminal as safe
from console.vocabulary import AnswerSource, PersonStatus

if TYPE_CHECKING:
    from console.services.incidents import IncidentSummary, PersonRow

_STATUS_WORDS = {PersonStatus.NEEDS_HELP: "needs help", PersonStatus.SAFE: "safe",
                 PersonStatus.NO_ANSWER: "no answer", PersonStatus.UNREACHABLE: "unreachable"}


def register(sub: argparse._SubParsersAction) -> None:
    incident = sub.add_parser("incident", help="incidents: every person's status, help requests, closing")
    add_common(incident, top=False)
    isub = incident.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(incident))

    lst = isub.add_parser("list", help="incidents with their people counted by status")
    add_common(lst, top=False)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(handler=list_cmd)

    show = isub.add_parser("show", help="every person of an incident: status, answer, note, phone, deliveries",
                           description="A person's status counts across all of the incident's messages: "
                                       "an open help request keeps them 'needs help' until it is handled.")
    add_common(show, top=False)
    show.add_argument("incident_id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=show_cmd)

    handle = isub.add_parser("handle", help="mark a person's help request handled")
    add_common(handle, top=False)
    handle.add_argument("incident_id", type=int, metavar="ID")
    handle.add_argument("--contact", required=True, metavar="C", help="contact id or email")
    handle.add_argument("--note", required=True, metavar="TEXT", help="what was done (kept in the audit log)")
    handle.set_defaults(handler=handle_cmd)

    reopen = isub.add_parser("reopen", help="open a handled help request again")
    add_common(reopen, top=False)
    reopen.add_argument("incident_id", type=int, metavar="ID")
    reopen.add_argument("--contact", required=True, metavar="C", help="contact id or email")
    reopen.add_argument("--note", metavar="TEXT", help="why (kept in the audit log)")
    reopen.set_defaults(handler=reopen_cmd)

    close = isub.add_parser("close", help="close an incident without an all-clear",
                            description="Refused (exit 2) while help requests are open or people have not "
                                        "answered, unless --force with --reason.")
    add_common(close, top=False)
    close.add_argument("incident_id", type=int, metavar="ID")
    close.add_argument("--force", action="store_true", help="close although people would be left behind")
    close.add_argument("--reason", metavar="TEXT", help="why (stored on the incident, kept in the audit log)")
    close.set_defaults(handler=close_cmd)


def list_cmd(args: argparse.Namespace) -> int:
    from console.services import incidents

    found = incidents.incident_list(open_db(args))
    if args.json:
        print_json([i.as_json() for i in found])
        return 0
    if not found:
        print("no incidents")
    for i in found:
        print(_headline(i))
    return 0


def show_cmd(args: argparse.Namespace) -> int:
    from console.services import incidents

    pic = incidents.incident_picture(open_db(args), args.incident_id)
    if args.json:
        print_json(pic.as_json())
        return 0
    inc = pic.incident
    print(_headline(inc))
    if inc.closed_at is not None:
        why = f": {safe(inc.close_reason)}" if inc.close_reason else ""
        print(f"  closed {inc.closed_at:%Y-%m-%d %H:%M} UTC by {safe(inc.closed_by or '?')}{why}")
    for b in pic.broadcasts:
        print(safe(f"  message {b.id} ({b.kind.value}, {b.state}): {b.title}"))
    for p in pic.people:
        print(_person(p))
    return 0


def handle_cmd(args: argparse.Namespace) -> int:
    from console.services import incidents

    info = incidents.handle(open_db(args), args.incident_id, args.contact, args.note, actor(args))
    print(safe(f"incident {args.incident_id}: help request of {args.contact} handled by {info.handled_by}"))
    return 0


def reopen_cmd(args: argparse.Namespace) -> int:
    from console.services import incidents

    incidents.reopen(open_db(args), args.incident_id, args.contact, actor(args), args.note)
    print(safe(f"incident {args.incident_id}: help request of {args.contact} open again"))
    return 0


def close_cmd(args: argparse.Namespace) -> int:
    from console.services import incidents

    check = incidents.close(open_db(args), args.incident_id, actor(args), force=args.force, reason=args.reason)
    forced = " (forced)" if check.blocked else ""
    print(f"incident {args.incident_id}: closed{forced}")
    return 0


def _headline(i: IncidentSummary) -> str:
    c = i.counts
    label = " [EXERCISE]" if i.exercise else ""
    return safe(f"incident {i.id}{label}: {i.title} ({i.state.value}, {i.messages} messages)") + (
        f"\n  {c.people} people: needs help {c.needs_help_open} open / {c.needs_help_handled} handled, "
        f"safe {c.safe}, no answer {c.no_answer}, unreachable {c.unreachable}")


def _person(p: PersonRow) -> str:
    status = _STATUS_WORDS[p.status]
    if p.help is not None and p.status is PersonStatus.NEEDS_HELP:
        status += f" ({p.help.state.value})"
    answer = f"  “{p.answer}”" + (f" on message {p.broadcast_id}" if p.broadcast_id else "") if p.answer else ""
    when = f" at {p.answered_at:%H:%M} UTC" if p.answered_at else ""
    source = " (self-report)" if p.source is AnswerSource.GROUP else ""
    phone = f"  tel {p.phone}" if p.phone else ""
    lines = [safe(f"  {status:<22} {p.name} <{p.email}>{phone}{answer}{when}{source}")]
    if p.note:
        lines.append("      note: " + safe(p.note))
    if p.help is not None and p.help.handled_by:
        lines.append("      handled by " + safe(f"{p.help.handled_by}: {p.help.handled_note or ''}"))
    if p.channels:
        lines.append("      " + safe(", ".join(f"{c.channel}: {c.state.value}" for c in p.channels)))
    return "\n".join(lines)
