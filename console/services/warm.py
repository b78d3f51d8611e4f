"""Loads, when imported, what the first database reads would otherwise import late.

SQLAlchemy imports a database's dialect when the first engine is made. The
desktop imports this module before PySide6, which slows every later import
(see console.gui), so the default database's dialect is loaded at full speed.
"""

import sqlalchemy.dialects.sqlite  # noqa: F401 - imported for its side effect
