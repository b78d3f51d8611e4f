"""Configured channels: add, edit, list, remove, and open their sealed URLs.

A channel's Apprise URL holds passwords and tokens: it is validated through
Apprise, stored sealed (console.storage.secrets) with its privacy form beside
it, and only the privacy form is ever shown, logged or audited.

A privacy form stored by an older version may show what is hidden now (custom
``+header`` values, the user…). Such a row is shown re-masked at once
(``channels.remask`` works on the stored text, no key needed), and its column is
rewritten by :func:`remask_stored`, recomputed from the sealed URL when the key is
at hand: on every add or edit, and by ``channels list`` when it finds one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import PERSONAL_KINDS, ChannelURLError, mask_url, remask, validate_channel_url
from console import audit
from console.directory.service import DirectoryError, group_by_name
from console.errors import UserError
from console.models import Channel
from console.storage.errors import SecretKeyError
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
    return ChannelRow(c.id, c.name, c.kind, remask(c.url_masked), c.group.name if c.group else None,
                      c.address_field, c.rate_per_sec, c.enabled)


def list_channels(session: Session) -> list[ChannelRow]:
    return [_row(c) for c in session.scalars(select(Channel).order_by(Channel.name))]


def stale_masks(session: Session) -> list[int]:
    """Ids of channels whose stored privacy form shows something now hidden."""
    rows = session.execute(select(Channel.id, Channel.url_masked).order_by(Channel.id)).all()
    return [cid for cid, masked in rows if remask(masked) != masked]


def remask_stored(session: Session, box: SecretBox | None, actor: str) -> list[str]:
    """Rewrite stale privacy forms (see the module text); returns the names of the channels fixed.

    With the key the form is recomputed from the sealed URL (as when it was added); without
    it (or when the row does not open with it), the stored text is re-masked as it is.
    """
    fixed = []
    for cid in stale_masks(session):
        channel = session.get(Channel, cid)
        if channel is None:
            continue
        masked = remask(channel.url_masked)
        try:
            url = box.open(channel.url_sealed) if box is not None else None
        except SecretKeyError:
            url = None  # one row sealed with another key must not stop an add or a list
        if url is not None:
            try:
                masked = remask(validate_channel_url(channel.kind, url))
            except ChannelURLError:
                masked = remask(mask_url(url))
        channel.url_masked = masked
        fixed.append(channel.name)
        audit.append(session, actor, "channels.remask", channel.name, {"id": cid, "url": masked})
    return fixed


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
    remask_stored(session, box, actor)
    return row


def remove_channel(session: Session, actor: str, channel_id: int) -> None:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise ChannelConfigError(f"no channel with id {channel_id}")
    # Deliveries keep their history: a channel in use is disabled, not deleted.
    channel.enabled = False
    audit.append(session, actor, "channels.disable", channel.name,
                 {"id": channel_id, "url": remask(channel.url_masked)})


def open_url(box: SecretBox, channel: Channel) -> str:
    return box.open(channel.url_sealed)
