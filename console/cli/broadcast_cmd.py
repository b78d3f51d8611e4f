"""`send`, `status`, `remind`, `cancel`, `dispatch`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from console.cli import schedule_cmd
from console.cli.base import actor, add_common, fail, open_db, print_json
from console.textsafe import for_terminal
from console.vocabulary import BroadcastKind, Severity

if TYPE_CHECKING:
    from console.broadcast.dispatcher import Dispatcher
    from console.broadcast.outbox import Outcome
    from console.services.broadcasts import BroadcastStatus
    from console.storage import Database


def register(sub: argparse._SubParsersAction) -> None:
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
    send.add_argument("--severity", default=Severity.INFO.value, choices=[s.value for s in Severity])
    send.add_argument("--option", action="append", metavar="TEXT",
                      help="an answer option (repeatable; default: Acknowledge)")
    send.add_argument("--help-option", action="append", default=[], metavar="TEXT",
                      help="an answer option that means 'needs help' (repeatable; added to the options)")
    send.add_argument("--safety-check", action="store_true",
                      help="answer options: I'm safe / I need help (the second means 'needs help')")
    send.add_argument("--exercise", action="store_true", help="a drill: labelled [EXERCISE] on every channel")
    send.add_argument("--incident", type=int, metavar="ID", help="thread into this incident")
    send.add_argument("--kind", choices=[k.value for k in BroadcastKind], default=BroadcastKind.ALERT.value)
    send.add_argument("--force", action="store_true",
                      help="all_clear: close the incident although help requests are open or people have not "
                           "answered (needs --reason)")
    send.add_argument("--reason", metavar="TEXT", help="why the all-clear is forced (kept in the audit log)")
    send.add_argument("--wait", action="store_true",
                      help="send now, in this process, until all are sent or failed (failures are retried for "
                           "the setting dispatch.retry_window); exit 1 if any failed, 130 on Ctrl-C")
    send.add_argument("--json", action="store_true", help="machine-readable output")
    schedule_cmd.add_send_options(send)
    send.set_defaults(handler=send_cmd)

    status = sub.add_parser("status", help="delivery and answer counts of a broadcast")
    add_common(status, top=False)
    status.add_argument("broadcast_id", type=int, metavar="BROADCAST_ID")
    status.add_argument("--failures", action="store_true",
                        help="list the failed deliveries: person, channel, attempts, last error")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=status_cmd)

    remind = sub.add_parser("remind", help="re-send to recipients who have not answered (same links)")
    add_common(remind, top=False)
    remind.add_argument("broadcast_id", type=int, metavar="BROADCAST_ID")
    remind.add_argument("--wait", action="store_true",
                        help="send the reminders now, in this process; exit 1 if any failed, 130 on Ctrl-C")
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
    from console.services import broadcasts

    if (args.force or args.reason is not None) and args.kind != BroadcastKind.ALL_CLEAR:
        fail("--force and --reason: only an all-clear (--kind all_clear) closes an incident")
        return 2
    options, helps = broadcasts.answer_options(args.option or (), args.help_option, safety_check=args.safety_check)
    req = broadcasts.check(broadcasts.BroadcastRequest(
        title=args.title, body=args.body, groups=args.group, contact_ids=args.contact, channels=args.channel,
        severity=args.severity, options=options, help_options=helps, exercise=args.exercise,
        incident_id=args.incident, kind=args.kind, **schedule_cmd.send_fields(args),
    ))
    db = open_db(args)
    result = broadcasts.send(db, req, actor(args), force=args.force, reason=args.reason)
    warnings = _warn(db, result.broadcast_id)
    stopped = _run_until_done(db, result.broadcast_id, result.deliveries, show=not args.json) if args.wait else None
    if args.json:
        data = {**result.as_json(), "warnings": warnings}
        if args.wait:
            data.update(_counts(db, result.broadcast_id))
        print_json(data)
    else:
        print(f"broadcast {result.broadcast_id}: {result.recipients} recipients, {result.deliveries} deliveries queued")
        if result.scheduled_at is not None:
            print(f"  scheduled for {result.scheduled_at.astimezone():%Y-%m-%d %H:%M %Z} "
                  "(see: crisis-console scheduled list)")
        for u in result.unreachable:
            print(for_terminal(f"  unreachable: {u['contact']} ({u['why']})"))
    if not args.wait:
        return 0
    if stopped is not None:
        _say_interrupted(db, result.broadcast_id)
        return stopped
    if not args.json:
        status_cmd(argparse.Namespace(**{**vars(args), "broadcast_id": result.broadcast_id, "json": False,
                                         "failures": False}))
    return _report_failures(db, result.broadcast_id)


def _run_until_done(db: Database, broadcast_id: int, total: int, *, show: bool) -> int | None:
    """Send in this process until the broadcast has nothing left to send.

    Returns None when it is done, or the exit status (130 for Ctrl-C) when SIGINT or SIGTERM
    stopped it: what was not sent stays in the outbox, nothing counted as a failed attempt.
    """
    from console.broadcast.dispatcher import DispatchConfig, Dispatcher
    from console.broadcast.outbox import Verdict
    from console.broadcast.retry import format_duration
    from console.cli.progress import Progress
    from console.stopsignals import StopRequest

    bar = Progress(total, enabled=show and sys.stderr.isatty())
    config = DispatchConfig.from_settings(db)
    waiting: set[int] = set()

    def recorded(batch: list[Outcome]) -> None:
        first = not waiting
        for o in batch:
            (waiting.add if o.verdict is Verdict.RETRY else waiting.discard)(o.claimed.id)
        if first and waiting and show:
            bar.note(f"some deliveries failed; they are retried for up to {format_duration(config.retry.window)} "
                     "after they were queued (setting dispatch.retry_window); Ctrl-C stops, they stay queued")
        bar.advance(sum(1 for o in batch if o.final), retrying=len(waiting))

    dispatcher = Dispatcher(db, config, on_recorded=recorded)
    with StopRequest(on_again=dispatcher.abandon) as stop:
        done = False
        dispatcher.start()
        try:
            done = dispatcher.run_until_done(broadcast_id, interrupted=stop.wait)
        finally:
            if not done:
                bar.note(f"stopping: sends in flight get {config.stop_grace:g} s to finish")
            dispatcher.stop()
            bar.close()
        return None if done else stop.exit_status


def _warn(db: Database, broadcast_id: int) -> list[dict[str, str]]:
    """Say on stderr what would keep the answers from coming back (links to this machine, no answer
    service); a warning only, never a reason to stop a send. The same as JSON for --json."""
    from console.services import readiness

    found = readiness.broadcast_warnings(db, broadcast_id)
    for w in found:
        print(for_terminal(f"warning: {w.message}"), file=sys.stderr)
    return [w.as_json() for w in found]


def _counts(db: Database, broadcast_id: int) -> dict[str, object]:
    from console.services import broadcasts

    st = broadcasts.status(db, broadcast_id)
    return {"state": st.state, "sent": st.sent, "failed": st.failed, "pending": st.pending}


def _say_interrupted(db: Database, broadcast_id: int) -> None:
    from console.services import broadcasts

    left = broadcasts.unsent(db, broadcast_id)
    print(f"interrupted: {left} deliveries of broadcast {broadcast_id} are not sent yet and stay queued; "
          "`crisis-console dispatch` or the desktop app sends them", file=sys.stderr)


def _report_failures(db: Database, broadcast_id: int, after_id: int = 0) -> int:
    """Per channel: how many deliveries failed and the last error (secrets masked). 1 if any failed."""
    from console.services import broadcasts

    report = broadcasts.failure_report(db, broadcast_id, after_id)
    if not report.failed:
        return 0
    fail(f"{len(report.failed)} deliveries of broadcast {broadcast_id} failed "
         f"(who: crisis-console status {broadcast_id} --failures)")
    for c in report.channels:
        where = f" ({c.url})" if c.url else ""
        print(for_terminal(f"  {c.channel}{where}: {c.failed} failed; last error: {c.last_error}"), file=sys.stderr)
    return 1


def status_cmd(args: argparse.Namespace) -> int:
    from console.services import broadcasts, readiness

    if args.failures:
        return _failures_cmd(args)
    db = open_db(args)
    st = broadcasts.status(db, args.broadcast_id)
    service = readiness.answer_service_reachable(db)
    if args.json:
        print_json({**st.as_json(), "answer_service": service.as_json()})
        return 0
    label = " [EXERCISE]" if st.exercise else ""
    print(for_terminal(f"broadcast {st.broadcast_id}{label}: {st.title} ({st.state}, {st.severity})"))
    print(_people_line(st))
    print(f"  {st.messages} messages: {st.sent} sent, {st.failed} failed, {st.pending} pending"
          + (f", {st.cancelled} cancelled" if st.cancelled else ""))
    print(f"  acknowledged {st.acknowledged} of {st.recipients} people" + (f" ({st.late} late)" if st.late else ""))
    for answer, count in st.answers.items():
        flag = " (needs help)" if answer in st.help_options else ""
        print(for_terminal(f"    {answer}{flag}: {count}"))
    if st.self_reported:
        print(f"  self-reported through a group link (unconfirmed): {st.self_reported}")
    if st.unreachable:
        print(f"  unreachable {st.unreachable}")
    if not service.ok:
        gone = service.state is readiness.ServiceState.UNREACHABLE
        print(for_terminal(f"  answer service: {service.state} at {service.url} ({service.reason})"
                           + ("; no answers can come in" if gone else "")))
    return 0


def _people_line(st: BroadcastStatus) -> str:
    """People, never messages: "65 people: 60 reached, 5 not reached yet (5 pending)"."""
    p = st.people
    if not p.not_reached:
        return f"  {p.total} people: all {p.total} reached" if p.total else "  0 people"
    why = ", ".join(f"{n} {word}" for n, word in ((p.pending, "pending"), (p.failed, "failed"),
                                                  (p.cancelled, "cancelled")) if n)
    return f"  {p.total} people: {p.reached} reached, {p.not_reached} not reached yet ({why})"


def _failures_cmd(args: argparse.Namespace) -> int:
    from console.services import broadcasts

    failed = broadcasts.failures(open_db(args), args.broadcast_id)
    if args.json:
        print_json([f.as_json() for f in failed])
        return 0
    print(f"broadcast {args.broadcast_id}: {len(failed)} failed deliveries")
    for f in failed:
        who = f"{f.name} <{f.email}>" if f.name is not None else f"group {f.group or '?'} (group post)"
        print(for_terminal(f"  {who}   {f.channel}   {f.attempts} attempts   {f.last_error}"))
    return 0


def remind_cmd(args: argparse.Namespace) -> int:
    from console.services import broadcasts

    db = open_db(args, key=True)
    reminded = broadcasts.remind(db, args.broadcast_id, actor(args))
    _warn(db, args.broadcast_id)
    print(f"broadcast {args.broadcast_id}: reminding {reminded.people} recipients "
          f"({reminded.deliveries} deliveries queued)"
          + (f"; {reminded.skipped} skipped: their reminder is still waiting to go out" if reminded.skipped else ""))
    if not (args.wait and (reminded.deliveries or reminded.skipped)):
        return 0
    stopped = _run_until_done(db, args.broadcast_id, reminded.deliveries, show=True)
    if stopped is not None:
        _say_interrupted(db, args.broadcast_id)
        return stopped
    return _report_failures(db, args.broadcast_id, after_id=reminded.after_id)


def cancel_cmd(args: argparse.Namespace) -> int:
    from console.services import broadcasts

    count = broadcasts.cancel(open_db(args), args.broadcast_id, actor(args))
    print(f"broadcast {args.broadcast_id}: cancelled, {count} pending deliveries stopped")
    return 0


def dispatch_cmd(args: argparse.Namespace) -> int:
    from console.broadcast.dispatcher import DispatchConfig, Dispatcher
    from console.stopsignals import StopRequest

    db = open_db(args)
    db.secrets  # fail now, in words, if the key is wrong  # noqa: B018
    overrides = {"workers": args.workers} if args.workers else {}
    dispatcher: Dispatcher = Dispatcher(db, DispatchConfig.from_settings(db, **overrides))
    with StopRequest(on_again=dispatcher.abandon) as stop:
        dispatcher.start()
        print(f"dispatcher {dispatcher.me} running on {db.display_url} with {dispatcher.config.workers} workers",
              flush=True)
        stop.wait()
        print(f"stopping: sends in flight get {dispatcher.config.stop_grace:g} s to finish "
              "(a second signal stops them now); what is not sent stays queued", flush=True)
        dispatcher.stop()
    print("dispatcher stopped", flush=True)
    return 0
