"""The Qt desktop console. The only place that imports PySide6.

The non-Qt modules the first window needs are imported here, before anything
imports PySide6: PySide6 hooks every later import, which makes them about a
third slower (measured on the target machine: SQLAlchemy's ORM 0.48 s alone,
0.65 s after PySide6). What only later pages or the embedded services need
(Apprise's plugins, waitress, phone numbers, exporters) is imported when they
are first made or started, after the window is on screen (console.gui.pages,
console.gui.embedded).
"""

# ruff: noqa: F401 - every import here is for its side effect (loaded before PySide6)

import channels
import console.broadcast.send
import console.services.channels
import console.services.directory
import console.services.settings
import console.services.templates
import console.services.warm  # the default database's dialect
import console.storage
