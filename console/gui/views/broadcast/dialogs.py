"""Small dialogs of the broadcasts view: the text of an update or all-clear, yes/no questions,
the note of a handled help request, the reason for closing over people left behind."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QWidget,
)

from console.vocabulary import BroadcastKind


class FollowUpDialog(QDialog):
    """Asks for the title and Markdown body of an update or the all-clear of an incident.

    Signals: QDialog's own (`accepted`, `rejected`).
    """

    def __init__(self, kind: BroadcastKind, incident_title: str, exercise: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        all_clear = kind is BroadcastKind.ALL_CLEAR
        self.setWindowTitle(self.tr("Send the all-clear") if all_clear else self.tr("Send an update"))
        self.title_edit = QLineEdit(
            (self.tr("All clear: {title}") if all_clear else self.tr("Update: {title}")).format(title=incident_title))
        self.body_edit = QPlainTextEdit()
        self.body_edit.setPlaceholderText(self.tr("What has changed, what people should do now (Markdown)"))
        if all_clear:
            self.body_edit.setPlainText(self.tr("The incident is over. Thank you for your patience."))
        form = QFormLayout(self)
        if exercise:
            form.addRow(QLabel(self.tr("<b>EXERCISE</b>: this message is labelled as a drill on every channel.")))
        form.addRow(self.tr("Title"), self.title_edit)
        form.addRow(self.tr("Message"), self.body_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            self.tr("Send all-clear") if all_clear else self.tr("Send update"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.resize(520, 320)

    def text(self) -> tuple[str, str]:
        return self.title_edit.text(), self.body_edit.toPlainText()


def ask_follow_up(parent: QWidget, kind: BroadcastKind, incident_title: str, exercise: bool) -> tuple[str, str] | None:
    """Modal dialog; (title, body), or None when cancelled."""
    dialog = FollowUpDialog(kind, incident_title, exercise, parent)
    try:
        return dialog.text() if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()


def ask_yes_no(parent: QWidget, title: str, text: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    try:
        return box.exec() == QMessageBox.StandardButton.Yes
    finally:
        box.deleteLater()


def ask_to_send(parent: QWidget, text: str) -> bool:
    """The last question before a broadcast is written; Cancel is the default button."""
    box = QMessageBox(QMessageBox.Icon.Warning, parent.tr("Send broadcast"), text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, parent)
    box.button(QMessageBox.StandardButton.Yes).setText(parent.tr("Send now"))
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    try:
        return box.exec() == QMessageBox.StandardButton.Yes
    finally:
        box.deleteLater()


class NoteDialog(QDialog):
    """Asks for a short text: what was done for a help request, or why an incident is closed anyway.

    OK stays disabled while the text is empty. Signals: QDialog's own.
    """

    def __init__(self, title: str, question: str, label: str, ok_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.question = QLabel(question)
        self.question.setWordWrap(True)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText(label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.ok_button.setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setDefault(True)
        self.note_edit.textChanged.connect(
            lambda: self.ok_button.setEnabled(bool(self.note_edit.toPlainText().strip())))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(self.question)
        form.addRow(self.note_edit)
        form.addRow(self.buttons)
        self.resize(480, 260)

    def text(self) -> str:
        return self.note_edit.toPlainText().strip()


def ask_note(parent: QWidget, title: str, question: str, label: str, ok_text: str) -> str | None:
    """Modal NoteDialog; the text, or None when cancelled."""
    dialog = NoteDialog(title, question, label, ok_text, parent)
    try:
        return dialog.text() if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()
