"""Errors of the incident area, in words for the CLI and the desktop app."""

from __future__ import annotations

from console.errors import UserError


class IncidentError(UserError):
    """An incident request that cannot be carried out as asked (unknown incident or person, ...)."""


class IncidentNotFound(IncidentError):
    """No incident with that id."""


class UnsafeClose(IncidentError):
    """Closing (or sending the all-clear) would leave people behind, and no forced close was asked for.

    The counts are kept so a face can word its own question ("3 people still need help…").
    """

    def __init__(self, incident_id: int, open_help: int, no_answer: int, unreachable: int) -> None:
        self.incident_id = incident_id
        self.open_help = open_help
        self.no_answer = no_answer
        self.unreachable = unreachable
        super().__init__(
            f"incident {incident_id} still has {_count(open_help, 'open help request')} and "
            f"{_count(no_answer + unreachable, 'person', 'people')} unaccounted for "
            f"({no_answer} without an answer, {unreachable} unreachable); "
            "to close it anyway, force it and give a reason (--force --reason TEXT)")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
