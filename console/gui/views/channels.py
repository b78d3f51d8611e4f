"""Channels: the delivery routes, masked; add, edit, disable and test them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QPushButton, QTableView, QVBoxLayout, QWidget

from console.gui import resources
from console.gui.bridge import Bridge
from console.gui.models.channels import ChannelsModel
from console.gui.models.table import FilterProxy
from console.gui.readonly import mark_writes
from console.gui.tasks import TaskRunner, describe
from console.gui.views.channel_dialogs import ChannelDialog, ChannelTestDialog
from console.gui.widgets import Banner, FilterEdit, PageHeader, set_columns, setup_table, toolbar_row
from console.services import channels
from console.services.channels import ChannelRow, ChannelsPage
from console.storage import Database

if TYPE_CHECKING:
    from console.channeltest import ChannelTestResult


class ChannelsView(QWidget):
    """Configured channels; saving validates the URL through Apprise (errors shown inline).

    Signals:
        loaded(int): a load finished with this many channels.
        test_finished(bool): a test send ended (True: delivered).
    """

    loaded = Signal(int)
    test_finished = Signal(bool)

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, bridge: Bridge,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks, self.bridge = db, actor, tasks, bridge
        self._groups: list[str] = []
        self.channel_dialog: ChannelDialog | None = None
        self.test_dialog: ChannelTestDialog | None = None
        self.model = ChannelsModel(self)
        self.proxy = FilterProxy(self.model, self)
        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(0)
        self._reload.timeout.connect(self.refresh)
        self._build()
        bridge.data_changed.connect(self._on_data_changed)
        self.refresh()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)
        layout.addWidget(PageHeader(
            self.tr("Channels"),
            self.tr("Routes a message takes: email, SMS and chat per person, or one post per group. "
                    "URLs are stored encrypted and shown masked.")))
        self.add_button = QPushButton(resources.accent_icon("add"), self.tr("Add channel"))
        self.add_button.setObjectName("primary")
        self.edit_button = QPushButton(resources.icon("edit"), self.tr("Edit"))
        self.disable_button = QPushButton(resources.icon("remove"), self.tr("Disable"))
        self.test_button = QPushButton(resources.icon("send"), self.tr("Send test…"))
        mark_writes(self.add_button, self.edit_button, self.disable_button, self.test_button)
        self.filter = FilterEdit(self.tr("Filter channels"))
        layout.addLayout(toolbar_row(self.add_button, self.edit_button, self.disable_button, self.test_button,
                                     self.filter, stretch_at=4))
        self.banner = Banner(self)
        layout.addWidget(self.banner)
        self.table = QTableView()
        self.table.setObjectName("channelsTable")
        self.table.setModel(self.proxy)
        setup_table(self.table)
        set_columns(self.table, {ChannelsModel.NAME: 200, ChannelsModel.KIND: 110, ChannelsModel.ADDRESS: 110,
                                 ChannelsModel.GROUP: 130, ChannelsModel.RATE: 70, ChannelsModel.STATE: 90},
                    ChannelsModel.URL)
        layout.addWidget(self.table, 1)

        self.add_button.clicked.connect(self.add_channel)
        self.edit_button.clicked.connect(self.edit_channel)
        self.disable_button.clicked.connect(self.disable_selected)
        self.test_button.clicked.connect(self.open_test)
        self.table.doubleClicked.connect(lambda _i: self.edit_button.click())  # no-op when Edit is off
        self.filter.filter_changed.connect(self.proxy.set_text)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._update_buttons()

    # -- loading ------------------------------------------------------------------------
    def refresh(self) -> None:
        self.tasks.run(lambda: channels.load_page(self.db), self._loaded, self._failed)

    def focus_filter(self) -> None:
        self.filter.setFocus()
        self.filter.selectAll()

    def _loaded(self, loaded: ChannelsPage) -> None:
        selected = self.selected_channel()
        self._groups = loaded.groups
        self.model.set_rows(loaded.channels)
        if selected is not None:
            self.select_channel(selected.name)
        self._update_buttons()
        self.loaded.emit(len(loaded.channels))

    def _on_data_changed(self, kind: str) -> None:
        if kind in ("channels", "groups"):
            self._reload.start()

    def _failed(self, exc: Exception) -> None:
        self.banner.show_message("error", describe(exc))

    def selected_channel(self) -> ChannelRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.proxy.row_at(rows[0].row()) if rows else None

    def select_channel(self, name: str) -> bool:
        row = self.model.find(lambda c: c.name == name)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            self.table.selectRow(index.row())
        return index.isValid()

    def _update_buttons(self, *_args: Any) -> None:
        channel = self.selected_channel()
        self.edit_button.setEnabled(channel is not None)
        self.disable_button.setEnabled(channel is not None and channel.enabled)
        self.test_button.setEnabled(channel is not None)

    # -- add / edit / disable -------------------------------------------------------------
    def add_channel(self) -> None:
        self._open_dialog(None)

    def edit_channel(self) -> None:
        channel = self.selected_channel()
        if channel is not None:
            self._open_dialog(channel)

    def _open_dialog(self, channel: ChannelRow | None) -> None:
        dialog = ChannelDialog([g for g in self._groups], channel, self)
        dialog.submitted.connect(lambda: self._save(dialog))
        self.channel_dialog = dialog
        dialog.open()

    def _save(self, dialog: ChannelDialog) -> None:
        draft = dialog.draft()

        def work() -> ChannelRow:
            return channels.save_channel(self.db, self.actor, name=draft.name, kind=draft.kind, url=draft.url,
                                         group=draft.group, address_field=draft.address_field,
                                         rate_per_sec=draft.rate_per_sec, channel_id=draft.channel_id)

        def done(row: ChannelRow) -> None:
            dialog.accept()
            self.banner.clear_message()
            self.bridge.status_message.emit(self.tr("Saved channel %1: %2").replace("%1", row.name)
                                            .replace("%2", row.url))
            self.bridge.data_changed.emit("channels")

        self.tasks.run(work, done, lambda exc: dialog.show_error(self._words(exc)))

    def _words(self, exc: Exception) -> str:
        """The service names CLI options (`--url: …`); here the same fields are form labels."""
        labels = {"--name:": self.tr("Name:"), "--url:": self.tr("Apprise URL:"), "--group:": self.tr("Group:"),
                  "--field:": self.tr("Address from:"), "--rate:": self.tr("Rate limit:")}
        text = describe(exc)
        for option, label in labels.items():
            if text.startswith(option):
                return label + text[len(option):]
        return text

    def disable_selected(self) -> None:
        channel = self.selected_channel()
        if channel is None or not channel.enabled:
            return
        answer = QMessageBox.question(
            self, self.tr("Disable channel"),
            self.tr("Disable %1? New broadcasts will not use it; its delivery history is kept.")
            .replace("%1", channel.name))
        if answer != QMessageBox.StandardButton.Yes:
            return

        def work() -> None:
            channels.disable_channel(self.db, self.actor, channel.id)

        def done(_: None) -> None:
            self.bridge.status_message.emit(self.tr("Disabled channel %1").replace("%1", channel.name))
            self.bridge.data_changed.emit("channels")

        self.tasks.run(work, done, self._failed)

    # -- test ---------------------------------------------------------------------------
    def open_test(self) -> None:
        channel = self.selected_channel()
        if channel is None:
            return
        dialog = ChannelTestDialog(channel, self)
        dialog.send_button.clicked.connect(lambda: self._send_test(dialog))
        dialog.address.returnPressed.connect(lambda: self._send_test(dialog))
        self.test_dialog = dialog
        dialog.open()

    def _send_test(self, dialog: ChannelTestDialog) -> None:
        if not dialog.send_button.isEnabled():
            return
        dialog.set_sending()
        channel_id, address = dialog.channel.id, dialog.address.text()

        def done(result: ChannelTestResult) -> None:
            if result.ok:
                text = self.tr("OK: delivered to %1 in %2 s.").replace("%1", address.strip() or result.channel)\
                    .replace("%2", f"{result.duration:.1f}")
            else:
                text = self.tr("Failed: %1").replace("%1", result.error or self.tr("no reason given"))
            dialog.show_result(result.ok, text)
            self.bridge.data_changed.emit("audit")
            self.test_finished.emit(result.ok)

        def failed(exc: Exception) -> None:
            dialog.show_result(False, describe(exc))
            self.test_finished.emit(False)

        self.tasks.run(lambda: channels.send_test(self.db, self.actor, channel_id, address), done, failed)
