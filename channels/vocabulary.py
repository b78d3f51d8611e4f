"""The words of delivery that the console shares with this package: channel kinds, severities.

Defined here, below the console (which imports them from `console.vocabulary`),
because `channels` never imports `console`. StrEnums: a member equals its
stored text.
"""

from __future__ import annotations

from enum import StrEnum


class ChannelKind(StrEnum):
    """A personal kind fills `{address}` per contact; a group channel is posted once."""

    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"
    GROUP = "group"

    @property
    def personal(self) -> bool:
        return self is not ChannelKind.GROUP


PERSONAL_KINDS: tuple[ChannelKind, ...] = tuple(k for k in ChannelKind if k.personal)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


__all__ = ["PERSONAL_KINDS", "ChannelKind", "Severity"]
