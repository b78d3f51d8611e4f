"""Errors of the acknowledgement service, in words for the CLI and the desktop app."""

from __future__ import annotations

from console.errors import Failure


class AckError(Failure):
    """Base of the acknowledgement service's errors."""


class AckServerError(AckError):
    """The service could not start (address in use, no permission, ...)."""


class RecorderUnavailable(AckError):
    """An answer could not be recorded: the writer is stopped, too slow, or the database failed."""


class RecipientGone(AckError):
    """The recipient was deleted between the page look-up and the write."""
