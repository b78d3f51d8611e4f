"""Settings: the typed, shared settings in the database, and this desktop's theme."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from console.gui import resources
from console.gui.bridge import Bridge
from console.gui.readonly import mark_edits, mark_writes
from console.gui.tasks import TaskRunner, describe
from console.gui.theme import ThemeController
from console.gui.widgets import Banner, PageHeader
from console.services import settings
from console.storage import Database

RESTART_PREFIXES = ("ack.", "dispatch.")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass
class _Field:
    key: str
    editor: QLineEdit | QCheckBox
    error: QLabel
    stored: str = ""
    problem: str | None = None

    def text(self) -> str:
        if isinstance(self.editor, QCheckBox):
            return "true" if self.editor.isChecked() else "false"
        return self.editor.text().strip()

    def set_text(self, value: str) -> None:
        self.stored = value
        if isinstance(self.editor, QCheckBox):
            self.editor.setChecked(value == "true")
        else:
            self.editor.setText(value)


class SettingsView(QWidget):
    """One editor per setting in console.services.settings.DEFINITIONS, checked as you type; saved and audited together.

    Signals:
        loaded(): the stored values were read.
        saved(list): keys that were changed and saved.
    """

    loaded = Signal()
    saved = Signal(list)

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, bridge: Bridge, theme: ThemeController,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks, self.bridge, self.theme = db, actor, tasks, bridge, theme
        self.fields: dict[str, _Field] = {}
        self._build()
        bridge.data_changed.connect(lambda kind: self.refresh() if kind == "settings" else None)
        self.refresh()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 24, 28, 20)
        outer.setSpacing(14)
        outer.addWidget(PageHeader(
            self.tr("Settings"),
            self.tr("Shared by every console on this database, except the appearance, which is yours.")))
        self.banner = Banner(self)
        outer.addWidget(self.banner)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("settingsBody")
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 12, 0)
        column.setSpacing(16)
        sections = ((self.tr("Organisation"), "org."), (self.tr("Acknowledgement service"), "ack."),
                    (self.tr("Dispatcher"), "dispatch."))
        for title, prefix in sections:
            column.addWidget(self._section(title, [k for k in settings.DEFINITIONS if k.startswith(prefix)]))
        column.addWidget(self._appearance())
        column.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        self.note = QLabel(self.tr("Changes to the acknowledgement service and dispatcher apply at the next start."))
        self.note.setObjectName("fieldHelp")
        self.revert_button = QPushButton(self.tr("Revert"))
        self.save_button = QPushButton(resources.accent_icon("check"), self.tr("Save settings"))
        mark_writes(self.save_button)
        self.save_button.setObjectName("primary")
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.refresh)
        self._update_buttons()

    def _card(self, title: str) -> tuple[QFrame, QVBoxLayout]:
        card = QFrame()
        card.setObjectName("card")
        box = QVBoxLayout(card)
        box.setContentsMargins(20, 16, 20, 16)
        box.setSpacing(10)
        heading = QLabel(title)
        heading.setObjectName("sectionTitle")
        box.addWidget(heading)
        return card, box

    def _section(self, title: str, keys: list[str]) -> QFrame:
        card, box = self._card(title)
        form = QFormLayout()
        form.setHorizontalSpacing(18)
        form.setVerticalSpacing(4)
        for key in keys:
            definition = settings.DEFINITIONS[key]
            editor: QLineEdit | QCheckBox
            if isinstance(definition.default, bool):
                editor = QCheckBox(self.tr("On"))
                editor.toggled.connect(lambda _on, k=key: self._check(k))
            else:
                editor = QLineEdit()
                editor.setPlaceholderText(_text(definition.default) or self.tr("(not set)"))
                editor.textChanged.connect(lambda _t, k=key: self._check(k))
            editor.setObjectName(f"setting:{key}")
            mark_edits(editor)
            editor.setMaximumWidth(520)
            label = QLabel(definition.help)
            label.setWordWrap(True)
            label.setToolTip(key)
            label.setMinimumWidth(300)
            error = QLabel()
            error.setObjectName("fieldError")
            error.setWordWrap(True)
            error.hide()
            holder = QWidget()
            holder_box = QVBoxLayout(holder)
            holder_box.setContentsMargins(0, 0, 0, 6)
            holder_box.setSpacing(2)
            holder_box.addWidget(editor)
            key_label = QLabel(key)
            key_label.setObjectName("settingKey")
            holder_box.addWidget(key_label)
            holder_box.addWidget(error)
            form.addRow(label, holder)
            self.fields[key] = _Field(key, editor, error)
        box.addLayout(form)
        return card

    def _appearance(self) -> QFrame:
        card, box = self._card(self.tr("Appearance (this computer only)"))
        row = QHBoxLayout()
        self.light_radio = QRadioButton(self.tr("Light"))
        self.dark_radio = QRadioButton(self.tr("Dark"))
        self.theme_group = QButtonGroup(self)
        self.theme_group.addButton(self.light_radio)
        self.theme_group.addButton(self.dark_radio)
        (self.dark_radio if self.theme.theme == "dark" else self.light_radio).setChecked(True)
        self.light_radio.toggled.connect(lambda on: self.theme.set_theme("light") if on else None)
        self.dark_radio.toggled.connect(lambda on: self.theme.set_theme("dark") if on else None)
        row.addWidget(self.light_radio)
        row.addWidget(self.dark_radio)
        row.addStretch(1)
        box.addLayout(row)
        return card

    # -- values ---------------------------------------------------------------------------
    def refresh(self) -> None:
        def work() -> dict[str, str]:
            return {k: _text(v) for k, v in settings.get_all(self.db).items()}

        self.tasks.run(work, self._loaded, lambda exc: self.banner.show_message("error", describe(exc)))

    def _loaded(self, values: dict[str, str]) -> None:
        for key, field in self.fields.items():
            field.set_text(values.get(key, ""))
            self._check(key)
        self.loaded.emit()

    def _check(self, key: str) -> bool:
        field = self.fields[key]
        text = field.text()
        problem = None
        if text or not isinstance(field.editor, QLineEdit) or settings.DEFINITIONS[key].default is not None:
            try:
                settings.parse_value(key, text)
            except settings.SettingError as exc:
                problem = str(exc)
        field.problem = problem
        field.error.setText(problem or "")
        field.error.setVisible(problem is not None)
        field.editor.setProperty("invalid", problem is not None)
        field.editor.style().unpolish(field.editor)
        field.editor.style().polish(field.editor)
        self._update_buttons()
        return problem is None

    def changed(self) -> dict[str, str]:
        return {k: f.text() for k, f in self.fields.items() if f.text() != f.stored}

    def _update_buttons(self) -> None:
        if not hasattr(self, "save_button"):
            return
        dirty = bool(self.changed())
        valid = all(f.problem is None for f in self.fields.values())
        self.save_button.setEnabled(dirty and valid)
        self.revert_button.setEnabled(dirty)

    def save(self) -> None:
        changes = self.changed()
        if not changes:
            return
        self.save_button.setEnabled(False)

        def work() -> list[str]:
            return list(settings.set_many(self.db, changes, self.actor))

        def done(keys: list[str]) -> None:
            restart = any(k.startswith(RESTART_PREFIXES) for k in keys)
            text = self.tr("Saved: %1.").replace("%1", ", ".join(keys))
            if restart:
                text += " " + self.tr("Restart the console for service changes to apply.")
            self.banner.show_message("ok", text)
            self.bridge.status_message.emit(text)
            self.bridge.data_changed.emit("settings")
            self.saved.emit(keys)

        def failed(exc: Exception) -> None:
            self._update_buttons()
            self.banner.show_message("error", describe(exc))

        self.tasks.run(work, done, failed)
