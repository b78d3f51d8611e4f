"""Channel use cases: list (masked), add/edit, disable, send a test.

URLs are sealed with the database's key (`db.secrets`), fetched here so a face
never handles the key or a clear URL after the one it typed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console import channelstore
from console.channelstore import ADDRESS_FIELDS, DEFAULT_FIELD, ChannelConfigError, ChannelRow
from console.directory.service import list_groups
from console.errors import Failure
from console.storage import Database
from console.storage.secrets import SecretBox
from console.vocabulary import ChannelKind

if TYPE_CHECKING:
    from console.channeltest import ChannelTestResult

__all__ = ["ADDRESS_FIELDS", "DEFAULT_FIELD", "ChannelConfigError", "ChannelKind", "ChannelRow", "ChannelsPage",
           "disable_channel", "list_channels", "load_page", "save_channel", "send_test"]

log = logging.getLogger("console.services.channels")


@dataclass(frozen=True)
class ChannelsPage:
    """The channels and the group names a group channel can belong to."""

    channels: list[ChannelRow]
    groups: list[str]


def load_page(db: Database) -> ChannelsPage:
    with db.read() as session:
        return ChannelsPage(channelstore.list_channels(session), [g.name for g in list_groups(session)])


def list_channels(db: Database, *, fix_masks_as: str | None = None) -> list[ChannelRow]:
    """Channels by name, URLs in their privacy form.

    Args:
        fix_masks_as: when given, privacy forms stored by an older version are rewritten
            (audited as this actor; best effort, see `_remask`). Rows come back re-masked either way.
    """
    with db.read() as session:
        rows = channelstore.list_channels(session)
        stale = bool(channelstore.stale_masks(session))
    if stale and fix_masks_as is not None and not db.read_only:  # read-only: shown re-masked, left as stored
        _remask(db, fix_masks_as)
    return rows


def _remask(db: Database, actor: str) -> None:
    """Rewrite stale privacy forms.

    Best effort: a list must work without the key and on a read-only database, so
    without a key the stored text is re-masked as it is, and a failure only logs.
    """
    try:
        box = db.secrets if SecretBox.available() else None
    except Failure:
        box = None
    try:
        with db.write() as session:
            fixed = channelstore.remask_stored(session, box, actor)
    except Failure as exc:
        log.warning("could not rewrite stale channel privacy forms: %s", exc)
        return
    if fixed:
        log.info("re-masked the stored URL of %s", ", ".join(fixed))


def save_channel(
    db: Database, actor: str, *, name: str, kind: str, url: str | None, group: str | None = None,
    address_field: str | None = None, rate_per_sec: float | None = None, channel_id: int | None = None,
) -> ChannelRow:
    """Add (channel_id None) or edit a channel; `url=None` on edit keeps the stored URL."""
    box = db.secrets
    with db.write() as session:
        return channelstore.save_channel(session, box, actor, name=name, kind=kind, url=url, group=group,
                                         address_field=address_field, rate_per_sec=rate_per_sec,
                                         channel_id=channel_id)


def disable_channel(db: Database, actor: str, channel_id: int) -> None:
    """A channel is disabled, never deleted: its deliveries keep their history."""
    with db.write() as session:
        channelstore.remove_channel(session, actor, channel_id)


def send_test(db: Database, actor: str, channel_id: int, address: str | None) -> ChannelTestResult:
    """Send one test message through a channel (audited); the result says whether it was delivered.

    console.channeltest loads Apprise's plugins, which the desktop's first window must not wait for.
    """
    from console.channeltest import send_test as send

    return send(db, actor, channel_id, address)
