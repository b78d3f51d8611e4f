"""Dialogs of the channels view: add/edit a channel, and send a test through one."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.gui import resources
from console.gui.widgets import Banner, FormDialog
from console.services.channels import DEFAULT_FIELD, ChannelKind, ChannelRow

KINDS: tuple[ChannelKind, ...] = tuple(ChannelKind)
EXAMPLES = {
    ChannelKind.EMAIL: "mailtos://user:password@smtp.example.org?from=alerts@example.org&to={address}",
    ChannelKind.SMS: "twilio://SID:TOKEN@+15551234567/{address}",
    ChannelKind.CHAT: "matrixs://bot:password@matrix.example.org/{address}",
    ChannelKind.GROUP: "slack://TokenA/TokenB/TokenC/#ops-room",
}


@dataclass(frozen=True)
class ChannelDraft:
    name: str
    kind: ChannelKind
    url: str | None  # None: keep the stored URL (edit)
    group: str | None
    address_field: str | None
    rate_per_sec: float | None
    channel_id: int | None


class ChannelDialog(FormDialog):
    """Add or edit a channel. On edit the stored URL is never shown: leave the field empty to keep it.

    Signals:
        submitted(): inherited; read draft() and save it.
    """

    def __init__(self, groups: list[str], channel: ChannelRow | None = None, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Edit channel") if channel else self.tr("Add channel"), parent)
        self._channel_id = channel.id if channel else None
        self.name = QLineEdit(channel.name if channel else "")
        self.name.setPlaceholderText(self.tr("e.g. Corporate mail"))
        self.kind = QComboBox()
        for kind, text in ((ChannelKind.EMAIL, self.tr("Email (personal)")),
                           (ChannelKind.SMS, self.tr("SMS (personal)")),
                           (ChannelKind.CHAT, self.tr("Chat (personal)")),
                           (ChannelKind.GROUP, self.tr("Group post (once per group)"))):
            self.kind.addItem(text, kind.value)
        self.url = QLineEdit()
        self.url.setObjectName("urlEdit")
        self.url_help = QLabel()
        self.url_help.setObjectName("fieldHelp")
        self.url_help.setWordWrap(True)
        self.group = QComboBox()
        self.group.addItems(groups)
        self.address_field = QComboBox()
        for field, text in (("email", self.tr("Email address")), ("phone", self.tr("Phone number")),
                            ("chat", self.tr("Chat handle"))):
            self.address_field.addItem(text, field)
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0.0, 10_000.0)
        self.rate.setDecimals(1)
        self.rate.setSuffix(self.tr(" per second"))
        self.rate.setSpecialValueText(self.tr("No limit"))
        self.form.addRow(self.tr("Name"), self.name)
        self.form.addRow(self.tr("Kind"), self.kind)
        self.form.addRow(self.tr("Apprise URL"), self.url)
        self.form.addRow("", self.url_help)
        self.form.addRow(self.tr("Group"), self.group)
        self.form.addRow(self.tr("Address from"), self.address_field)
        self.form.addRow(self.tr("Rate limit"), self.rate)
        if channel is not None:
            self.kind.setCurrentIndex(KINDS.index(ChannelKind(channel.kind)))
            if channel.group:
                self.group.setCurrentText(channel.group)
            if channel.address_field:
                self.address_field.setCurrentIndex(self.address_field.findData(channel.address_field))
            self.rate.setValue(channel.rate_per_sec or 0.0)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()
        self.name.setFocus()

    def set_kind(self, kind: str) -> None:
        self.kind.setCurrentIndex(KINDS.index(ChannelKind(kind)))

    def _kind_changed(self) -> None:
        kind = ChannelKind(str(self.kind.currentData()))
        personal = kind.personal
        self.group.setEnabled(not personal)
        self.address_field.setEnabled(personal)
        if personal:
            self.address_field.setCurrentIndex(self.address_field.findData(DEFAULT_FIELD[kind]))
        keep = self.tr("Leave empty to keep the stored URL. ") if self._channel_id is not None else ""
        need = self.tr("Must contain {address}, filled per person. ") if personal else ""
        self.url.setPlaceholderText(EXAMPLES[kind])
        self.url_help.setText(keep + need + self.tr("Stored encrypted; shown masked everywhere."))

    def draft(self) -> ChannelDraft:
        kind = ChannelKind(str(self.kind.currentData()))
        url = self.url.text().strip() or None
        return ChannelDraft(
            name=self.name.text(), kind=kind, url=url,
            group=self.group.currentText() or None if not kind.personal else None,
            address_field=str(self.address_field.currentData()) if kind.personal else None,
            rate_per_sec=self.rate.value() or None, channel_id=self._channel_id)


class ChannelTestDialog(QDialog):
    """Send one test message through a channel and show what happened.

    Signals: none; the owner connects `send_button.clicked` and calls show_result()/show_error().
    """

    def __init__(self, channel: ChannelRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channel = channel
        self.setWindowTitle(self.tr("Send a test"))
        self.setObjectName("formDialog")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        heading = QLabel(self.tr("Test %1").replace("%1", channel.name))
        heading.setObjectName("dialogTitle")
        layout.addWidget(heading)
        target = QLabel(channel.url)
        target.setObjectName("fieldHelp")
        target.setWordWrap(True)
        layout.addWidget(target)
        self.address = QLineEdit()
        personal = ChannelKind(channel.kind).personal
        if personal:
            hint = {"email": self.tr("your.name@example.org"), "phone": self.tr("+44 7700 900123"),
                    "chat": self.tr("@your.handle")}.get(channel.address_field or "email", "")
            self.address.setPlaceholderText(hint)
            label = QLabel(self.tr("Send the test to"))
            layout.addWidget(label)
            layout.addWidget(self.address)
        else:
            self.address.hide()
            note = QLabel(self.tr("The test is posted once to the group's channel."))
            note.setWordWrap(True)
            layout.addWidget(note)
        self.outcome = Banner(self)
        layout.addWidget(self.outcome)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.send_button = QPushButton(resources.accent_icon("send"), self.tr("Send test"))
        self.send_button.setObjectName("primary")
        buttons.addButton(self.send_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def set_sending(self) -> None:
        self.send_button.setEnabled(False)
        self.outcome.show_message("info", self.tr("Sending…"))
        self.adjustSize()

    def show_result(self, ok: bool, text: str) -> None:
        self.send_button.setEnabled(True)
        self.outcome.show_message("ok" if ok else "error", text)
        self.adjustSize()
