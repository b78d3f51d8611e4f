#!/usr/bin/env bash
# The one test command: installs what the tests need (only what is missing), then runs
# pytest with the given arguments. Works on a fresh Debian 12 with Python 3.11.
#
#   bash tests/setup-and-run.sh [pytest args...]
#   bash tests/setup-and-run.sh --gates      (the same setup, then .ci/gates instead of pytest)
#
# Env: PYTHON (default python3), CRISIS_CONSOLE_SYNAPSE_VENV (where Synapse goes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(
  # servers and tools the tests run for real
  postgresql chromium xvfb xauth imagemagick fonts-dejavu-core spamassassin
  # reading reports (pdftotext, pdftoppm) and a second-language audit verifier (node)
  poppler-utils nodejs
  # Qt (PySide6 wheels bundle Qt, not these): QtCore/QtGui, the offscreen platform
  libglib2.0-0 libegl1 libgl1 libfontconfig1 libdbus-1-3
  # the xcb platform, for a real window under Xvfb (libxcb-cursor0 brings image,
  # render-util and util; libgl1 brings randr, shm, sync, xfixes)
  libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-shape0 libxkbcommon-x11-0
  # QtWebEngine
  libnss3 libasound2 libxcomposite1 libxdamage1 libxtst6 libxkbfile1
)

say() { printf '[setup-and-run] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root or sudo to run: $*"
  fi
}

PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || die "$PYTHON not found; install Python 3.11"
# One interpreter start (shims such as pyenv's are slow): version, real path, whether
# pip may install into it (Debian's own python3 refuses: PEP 668) and whether it has venv.
read -r py_ok PYTHON externally_managed has_venv < <("$PYTHON" -c 'import os, sys, sysconfig
from importlib.util import find_spec
managed = sys.prefix == sys.base_prefix and os.path.exists(
    os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
venv = bool(find_spec("ensurepip") and find_spec("venv"))
print(int(sys.version_info >= (3, 11)), sys.executable, int(managed), int(venv))')
[ "$py_ok" = 1 ] || die "$PYTHON is older than 3.11"
if [ "$has_venv" = 0 ]; then
  APT_PACKAGES+=(python3-venv)  # Debian splits venv out; Synapse needs a venv too
fi

# --- system packages: apt only when one is missing ---------------------------------
if command -v dpkg-query >/dev/null; then
  installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${APT_PACKAGES[@]}" \
                2>/dev/null | awk '$1 == "ii" {print $2}' || true)
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    grep -qxF "$pkg" <<<"$installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing with apt: ${missing[*]}"
    as_root apt-get update
    as_root apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"
  fi
else
  say "not a Debian system: install the equivalents of ${APT_PACKAGES[*]} yourself"
fi

if [ "$externally_managed" = 1 ]; then
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  PYTHON=$PWD/.venv/bin/python
  say "using the venv .venv (the system Python is externally managed)"
fi

# --- the project: pip only when pyproject.toml changed or the install is elsewhere --
stamp_dir="${XDG_CACHE_HOME:-$HOME/.cache}/crisis-console"
prefix=$("$PYTHON" -c 'import sys; print(sys.prefix)')
stamp="$stamp_dir/pip-$(printf '%s\n%s\n' "$PWD" "$prefix" | sha256sum | cut -c1-16)"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
installed_from=$(cd / && "$PYTHON" -c 'import console, os; print(os.path.dirname(os.path.dirname(os.path.abspath(console.__file__))))' 2>/dev/null || true)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] || [ "$installed_from" != "$PWD" ]; then
  say "pip install -e '.[test]'"
  "$PYTHON" -m pip install --disable-pip-version-check -q -e '.[test]'
  mkdir -p "$stamp_dir"
  printf '%s\n' "$want" >"$stamp"
fi

# --- Synapse (Matrix) in its own venv, made once ------------------------------------
if ! "$PYTHON" -c 'from tests.helpers.synapse import ensure_synapse_venv; ensure_synapse_venv()'; then
  [ "${CI:-}" = true ] && die "could not make the Synapse venv"
  say "WARNING: no Synapse venv: the Matrix tests will be skipped"
fi

if [ "${1:-}" = --gates ]; then
  exec bash .ci/gates "$PYTHON"  # lint-imports, ruff, mypy: the `test` extra installed them
fi
# In parallel (pytest-xdist): one worker per core, at most 4 (each starts its own PostgreSQL,
# Synapse and Chromium). Most of the suite's time is spent waiting on real servers, retry
# windows and signals, so two workers on two cores take ~60% of the serial time. A caller's
# own -n / --numprocesses (-n 0: serial) wins.
workers=()
case " $* " in
  *" -n"* | *" --numprocesses"* | *" -p no:xdist "*) ;;
  *) workers=(-n "$(( $(nproc 2>/dev/null || echo 2) < 4 ? $(nproc 2>/dev/null || echo 2) : 4 ))") ;;
esac
exec "$PYTHON" -m pytest "${workers[@]}" "$@"
