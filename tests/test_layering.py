"""Layering: the domain, storage, ack service and channels/ never import PySide6."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
def _qt_free_files() -> list[Path]:
    files = list((ROOT / "channels").rglob("*.py"))
    for path in (ROOT / "console").rglob("*.py"):
        if path.relative_to(ROOT / "console").parts[0] not in ("gui", "bench"):  # bench drives the desktop
            files.append(path)
    return files


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_qt_import_statement_outside_gui() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _imported_modules(p) if m.split(".")[0] in ("PySide6", "shiboken6"))
        for p in _qt_free_files()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_every_non_gui_module_loads_no_qt() -> None:
    """Catches indirect imports too (a non-GUI module importing console.gui at module level)."""
    modules = []
    for path in _qt_free_files():
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if "migrations" in parts or parts[-1] == "__main__":
            continue
        modules.append(".".join(parts))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_the_desktop_imports_no_plugin_or_server_before_its_first_window() -> None:
    """Apprise's plugins, waitress and the like load when a later page or the services need them
    (console.gui.pages, console.gui.embedded): the first window does not wait for them."""
    code = (
        "import sys\n"
        "import console.gui.app, console.gui.views.broadcast.compose\n"
        "late = ('apprise', 'requests', 'markdown_it', 'waitress', 'phonenumbers', 'console.acks.server',\n"
        "        'console.broadcast.dispatchprocess', 'console.gui.views.audit', 'console.gui.views.directory')\n"
        "print(','.join(m for m in late if m in sys.modules))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_the_broadcasts_page_loads_no_pdf_library() -> None:
    """ReportLab loads when a PDF report is written, not when the page offering "Report…" is made."""
    code = "import sys\nimport console.gui.views.broadcast.dashboard\nprint('reportlab' in sys.modules)\n"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert (out.returncode, out.stdout.strip()) == (0, "False"), out.stderr
