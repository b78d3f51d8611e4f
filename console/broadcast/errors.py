"""Broadcast errors."""

from console.errors import Failure, UserError


class BroadcastError(UserError):
    """A broadcast that cannot be sent as asked (no audience, unknown group, …)."""


class BroadcastNotFound(UserError):
    """No broadcast with that id."""


class DispatchError(Failure):
    """The dispatcher could not run."""


class SendInterrupted(DispatchError):
    """A send was abandoned before its result came back (a stop, a sender process stopped by a
    signal): nothing is known about it, so its delivery goes back to pending, uncounted."""


class SenderCrashed(DispatchError):
    """A sender process died on its own during a send: a failed attempt, retried like others."""
