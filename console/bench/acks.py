"""`python -m console.bench acks`: a whole company answering within a minute.

Starts the acknowledgement service on a temporary SQLite database with one
broadcast to N recipients, then a SEPARATE load process (console.bench.ackload)
fires N POSTs (each recipient answers once) and N GETs at the given concurrency.
Run three times in the same process: the naive baseline (one SQLAlchemy ORM
transaction per request, in the request thread), the service as shipped (group
commit, its threads on one CPU) and the same with its threads free on all CPUs
(console.acks.affinity says why that is slower). The service as shipped then
serves the same load again (each recipient changes their answer) while another
process holds 2,000 slow connections open (console.bench.slowclients), to
compare. Each must end with exactly N answers, one audit entry per answer given,
and an intact audit chain. The load process's own CPU use is printed: it is not
the bottleneck while well under one core.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from console import audit
from console.acks.affinity import ALL, AUTO, CpuChoice, parse_cpu
from console.acks.errors import RecipientGone
from console.acks.formcheck import load_form_check
from console.acks.httpserver import GuardCounts
from console.acks.lookup import is_late
from console.acks.recorder import AUDIT_ACTION, AnswerRequest, GroupCommitRecorder, Outcome, Probe
from console.acks.server import DEFAULT_THREADS, AckServer
from console.acks.tokens import hash_token
from console.bench.ackload import LoadResult, get_request, post_request, run_load
from console.bench.slowclients import HoldResult, SlowClients
from console.broadcast.send import SAFETY_CHECK, BroadcastRequest, create_broadcast
from console.channelstore import save_channel
from console.directory.csvimport import parse_csv, write_rows
from console.models import AuditEntry, Broadcast, Channel, GroupLink, Incident, Recipient, Setting, utcnow
from console.storage import Database
from console.storage.secrets import SecretBox

ACTOR = "bench"
MAIL_URL = "mailto://127.0.0.1:2525?from=a@example.org&to={address}"
GROUP_URL = "json://127.0.0.1:9/ops-room"


@dataclass(frozen=True)
class Seeded:
    """A broadcast ready to be answered: its id and the raw link tokens (email -> token)."""

    broadcast_id: int
    tokens: dict[str, str]
    group_token: str | None


def seed_broadcast(db: Database, recipients: int, *, options: tuple[str, ...] = SAFETY_CHECK,
                   title: str = "Fire alarm at the Leeds office", body: str = "Leave the building **now**.",
                   severity: str = "critical", exercise: bool = False, group_post: bool = False,
                   domain: str = "example.org") -> Seeded:
    """Contacts, a mail channel (and a group channel) and one broadcast, through the real services.

    Nothing is sent: the deliveries stay in the outbox. Calling it again on the same
    database adds another broadcast (contacts from another `domain` join the audience).
    """
    box = db.secrets
    csv_text = "name,email,phone,groups\n" + "".join(
        f"Person {i},person{i}@{domain},,\n" for i in range(recipients))
    rows, _ignored = parse_csv(csv_text.encode(), "bench.csv")
    with db.write() as session:
        write_rows(session, rows, ACTOR, "bench.csv")
        have = set(session.scalars(select(Channel.name)))
        if "Mail" not in have:
            save_channel(session, box, ACTOR, name="Mail", kind="email", url=MAIL_URL)
        if group_post and "Ops room" not in have:
            save_channel(session, box, ACTOR, name="Ops room", kind="group", url=GROUP_URL, group="all")
        result = create_broadcast(session, box, BroadcastRequest(
            title=title, body=body, groups=["all"], severity=severity, options=list(options), exercise=exercise,
        ), ACTOR)
    with db.read() as session:
        sealed = session.execute(select(Recipient.email, Recipient.token_sealed)
                                 .where(Recipient.broadcast_id == result.broadcast_id)).all()
        group = session.scalar(select(GroupLink.token_sealed).where(GroupLink.broadcast_id == result.broadcast_id))
    tokens = {email: box.open(token) for email, token in sealed}
    return Seeded(result.broadcast_id, tokens, box.open(group) if group is not None else None)


class OrmRecorder:
    """The naive baseline: one ORM write transaction per request, in the request's thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    @property
    def alive(self) -> bool:
        return True

    def barrier(self, timeout: float = 30.0) -> None:
        """Nothing is queued here: every request commits in its own thread."""

    def probe(self, timeout: float = 5.0) -> None:
        with self._db.write() as session:
            session.merge(Setting(key=Probe.KEY, value=utcnow().isoformat()))

    def record(self, request: AnswerRequest, timeout: float = 30.0) -> Outcome:
        with self._db.write() as session:
            recipient = session.get(Recipient, request.recipient_id)
            if recipient is None:
                raise RecipientGone(f"recipient {request.recipient_id} no longer exists")
            broadcast = session.get_one(Broadcast, recipient.broadcast_id)
            incident = session.get_one(Incident, broadcast.incident_id)
            previous, now = recipient.answer, utcnow()
            late = is_late(broadcast.state, incident.state, broadcast.kind)
            recipient.answer, recipient.answered_at, recipient.answer_late = request.answer, now, late
            seq = audit.append(session, recipient.email, AUDIT_ACTION, f"broadcast {broadcast.id}", {
                "recipient": recipient.id, "email": recipient.email, "answer": request.answer,
                "previous": previous, "time": now.isoformat(timespec="microseconds"), "late": late,
                "client": request.client, "via": request.via,
            })
            return Outcome(recipient.id, broadcast.id, request.answer, previous, now, late, seq)


