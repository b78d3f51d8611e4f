"""The one accessor for the desktop's resource files (stylesheets, icons).

Files live in the top-level ``resources`` package and are read with
importlib.resources, so they work the same from a checkout, a wheel or a zip.
Icons are single-colour SVGs drawn in ``#000000``; they are tinted here, so one
file serves the normal and the selected (white) state.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

PACKAGE = "resources"
THEMES = ("light", "dark")
ICON_TINT = "#5d6b7e"
SELECTED_TINT = "#ffffff"
DISABLED_TINT = "#a9b2bf"
_ENGINES: list[QIconEngine] = []


def read_text(*parts: str) -> str:
    return resources.files(PACKAGE).joinpath(*parts).read_text(encoding="utf-8")


def stylesheet(theme: str) -> str:
    """The Qt stylesheet of a theme ("light" or "dark"), with `@qss@` naming the folder of its images."""
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}")
    text = read_text("qss", f"{theme}.qss")
    folder = resources.files(PACKAGE).joinpath("qss")
    if isinstance(folder, Path):
        return text.replace("@qss@", folder.as_posix())
    # Not plain files (a zip): leave out the rules that need an image; Qt then draws its own arrows.
    return "\n".join(line for line in text.splitlines() if "@qss@" not in line)


def icon_names() -> list[str]:
    folder = resources.files(PACKAGE).joinpath("icons")
    return sorted(p.name.removesuffix(".svg") for p in folder.iterdir() if p.name.endswith(".svg"))


class _TintedSvg(QIconEngine):
    """Draws a tinted SVG at whatever size and scale a widget asks for, when it asks.

    Rendering every size up front cost 0.12 s of the cold start for 23 icons.
    """

    def __init__(self, source: str, tint: str) -> None:
        super().__init__()
        self._source, self._tint = source, tint
        self._renderers: dict[QIcon.Mode, QSvgRenderer] = {}
        self._cache: dict[tuple[int, int, QIcon.Mode, float], QPixmap] = {}

    def _renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        renderer = self._renderers.get(mode)
        if renderer is None:
            colour = {QIcon.Mode.Selected: SELECTED_TINT, QIcon.Mode.Disabled: DISABLED_TINT}.get(mode, self._tint)
            renderer = QSvgRenderer(QByteArray(self._source.replace("#000000", colour).encode("utf-8")))
            self._renderers[mode] = renderer
        return renderer

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._renderer(mode).render(painter, QRectF(rect))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:
        key = (size.width(), size.height(), mode, scale)
        cached = self._cache.get(key)
        if cached is None:
            cached = QPixmap(QSize(round(size.width() * scale), round(size.height() * scale)))
            cached.fill(Qt.GlobalColor.transparent)
            painter = QPainter(cached)
            self.paint(painter, QRect(0, 0, cached.width(), cached.height()), mode, state)
            painter.end()
            cached.setDevicePixelRatio(scale)
            self._cache[key] = cached
        return cached

    def clone(self) -> QIconEngine:
        return _TintedSvg(self._source, self._tint)


def accent_icon(name: str) -> QIcon:
    """The icon in white, for buttons filled with the accent colour."""
    return icon(name, SELECTED_TINT)


@functools.cache
def icon(name: str, tint: str = ICON_TINT) -> QIcon:
    """An icon from resources/icons/NAME.svg, tinted; white when shown selected, drawn when first shown."""
    engine = _TintedSvg(read_text("icons", f"{name}.svg"), tint)
    _ENGINES.append(engine)  # the QIcon owns it in C++; keep the Python side alive as long
    return QIcon(engine)
