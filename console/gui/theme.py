"""Light and dark themes: a Fusion palette plus the theme's stylesheet from resources/qss."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from console.gui import resources
from console.gui.prefs import Preferences

FONT_FAMILIES = ["Inter", "Segoe UI", "Cantarell", "Noto Sans", "Nimbus Sans", "Liberation Sans", "DejaVu Sans"]

# window, base, alternate, text, muted, button, highlight, highlighted text, link
PALETTES: dict[str, dict[str, str]] = {
    "light": {"window": "#f3f5f8", "base": "#ffffff", "alt": "#f7f9fb", "text": "#1b2430", "muted": "#6b7a8c",
              "button": "#ffffff", "highlight": "#dce9fb", "highlighted": "#0f2a4a", "link": "#1f5fbf"},
    "dark": {"window": "#141a21", "base": "#1b222b", "alt": "#1f2731", "text": "#e4e9ef", "muted": "#8f9cad",
             "button": "#232c37", "highlight": "#24446b", "highlighted": "#ffffff", "link": "#7fb0ff"},
}


def palette(theme: str) -> QPalette:
    colours = PALETTES[theme]
    result = QPalette()
    role = QPalette.ColorRole
    for roles, key in (
        ((role.Window,), "window"),
        ((role.Base, role.ToolTipBase), "base"),
        ((role.AlternateBase,), "alt"),
        ((role.WindowText, role.Text, role.ButtonText, role.ToolTipText, role.BrightText), "text"),
        ((role.PlaceholderText,), "muted"),
        ((role.Button,), "button"),
        ((role.Highlight,), "highlight"),
        ((role.HighlightedText,), "highlighted"),
        ((role.Link,), "link"),
    ):
        for r in roles:
            result.setColor(r, QColor(colours[key]))
    muted = QColor(colours["muted"])
    for r in (role.WindowText, role.Text, role.ButtonText):
        result.setColor(QPalette.ColorGroup.Disabled, r, muted)
    return result


class ThemeController(QObject):
    """Applies the chosen theme to the application and remembers it.

    Signals:
        changed(str): the theme now in use ("light" or "dark").
    """

    changed = Signal(str)

    def __init__(self, app: QApplication, prefs: Preferences, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._prefs = prefs
        self._theme = prefs.theme

    @property
    def theme(self) -> str:
        return self._theme

    def apply(self) -> None:
        """Apply the remembered theme (at start-up)."""
        self._apply(self._theme)

    def set_theme(self, theme: str) -> None:
        if theme not in resources.THEMES:
            raise ValueError(f"unknown theme {theme!r}")
        self._prefs.theme = theme
        if theme != self._theme:
            self._theme = theme
            self._apply(theme)
            self.changed.emit(theme)

    def _apply(self, theme: str) -> None:
        if self._app.style().name().lower() != "fusion":
            self._app.setStyle("Fusion")
        font = QFont()
        font.setFamilies(FONT_FAMILIES)
        font.setPointSizeF(10.0)
        self._app.setFont(font)
        self._app.setPalette(palette(theme))
        self._app.setStyleSheet(resources.stylesheet(theme))
