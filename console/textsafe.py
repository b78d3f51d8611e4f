"""Text from other people made safe for where it goes: a terminal, JSON, a spreadsheet cell.

A contact's name, an actor, a channel or a broadcast title is chosen by
whoever filled the directory or ran a command. Printed raw, an ESC starts a
terminal escape sequence (clear the screen, retitle the window, plant a link),
a bidi override reorders what follows, and a CSV cell starting with `=` is a
formula to a spreadsheet. The functions here are applied at those edges; the
stored data stays as it was.
"""

from __future__ import annotations

import re
from typing import Protocol

# C0 controls (all of them: a tab or newline in a name would forge columns or lines), DEL, C1.
_CONTROLS = "\x00-\x1f\x7f-\x9f"
# Bidi embeddings/overrides/isolates and marks, plus the line and paragraph separators.
_INVISIBLES = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE = re.compile(f"[{_CONTROLS}{_INVISIBLES}]")
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_INVISIBLES}]")  # json.dumps escapes C0 itself


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """`text` with every control and bidi character shown as an escape (`\\x1b`, `\\u202e`).

    An ANSI/OSC sequence loses its ESC (or BEL) and so prints as harmless text.
    Backslashes are left alone: this is for a person to read, not to parse back.
    """
    return _UNSAFE.sub(_visible, text)


def lines_for_terminal(text: str) -> str:
    """Like for_terminal, but line ends (LF, CRLF) stay line ends: for multi-line output."""
    return "\n".join(for_terminal(line) for line in text.replace("\r\n", "\n").split("\n"))


def safe_json(text: str) -> str:
    """JSON text with DEL, C1 and bidi characters written as `\\uXXXX`, safe on a terminal.

    json.dumps(ensure_ascii=False) escapes C0 but passes these through raw. Outside
    strings JSON has only ASCII, so each one is inside a string, where `\\uXXXX`
    is valid and decodes to the same character: the data is unchanged.
    """
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class TextSink(Protocol):
    def write(self, text: str, /) -> object: ...


class TerminalWriter:
    """A text stream for a terminal: what is written goes out through lines_for_terminal.

    A byte-order mark at the very start (a CSV export's) is dropped: it is for
    spreadsheets, and a terminal would only show it as a stray character.
    """

    def __init__(self, out: TextSink) -> None:
        self._out = out
        self._started = False

    def write(self, text: str) -> int:
        if not self._started and text:
            text, self._started = text.removeprefix("\ufeff"), True
        self._out.write(lines_for_terminal(text))
        return len(text)


# OWASP "CSV injection": these starting characters make a spreadsheet read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run: `'` in front when it would start a formula.

    Reversible (see restore_cell): a value that is quotes followed by a trigger
    character (`'=x`) gets the extra quote too, so reading back never guesses.
    """
    return "'" + value if value.lstrip("'").startswith(FORMULA_TRIGGERS) else value


def restore_cell(cell: str) -> str:
    """The value neutralise_cell was given: one leading `'` dropped when what follows
    is (more quotes and then) one of `= + - @`, tab or CR."""
    return cell[1:] if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_TRIGGERS) else cell
