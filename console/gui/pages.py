"""The window's pages, each imported when it is first made (console.gui.mainwindow.Page).

A page's module pulls in what it alone needs (the directory's phone-number
checks, the channels' Apprise, the audit log's exporters); the first window
waits only for the page it shows.
"""

from __future__ import annotations

import importlib
from typing import Any

from PySide6.QtWidgets import QWidget


def make(module: str, name: str, *args: Any) -> QWidget:
    """Import console.gui.views.MODULE now and make its page class NAME from `args`."""
    page = getattr(importlib.import_module(f"console.gui.views.{module}"), name)(*args)
    assert isinstance(page, QWidget)
    return page
