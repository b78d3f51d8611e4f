"""Sealing the audit log from wherever the console runs, and posting each checkpoint to the auditors.

One way to seal for every caller: `audit seal` (console.services.audit), a
dispatcher after a broadcast finishes and once a day, an incident when it
closes. It finds the signing key (console.audit.signing, created on the first
seal) and the checkpoint file (setting `audit.checkpoints`, else beside the
key), seals (console.audit.sealing: the chain is checked first and a broken
one is never sealed), then posts the checkpoint through Apprise to the
channel the setting `audit.channel` names, so a copy sits where the people
who can write the database cannot reach. A post that fails is a warning: the
checkpoint is in the file already.

It lives beside the dispatcher because both the dispatcher and the services
call it, and it sends through `channels` as the dispatcher does.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import PERSONAL_KINDS, ChannelError, fill_address, notify_type_for, render
from console import settings
from console.audit import checkpoints, signing
from console.audit.checkpoints import Checkpoint
from console.audit.log import log_id
from console.audit.sealing import SealRefused
from console.audit.sealing import seal as seal_log
from console.errors import ConsoleError, UserError
from console.models import Channel
from console.storage import Database
from console.storage.paths import signing_key_path

log = logging.getLogger("console.broadcast.auditseal")

DAILY = dt.timedelta(days=1)


class AuditChannelError(UserError):
    """The auditors' channel (setting audit.channel) names no usable channel."""


@dataclass(frozen=True)
class SealReport:
    """What a seal did: the checkpoint (None: nothing new to seal), its file, and the post."""

    checkpoint: Checkpoint | None
    path: Path
    fingerprint: str
    channel: str | None
    """The auditors' channel as set (None: not set, nothing posted)."""
    posted: bool
    warning: str | None = None


def signing_key(create: bool = True) -> signing.SigningKey:
    return signing.load(signing_key_path(), create=create)


def checkpoint_path(session: Session) -> Path:
    """The setting audit.checkpoints, else the default file of this log beside the signing key."""
    chosen = settings.get(session, "audit.checkpoints")
    if chosen:
        return Path(chosen)
    log_name = log_id(session)
    if not log_name:
        raise SealRefused("this database has no audit log id (audit.log_id): open it once with this version "
                          "so its schema is upgraded")
    return checkpoints.default_path(log_name, signing_key_path().parent)


def seal(db: Database, *, only_if_grown: bool = False, post: bool = True) -> SealReport:
    """Seal the log's head now; see the module docstring. Raises SealRefused for a broken chain."""
    key = signing_key()
    with db.read() as session:
        path = checkpoint_path(session)
        channel = settings.get(session, "audit.channel")
    with checkpoints.locked(path) as handle, db.read() as session:  # the lock first: see console.audit.sealing
        sealed = seal_log(session, key, handle, only_if_grown=only_if_grown)
    report = SealReport(sealed.checkpoint, path, key.public.fingerprint, channel, posted=False)
    if sealed.checkpoint is None or not post or not channel:
        return report
    try:
        target = post_checkpoint(db, channel, sealed.checkpoint, key.public.fingerprint)
    except (ConsoleError, ChannelError) as exc:
        warning = f"the checkpoint is in {path} but was not posted to the auditors' channel {channel!r}: {exc}"
        log.warning("%s", warning)
        return SealReport(sealed.checkpoint, path, key.public.fingerprint, channel, False, warning)
    log.info("posted audit checkpoint seq %d to %s", sealed.checkpoint.seq, target)
    return SealReport(sealed.checkpoint, path, key.public.fingerprint, channel, posted=True)


def seal_quietly(db: Database, why: str, *, daily: bool = False) -> SealReport | None:
    """An automatic seal (`why`: "broadcast 7 finished", "incident 3 closed", "daily"): never raises.

    Only seals when the log grew since the last checkpoint; with `daily`, only
    when the last checkpoint is a day old. A refusal (a broken chain) is logged
    as an error: it is what an auditor must hear about.
    """
    try:
        if daily:
            with db.read() as session:
                path = checkpoint_path(session)
            if not due(path, DAILY):
                return None
        report = seal(db, only_if_grown=True)
    except SealRefused as exc:
        log.error("automatic audit seal (%s) refused: %s", why, exc)
        return None
    except Exception:
        log.exception("automatic audit seal (%s) failed", why)
        return None
    if report.checkpoint is not None:
        log.info("sealed the audit log at seq %d (%s) into %s", report.checkpoint.seq, why, report.path)
    return report


