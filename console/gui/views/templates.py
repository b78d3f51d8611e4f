"""Templates: pre-approved messages, written calmly before they are needed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.broadcast.options import PRESETS, preset_of
from console.gui import resources
from console.gui.bridge import Bridge
from console.gui.models.table import FilterProxy
from console.gui.models.templates import TemplatesModel
from console.gui.readonly import mark_edits, mark_writes
from console.gui.tasks import TaskRunner, describe
from console.gui.views.broadcast.help_option import HelpOptionBox
from console.gui.widgets import Banner, FilterEdit, PageHeader, set_columns, setup_table, toolbar_row
from console.services import templates
from console.services.templates import TemplateRow
from console.storage import Database
from console.vocabulary import Severity


class TemplatesView(QWidget):
    """A list of templates beside an editor for the selected (or a new) one.

    Signals:
        loaded(int): a load finished with this many templates.
        saved(int): a template was saved (its id).
    """

    loaded = Signal(int)
    saved = Signal(int)

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, bridge: Bridge,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks, self.bridge = db, actor, tasks, bridge
        self._editing: int | None = None
        self._select_after_load: int | None = None
        self._quiet = False
        self.model = TemplatesModel(self)
        self.proxy = FilterProxy(self.model, self)
        self._reload = QTimer(self)
        self._reload.setSingleShot(True)
        self._reload.setInterval(0)
        self._reload.timeout.connect(self.refresh)
        self._build()
        bridge.data_changed.connect(lambda kind: self._reload.start() if kind == "templates" else None)
        self.new_template()
        self.refresh()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)
        layout.addWidget(PageHeader(
            self.tr("Templates"),
            self.tr("Pre-approved messages, agreed before a crisis, so the person on duty picks instead of writes.")))
        self.new_button = QPushButton(resources.accent_icon("add"), self.tr("New template"))
        mark_writes(self.new_button)
        self.new_button.setObjectName("primary")
        self.filter = FilterEdit(self.tr("Filter templates"))
        layout.addLayout(toolbar_row(self.new_button, self.filter, stretch_at=1))

        split = QSplitter(self)
        split.setChildrenCollapsible(False)
        self.table = QTableView()
        self.table.setObjectName("templatesTable")
        self.table.setModel(self.proxy)
        setup_table(self.table)
        set_columns(self.table, {TemplatesModel.NAME: 170, TemplatesModel.SEVERITY: 104, TemplatesModel.OPTIONS: 170},
                    TemplatesModel.TITLE)
        split.addWidget(self.table)

        editor = QFrame()
        editor.setObjectName("card")
        form_box = QVBoxLayout(editor)
        form_box.setContentsMargins(20, 18, 20, 18)
        form_box.setSpacing(12)
        self.editor_title = QLabel()
        self.editor_title.setObjectName("sectionTitle")
        form_box.addWidget(self.editor_title)
        self.banner = Banner(self)
        form_box.addWidget(self.banner)
        form = QFormLayout()
        form.setVerticalSpacing(10)
        form.setHorizontalSpacing(14)
        self.name = QLineEdit()
        self.name.setPlaceholderText(self.tr("Short name for the list (defaults to the title)"))
        self.title = QLineEdit()
        self.title.setPlaceholderText(self.tr("e.g. Fire alarm: leave the building now"))
        self.severity = QComboBox()
        for severity in Severity:
            self.severity.addItem(resources.icon(f"severity-{severity}"), self.model.severity_text(severity),
                                  severity.value)
        self.body = QPlainTextEdit()
        self.body.setPlaceholderText(self.tr("What happened, what to do, where to go. Markdown is allowed."))
        self.body.setMinimumHeight(90)
        self.preset = QComboBox()
        self.preset.addItem(self.tr("Acknowledge"), "acknowledge")
        self.preset.addItem(self.tr("Safety check: I'm safe / I need help"), "safety_check")
        self.preset.addItem(self.tr("Custom answers"), "custom")
        self.options = QPlainTextEdit()
        self.options.setObjectName("optionsEdit")
        self.options.setPlaceholderText(self.tr("One answer per line"))
        self.options.setMinimumHeight(56)
        self.options.setMaximumHeight(96)
        self.help_box = HelpOptionBox()
        mark_edits(self.name, self.title, self.severity, self.body, self.preset, self.options, self.help_box)
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("Title"), self.title)
        form.addRow(self.tr("Severity"), self.severity)
        form.addRow(self.tr("Message"), self.body)
        form.addRow(self.tr("Answers"), self.preset)
        form.addRow("", self.options)
        form.addRow(self.tr("Needs help"), self.help_box)
        form_box.addLayout(form, 1)
        buttons = QHBoxLayout()
        self.delete_button = QPushButton(resources.icon("remove"), self.tr("Delete"))
        self.delete_button.setObjectName("danger")
        self.save_button = QPushButton(resources.accent_icon("check"), self.tr("Save template"))
        mark_writes(self.delete_button, self.save_button)
        self.save_button.setObjectName("primary")
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        form_box.addLayout(buttons)
        scroller = QScrollArea()
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setWidget(editor)
        scroller.setMinimumWidth(380)
        split.addWidget(scroller)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([640, 520])
        layout.addWidget(split, 1)

        self.new_button.clicked.connect(self.new_template)
        self.save_button.clicked.connect(self.save)
        self.delete_button.clicked.connect(self.delete_current)
        self.preset.activated.connect(self._preset_chosen)
        self.options.textChanged.connect(self._options_typed)
        self.help_box.activated.connect(lambda _i: self._options_typed())
        self.filter.filter_changed.connect(self.proxy.set_text)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

    # -- loading ------------------------------------------------------------------------
    def refresh(self) -> None:
        self.tasks.run(lambda: templates.list_templates(self.db), self._loaded,
                       lambda exc: self.banner.show_message("error", describe(exc)))

    def focus_filter(self) -> None:
        self.filter.setFocus()
        self.filter.selectAll()

    def _loaded(self, rows: list[TemplateRow]) -> None:
        just_saved = self._select_after_load is not None
        wanted = self._select_after_load if just_saved else self._editing
        self._select_after_load = None
        self.model.set_rows(rows)
        # Reselect what is being edited without overwriting what the person typed since.
        self._quiet = not just_saved
        try:
            if wanted is not None and not self.select_template(wanted):
                self.new_template()
        finally:
            self._quiet = False
        self.loaded.emit(len(rows))

    def select_template(self, template_id: int) -> bool:
        row = self.model.find(lambda t: t.id == template_id)
        index = self.proxy.mapFromSource(self.model.index(row, 0)) if row >= 0 else None
        if index is None or not index.isValid():
            return False
        self.table.selectRow(index.row())
        return True

    def _selection_changed(self, *_args: Any) -> None:
        if self._quiet:
            return
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self._show(self.proxy.row_at(rows[0].row()))

    # -- editor -------------------------------------------------------------------------
    def new_template(self) -> None:
        self.table.clearSelection()
        self._editing = None
        self.editor_title.setText(self.tr("New template"))
        for edit in (self.name, self.title):
            edit.clear()
        self.body.clear()
        self.severity.setCurrentIndex(0)
        self._set_options(PRESETS["acknowledge"].options)
        self.delete_button.setEnabled(False)
        self.banner.clear_message()
        self.title.setFocus()

    def _show(self, row: TemplateRow) -> None:
        self._editing = row.id
        self.editor_title.setText(self.tr("Edit: %1").replace("%1", row.name))
        self.name.setText(row.name)
        self.title.setText(row.title)
        self.body.setPlainText(row.body)
        self.severity.setCurrentIndex(self.severity.findData(row.severity))
        self._set_options(row.options, row.help_options)
        self.delete_button.setEnabled(True)
        self.banner.clear_message()

    def _set_options(self, options: tuple[str, ...], help_options: tuple[str, ...] = ()) -> None:
        self.options.blockSignals(True)
        self.options.setPlainText("\n".join(options))
        self.options.blockSignals(False)
        self.help_box.set_options(self._typed(), help_options)
        self._options_typed()

    def _preset_chosen(self) -> None:
        preset = PRESETS.get(str(self.preset.currentData()))
        if preset is not None:
            self._set_options(preset.options, preset.help_options)

    def _typed(self) -> list[str]:
        return [line.strip() for line in self.options.toPlainText().splitlines() if line.strip()]

    def _options_typed(self) -> None:
        self.help_box.set_options(self._typed())
        self.preset.setCurrentIndex(self.preset.findData(preset_of(self._typed(), self.current_help_options())))

    def current_options(self) -> list[str]:
        return self.options.toPlainText().splitlines()

    def current_help_options(self) -> list[str]:
        return [h for h in self.help_box.help_options() if h in self._typed()]

    # -- save / delete ------------------------------------------------------------------
    def save(self) -> None:
        name, title, body = self.name.text(), self.title.text(), self.body.toPlainText()
        severity, options = str(self.severity.currentData()), self.current_options()
        help_options = self.current_help_options()
        template_id = self._editing
        self.save_button.setEnabled(False)

        def work() -> TemplateRow:
            return templates.save_template(self.db, self.actor, name=name, title=title, body=body,
                                           severity=severity, options=options, help_options=help_options,
                                           template_id=template_id)

        def done(row: TemplateRow) -> None:
            self.save_button.setEnabled(True)
            self._editing = row.id
            self._select_after_load = row.id
            self.banner.show_message("ok", self.tr("Saved “%1”.").replace("%1", row.name))
            self.bridge.status_message.emit(self.tr("Saved template %1").replace("%1", row.name))
            self.bridge.data_changed.emit("templates")
            self.saved.emit(row.id)

        def failed(exc: Exception) -> None:
            self.save_button.setEnabled(True)
            self.banner.show_message("error", describe(exc))

        self.tasks.run(work, done, failed)

    def delete_current(self) -> None:
        template_id = self._editing
        if template_id is None:
            return
        name = self.name.text()
        answer = QMessageBox.question(self, self.tr("Delete template"),
                                      self.tr("Delete the template %1?").replace("%1", name))
        if answer != QMessageBox.StandardButton.Yes:
            return

        def work() -> None:
            templates.delete_template(self.db, self.actor, template_id)

        def done(_: None) -> None:
            self.new_template()
            self.bridge.status_message.emit(self.tr("Deleted template %1").replace("%1", name))
            self.bridge.data_changed.emit("templates")

        self.tasks.run(work, done, lambda exc: self.banner.show_message("error", describe(exc)))
