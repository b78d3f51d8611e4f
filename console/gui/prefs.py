"""Per-person desktop preferences (theme, window geometry) in QSettings, not in the database.

The database holds what every console shares; how one person's window looks
stays on their machine.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

from console.gui.resources import THEMES

ORGANIZATION = "Crisis Console"
APPLICATION = "crisis-console"


def user_store() -> QSettings:
    """QSettings("Crisis Console", "crisis-console") in the default format (tests set IniFormat and a path)."""
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


class Preferences:
    """Typed access to the QSettings of the desktop app."""

    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store if store is not None else user_store()

    @property
    def theme(self) -> str:
        value = str(self._store.value("ui/theme", "light"))
        return value if value in THEMES else "light"

    @theme.setter
    def theme(self, value: str) -> None:
        if value not in THEMES:
            raise ValueError(f"unknown theme {value!r}")
        self._store.setValue("ui/theme", value)
        self._store.sync()

    @property
    def last_page(self) -> str | None:
        value = self._store.value("ui/page")
        return str(value) if value else None

    @last_page.setter
    def last_page(self, key: str) -> None:
        self._store.setValue("ui/page", key)

    def save_window(self, window: QMainWindow) -> None:
        self._store.setValue("window/geometry", window.saveGeometry())
        self._store.setValue("window/state", window.saveState())
        self._store.sync()

    def restore_window(self, window: QMainWindow) -> bool:
        """Put the window back where it was; False on the first run."""
        geometry = self._store.value("window/geometry")
        if not isinstance(geometry, QByteArray) or geometry.isEmpty():
            return False
        window.restoreGeometry(geometry)
        state = self._store.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            window.restoreState(state)
        return True
