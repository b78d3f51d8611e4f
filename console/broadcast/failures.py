"""The deliveries of a broadcast that failed for good: who, on which channel, why.

Error texts are stored as channels/ wrote them (secrets already replaced by
`****`); given the secret box, they are scrubbed once more against the
channel's own URL with channels' redaction, so nothing secret is shown even if
an error came from somewhere else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.broadcast.send import existing_broadcast
from console.models import Channel, Delivery, Group, GroupLink, Recipient
from console.storage.secrets import SecretBox
from console.vocabulary import DeliveryState


@dataclass(frozen=True)
class FailedDelivery:
    """One delivery that was given up: a person's (name, email) or a group post's (group)."""

    delivery_id: int
    name: str | None
    email: str | None
    group: str | None
    channel: str
    channel_id: int
    address: str | None
    attempts: int
    last_error: str
    reminder: bool
    failed_at: str
    """ISO 8601 UTC, when it was given up."""

    def as_json(self) -> dict[str, Any]:
        return {"delivery_id": self.delivery_id, "name": self.name, "email": self.email, "group": self.group,
                "channel": self.channel, "address": self.address, "attempts": self.attempts,
                "last_error": self.last_error, "reminder": self.reminder, "failed_at": self.failed_at}


@dataclass(frozen=True)
class ChannelFailures:
    """How many deliveries failed on one channel, and the last error seen there."""

    channel: str
    url: str
    """The channel's URL in Apprise's privacy form (empty without the secret box)."""
    failed: int
    last_error: str


class _Masker:
    """Per channel: its privacy-form URL and the secret parts to scrub from texts."""

    def __init__(self, session: Session, box: SecretBox | None) -> None:
        self._session = session
        self._box = box
        self._seen: dict[int, tuple[str, frozenset[str]]] = {}

    def channel(self, channel_id: int) -> tuple[str, frozenset[str]]:
        if self._box is None:
            return "", frozenset()
        if channel_id not in self._seen:
            from channels.urls import mask_url, secret_parts

            sealed = self._session.scalar(select(Channel.url_sealed).where(Channel.id == channel_id))
            url = self._box.open(sealed) if sealed is not None else ""
            masked = mask_url(url) if url else ""
            self._seen[channel_id] = (masked, secret_parts(url, masked) if url else frozenset())
        return self._seen[channel_id]

    def text(self, channel_id: int, text: str) -> str:
        from channels.urls import redact

        secrets = self.channel(channel_id)[1]
        return redact(text, secrets) if secrets else text


def failed_deliveries(session: Session, broadcast_id: int, *, box: SecretBox | None = None,
                      after_id: int = 0) -> list[FailedDelivery]:
    """The broadcast's failed deliveries (those with an id above `after_id`), oldest first.

    Raises:
        BroadcastNotFound: no broadcast with that id.
    """
    existing_broadcast(session, broadcast_id)
    rows = session.execute(
        select(Delivery.id, Recipient.name, Recipient.email, Group.name, Channel.name, Delivery.channel_id,
               Delivery.address, Delivery.attempts, Delivery.last_error, Delivery.reminder, Delivery.changed_at)
        .join(Channel, Channel.id == Delivery.channel_id)
        .outerjoin(Recipient, Recipient.id == Delivery.recipient_id)
        .outerjoin(GroupLink, GroupLink.id == Delivery.group_link_id)
        .outerjoin(Group, Group.id == GroupLink.group_id)
        .where(Delivery.broadcast_id == broadcast_id, Delivery.state == DeliveryState.FAILED,
               Delivery.id > after_id)
        .order_by(Delivery.id)).all()
    masker = _Masker(session, box)
    return [FailedDelivery(did, name, email, group, channel, cid, address, attempts,
                           masker.text(cid, error or "no error was recorded"), bool(reminder), _iso(changed))
            for did, name, email, group, channel, cid, address, attempts, error, reminder, changed in rows]


def _iso(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite returns naive datetimes; everything stored is UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat(timespec="seconds")


def by_channel(session: Session, failed: list[FailedDelivery], box: SecretBox | None = None) -> list[ChannelFailures]:
    """`failed` counted per channel (in the order channels first failed), with the last error of each."""
    masker = _Masker(session, box)
    groups: dict[int, list[FailedDelivery]] = {}
    for f in failed:
        groups.setdefault(f.channel_id, []).append(f)
    return [ChannelFailures(items[0].channel, masker.channel(cid)[0], len(items),
                            max(items, key=lambda f: (f.failed_at, f.delivery_id)).last_error)
            for cid, items in groups.items()]
