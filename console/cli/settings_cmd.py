"""`settings set|get|list`."""

from __future__ import annotations

import argparse

from console.cli.base import actor, add_common, open_db, print_json
from console.textsafe import for_terminal as safe


def register(sub: argparse._SubParsersAction) -> None:
    from console.services.settings import DEFINITIONS

    settings = sub.add_parser("settings", help="organisation and service settings")
    add_common(settings, top=False)
    ssub = settings.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(settings))
    keys = "; ".join(f"{d.key}: {d.help}" for d in DEFINITIONS.values())
    st = ssub.add_parser("set", help="set one setting", description=f"Settings: {keys}")
    add_common(st, top=False)
    st.add_argument("key", metavar="KEY")
    st.add_argument("value", metavar="VALUE")
    st.set_defaults(handler=set_setting)
    lst = ssub.add_parser("list", help="show every setting with its value")
    add_common(lst, top=False)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(handler=list_settings)


def set_setting(args: argparse.Namespace) -> int:
    from console.services import settings

    settings.parse_value(args.key, args.value)  # bad input fails before the database is touched (or made)
    value = settings.set_value(open_db(args, create=True), args.key, args.value, actor(args))
    print(safe(f"{args.key} = {value}"))
    return 0


def list_settings(args: argparse.Namespace) -> int:
    from console.services import settings

    values = settings.get_all(open_db(args))
    if args.json:
        print_json(values)
        return 0
    for key, value in values.items():
        print(f"{key:<28} {'' if value is None else safe(str(value))}")
    return 0
