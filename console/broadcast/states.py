"""The states of a broadcast and of a delivery, named once.

Both are `StrEnum`s: the database stores their text, and a member compares
equal to that text, so rows written before these existed read the same.
"""

from __future__ import annotations

from enum import StrEnum


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
    """sending → sent (every delivery went out) | failed (finished, some did not) | cancelled."""

    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @classmethod
    def finished(cls, failed_deliveries: int) -> BroadcastState:
        """The state of a broadcast with nothing left to send."""
        return cls.FAILED if failed_deliveries else cls.SENT
