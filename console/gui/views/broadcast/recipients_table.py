"""The recipients table view of the dashboard: repaints only for rows on screen."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtWidgets import QTableView, QWidget

_Index = QModelIndex | QPersistentModelIndex


class RecipientsTable(QTableView):
    """A table view that repaints only when a changed row is on screen.

    QAbstractItemView repaints its whole viewport for any change spanning more
    than one cell, visible or not; while thousands of deliveries are recorded
    that is a full repaint (every visible cell a call into Python) per update,
    although the rows on screen did not change.

    Signals: QTableView's own.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    def dataChanged(self, topLeft: _Index, bottomRight: _Index, roles: Sequence[int] = ()) -> None:
        first = self.rowAt(0)
        last = self.rowAt(self.viewport().height() - 1)
        if first >= 0 and last < 0:
            last = first + self.viewport().height()  # fewer rows than the viewport holds
        if first < 0 or bottomRight.row() < first or topLeft.row() > last:
            return
        super().dataChanged(topLeft, bottomRight, list(roles))
