"""Send one test message through a configured channel, and audit that it was tried.

A comms team tests a route before it matters: the message goes through the
same rendering and delivery code as a broadcast, to one address typed by the
person testing, and the result (Apprise's error text, secrets masked) comes back.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels import PERSONAL_KINDS, ChannelError, Deliverer, Outgoing, fill_address, notify_type_for, render
from console import audit, settings
from console.channelstore import ChannelConfigError, open_url
from console.models import Channel
from console.storage import Database

TEST_TITLE = "Test from Crisis Console"
TEST_BODY = ("This is a test of the channel **{name}**. No action is needed.\n\n"
             "The link below is the acknowledgement service that answers will reach.")


@dataclass(frozen=True)
class ChannelTestResult:
    """What a test send did: `target` is Apprise's privacy form of the URL."""

    channel: str
    ok: bool
    target: str
    error: str | None
    duration: float


def send_test(db: Database, actor: str, channel_id: int, address: str | None) -> ChannelTestResult:
    """Deliver a test message now (blocking: call it off the GUI thread)."""
    box = db.secrets
    with db.read() as session:
        channel = session.get(Channel, channel_id)
        if channel is None:
            raise ChannelConfigError(f"no channel with id {channel_id}")
        values = settings.get_all(session)
        name, kind, url = channel.name, channel.kind, open_url(box, channel)
    clean_address = (address or "").strip() or None
    if kind in PERSONAL_KINDS:
        if clean_address is None:
            raise ChannelConfigError("address: type where the test should go (an email address, phone or handle)")
        try:
            url = fill_address(url, clean_address)
        except ChannelError as exc:
            raise ChannelConfigError(f"address: {exc}") from None
    else:
        clean_address = None
    rendered = render(kind, title=TEST_TITLE, body=TEST_BODY.format(name=name), severity="info", exercise=False,
                      link=values["ack.public_url"], org_name=values["org.name"])
    with Deliverer() as deliverer:  # ends its SMTP connection with a QUIT
        result = deliverer.send(Outgoing(url=url, kind=kind, rendered=rendered,
                                         notify_type=notify_type_for("info"), address=clean_address))
    outcome = ChannelTestResult(name, result.ok, result.target, result.error, result.duration)
    with db.write() as session:
        audit.append(session, actor, "channels.test", name, {
            "id": channel_id, "address": clean_address, "ok": outcome.ok, "target": outcome.target,
            "error": outcome.error,
        })
    return outcome
