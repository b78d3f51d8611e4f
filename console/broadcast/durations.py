"""Reading the follow-through settings a person types: durations (`90s`, `15m`, `1h`) and send times.

Kept apart from sending so the command line and the desktop read them the same way;
each error names the option it came from, so the command line can say it in one line.
"""

from __future__ import annotations

import datetime as dt
import re

from console.broadcast.errors import BroadcastError

_DURATION = re.compile(r"^\s*(\d+)\s*([smh]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}
MAX_DURATION_S = 7 * 24 * 3600
"""A week: a longer follow-up is a typo, not a plan."""


def parse_duration(text: str, option: str) -> int:
    """Seconds in `text` (`90s`, `15m`, `1h`; a bare number is seconds), at least one second.

    Raises:
        BroadcastError: naming `option`, when the text is not such a duration.
    """
    match = _DURATION.match(text)
    if match is None:
        raise BroadcastError(f"{option}: {text!r} is not a duration (use s, m or h, e.g. 90s, 15m, 1h)")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    return check_duration(seconds, option)


def check_duration(seconds: int, option: str) -> int:
    """`seconds` when it is a usable follow-up interval, else BroadcastError naming `option`."""
    if seconds < 1:
        raise BroadcastError(f"{option}: must be at least 1 second")
    if seconds > MAX_DURATION_S:
        raise BroadcastError(f"{option}: longer than a week")
    return seconds


def parse_at(text: str, option: str = "--at") -> dt.datetime:
    """An ISO 8601 time as UTC; without a zone it is the local time of this machine.

    Raises:
        BroadcastError: naming `option`, when the text is not an ISO time.
    """
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BroadcastError(f"{option}: {text!r} is not an ISO time (e.g. 2026-11-27T18:30 or "
                             "2026-11-27T18:30+01:00)") from None
    if when.tzinfo is None:
        when = when.astimezone()  # the machine's local zone
    return when.astimezone(dt.UTC)


def describe_duration(seconds: int) -> str:
    """`1h`, `15m`, `90s`: the shortest exact form, for messages and lists."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
