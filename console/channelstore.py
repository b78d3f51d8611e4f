"""Configured channels: add, edit, list, remove, and open their sealed URLs.

A channel's Apprise URL holds passwords and tokens: it is validated through
Apprise, stored sealed (console.storage.secrets) with its privacy form beside
it, and only the privacy form is ever shown, logged or audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import PERSONAL_KINDS, ChannelURLError, validate_channel_url
from console import audit
from console.directory.service import DirectoryError, group_by_name
from console.errors import UserError
from console.models import Channel
from console.storage.secrets import SecretBox

DEFAULT_FIELD = {"email": "email", "sms": "phone", "chat": "chat"}
ADDRESS_FIELDS = ("email", "phone", "chat")


class ChannelConfigError(UserError):
    """A channel that cannot be added or changed as asked."""


@dataclass(frozen=True)
class ChannelRow:
    id: int
    name: str
    kind: str
    url: str  # privacy form
    group: str | None
    address_field: str | None
    rate_per_sec: float | None
    enabled: bool

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "url": self.url, "group": self.group,
                "address_field": self.address_field, "rate_per_sec": self.rate_per_sec, "enabled": self.enabled}


def _row(c: Channel) -> ChannelRow:
    return ChannelRow(c.id, c.name, c.kind, c.url_masked, c.group.name if c.group else None, c.address_field,
                      c.rate_per_sec, c.enabled)


def list_channels(session: Session) -> list[ChannelRow]:
    return [_row(c) for c in session.scalars(select(Channel).order_by(Channel.name))]


def save_channel(
    session: Session, box: SecretBox, actor: str, *, name: str, kind: str, url: str | None,
    group: str | None = None, address_field: str | None = None, rate_per_sec: float | None = None,
    channel_id: int | None = None,
) -> ChannelRow:
    """Add (channel_id None) or edit a channel. `url=None` on edit keeps the stored URL."""
    clean_name = " ".join(name.split())
    if not clean_name:
        raise ChannelConfigError("--name: a channel needs a name")
    clash = session.scalar(select(Channel.id).where(Channel.name == clean_name))
    if clash is not None and clash != channel_id:
        raise ChannelConfigError(f"--name: a channel named {clean_name!r} already exists")
    existing = session.get(Channel, channel_id) if channel_id is not None else None
    if channel_id is not None and existing is None:
        raise ChannelConfigError(f"no channel with id {channel_id}")
    if url is None and existing is None:
        raise ChannelConfigError("--url: a new channel needs an Apprise URL")
    if url is None and existing is not None and existing.kind != kind:
        url = box.open(existing.url_sealed)
    masked = None
    if url is not None:
        try:
            masked = validate_channel_url(kind, url)
        except ChannelURLError as exc:
            raise ChannelConfigError(f"--url: {exc}") from None
    group_obj = None
    if kind == "group":
        if not group:
            raise ChannelConfigError("--group: a group channel needs the group that owns it")
        try:
            group_obj = group_by_name(session, group)
        except DirectoryError as exc:
            raise ChannelConfigError(f"--group: {exc}") from None
    elif group:
        raise ChannelConfigError(f"--group: only group channels belong to a group (this one is {kind})")
    if kind in PERSONAL_KINDS:
        address_field = address_field or DEFAULT_FIELD[kind]
        if address_field not in ADDRESS_FIELDS:
            raise ChannelConfigError(f"--field: {address_field!r} is not one of {', '.join(ADDRESS_FIELDS)}")
    else:
        address_field = None
    if rate_per_sec is not None and rate_per_sec <= 0:
        raise ChannelConfigError("--rate: messages per second must be above 0")

    channel = existing or Channel()
    channel.name, channel.kind, channel.address_field = clean_name, kind, address_field
    channel.group_id = group_obj.id if group_obj else None
    channel.rate_per_sec = rate_per_sec
    if url is not None and masked is not None:
        channel.url_sealed, channel.url_masked = box.seal(url), masked
    if existing is None:
        session.add(channel)
    session.flush()
    session.refresh(channel)
    row = _row(channel)
    audit.append(session, actor, "channels.edit" if existing else "channels.add", clean_name,
                 {k: v for k, v in row.as_json().items() if k != "enabled"})
    return row


def remove_channel(session: Session, actor: str, channel_id: int) -> None:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise ChannelConfigError(f"no channel with id {channel_id}")
    # Deliveries keep their history: a channel in use is disabled, not deleted.
    channel.enabled = False
    audit.append(session, actor, "channels.disable", channel.name, {"id": channel_id, "url": channel.url_masked})


def open_url(box: SecretBox, channel: Channel) -> str:
    return box.open(channel.url_sealed)
