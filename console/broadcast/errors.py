"""Broadcast errors."""

from console.errors import Failure, UserError


class BroadcastError(UserError):
    """A broadcast that cannot be sent as asked (no audience, unknown group, …)."""


class BroadcastNotFound(UserError):
    """No broadcast with that id."""


class DispatchError(Failure):
    """The dispatcher could not run."""
