"""The one QObject through which background events reach the widgets.

Services and workers (the dispatcher's threads, the acknowledgement server,
views finishing a change) emit here; views connect to what they show. Emitting
from any thread is fine: connections to widgets are queued onto the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

DATA_KINDS = ("contacts", "groups", "channels", "templates", "settings", "audit")


class Bridge(QObject):
    """Application-wide events as typed signals.

    Signals:
        deliveries_recorded(list): ids of broadcasts that got delivery results (one recorded batch).
        broadcasts_finished(list): ids of broadcasts whose last delivery was recorded.
        broadcast_created(int): a broadcast was written to the outbox (the dispatcher is woken).
        answers_recorded(int): new answers arrived for this broadcast id.
        data_changed(str): one of DATA_KINDS changed; views showing it reload.
        status_message(str): a short message for the status bar.
    """

    deliveries_recorded = Signal(list)
    broadcasts_finished = Signal(list)
    broadcast_created = Signal(int)
    answers_recorded = Signal(int)
    data_changed = Signal(str)
    status_message = Signal(str)
