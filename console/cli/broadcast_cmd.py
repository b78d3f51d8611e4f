"""`send`, `status`, `remind`, `cancel`, `dispatch`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

from console.cli.base import actor, add_common, open_db, print_json

if TYPE_CHECKING:
    from console.broadcast.dispatcher import Dispatcher
    from console.broadcast.outbox import Outcome
    from console.storage import Database


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    send = sub.add_parser("send", help="send a broadcast to groups (and contacts)",
                          description="Writes the broadcast and its outbox in one transaction; a dispatcher "
                                      "(--wait here, the desktop app, or `crisis-console dispatch`) sends it.")
    add_common(send, top=False)
    send.add_argument("--title", required=True)
    send.add_argument("--body", required=True, help="Markdown text")
    send.add_argument("--group", action="append", default=[], metavar="G", help="audience group (repeatable)")
    send.add_argument("--contact", action="append", type=int, default=[], metavar="ID",
                      help="an individual contact id (repeatable)")
    send.add_argument("--channel", action="append", metavar="NAME",
                      help="send on this channel only (repeatable; default: every enabled channel)")
    send.add_argument("--severity", default="info", choices=("info", "warning", "critical"))
    send.add_argument("--option", action="append", metavar="TEXT",
                      help="an answer option (repeatable; default: Acknowledge)")
    send.add_argument("--safety-check", action="store_true", help="answer options: I'm safe / I need help")
    send.add_argument("--exercise", action="store_true", help="a drill: labelled [EXERCISE] on every channel")
    send.add_argument("--incident", type=int, metavar="ID", help="thread into this incident")
    send.add_argument("--kind", choices=("alert", "update", "all_clear"), default="alert")
    send.add_argument("--wait", action="store_true", help="send now, in this process, until all are sent or failed")
    send.add_argument("--json", action="store_true", help="machine-readable output")
    send.set_defaults(handler=send_cmd)

    status = sub.add_parser("status", help="delivery and answer counts of a broadcast")
    add_common(status, top=False)
    status.add_argument("broadcast_id", type=int, metavar="BROADCAST_ID")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=status_cmd)

    remind = sub.add_parser("remind", help="re-send to recipients who have not answered (same links)")
    add_common(remind, top=False)
    remind.add_argument("broadcast_id", type=int, metavar="BROADCAST_ID")
    remind.add_argument("--wait", action="store_true", help="send the reminders now, in this process")
    remind.set_defaults(handler=remind_cmd)

    cancel = sub.add_parser("cancel", help="cancel the pending deliveries of a broadcast")
    add_common(cancel, top=False)
    cancel.add_argument("broadcast_id", type=int, metavar="BROADCAST_ID")
    cancel.set_defaults(handler=cancel_cmd)

    dispatch = sub.add_parser("dispatch", help="run a headless dispatcher (a server); stops on SIGTERM/SIGINT")
    add_common(dispatch, top=False)
    dispatch.add_argument("--workers", type=int, metavar="N", help="sending threads (default: setting)")
    dispatch.set_defaults(handler=dispatch_cmd)


def send_cmd(args: argparse.Namespace) -> int:
    from console.broadcast.send import SAFETY_CHECK, BroadcastRequest, check_request, create_broadcast

    if args.safety_check and args.option:
        from console.broadcast.errors import BroadcastError

        raise BroadcastError("--safety-check and --option cannot be used together")
    options = list(SAFETY_CHECK) if args.safety_check else (args.option or ["Acknowledge"])
    req = check_request(BroadcastRequest(
        title=args.title, body=args.body, groups=args.group, contact_ids=args.contact, channels=args.channel,
        severity=args.severity, options=options, exercise=args.exercise, incident_id=args.incident, kind=args.kind,
    ))
    db = open_db(args)
    box = db.secrets
    with db.write() as session:
        result = create_broadcast(session, box, req, actor(args))
    if args.wait:
        _run_until_done(db, result.broadcast_id, result.deliveries, show=not args.json)
    if args.json:
        print_json(result.as_json())
        return 0
    print(f"broadcast {result.broadcast_id}: {result.recipients} recipients, {result.deliveries} deliveries queued")
    for u in result.unreachable:
        print(f"  unreachable: {u['contact']} ({u['why']})")
    if args.wait:
        return status_cmd(argparse.Namespace(**{**vars(args), "broadcast_id": result.broadcast_id, "json": False}))
    return 0


def _run_until_done(db: Database, broadcast_id: int, total: int, *, show: bool) -> None:
    from console.broadcast.dispatcher import DispatchConfig, Dispatcher
    from console.cli.progress import Progress

    bar = Progress(total, enabled=show and sys.stderr.isatty())
    config = DispatchConfig.from_settings(db)

    def recorded(batch: list[Outcome]) -> None:
        bar.advance(sum(1 for o in batch if o.ok or o.claimed.attempts >= config.max_attempts))

    dispatcher = Dispatcher(db, config, on_recorded=recorded)
    dispatcher.start()
    try:
        dispatcher.run_until_done(broadcast_id)
    finally:
        dispatcher.stop()
        bar.close()


def status_cmd(args: argparse.Namespace) -> int:
    from console.broadcast.status import broadcast_status

    with open_db(args).read() as session:
        st = broadcast_status(session, args.broadcast_id)
    if args.json:
        print_json(st.as_json())
        return 0
    label = " [EXERCISE]" if st.exercise else ""
    print(f"broadcast {st.broadcast_id}{label}: {st.title} ({st.state}, {st.severity})")
    print(f"  recipients {st.recipients}   sent {st.sent}   failed {st.failed}   pending {st.pending}"
          + (f"   cancelled {st.cancelled}" if st.cancelled else ""))
    print(f"  acknowledged {st.acknowledged} of {st.recipients}" + (f" ({st.late} late)" if st.late else ""))
    for answer, count in st.answers.items():
        print(f"    {answer}: {count}")
    if st.unreachable:
        print(f"  unreachable {st.unreachable}")
    return 0


def remind_cmd(args: argparse.Namespace) -> int:
    from console.broadcast.reminders import remind

    db = open_db(args, key=True)
    with db.write() as session:
        people, deliveries = remind(session, args.broadcast_id, actor(args))
    print(f"broadcast {args.broadcast_id}: reminding {people} recipients ({deliveries} deliveries queued)")
    if args.wait and deliveries:
        _run_until_done(db, args.broadcast_id, deliveries, show=True)
    return 0


def cancel_cmd(args: argparse.Namespace) -> int:
    from console.broadcast.outbox import cancel

    with open_db(args).write() as session:
        count = cancel(session, args.broadcast_id, actor(args))
    print(f"broadcast {args.broadcast_id}: cancelled, {count} pending deliveries stopped")
    return 0


def dispatch_cmd(args: argparse.Namespace) -> int:
    from console.broadcast.dispatcher import DispatchConfig, Dispatcher

    db = open_db(args)
    db.secrets  # fail now, in words, if the key is wrong  # noqa: B018
    overrides = {"workers": args.workers} if args.workers else {}
    dispatcher: Dispatcher = Dispatcher(db, DispatchConfig.from_settings(db, **overrides))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    dispatcher.start()
    print(f"dispatcher {dispatcher.me} running on {db.display_url} with {dispatcher.config.workers} workers",
          flush=True)
    while not stop.wait(1.0):
        pass
    print("stopping: finishing in-flight sends", flush=True)
    dispatcher.stop()
    print("dispatcher stopped", flush=True)
    return 0
