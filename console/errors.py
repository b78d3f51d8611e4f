"""Exception roots shared by every area.

Each area raises its own subclasses; the CLI and the GUI translate them into
words for a person at the edge. `UserError` means the input was wrong (exit 2),
`Failure` means the input was fine but something failed (exit 1).
"""


class ConsoleError(Exception):
    """Base of every error the application raises on purpose."""


class UserError(ConsoleError):
    """Bad input: a person can fix it by changing what they gave."""


class Failure(ConsoleError):
    """The request was sound but could not be carried out."""
