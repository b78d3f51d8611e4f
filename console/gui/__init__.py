"""The Qt desktop console. The only place that imports PySide6."""

from console.gui import qtfix

qtfix.install()
