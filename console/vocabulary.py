"""The words the whole application shares: states, kinds, severities, answer sources.

Each is a StrEnum defined once here; storage keeps their values as text, so
a member compares equal to the stored string and JSON output stays as it was.
"""

from __future__ import annotations

from enum import StrEnum


class AnswerSource(StrEnum):
    """Through which door an answer came in.

    A personal link proves who answers (the link went to that person only); a
    group link only carries the work email someone typed in, so its answers are
    *self-reports*: recorded, shown as such, but never allowed to replace what a
    person said through their own link or to clear a request for help.
    """

    PERSONAL = "link"
    GROUP = "group"

    @property
    def label(self) -> str:
        return "personal link" if self is AnswerSource.PERSONAL else "self-report (group link)"


__all__ = ["AnswerSource"]
