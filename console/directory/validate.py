"""Checking and normalising contact fields (email case, E.164 phones, no control characters)."""

from __future__ import annotations

import re

from console.errors import UserError


class ContactFieldError(UserError):
    """A contact field that cannot be accepted; the message names the field."""


_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


# C0, DEL and C1. Tab, LF and CR are let through only where whitespace is folded into spaces.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_FOLDED = "\t\n\r"


def refuse_controls(field: str, value: str, *, folded: bool = False) -> str:
    """`value` unchanged, or ContactFieldError naming the field and the first control character.

    A NUL or ESC in a name is never a person's name: it is a terminal escape
    sequence or a truncation waiting to happen, so it is refused at the door.

    Args:
        field: the field's name, for the message.
        value: the text as given.
        folded: the caller folds whitespace into single spaces, so tab, LF and CR are harmless.
    """
    for match in _CONTROL.finditer(value):
        if not (folded and match.group() in _FOLDED):
            raise ContactFieldError(f"{field}: contains a control character (U+{ord(match.group()):04X})")
    return value


def clean_text(field: str, value: str) -> str | None:
    """A free single-line field (chat, language, external_id): trimmed, None when empty."""
    text = refuse_controls(field, value, folded=True).strip()
    return refuse_controls(field, text) or None


def normalise_email(value: str) -> str:
    email = refuse_controls("email", value, folded=True).strip()
    if not email:
        raise ContactFieldError("email is missing")
    if len(email) > 254 or not _EMAIL.match(email) or ".." in email:
        raise ContactFieldError(f"email {email!r} is not a valid address")
    return email.lower()


def normalise_phone(value: str, region: str | None = None) -> str | None:
    """E.164 when the number carries a country code or a default region is set.

    A number without either is kept as typed (digits only): it may still work
    on a local SMS gateway, and guessing a country would be worse.
    """
    raw = refuse_controls("phone", value, folded=True).strip()
    if not raw:
        return None
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if not raw.startswith("+") and region is None:
        digits = re.sub(r"[\s().-]", "", raw)
        if not digits.isdigit() or not 3 <= len(digits) <= 15:
            raise ContactFieldError(f"phone {value.strip()!r} is not a phone number")
        return digits
    import phonenumbers  # here, not with the module: ~30 ms that the desktop's first window need not wait for

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ContactFieldError(f"phone {value.strip()!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise ContactFieldError(f"phone {value.strip()!r} has the wrong number of digits")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_name(value: str) -> str:
    name = " ".join(refuse_controls("name", value, folded=True).split())
    if not name:
        raise ContactFieldError("name is missing")
    if len(name) > 200:
        raise ContactFieldError("name is longer than 200 characters")
    return name


def split_groups(value: str) -> list[str]:
    """Groups split by ';', trimmed, empty parts dropped, order kept, no repeats."""
    seen: dict[str, None] = {}
    for part in refuse_controls("groups", value, folded=True).split(";"):
        name = " ".join(part.split())
        if name:
            if len(name) > 200:
                raise ContactFieldError(f"group name {name[:20]!r}… is longer than 200 characters")
            seen.setdefault(name, None)
    return list(seen)
