"""Small real file systems for storage-fault tests: a tmpfs that fills up or turns read-only.

Mounting needs root (CI runs as root). Without it, or without `mount`, the helpers
raise ComponentMissing, which conftest turns into a skip locally and a failure in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Self

from . import ComponentMissing


def _mount(*args: str) -> None:
    out = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30, check=False)
    if out.returncode != 0:
        raise ComponentMissing(f"mount {' '.join(args)} failed: {out.stderr.strip()}")


class Tmpfs:
    """A tmpfs of `size_kb` KiB mounted at `path` (made if needed) until `unmount`."""

    def __init__(self, path: Path, size_kb: int) -> None:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            raise ComponentMissing("mounting a tmpfs needs root and mount(8) (the disk-full and read-only tests)")
        path.mkdir(parents=True, exist_ok=True)
        _mount("-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(path))
        self.path = path

    def free(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, leave: int = 0) -> Path:
        """Take all but `leave` bytes with a filler file; remove it to free the space again."""
        filler = self.path / f"filler-{len(list(self.path.glob('filler-*')))}"
        with filler.open("wb") as fh:
            chunk = b"\0" * 65536
            want = max(self.free() - leave, 0)
            while want > 0:
                try:
                    want -= fh.write(chunk[:min(want, len(chunk))])
                except OSError:  # full already
                    break
        return filler

    def read_only(self, on: bool = True) -> None:
        _mount("-o", f"remount,{'ro' if on else 'rw'}", str(self.path))

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=30, check=False)


class Immutable:
    """`chattr +i` on a file: not even root may write it (root ignores file modes); undone on exit."""

    def __init__(self, path: Path) -> None:
        if shutil.which("chattr") is None:
            raise ComponentMissing("chattr (e2fsprogs) is needed for the read-only file test")
        out = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, timeout=30, check=False)
        if out.returncode != 0:
            raise ComponentMissing(f"chattr +i is not supported here: {out.stderr.strip()}")
        self.path = path

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        subprocess.run(["chattr", "-i", str(self.path)], capture_output=True, timeout=30, check=False)
