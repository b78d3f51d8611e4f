"""RFC 8785, the JSON Canonicalization Scheme (JCS): one text for one value, in any language.

The audit chain hashes this text, so a verifier written in JavaScript, Go or
Rust recomputes the same hashes from an export. Three things differ from a
plain `json.dumps(sort_keys=True)`:

- numbers are written as ECMAScript writes them (`532.0` → `532`,
  `1e-7` → `1e-7`, `1e21` → `1e+21`, `-0.0` → `0`);
- object members are sorted by their names' UTF-16 code units (Python sorts
  by code points, which differs for names holding characters past U+FFFF);
- values JCS cannot represent are refused (`JcsError`): NaN and infinities,
  integers past ±(2**53 − 1) (I-JSON: a double would round them), lone surrogates, keys that are not
  strings, and types that are not JSON.

Strings are escaped as JSON.stringify does: `"`, `\\`, and the controls
U+0000–U+001F only (`\\b \\t \\n \\f \\r`, else `\\u00xx`); everything else,
non-ASCII and emoji included, is written as itself (UTF-8).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

# The C-accelerated string encoder json.dumps(ensure_ascii=False) uses; its
# escapes are exactly JCS's (checked in tests/test_audit_jcs.py).
_quote = json.encoder.encode_basestring


MAX_SAFE_INTEGER = 2**53 - 1


class JcsError(ValueError):
    """A value that RFC 8785 cannot represent; the message names where it sits."""


def canonical_json(value: Any) -> str:
    """The RFC 8785 text of `value` (dicts, lists/tuples, str, int, float, bool, None)."""
    parts: list[str] = []
    _write(value, parts, "$")
    return "".join(parts)


def number_text(x: float) -> str:
    """A finite double as ECMAScript's Number.prototype.toString writes it (RFC 8785 §3.2.2.3)."""
    if x == 0:
        return "0"
    if x < 0:
        return "-" + number_text(-x)
    text = repr(x)  # the shortest digits that read back as x, as ECMAScript picks them
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point  # x = 0.digits × 10^n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(e)}"


def _write(value: Any, out: list[str], path: str) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value, path))
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise JcsError(f"{path}: the integer {value} is outside ±(2**53 - 1), which JSON numbers hold "
                           "exactly (RFC 8785, I-JSON); store it as text")
        out.append(str(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise JcsError(f"{path}: {value} is not a JSON number (RFC 8785 refuses NaN and infinities)")
        out.append(number_text(value))
    elif isinstance(value, Mapping):
        names = list(value)
        for name in names:
            if not isinstance(name, str):
                raise JcsError(f"{path}: the key {name!r} is not a string")
        out.append("{")
        for i, name in enumerate(sorted(names, key=_utf16)):
            if i:
                out.append(",")
            out.append(_string(name, path))
            out.append(":")
            _write(value[name], out, f"{path}.{name}")
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out, f"{path}[{i}]")
        out.append("]")
    else:
        raise JcsError(f"{path}: a {type(value).__name__} cannot be written as JSON")


def _string(text: str, path: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JcsError(f"{path}: the text holds a lone surrogate, which is not Unicode text") from None
    return str(_quote(text))


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def parse_strict(text: str) -> Any:
    """Parse stored JSON, refusing what would let two readers see two values.

    Duplicate member names (`{"answer":"safe","answer":"help"}`: Python keeps
    the last, others the first) and the non-JSON constants NaN/Infinity raise
    `JcsError` naming the member.
    """
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for name, val in items:
            if name in obj:
                raise JcsError(f"duplicate key {name!r}")
            obj[name] = val
        return obj

    def constant(name: str) -> Any:
        raise JcsError(f"{name} is not a JSON number")

    return json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_int=json_int)


def json_int(digits: str) -> int | float:
    """A JSON integer as JCS reads it: every JSON number is a double, so one past ±(2**53 - 1) is a float.

    (RFC 8785 writes the double 1e20 as `100000000000000000000`; read back as a
    Python int it would be refused, read as the double it was, it round-trips.)
    """
    value = int(digits)
    return value if abs(value) <= MAX_SAFE_INTEGER else float(digits)