# --- one variant, and the report --------------------------------------------------------

@dataclass(frozen=True)
class Measured:
    """One load run against the server: the load's view and the server process's costs."""

    load: LoadResult
    server_cpu: float  # seconds of CPU time
    switches: int | None  # context switches of the server's threads (Linux), None where unknown

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.load.statuses.items() if status != 200)


@dataclass(frozen=True)
class SlowRun:
    """The same load again (everyone changes their answer) while slow clients hold connections open."""

    post: Measured
    get: Measured
    held: HoldResult
    open_at_start: int  # connections the service held when the run began
    guard: GuardCounts  # what the service's guard closed during the run


@dataclass(frozen=True)
class VariantResult:
    name: str
    post: Measured
    get: Measured
    answers: int
    audit_entries: int
    chain: str
    batches: int | None
    slow: SlowRun | None = None

    @property
    def errors(self) -> int:
        slow = self.slow.post.errors + self.slow.get.errors if self.slow else 0
        return self.post.errors + self.get.errors + slow

    @property
    def answers_posted(self) -> int:
        """Answers each recipient gave: one, and one more in the slow-client run."""
        return 2 if self.slow else 1


def context_switches() -> int | None:
    """Voluntary and involuntary context switches of all this process's threads so far (Linux)."""
    total = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/status", encoding="ascii") as status:
                total += sum(int(line.split(":")[1]) for line in status if "ctxt_switches" in line)
        except OSError:  # the thread ended meanwhile
            continue
    return total


def measure(url: str, requests: list[bytes], concurrency: int) -> Measured:
    before = context_switches()
    load, cpu = run_load(url, requests, concurrency)
    after = context_switches()
    return Measured(load, cpu, None if before is None or after is None else after - before)


