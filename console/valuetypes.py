"""Setting values that more than one area reads: a duration (`30m`) and a CPU choice.

They sit below console.settings, which names their parsers in its table, so that the
settings do not import the broadcast and acknowledgement packages (those read settings).
console.broadcast.retry and console.acks.affinity re-export them where they are used.
"""

from __future__ import annotations

import re

AUTO, ALL = "auto", "all"
CpuChoice = int | str
"""A CPU number, "auto" (one CPU picked by process id) or "all" (no pinning)."""


def parse_cpu(value: str) -> CpuChoice:
    """The text of `--cpu` or the setting ack.cpu; raises ValueError with the accepted forms."""
    text = value.strip().lower()
    if text in (AUTO, ALL):
        return text
    try:
        number = int(text)
    except ValueError:
        raise ValueError("expected auto, all or a CPU number such as 0") from None
    if number < 0:
        raise ValueError("expected auto, all or a CPU number of at least 0")
    return number


_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class Duration(float):
    """Seconds that print as a person writes them (`30m`), so a stored setting reads back well."""

    def __str__(self) -> str:
        return format_duration(self)


def parse_duration(text: str) -> Duration:
    """Seconds from `90`, `90s`, `30m`, `2h` or `1h30m`.

    Raises:
        ValueError: the text is not such a duration, or is not above zero.
    """
    rest = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", rest):
        seconds = float(rest)
    elif rest and re.fullmatch(f"(?:{_PART.pattern})+", rest):
        seconds = sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(rest))
    else:
        raise ValueError("expected seconds or a duration such as 30m, 2h or 1h30m (units: s, m, h, d)")
    if seconds <= 0:
        raise ValueError("expected a duration above zero")
    return Duration(seconds)


def format_duration(seconds: float) -> str:
    """The shortest of `2h`, `30m`, `90s` that says `seconds` exactly."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{float(seconds):g}s"
