"""Inbox (demo): the mails the demo's loopback SMTP sink received, live, with clickable answer links.

The sink calls back from its own thread; the relay turns that into a queued Qt
signal, so the table model is only ever touched on the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from console.mailsink import MailSink, ReceivedMail

_Index = QModelIndex | QPersistentModelIndex
_URL = re.compile(r"https?://[^\s<>\"')]+")
_ANSWER_LINK = re.compile(r"https?://[^\s<>\"')]+/[ag]/[A-Za-z0-9_-]{32}")


def answer_links(mail: ReceivedMail) -> list[str]:
    """The personal or group answer links in a mail, in order, without repeats."""
    return list(dict.fromkeys(_ANSWER_LINK.findall(mail.text)))


def mail_html(mail: ReceivedMail, labels: tuple[str, str, str] = ("From", "To", "Received")) -> str:
    """The mail as safe HTML: its headers, then its text with every URL made a link."""
    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        return f'<a href="{url}">{url}</a>'

    body = _URL.sub(link, html.escape(mail.text, quote=False)).replace("\n", "<br>")
    when = dt.datetime.fromtimestamp(mail.received_at).strftime("%Y-%m-%d %H:%M:%S")
    sender, to, received = (html.escape(label) for label in labels)
    head = (f"<p><b>{html.escape(mail.subject)}</b><br>"
            f"{sender}: {html.escape(mail.mail_from)}<br>{to}: {html.escape(', '.join(mail.rcpt_tos))}<br>"
            f"{received}: {when}</p><hr>")
    return head + f"<p>{body}</p>"


class MailModel(QAbstractTableModel):
    """Received mails, newest last: received, to, subject.

    Signals: only QAbstractItemModel's own (`rowsInserted` per arriving mail).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mails: list[ReceivedMail] = []
        self._seen: set[tuple[float, bytes]] = set()
        self._headers = (self.tr("Received"), self.tr("To"), self.tr("Subject"))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._mails)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        mail = self._mails[index.row()]
        column = index.column()
        if column == 0:
            return dt.datetime.fromtimestamp(mail.received_at).strftime("%H:%M:%S")
        if column == 1:
            return ", ".join(mail.rcpt_tos)
        return mail.subject

    def mail(self, row: int) -> ReceivedMail:
        return self._mails[row]

    def add(self, mails: list[ReceivedMail]) -> None:
        """Append the mails not shown yet (the sink's list and its callback may overlap)."""
        fresh = []
        for mail in mails:
            key = (mail.received_at, mail.raw)
            if key not in self._seen:
                self._seen.add(key)
                fresh.append(mail)
        if not fresh:
            return
        start = len(self._mails)
        self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
        self._mails.extend(fresh)
        self.endInsertRows()


class _Relay(QObject):
    """Carries a mail from the sink's thread to the GUI thread.

    Signals:
        received(ReceivedMail): emitted from the sink's thread, delivered queued.
    """

    received = Signal(object)


class InboxWindow(QWidget):
    """A top-level window listing what the demo mail sink received.

    Signals:
        mail_shown(int): the row whose mail the reader now shows.
    """

    mail_shown = Signal(int)

    def __init__(self, sink: MailSink, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(self.tr("Inbox (demo)"))
        self.sink = sink
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        """Opens a clicked link (the system browser); tests replace it."""
        self.model = MailModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 90)
        self.table.setColumnWidth(1, 260)
        self.table.selectionModel().currentRowChanged.connect(lambda current, _prev: self.show_mail(current.row()))
        self.reader = QTextBrowser()
        self.reader.setOpenLinks(False)
        self.reader.anchorClicked.connect(self.open_url_clicked)
        self.answer_button = QPushButton(self.tr("Open the answer link"))
        self.answer_button.setEnabled(False)
        self.answer_button.clicked.connect(self.open_answer_link)
        hint = QLabel(self.tr("Mail the demo sent to its own loopback mail server at 127.0.0.1:{port}. "
                              "Open a link to answer as that person.").format(port=sink.port))
        hint.setWordWrap(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        reader = QWidget()
        box = QVBoxLayout(reader)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.reader)
        box.addWidget(self.answer_button)
        split.addWidget(reader)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(split)
        self.resize(720, 560)
        self._row = -1
        self._relay = _Relay(self)
        self._relay.received.connect(self._arrived, Qt.ConnectionType.QueuedConnection)
        relay = self._relay
        sink.on_message = lambda mail: relay.received.emit(mail) if shiboken6.isValid(relay) else None
        self.model.add(sink.messages)
        self.destroyed.connect(lambda *_: setattr(sink, "on_message", None))

    def _arrived(self, mail: ReceivedMail) -> None:
        self.model.add([mail])
        if self._row < 0:  # nothing shown yet: show the first mail that arrives
            self.table.selectRow(self.model.rowCount() - 1)

    def show_mail(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        self._row = row
        mail = self.model.mail(row)
        self.reader.setHtml(mail_html(mail, (self.tr("From"), self.tr("To"), self.tr("Received"))))
        self.answer_button.setEnabled(bool(answer_links(mail)))
        self.mail_shown.emit(row)

    def open_url_clicked(self, url: QUrl) -> None:
        self.open_url(url)

    def open_answer_link(self) -> None:
        if self._row >= 0:
            links = answer_links(self.model.mail(self._row))
            if links:
                self.open_url(QUrl(links[0]))

    def closeEvent(self, event: QCloseEvent) -> None:
        event.accept()  # hidden, not destroyed: the demo shows it again from its menu
