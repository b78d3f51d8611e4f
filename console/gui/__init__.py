"""The Qt desktop console. The only place that imports PySide6.

The non-Qt stack is imported here, before anything imports PySide6: PySide6
hooks every later import, which makes them about a third slower (measured on
the target machine: SQLAlchemy's ORM 0.48 s alone, 0.65 s after PySide6), and
the console needs all of it at start-up anyway.
"""

import channels
import console.broadcast.send
import console.settings
import console.storage
