"""Asking what to verify the log against: a checkpoint file and, optionally, the key to trust.

The checkpoint file proves what the database's own head cannot: that no sealed
entry was rewritten and the log did not shrink. The public key pins whose
signatures count; without it, this machine's signing key or else the key the
checkpoints name is trusted (and the result says which).
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from console.gui.widgets import FormDialog


class CheckpointDialog(FormDialog):
    """The checkpoint file (default: the configured one) and an optional public key, text or file.

    Pressing Verify emits `submitted`; the owner verifies in a worker and then calls accept()
    or show_error(), so a wrong file name keeps the dialog open with what was typed.
    """

    def __init__(self, default_file: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Verify against checkpoints"), parent)
        self.save_button.setText(self.tr("Verify"))
        self.setMinimumWidth(720)  # room for a whole path
        intro = QLabel(self.tr(
            "Checks the hash chain, then that every signed checkpoint's entry is still on it with the "
            "sealed hash and that the log did not shrink. Each rewrite is named with its checkpoint."))
        intro.setWordWrap(True)
        self.form.addRow(intro)
        self.file_edit = QLineEdit(str(default_file) if default_file else "")
        self.file_edit.setPlaceholderText(self.tr("The configured checkpoint file"))
        self.file_button = QPushButton(self.tr("Choose…"))
        self.file_button.clicked.connect(self._choose_file)
        self.form.addRow(self.tr("Checkpoint file"), _with_button(self.file_edit, self.file_button))
        self.key_edit = QLineEdit()
        self.key_edit.setPlaceholderText(self.tr("ed25519:… or a file holding it (optional)"))
        self.key_button = QPushButton(self.tr("Choose…"))
        self.key_button.clicked.connect(self._choose_key)
        self.form.addRow(self.tr("Public key"), _with_button(self.key_edit, self.key_button))
        hint = QLabel(self.tr("Without a key: this machine's signing key if it has one, else the key the "
                              "checkpoints name (the result says which). An auditor gives the key they were "
                              "handed (crisis-console audit public-key) to pin it."))
        hint.setObjectName("fieldHelp")
        hint.setWordWrap(True)
        self.form.addRow("", hint)

    def checkpoint_file(self) -> Path | None:
        """The file to read; None for the configured one."""
        text = self.file_edit.text().strip()
        return Path(text).expanduser() if text else None

    def public_key(self) -> str | None:
        """The key text or a file holding it; None to trust the key the checkpoints name."""
        return self.key_edit.text().strip() or None

    def _choose_file(self) -> None:
        start = self.file_edit.text().strip() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Checkpoint file"), start,
                                              self.tr("Checkpoints (*.jsonl);;All files (*)"))
        if path:
            self.file_edit.setText(path)

    def _choose_key(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Public key file"), str(Path.home()),
                                              self.tr("All files (*)"))
        if path:
            self.key_edit.setText(path)


def _with_button(edit: QLineEdit, button: QPushButton) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(8)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return box


def verdict_html(message: str) -> str:
    """A verdict's lines for the banner: the first (OK, or the first rewrite named) in bold."""
    lines = [html.escape(line) for line in message.splitlines()]
    if lines:
        lines[0] = f"<b>{lines[0]}</b>"
    return "<br>".join(lines)
