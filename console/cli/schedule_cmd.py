"""`scheduled list|cancel`, and the follow-through options of `send` (--at, --remind-every, …)."""

from __future__ import annotations

import argparse
from typing import Any

from console.cli.base import actor, add_common, open_db, print_json
from console.textsafe import for_terminal


def register(sub: argparse._SubParsersAction) -> None:
    scheduled = sub.add_parser("scheduled", help="broadcasts waiting for their time (send --at)")
    add_common(scheduled, top=False)
    ssub = scheduled.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(scheduled))
    lst = ssub.add_parser("list", help="list scheduled broadcasts, soonest first")
    add_common(lst, top=False)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(handler=list_cmd)
    cancel = ssub.add_parser("cancel", help="cancel a scheduled broadcast before it goes out (audited)")
    add_common(cancel, top=False)
    cancel.add_argument("broadcast_id", type=int, metavar="BROADCAST_ID")
    cancel.set_defaults(handler=cancel_cmd)


def add_send_options(send: argparse.ArgumentParser) -> None:
    """`send`'s options for scheduling, automatic reminders and escalation."""
    send.add_argument("--at", metavar="ISO_TIME",
                      help="send at this time (ISO 8601; without a zone: local time) instead of now")
    send.add_argument("--remind-every", metavar="DURATION",
                      help="remind those who have not answered every DURATION (e.g. 90s, 15m, 1h)")
    send.add_argument("--remind-max", metavar="K", help="at most K automatic reminders (default 3)")
    send.add_argument("--fallback-channel", metavar="NAME",
                      help="from the second automatic reminder on, also remind on this channel (e.g. SMS)")
    send.add_argument("--escalate-after", metavar="DURATION",
                      help="after DURATION, each manager (CSV column manager) gets one message listing "
                           "their people who have not answered")


def send_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The BroadcastRequest fields of those options; bad values raise a one-line error naming the option."""
    from console.broadcast.errors import BroadcastError
    from console.services.schedules import parse_at, parse_duration

    most = None
    if args.remind_max is not None:
        try:
            most = int(args.remind_max)
        except ValueError:
            raise BroadcastError(f"--remind-max: {args.remind_max!r} is not a whole number") from None
    return {
        "scheduled_at": parse_at(args.at, "--at") if args.at is not None else None,
        "remind_every_s": parse_duration(args.remind_every, "--remind-every")
        if args.remind_every is not None else None,
        "remind_max": most,
        "fallback_channel": args.fallback_channel,
        "escalate_after_s": parse_duration(args.escalate_after, "--escalate-after")
        if args.escalate_after is not None else None,
    }


def list_cmd(args: argparse.Namespace) -> int:
    from console.services.schedules import describe_duration, list_scheduled

    waiting = list_scheduled(open_db(args))
    if args.json:
        print_json([w.as_json() for w in waiting])
        return 0
    for w in waiting:
        when = w.scheduled_at.astimezone().strftime("%Y-%m-%d %H:%M %Z")
        extra = []
        if w.remind_every_s:
            extra.append(f"remind every {describe_duration(w.remind_every_s)} ×{w.remind_max}")
        if w.fallback_channel:
            extra.append(f"fallback {w.fallback_channel}")
        if w.escalate_after_s:
            extra.append(f"escalate after {describe_duration(w.escalate_after_s)}")
        label = " [EXERCISE]" if w.exercise else ""
        print(for_terminal(f"{w.broadcast_id:>6}  {when}  {w.kind}{label}: {w.title}  "
                           f"({w.recipients} people, {w.deliveries} messages"
                           + "".join(f"; {e}" for e in extra) + ")"))
    print(f"{len(waiting)} scheduled")
    return 0


def cancel_cmd(args: argparse.Namespace) -> int:
    from console.services.schedules import cancel_scheduled

    count = cancel_scheduled(open_db(args), args.broadcast_id, actor(args))
    print(f"broadcast {args.broadcast_id}: scheduled send cancelled, {count} messages will not go out")
    return 0
