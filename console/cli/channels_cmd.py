"""`channels add|list|remove`."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from console.cli.base import actor, add_common, open_db, print_json
from console.textsafe import for_terminal as safe

if TYPE_CHECKING:
    from console.storage import Database

log = logging.getLogger("console.cli.channels")

KINDS = ("email", "sms", "chat", "group")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    channels = sub.add_parser("channels", help="delivery routes (Apprise URLs, stored encrypted)")
    add_common(channels, top=False)
    csub = channels.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(channels))
    add = csub.add_parser("add", help="add a channel",
                          description="Personal kinds (email, sms, chat) need {address} in the URL, filled per "
                                      "contact; a group channel is posted once and belongs to --group.")
    add_common(add, top=False)
    add.add_argument("--name", required=True)
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--url", required=True, metavar="APPRISE_URL")
    add.add_argument("--group", metavar="G", help="owning group (group channels)")
    add.add_argument("--field", choices=("email", "phone", "chat"),
                     help="contact field that fills {address} (default by kind: email, phone, chat)")
    add.add_argument("--rate", type=float, metavar="PER_SEC", help="rate limit in messages per second")
    add.set_defaults(handler=add_channel)
    lst = csub.add_parser("list", help="list channels (URLs masked)")
    add_common(lst, top=False)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(handler=list_channels)


def add_channel(args: argparse.Namespace) -> int:
    from console.channelstore import save_channel

    db = open_db(args, create=True)
    box = db.secrets
    with db.write() as session:
        row = save_channel(session, box, actor(args), name=args.name, kind=args.kind, url=args.url,
                           group=args.group, address_field=args.field, rate_per_sec=args.rate)
    print(f"added channel {row.id} {safe(row.name)} ({row.kind}): {safe(row.url)}")
    return 0


def list_channels(args: argparse.Namespace) -> int:
    from console.channelstore import list_channels as rows
    from console.channelstore import stale_masks

    db = open_db(args)
    with db.read() as session:
        channels = rows(session)
        stale = bool(stale_masks(session))
    if stale:
        _remask(args, db)
    if args.json:
        print_json([c.as_json() for c in channels])
        return 0
    for c in channels:
        owner = f"  group: {safe(c.group)}" if c.group else ""
        print(f"{c.id:>4}  {safe(c.name):<24} {c.kind:<6} {safe(c.url)}{owner}")
    return 0


def _remask(args: argparse.Namespace, db: Database) -> None:
    """Rewrite privacy forms stored by an older version (shown re-masked already).

    Best effort: a list must work without the key and on a read-only database, so
    without a key the stored text is re-masked as it is, and a failure only logs.
    """
    from console.channelstore import remask_stored
    from console.errors import Failure
    from console.storage.secrets import SecretBox

    try:
        box = db.secrets if SecretBox.available() else None
    except Failure:
        box = None
    try:
        with db.write() as session:
            fixed = remask_stored(session, box, actor(args))
    except Failure as exc:
        log.warning("could not rewrite stale channel privacy forms: %s", exc)
        return
    if fixed:
        log.info("re-masked the stored URL of %s", ", ".join(fixed))
