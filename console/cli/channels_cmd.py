"""`channels add|list|remove`."""

from __future__ import annotations

import argparse

from console.cli.base import actor, add_common, open_db, print_json
from console.textsafe import for_terminal as safe
from console.vocabulary import ChannelKind

ADDRESS_FIELDS = ("email", "phone", "chat")  # console.channelstore.ADDRESS_FIELDS, without importing the ORM


def register(sub: argparse._SubParsersAction) -> None:
    channels = sub.add_parser("channels", help="delivery routes (Apprise URLs, stored encrypted)")
    add_common(channels, top=False)
    csub = channels.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(channels))
    add = csub.add_parser("add", help="add a channel",
                          description="Personal kinds (email, sms, chat) need {address} in the URL, filled per "
                                      "contact; a group channel is posted once and belongs to --group.")
    add_common(add, top=False)
    add.add_argument("--name", required=True)
    add.add_argument("--kind", required=True, choices=[k.value for k in ChannelKind])
    add.add_argument("--url", required=True, metavar="APPRISE_URL")
    add.add_argument("--group", metavar="G", help="owning group (group channels)")
    add.add_argument("--field", choices=ADDRESS_FIELDS,
                     help="contact field that fills {address} (default by kind: email, phone, chat)")
    add.add_argument("--rate", type=float, metavar="PER_SEC", help="rate limit in messages per second")
    add.set_defaults(handler=add_channel)
    lst = csub.add_parser("list", help="list channels (URLs masked)")
    add_common(lst, top=False)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(handler=list_channels)


def add_channel(args: argparse.Namespace) -> int:
    from console.services.channels import save_channel

    row = save_channel(open_db(args, create=True), actor(args), name=args.name, kind=args.kind, url=args.url,
                       group=args.group, address_field=args.field, rate_per_sec=args.rate)
    print(f"added channel {row.id} {safe(row.name)} ({row.kind}): {safe(row.url)}")
    return 0


def list_channels(args: argparse.Namespace) -> int:
    """Also rewrites privacy forms stored by an older version (best effort, see the service)."""
    from console.services.channels import list_channels as rows

    channels = rows(open_db(args), fix_masks_as=actor(args))
    if args.json:
        print_json([c.as_json() for c in channels])
        return 0
    for c in channels:
        owner = f"  group: {safe(c.group)}" if c.group else ""
        print(f"{c.id:>4}  {safe(c.name):<24} {c.kind:<6} {safe(c.url)}{owner}")
    return 0