def run_variant(workdir: Path, recipients: int, concurrency: int, threads: int, *, naive: bool,
                cpu: CpuChoice, slow: int = 0) -> VariantResult:
    """Seed a fresh database, serve it, fire N POSTs then N GETs, and count what the database holds.

    With `slow` > 0, the same again (each recipient changes their answer) while that many slow
    clients hold connections open.
    """
    path = workdir / f"{'naive' if naive else 'group'}-{cpu}.db"
    db = Database(f"sqlite:///{path}", secrets=SecretBox(Fernet.generate_key(), "bench"))
    seeded = seed_broadcast(db, recipients)
    check = load_form_check(db)
    recorder: Any = OrmRecorder(db) if naive else GroupCommitRecorder(db)
    server = AckServer(db, threads=threads, recorder=recorder, cpu=cpu)
    url = server.start()
    name = f"{'naive ORM' if naive else 'group commit'}, {'all CPUs' if server.cpu is None else '1 CPU'}"
    host = urlsplit(url).netloc
    try:
        posts = [post_request(host, t, SAFETY_CHECK[i % 2], check.value(hash_token(t)))
                 for i, t in enumerate(seeded.tokens.values())]
        post = measure(url, posts, concurrency)
        gets = [get_request(host, t) for t in seeded.tokens.values()]
        get = measure(url, gets, concurrency)
        slow_run = None
        if slow:
            changes = [post_request(host, t, SAFETY_CHECK[(i + 1) % 2], check.value(hash_token(t)))
                       for i, t in enumerate(seeded.tokens.values())]
            slow_run = measure_with_slow_clients(server, changes, gets, concurrency, slow)
    finally:
        server.stop()
    with db.read() as session:
        answers = session.scalar(select(func.count()).where(Recipient.broadcast_id == seeded.broadcast_id,
                                                            Recipient.answer.is_not(None))) or 0
        entries = session.scalar(select(func.count()).where(AuditEntry.action == AUDIT_ACTION)) or 0
        chain = audit.verify(session).message()
    db.dispose()
    batches = recorder.batches if isinstance(recorder, GroupCommitRecorder) else None
    return VariantResult(name, post, get, answers, entries, chain, batches, slow_run)


def measure_with_slow_clients(server: AckServer, posts: list[bytes], gets: list[bytes], concurrency: int,
                              count: int) -> SlowRun:
    parts = urlsplit(server.url)
    holder = SlowClients(parts.hostname or "127.0.0.1", parts.port or 0, count)
    holder.start()
    try:
        opened = server.connections
        before = GuardCounts(**vars(server.counts))
        post = measure(server.url, posts, concurrency)
        get = measure(server.url, gets, concurrency)
        after = server.counts
    finally:
        held = holder.stop()
    delta = GuardCounts(**{k: v - getattr(before, k) for k, v in vars(after).items()})
    return SlowRun(post, get, held, opened, delta)


def _row(label: str, m: Measured) -> str:
    r = m.load
    switches = "" if m.switches is None else f"{m.switches / r.requests:>9.1f}"
    return (f"{label:<34}{r.rate:>7.0f}{r.percentile(50):>8.1f}{r.percentile(99):>8.1f}"
            f"{max(r.latencies) * 1000:>8.1f}{m.errors:>7}{m.server_cpu / r.seconds:>8.0%}"
            f"{m.server_cpu / r.requests * 1e6:>9.0f}{switches}{r.cpu_seconds / r.seconds:>7.0%}")


def describe_slow(v: VariantResult) -> str:
    """The slow-client run next to the run without them (same server, same process)."""
    assert v.slow is not None
    s, held = v.slow, v.slow.held
    post, get = s.post.load, s.get.load
    return (f"slow clients: {held.count} held from {held.count} addresses all along (half silent after a partial "
            f"request head, half adding a header line each second; reconnecting when cut): the service held "
            f"{s.open_at_start} connections as the run began; during it, it cut {s.guard.timed_out} at the request "
            f"deadline, {s.guard.capped} at the per-address cap, {s.guard.shed} to make room "
            f"({held.opened} connections opened by the slow clients in {held.seconds:.0f} s, {held.failed} failed, "
            f"{held.cpu_seconds / held.seconds:.0%} of one core)\n"
            f"with {held.count} slow clients held: POST {post.rate / v.post.load.rate:.0%} of the rate "
            f"(p99 {post.percentile(99):.1f} ms vs {v.post.load.percentile(99):.1f}), GET "
            f"{get.rate / v.get.load.rate:.0%} of the rate (p99 {get.percentile(99):.1f} ms vs "
            f"{v.get.load.percentile(99):.1f}); goals met while held: POST "
            f"{'yes' if post.rate >= 1500 and post.percentile(99) < 100 else 'NO'}, "
            f"GET {'yes' if get.rate >= 2000 else 'NO'}")


