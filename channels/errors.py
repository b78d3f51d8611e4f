"""Exceptions raised by the channels package.

The GUI and the CLI translate these into words for a person; the messages already
say what is wrong without echoing any part of a URL that Apprise would mask.
"""

from __future__ import annotations


class ChannelError(Exception):
    """Base class of every error raised by ``channels``."""


class ChannelURLError(ChannelError):
    """A channel URL that cannot be used: unknown scheme, malformed, wrong placeholder."""


class ChannelAddressError(ChannelError):
    """A recipient address that cannot be put into a channel URL safely.

    Kept apart from ``ChannelURLError``: the channel is fine, this one contact's
    address is not, so the dispatcher fails one delivery rather than the channel.
    """
