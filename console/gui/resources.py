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

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

PACKAGE = "resources"
THEMES = ("light", "dark")
ICON_TINT = "#5d6b7e"
SELECTED_TINT = "#ffffff"
_SIZES = (16, 20, 24, 32, 48)


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


def _pixmap(svg: str, size: int, ratio: float) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    pixmap = QPixmap(QSize(round(size * ratio), round(size * ratio)))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, pixmap.width(), pixmap.height()))
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def accent_icon(name: str) -> QIcon:
    """The icon in white, for buttons filled with the accent colour."""
    return icon(name, SELECTED_TINT)


@functools.cache
def icon(name: str, tint: str = ICON_TINT) -> QIcon:
    """An icon from resources/icons/NAME.svg, tinted; white when shown selected."""
    source = read_text("icons", f"{name}.svg")
    result = QIcon()
    for size in _SIZES:
        for ratio in (1.0, 2.0):
            result.addPixmap(_pixmap(source.replace("#000000", tint), size, ratio), QIcon.Mode.Normal)
            result.addPixmap(_pixmap(source.replace("#000000", SELECTED_TINT), size, ratio), QIcon.Mode.Selected)
    return result
