"""The Qt desktop console. The only place that imports PySide6."""
