"""Claimed deliveries made ready to send: the channel's URL opened, the message rendered.

The dispatcher's claimer calls `JobMaker.prepare` inside its claim transaction;
what comes out is plain data the sender threads use without the database. A
channel's sealed URL is opened once per dispatcher (`routes`), a message body
rendered once per broadcast, channel kind and token shape (MessageCache).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from channels import ChannelError, Outgoing, ServiceLimits, fill_address, notify_type_for, service_limits
from console import settings
from console.broadcast import escalation
from console.broadcast.messages import MessageCache, MessageSpec
from console.broadcast.outbox import Claimed
from console.models import Broadcast, Channel, GroupLink, Recipient
from console.storage.secrets import SecretBox

log = logging.getLogger("console.broadcast.dispatcher")


@dataclass(frozen=True)
class Route:
    """A channel as the senders need it: its secret URL opened once per dispatcher."""

    kind: str
    url: str
    rate: float | None
    limits: ServiceLimits | None


@dataclass
class Job:
    claimed: Claimed
    outgoing: Outgoing | None
    error: str | None = None
    permanent: bool = False


@dataclass
class _Context:
    """Per-claim read-only data: settings and the broadcasts of the batch."""

    org_name: str
    public_url: str
    broadcasts: dict[int, Broadcast] = field(default_factory=dict)


class JobMaker:
    """Turns claimed deliveries into jobs; keeps the opened channel URLs and rendered messages."""

    def __init__(self, box: SecretBox) -> None:
        self.box = box
        self.routes: dict[int, Route] = {}
        self._messages = MessageCache()

    def prepare(self, session: Any, claimed: list[Claimed]) -> list[Job]:
        values = settings.get_all(session)
        ctx = _Context(org_name=values["org.name"], public_url=values["ack.public_url"])
        for bid in {c.broadcast_id for c in claimed} - ctx.broadcasts.keys():
            b = session.get(Broadcast, bid)
            if b is not None:
                ctx.broadcasts[bid] = b
        for cid in {c.channel_id for c in claimed} - self.routes.keys():
            ch = session.get(Channel, cid)
            if ch is not None:
                self.routes[cid] = _route(ch, self.box.open(ch.url_sealed))
        tokens = _tokens(session, claimed)
        jobs = []
        for c in claimed:
            try:
                if c.recipient_id is None and c.group_link_id is None:  # an escalation to a manager
                    jobs.append(Job(c, self._escalation(session, ctx, c)))
                    continue
                jobs.append(Job(c, self._outgoing(ctx, c, self.box.open(tokens[c]) if c in tokens else None)))
            except ChannelError as exc:  # its channel or address cannot be used: no retry will fix that
                log.warning("cannot prepare delivery %d: %s", c.id, exc)
                jobs.append(Job(c, None, f"cannot prepare the message: {exc}", permanent=True))
            except Exception as exc:  # a broken row must not stop the others
                log.exception("cannot prepare delivery %d", c.id)
                jobs.append(Job(c, None, f"cannot prepare the message: {exc}"))
        return jobs

    def _outgoing(self, ctx: _Context, c: Claimed, token: str | None) -> Outgoing:
        b = ctx.broadcasts[c.broadcast_id]
        route = self.routes[c.channel_id]
        if token is None:
            raise ValueError("the delivery has no link token")
        spec = MessageSpec(
            broadcast_id=b.id, channel_kind=route.kind, title=b.title, body=b.body, severity=b.severity,
            exercise=b.exercise, options=tuple(b.options), org_name=ctx.org_name, public_url=ctx.public_url,
            group_post=c.group_link_id is not None, reminder=c.reminder, limits=route.limits,
        )
        address = c.address if route.kind != "group" else None  # None: the channel's own URL, no address
        return Outgoing(url=fill_address(route.url, address) if address is not None else route.url, kind=route.kind,
                        rendered=self._messages.message(spec, token), notify_type=notify_type_for(b.severity),
                        address=address)

    def _escalation(self, session: Any, ctx: _Context, c: Claimed) -> Outgoing:
        route, b = self.routes[c.channel_id], ctx.broadcasts[c.broadcast_id]
        if c.address is None:
            raise ValueError("the escalation has no address")
        rendered = escalation.message(session, c.broadcast_id, c.address, kind=route.kind, org_name=ctx.org_name,
                                      limits=route.limits)
        return Outgoing(url=fill_address(route.url, c.address), kind=route.kind, rendered=rendered,
                        notify_type=notify_type_for(b.severity), address=c.address)


def _route(channel: Channel, url: str) -> Route:
    try:
        limits: ServiceLimits | None = service_limits(url, channel.kind)
    except Exception:  # noqa: BLE001 - limits are a refinement: an unreadable one must not stop delivery
        log.warning("cannot read the service limits of channel %s", channel.name)
        limits = None
    return Route(channel.kind, url, channel.rate_per_sec, limits)


def _tokens(session: Any, claimed: list[Claimed]) -> dict[Claimed, bytes]:
    from sqlalchemy import select

    rids = {c.recipient_id for c in claimed if c.recipient_id}
    gids = {c.group_link_id for c in claimed if c.group_link_id}
    sealed_r = dict(session.execute(select(Recipient.id, Recipient.token_sealed)
                                    .where(Recipient.id.in_(rids))).all()) if rids else {}
    sealed_g = dict(session.execute(select(GroupLink.id, GroupLink.token_sealed)
                                    .where(GroupLink.id.in_(gids))).all()) if gids else {}
    out = {}
    for c in claimed:
        sealed = sealed_r.get(c.recipient_id) if c.recipient_id else sealed_g.get(c.group_link_id)
        if sealed is not None:
            out[c] = sealed
    return out