class Sealer:
    """A dispatcher's sealing thread: seals after finished broadcasts and, when due, daily.

    `request` queues a reason and wakes it (the recorder calls it from its own
    thread); every `poll` seconds without a request it looks whether the daily
    seal is due. `finish` makes any seal still requested, then ends the thread.
    """

    def __init__(self, db: Database, poll: float) -> None:
        self.db = db
        self.poll = poll
        self._reasons: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dispatch-sealer", daemon=True)

    def start(self) -> Sealer:
        self._thread.start()
        return self

    def request(self, why: str) -> None:
        self._reasons.put(why)
        self._wake.set()

    def finish(self, timeout: float) -> None:
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            woken = self._wake.wait(self.poll)
            self._wake.clear()
            reasons = []
            while not self._reasons.empty():
                reasons.append(self._reasons.get())
            if reasons:
                seal_quietly(self.db, "; ".join(reasons))
            elif not woken:
                seal_quietly(self.db, "daily", daily=True)
            if self._closing.is_set() and self._reasons.empty():
                return


def due(path: Path, every: dt.timedelta, now: dt.datetime | None = None) -> bool:
    """The last checkpoint in `path` is older than `every`, or there is none."""
    from console.audit.sealing import due as file_due

    return file_due(path, every, now or dt.datetime.now(dt.UTC))


def post_checkpoint(db: Database, channel_setting: str, checkpoint: Checkpoint, fingerprint: str) -> str:
    """Send the checkpoint's signed line through the auditors' channel; returns Apprise's privacy form."""
    box = db.secrets
    with db.read() as session:
        channel, address = _channel(session, channel_setting)
        if not channel.enabled:
            raise AuditChannelError(f"audit.channel: the channel {channel.name} is disabled")
        name, kind, url = channel.name, channel.kind, box.open(channel.url_sealed)
        org = settings.get(session, "org.name")
    if kind in PERSONAL_KINDS:
        if address is None:
            raise AuditChannelError(f"audit.channel: {name} is a {kind} channel: add the address after its name "
                                    f"(e.g. {name} auditors@example.org)")
        url = fill_address(url, address)
    title = f"Audit checkpoint: seq {checkpoint.seq}"
    body = (f"The audit log was sealed at {checkpoint.time}: {checkpoint.count} entries, the last (seq "
            f"{checkpoint.seq}) with hash {checkpoint.hash}. Signed with the key {fingerprint}; log "
            f"{checkpoint.log}.\n\nKeep this message. The signed checkpoint line below is what "
            f"audit verify --checkpoints FILE reads, one such line per checkpoint:\n\n"
            f"```\n{checkpoint.line_text()}\n```")
    from channels import Deliverer, Outgoing  # Apprise is loaded only when a checkpoint is posted

    rendered = render(kind, title=title, body=body, severity="info", exercise=False, link=None, options=(),
                      org_name=org)
    with Deliverer() as deliverer:
        result = deliverer.send(Outgoing(url=url, kind=kind, rendered=rendered, notify_type=notify_type_for("info"),
                                         address=address if kind in PERSONAL_KINDS else None))
    if not result.ok:
        raise AuditChannelError(f"sending through {name} failed: {result.error or result.status.value}")
    return result.target


def _channel(session: Session, text: str) -> tuple[Channel, str | None]:
    """The channel named by the whole setting, else by its text before the last space plus an address."""
    whole = session.scalar(select(Channel).where(Channel.name == text))
    if whole is not None:
        return whole, None
    name, _, address = text.rpartition(" ")
    channel = session.scalar(select(Channel).where(Channel.name == name)) if name else None
    if channel is None:
        raise AuditChannelError(f"audit.channel: no channel named {text!r} (or {name!r} with an address)"
                                if name else f"audit.channel: no channel named {text!r}")
    return channel, address.strip() or None
