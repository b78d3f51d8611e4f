"""The words the whole application shares: states, kinds, severities, answer sources.

Each is a StrEnum defined once: here, or (channel kinds and severities, which
`channels` needs and `channels` never imports `console`) in
`channels.vocabulary`, re-exported here. Storage keeps their values as text,
so a member compares equal to the stored string and JSON output stays as it was.
"""

from __future__ import annotations

from enum import StrEnum

from channels.vocabulary import PERSONAL_KINDS, ChannelKind, Severity


class DeliveryState(StrEnum):
    """pending → sending → sent | failed (or cancelled while pending)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_DELIVERY_STATES = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)
"""Deliveries a dispatcher still has to finish."""


class BroadcastState(StrEnum):
    """(scheduled →) sending → sent (every delivery went out) | failed (finished, some did not) | cancelled."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @classmethod
    def finished(cls, failed_deliveries: int) -> BroadcastState:
        """The state of a broadcast with nothing left to send."""
        return cls.FAILED if failed_deliveries else cls.SENT


class BroadcastKind(StrEnum):
    """The first alert of an incident, an update to it, or the all-clear that closes it."""

    ALERT = "alert"
    UPDATE = "update"
    ALL_CLEAR = "all_clear"


class IncidentState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class HelpState(StrEnum):
    """A help request (console.models.HelpRequest): open until an officer marks it handled; it may be reopened."""

    OPEN = "open"
    HANDLED = "handled"


class PersonStatus(StrEnum):
    """Where a person of an incident stands, across all of its messages (the incident picture)."""

    NEEDS_HELP = "needs_help"
    SAFE = "safe"  # answered (or acknowledged) and not asking for help
    NO_ANSWER = "no_answer"
    UNREACHABLE = "unreachable"  # no channel reached them and they have not answered


class AnswerSource(StrEnum):
    """Through which door an answer came in.

    A personal link proves who answers (the link went to that person only); a
    group link only carries the work email someone typed in, so its answers are
    *self-reports*: recorded, shown as such, but never allowed to replace what a
    person said through their own link or to clear a request for help.
    """

    PERSONAL = "link"
    GROUP = "group"


__all__ = ["OPEN_DELIVERY_STATES", "PERSONAL_KINDS", "AnswerSource", "BroadcastKind", "BroadcastState",
           "ChannelKind", "DeliveryState", "IncidentState", "Severity"]
