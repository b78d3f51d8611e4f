"""Broadcasts grouped by incident: a two-level item model, updated in place."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from console.services.live import BroadcastNode, IncidentNode
from console.vocabulary import BroadcastKind, BroadcastState, IncidentState

BROADCAST_ID_ROLE = Qt.ItemDataRole.UserRole
INCIDENT_ID_ROLE = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


def _when(value: dt.datetime) -> str:
    local = value.astimezone()
    if local.date() == dt.datetime.now().astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


class BroadcastTreeModel(QAbstractItemModel):
    """Incidents (newest first) with their alert, updates and all-clear as children.

    Top-level indexes carry internalId 0; a broadcast's index carries its
    incident's id, which stays valid while new incidents are inserted above.

    Signals: only QAbstractItemModel's own (rows inserted for new incidents and
    broadcasts, `dataChanged` when a state changes).
    """

    TITLE, KIND, STATE, TIME = range(4)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._incidents: list[IncidentNode] = []
        self._row_of: dict[int, int] = {}
        self._headers = (self.tr("Title"), self.tr("Kind"), self.tr("State"), self.tr("Sent"))
        self._kinds = {BroadcastKind.ALERT: self.tr("alert"), BroadcastKind.UPDATE: self.tr("update"),
                       BroadcastKind.ALL_CLEAR: self.tr("all-clear")}
        self._states: dict[str, str] = {
            BroadcastState.SCHEDULED: self.tr("scheduled"), BroadcastState.SENDING: self.tr("sending"),
            BroadcastState.SENT: self.tr("sent"),
            BroadcastState.FAILED: self.tr("failed"), BroadcastState.CANCELLED: self.tr("cancelled"),
            IncidentState.OPEN: self.tr("open"), IncidentState.CLOSED: self.tr("closed")}
        self._exercise = self.tr("[EXERCISE] ")
        self._bold = QFont()
        self._bold.setBold(True)

    # -- structure ----------------------------------------------------------------------
    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0)
        if parent.internalId() != 0:
            return QModelIndex()
        return self.createIndex(row, column, self._incidents[parent.row()].id)

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        row = self._row_of.get(int(index.internalId()))
        return QModelIndex() if row is None else self.createIndex(row, 0, 0)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._incidents)
        if parent.internalId() == 0 and parent.column() == 0:
            return len(self._incidents[parent.row()].broadcasts)
        return 0

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = self.node(index)
        if isinstance(node, IncidentNode):
            if role == Qt.ItemDataRole.DisplayRole:
                label = self._exercise if node.exercise else ""
                return (f"{label}{node.title}", "", self._states.get(node.state, node.state),
                        _when(node.opened_at))[index.column()]
            if role == Qt.ItemDataRole.FontRole:
                return self._bold
            if role == INCIDENT_ID_ROLE:
                return node.id
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            label = self._exercise if node.exercise else ""
            return (f"{label}{node.title}", self._kinds.get(node.kind, node.kind),
                    self._states.get(node.state, node.state), _when(node.created_at))[index.column()]
        if role == BROADCAST_ID_ROLE:
            return node.id
        if role == INCIDENT_ID_ROLE:
            return node.incident_id
        return None

    def node(self, index: _Index) -> IncidentNode | BroadcastNode:
        if index.internalId() == 0:
            return self._incidents[index.row()]
        return self._incidents[self._row_of[int(index.internalId())]].broadcasts[index.row()]

    def index_of_broadcast(self, broadcast_id: int) -> QModelIndex:
        for row, incident in enumerate(self._incidents):
            for child, b in enumerate(incident.broadcasts):
                if b.id == broadcast_id:
                    return self.index(child, 0, self.index(row, 0))
        return QModelIndex()

    def incident_state(self, incident_id: int) -> IncidentState | None:
        row = self._row_of.get(incident_id)
        return None if row is None else self._incidents[row].state

    def broadcast(self, broadcast_id: int) -> BroadcastNode | None:
        for incident in self._incidents:
            for b in incident.broadcasts:
                if b.id == broadcast_id:
                    return b
        return None

    # -- updates ------------------------------------------------------------------------
    def update(self, incidents: tuple[IncidentNode, ...]) -> None:
        """Merge a fresh read: insert new incidents and broadcasts, report changed ones.

        Incidents are never deleted by the console, so rows only appear or change.
        """
        fresh = {i.id: i for i in incidents}
        if any(i.id not in fresh or len(fresh[i.id].broadcasts) < len(i.broadcasts) for i in self._incidents):
            self.beginResetModel()
            self._incidents = list(incidents)
            self._reindex()
            self.endResetModel()
            return
        known = {i.id for i in self._incidents}
        new = [i for i in incidents if i.id not in known]
        if new:  # newest first: new incidents go on top
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            self._incidents[0:0] = new
            self._reindex()
            self.endInsertRows()
        last = self.columnCount() - 1
        for row, old in enumerate(self._incidents):
            now = fresh[old.id]
            if now == old:
                continue
            count = len(old.broadcasts)
            self._incidents[row] = now._replace(broadcasts=now.broadcasts[:count])
            parent = self.index(row, 0)
            if old[:5] != now[:5]:
                self.dataChanged.emit(parent, self.index(row, last))
            for child, (before, after) in enumerate(zip(old.broadcasts, now.broadcasts, strict=False)):
                if before != after:
                    self.dataChanged.emit(self.index(child, 0, parent), self.index(child, last, parent))
            if len(now.broadcasts) > count:
                self.beginInsertRows(parent, count, len(now.broadcasts) - 1)
                self._incidents[row] = now
                self.endInsertRows()

    def _reindex(self) -> None:
        self._row_of = {i.id: row for row, i in enumerate(self._incidents)}
