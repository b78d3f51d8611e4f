"""Answer options and what they mean.

Which option means "needs help" is a flag stored with the options (the
broadcast's and the template's `help_options`), set by the safety-check preset
or by the officer on custom options. Everything that treats help requests
specially asks `needs_help`, never the words of an answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from console.broadcast.errors import BroadcastError

DEFAULT_OPTIONS: tuple[str, ...] = ("Acknowledge",)
SAFETY_CHECK: tuple[str, ...] = ("I'm safe", "I need help")
SAFETY_CHECK_HELP: tuple[str, ...] = ("I need help",)
MAX_OPTION = 60
MAX_OPTIONS = 6


@dataclass(frozen=True)
class Preset:
    """A named answer set the editors offer."""

    key: str
    options: tuple[str, ...]
    help_options: tuple[str, ...] = ()


PRESETS: dict[str, Preset] = {p.key: p for p in (
    Preset("acknowledge", DEFAULT_OPTIONS),
    Preset("safety_check", SAFETY_CHECK, SAFETY_CHECK_HELP),
)}


def preset_of(options: Sequence[str], help_options: Iterable[str] = ()) -> str:
    """The key of the preset these answers are (texts and flags), or "custom"."""
    helps = set(help_options)
    return next((p.key for p in PRESETS.values()
                 if p.options == tuple(options) and set(p.help_options) == helps), "custom")


def preset_help_options(options: Sequence[str]) -> tuple[str, ...]:
    """The "needs help" flags of the preset these options are (none when they are no preset)."""
    preset = next((p for p in PRESETS.values() if p.options == tuple(options)), None)
    return preset.help_options if preset else ()


def clean_options(options: Sequence[str] | None, help_options: Sequence[str] = (),
                  *, field: str = "--option") -> tuple[list[str], list[str]]:
    """Checked, whitespace-folded options and help options (each help option must be an option).

    Raises:
        BroadcastError: an empty, over-long or repeated option, too many, or a help option
            that is not among the options.
    """
    cleaned = [" ".join(o.split()) for o in (options or DEFAULT_OPTIONS)]
    if any(not o for o in cleaned):
        raise BroadcastError(f"{field}: an answer option cannot be empty")
    if any(len(o) > MAX_OPTION for o in cleaned):
        raise BroadcastError(f"{field}: an answer option is longer than {MAX_OPTION} characters")
    if len(set(cleaned)) != len(cleaned):
        raise BroadcastError(f"{field}: the same answer option is given twice")
    if len(cleaned) > MAX_OPTIONS:
        raise BroadcastError(f"{field}: at most {MAX_OPTIONS} answer options")
    helps = list(dict.fromkeys(" ".join(h.split()) for h in help_options))
    unknown = [h for h in helps if h not in cleaned]
    if unknown:
        raise BroadcastError(f"--help-option: {unknown[0]!r} is not one of the answer options "
                             f"({', '.join(cleaned)})")
    if helps and len(helps) == len(cleaned):
        raise BroadcastError("--help-option: at least one answer must not mean \"needs help\"")
    return cleaned, helps
