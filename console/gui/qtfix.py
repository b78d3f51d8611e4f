"""Work around PySide6 wheels that treat None and True as immortal on Python 3.11.

The PySide6 6.12 abi3 wheel is compiled against Python 3.12+ headers, where
None, True and False are immortal (PEP 683) and returning them needs no new
reference. On Python 3.11 they are ordinary objects, so every void Qt call
(`processEvents()`, `polish()`, `setText()`…), every invalid QVariant turned
into None and every `Signal.emit()` (which returns True) drops one reference
that was never taken. After some thousands of calls the count reaches zero and
the interpreter aborts ("Fatal Python error: none_dealloc" / "bool_dealloc"),
in whichever thread is unlucky.

`install()` checks for the leak with a void call and, only when it is there,
does what Python 3.12 does: it gives these singletons a reference count so
large (2**40) that the dropped references can never bring it to zero. On
Python 3.12+ or a correctly built PySide6 it changes nothing.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject

log = logging.getLogger("console.gui.qtfix")

_RESERVE = 2**40
_installed = False


def _void_call_leaks() -> bool:
    probe = QObject()
    probe.setObjectName("probe")
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before


def install() -> bool:
    """Make None, True and False effectively immortal if this PySide6 leaks them; True when done."""
    global _installed
    if _installed:
        return True
    if sys.version_info >= (3, 12) or not _void_call_leaks():
        return False
    for singleton in (None, True, False, Ellipsis, NotImplemented):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))
        refcount.value += _RESERVE
    _installed = True
    log.debug("PySide6 drops references to None/True: singletons made immortal as on Python 3.12")
    return True
