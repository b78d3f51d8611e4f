"""Small widgets the views share: page header, message banner, filter box, problems dialog."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.gui import resources


class PageHeader(QWidget):
    """A view's title and one line saying what it is for."""

    def __init__(self, title: str, subtitle: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(2)
        self.title = QLabel(title)
        self.title.setObjectName("pageTitle")
        self.subtitle = QLabel(subtitle)
        self.subtitle.setObjectName("pageSubtitle")
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)


class Banner(QLabel):
    """A coloured strip for outcomes: tone "ok" (green), "error" (red), "warning" (amber), "info" (blue)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setProperty("tone", "info")
        self.hide()

    @property
    def tone(self) -> str:
        return str(self.property("tone"))

    def show_message(self, tone: str, text: str) -> None:
        self.setProperty("tone", tone)
        self.setText(text)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()

    def clear_message(self) -> None:
        self.setText("")
        self.hide()


class FilterEdit(QLineEdit):
    """A search box that reports what was typed once typing pauses.

    Signals:
        filter_changed(str): the text, 150 ms after the last key.
    """

    filter_changed = Signal(str)

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterEdit")
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.addAction(resources.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.setMinimumWidth(220)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(lambda: self.filter_changed.emit(self.text()))
        self.textChanged.connect(self._timer.start)

    def flush(self) -> None:
        """Report now (tests, Enter)."""
        self._timer.stop()
        self.filter_changed.emit(self.text())

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.flush()
            return
        super().keyPressEvent(event)


def setup_table(view: QTableView, *, row_height: int = 30, sortable: bool = True) -> None:
    """The house look of a data table: whole rows, fixed heights (smooth at 100,000 rows)."""
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setSortingEnabled(sortable)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vertical = view.verticalHeader()
    vertical.setVisible(False)
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(row_height)
    horizontal = view.horizontalHeader()
    horizontal.setHighlightSections(False)
    horizontal.setStretchLastSection(True)
    horizontal.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    horizontal.setSortIndicatorShown(sortable)


def set_role(widget: QWidget, name: str) -> None:
    """Give a widget the object name the stylesheet styles (e.g. "primary"), even after it was polished."""
    widget.setObjectName(name)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def set_columns(view: QTableView, widths: dict[int, int], stretch: int) -> None:
    """Starting widths for some columns; `stretch` takes the room left (the others stay resizable)."""
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    for column, width in widths.items():
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(column, width)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)


def toolbar_row(*widgets: QWidget, stretch_at: int | None = None) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setSpacing(8)
    for i, widget in enumerate(widgets):
        if stretch_at == i:
            row.addStretch(1)
        row.addWidget(widget)
    if stretch_at is None or stretch_at >= len(widgets):
        row.addStretch(1)
    return row


class ProblemsDialog(QDialog):
    """Every problem of a rejected input, one per line, in a list the person can scroll and copy."""

    def __init__(self, title: str, intro: str, problems: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("problemsDialog")
        self.resize(760, 420)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        heading = QLabel(title)
        heading.setObjectName("dialogTitle")
        layout.addWidget(heading)
        self.banner = Banner(self)
        self.banner.show_message("error", intro)
        layout.addWidget(self.banner)
        self.model = QStringListModel(problems, self)
        self.list = QListView(self)
        self.list.setObjectName("problemsList")
        self.list.setModel(self.model)
        self.list.setUniformItemSizes(True)
        self.list.setAlternatingRowColors(True)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        layout.addWidget(self.list, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = buttons.addButton(self.tr("Copy all"), QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText("\n".join(problems)))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def problems(self) -> list[str]:
        return self.model.stringList()


class FormDialog(QDialog):
    """A form with an inline error strip and Save/Cancel; the owner does the saving.

    Pressing Save emits `submitted`; the owner saves (in a worker) and then calls
    accept() or show_error(), so a rejected value keeps the dialog open with the
    person's input intact.

    Signals:
        submitted(): Save was pressed.
    """

    submitted = Signal()

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("formDialog")
        self.setMinimumWidth(520)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(14)
        heading = QLabel(title)
        heading.setObjectName("dialogTitle")
        outer.addWidget(heading)
        self.error = Banner(self)
        outer.addWidget(self.error)
        self.form = QFormLayout()
        self.form.setHorizontalSpacing(16)
        self.form.setVerticalSpacing(10)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(self.form)
        outer.addStretch(1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.save_button: QPushButton = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        set_role(self.save_button, "primary")
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)

    def _submit(self) -> None:
        self.error.clear_message()
        self.set_saving(True)
        self.submitted.emit()

    def set_saving(self, saving: bool) -> None:
        self.save_button.setEnabled(not saving)

    def show_error(self, text: str) -> None:
        self.set_saving(False)
        self.error.show_message("error", text)
        self.adjustSize()
