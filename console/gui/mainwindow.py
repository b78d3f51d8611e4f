"""The main window: navigation, the pages, menus and shortcuts, and the status bar."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent, QWindow
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.gui import resources
from console.gui.prefs import Preferences
from console.gui.statusbar import StatusBar

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Page:
    """One page of the window: a key for code, a title and an icon for people, and how to make it.

    Pages are made when first needed (shown, or asked for with MainWindow.page) or, after the
    window is on screen, one per turn of the event loop: the first window shows sooner.
    """

    key: str
    title: str
    icon: str
    make: Callable[[], QWidget]


class NavModel(QAbstractListModel):
    """The pages as a list for the navigation bar."""

    def __init__(self, pages: list[Page], parent: Any = None) -> None:
        super().__init__(parent)
        self._pages = pages

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._pages)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._pages):
            return None
        page = self._pages[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return page.title
        if role == Qt.ItemDataRole.DecorationRole:
            return resources.icon(page.icon)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{page.title} (Ctrl+{index.row() + 1})"
        if role == Qt.ItemDataRole.UserRole:
            return page.key
        return None


class MainWindow(QMainWindow):
    """Left navigation over a stack of pages; Ctrl+1..9 switch pages.

    Signals:
        page_changed(str): the key of the page now shown.
        closing(): the window is closing (the app quits even if other windows, e.g. the demo inbox, are open).
        first_shown(): the window was on screen and painted for the first time.
        pages_made(): the last page not made yet was made.
    """

    page_changed = Signal(str)
    closing = Signal()
    first_shown = Signal()
    pages_made = Signal()

    def __init__(self, pages: list[Page], db_label: str, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("Crisis Console"))
        self.setWindowIcon(resources.icon("logo", "#1f5fbf"))
        self._pages = pages
        self._prefs = prefs
        self._made: dict[str, QWidget] = {}
        self._slots: dict[str, QWidget] = {p.key: QWidget() for p in pages}  # stand-ins until made
        self._exposure: _FirstExposure | None = None
        self.nav_model = NavModel(pages, self)
        self.stack = QStackedWidget()
        self.stack.setObjectName("pages")
        for page in pages:
            self.stack.addWidget(self._slots[page.key])
        self.nav = QListView()
        self.nav.setObjectName("nav")
        self.nav.setModel(self.nav_model)
        self.nav.setIconSize(QSize(20, 20))
        self.nav.setUniformItemSizes(True)
        self.nav.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.nav.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.nav.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.nav.selectionModel().currentChanged.connect(self._nav_changed)

        sidebar = QFrame()
        sidebar.setObjectName("sidebar")
        sidebar.setFixedWidth(220)
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(0, 0, 0, 12)
        side.setSpacing(0)
        brand = QWidget()
        brand.setObjectName("brand")
        brand_row = QHBoxLayout(brand)
        brand_row.setContentsMargins(18, 18, 18, 18)
        brand_row.setSpacing(10)
        logo = QLabel()
        logo.setPixmap(resources.icon("logo", "#6ea8ff").pixmap(28, 28))
        name = QLabel(self.tr("Crisis Console"))
        name.setObjectName("brandName")
        brand_row.addWidget(logo)
        brand_row.addWidget(name, 1)
        side.addWidget(brand)
        side.addWidget(self.nav, 1)
        self.org_label = QLabel()
        self.org_label.setObjectName("sidebarFoot")
        self.org_label.setWordWrap(True)
        side.addWidget(self.org_label)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(sidebar)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.status = StatusBar(db_label, self)
        self.setStatusBar(self.status)
        self._build_actions()
        self.show_page(pages[0].key)

    # -- menus and shortcuts --------------------------------------------------------------
    def _action(self, text: str, shortcut: QKeySequence | str | QKeySequence.StandardKey,
                slot: Callable[[], Any], icon: str | None = None) -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(resources.icon(icon))
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        console_menu = bar.addMenu(self.tr("&Console"))
        self.new_action = self._action(self.tr("&New message"), "Ctrl+N", lambda: self.show_page("compose"),
                                       "compose")
        console_menu.addAction(self.new_action)
        console_menu.addSeparator()
        self.quit_action = self._action(self.tr("&Quit"), "Ctrl+Q", self.close)
        console_menu.addAction(self.quit_action)
        view_menu = bar.addMenu(self.tr("&View"))
        self.page_actions: list[QAction] = []
        for number, page in enumerate(self._pages[:9], start=1):
            action = self._action(page.title, f"Ctrl+{number}", self._shower(page.key), page.icon)
            view_menu.addAction(action)
            self.page_actions.append(action)
        view_menu.addSeparator()
        self.refresh_action = self._action(self.tr("&Refresh"), "F5", self.refresh_current, "refresh")
        self.find_action = self._action(self.tr("&Filter…"), "Ctrl+F", self.focus_filter, "search")
        view_menu.addAction(self.refresh_action)
        view_menu.addAction(self.find_action)

    def _shower(self, key: str) -> Callable[..., None]:
        def show(*_checked: object) -> None:  # QAction.triggered passes `checked`
            self.show_page(key)

        return show

    # -- pages ------------------------------------------------------------------------------
    def page(self, key: str) -> QWidget:
        """The page's widget, made now if it was not yet."""
        made = self._made.get(key)
        if made is not None:
            return made
        page = next((p for p in self._pages if p.key == key), None)
        if page is None:
            raise KeyError(key)
        widget = self._made[key] = page.make()
        slot = self._slots.pop(key)
        current = self.stack.currentWidget() is slot
        self.stack.insertWidget(self.stack.indexOf(slot), widget)
        if current:
            self.stack.setCurrentWidget(widget)
        self.stack.removeWidget(slot)
        slot.deleteLater()
        if not self._slots:
            self.pages_made.emit()
        return widget

    def make_remaining_pages(self) -> None:
        """Make the pages not made yet, one per turn of the event loop (input and painting go between)."""
        QTimer.singleShot(0, self, self._make_next_page)

    def _make_next_page(self) -> None:
        missing = [p.key for p in self._pages if p.key not in self._made]
        if missing:
            self.page(missing[0])
            if len(missing) > 1:
                QTimer.singleShot(0, self, self._make_next_page)

    @property
    def made_pages(self) -> list[str]:
        return [p.key for p in self._pages if p.key in self._made]

    @property
    def current_key(self) -> str:
        widget = self.stack.currentWidget()
        return next(p.key for p in self._pages if self._made.get(p.key, self._slots.get(p.key)) is widget)

    def show_page(self, key: str) -> None:
        row = next(i for i, p in enumerate(self._pages) if p.key == key)
        index = self.nav_model.index(row)
        if self.nav.currentIndex() != index:
            self.nav.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        else:
            self._nav_changed(index)

    def _nav_changed(self, index: QModelIndex, _previous: QModelIndex | None = None) -> None:
        if not index.isValid():
            return
        page = self._pages[index.row()]
        widget = self.page(page.key)
        if self.stack.currentWidget() is not widget:
            self.stack.setCurrentWidget(widget)
            self.page_changed.emit(page.key)

    def refresh_current(self) -> None:
        refresh = getattr(self.stack.currentWidget(), "refresh", None)
        if callable(refresh):
            refresh()

    def focus_filter(self) -> None:
        focus = getattr(self.stack.currentWidget(), "focus_filter", None)
        if callable(focus):
            focus()

    def set_org_name(self, name: str) -> None:
        self.org_label.setText(name)

    # -- messages -------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.status.showMessage(text, 10_000)

    def show_error(self, text: str) -> None:
        QMessageBox.warning(self, self.tr("Crisis Console"), text)

    # -- window state ---------------------------------------------------------------------
    def restore(self) -> None:
        """Geometry and the page from last time, or a sensible first-run size."""
        if not self._prefs.restore_window(self):
            self.resize(1360, 860)
        last = self._prefs.last_page
        if last and any(p.key == last for p in self._pages):
            self.show_page(last)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        handle = self.windowHandle()
        if self._exposure is None and handle is not None:
            self._exposure = _FirstExposure(handle, self.first_shown.emit)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._prefs.save_window(self)
        self._prefs.last_page = self.current_key
        super().closeEvent(event)
        self.closing.emit()


class _FirstExposure(QObject):
    """Calls back once, after the window's first exposure has been handled (so painted)."""

    def __init__(self, handle: QWindow, then: Callable[[], None]) -> None:
        super().__init__(handle)
        self._then = then
        handle.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Expose and isinstance(watched, QWindow) and watched.isExposed():
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self, self._then)  # after this expose is painted
        return False