def report(results: list[VariantResult], recipients: int, concurrency: int, threads: int,
           load_before: float, load_after: float) -> bool:
    """Print the table and the checks; True when every count is exact and nothing failed.

    `results` ends with the service as shipped; a naive baseline, if measured, comes first.
    """
    print(f"acks benchmark: {recipients} recipients, concurrency {concurrency}, SQLite (WAL), "
          f"waitress {threads} threads, {os.cpu_count()} CPUs "
          f"(1-min load average {load_before:.1f} before, {load_after:.1f} after)")
    print(f"{'':<34}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'errors':>7}{'server':>8}{'µs/req':>9}"
          f"{'sw/req':>9}{'load':>7}")
    ok = True
    for v in results:
        print(_row(f"POST {v.name}", v.post))
        print(_row(f"GET  {v.name}", v.get))
        commits = f"; {v.batches} commits, {v.answers / v.batches:.1f} answers each" if v.batches else ""
        if v.slow:
            print(_row(f"POST + {v.slow.held.count} slow clients", v.slow.post))
            print(_row(f"GET  + {v.slow.held.count} slow clients", v.slow.get))
        print(f"    answers in the database {v.answers} of {recipients}, audit entries {v.audit_entries} "
              f"(of {recipients * v.answers_posted}), audit chain {v.chain}{commits}")
        ok = ok and v.errors == 0 and v.answers == recipients and v.chain.startswith("OK") \
            and v.audit_entries == recipients * v.answers_posted
    print("server, load: CPU time of the server process and of the load process, as a share of one core;\n"
          "µs/req: server CPU time per request (less sensitive than req/s to other work on the machine);\n"
          "sw/req: context switches of the server's threads per request")
    busiest = max((m.load for v in results for m in (v.post, v.get)), key=lambda r: r.rate)
    share = busiest.cpu_seconds / busiest.seconds
    print(f"load generator: {share:.0%} of one core at {busiest.rate:.0f} req/s, so it could drive about "
          f"{busiest.rate / max(share, 0.01):,.0f} req/s; it is not the bottleneck")
    final = results[-1]
    post_ok = final.post.load.rate >= 1500 and final.post.load.percentile(99) < 100
    get_ok = final.get.load.rate >= 2000
    print(f"goal POST >= 1500/s with p99 < 100 ms: {'met' if post_ok else 'NOT met'}; "
          f"goal GET >= 2000/s: {'met' if get_ok else 'NOT met'} ({final.name})")
    for other in results[:-1]:
        print(f"{final.name} vs {other.name}: POST {final.post.load.rate / other.post.load.rate:.1f}x the rate, "
              f"p99 {other.post.load.percentile(99) / final.post.load.percentile(99):.1f}x lower; "
              f"GET {final.get.load.rate / other.get.load.rate:.1f}x the rate")
    if final.slow:
        print(describe_slow(final))
    print("counts exact, no errors: " + ("yes" if ok else "NO"))
    return ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.bench acks", description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="waitress request threads")
    parser.add_argument("--cpu", type=parse_cpu, default=AUTO,
                        help="the service's CPU as for serve-acks --cpu (default: auto)")
    parser.add_argument("--slow-clients", type=int, default=2000, metavar="N",
                        help="run the service as shipped again while N slow clients hold connections open "
                             "(0: skip)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="measure only the service as shipped (no naive baseline, no all-CPUs run)")
    args = parser.parse_args(argv)
    if args.recipients < 1 or args.concurrency < 1 or args.threads < 1 or args.slow_clients < 0:
        parser.error("--recipients, --concurrency and --threads must be at least 1, --slow-clients at least 0")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="acks-bench-") as tmp:
        common = (Path(tmp), args.recipients, args.concurrency, args.threads)
        results = []
        if not args.no_baseline:
            results.append(run_variant(*common, naive=True, cpu=args.cpu))
            if args.cpu != ALL:
                results.append(run_variant(*common, naive=False, cpu=ALL))
        results.append(run_variant(*common, naive=False, cpu=args.cpu, slow=args.slow_clients))
    ok = report(results, args.recipients, args.concurrency, args.threads, load_before, os.getloadavg()[0])
    return 0 if ok else 1
