"""Times on the answer pages: the organisation's zone in the page, the reader's added by a script.

The server writes every time in the organisation's zone (setting ``org.timezone``), so a
page read with JavaScript off is complete. One small inline script then adds the
reader's own time next to each ``<time datetime=…>`` when their zone shows a different
clock. The CSP allows that script and nothing else: :data:`SCRIPT_SOURCE` is its hash,
computed from :data:`SCRIPT` itself, so the two cannot drift apart.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# No "$" (the page templates' placeholder sign) and no "<": the text is inserted as is.
SCRIPT = """(function () {
  "use strict";
  var zone = document.body.getAttribute("data-zone") || "UTC";
  var times = document.querySelectorAll("time[datetime]");
  for (var i = 0; i !== times.length; i += 1) {
    var el = times[i], when = new Date(el.getAttribute("datetime")), mine;
    if (isNaN(when.getTime())) { continue; }
    var opts = {hour: "2-digit", minute: "2-digit", day: "numeric", month: "short", timeZoneName: "short"};
    if (/[0-9]:[0-9][0-9]:[0-9][0-9]/.test(el.textContent)) { opts.second = "2-digit"; }
    try {
      mine = new Intl.DateTimeFormat(undefined, opts).format(when);
      opts.timeZone = zone;
      if (mine === new Intl.DateTimeFormat(undefined, opts).format(when)) { continue; }
    } catch (e) { continue; }
    var note = document.createElement("span");
    note.className = "reader-time";
    note.textContent = " (your time: " + mine + ")";
    el.parentNode.insertBefore(note, el.nextSibling);
  }
}());
"""
SCRIPT_SOURCE = "'sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii") + "'"


@functools.cache
def zone_of(name: str) -> dt.tzinfo:
    """The zone called ``name``; UTC for "UTC" (no time zone database needed) or an unknown name
    (the setting is checked when set; a database without the zone must not break the page)."""
    if name.upper() == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def time_text(when: dt.datetime, zone: str = "UTC", *, seconds: bool = False) -> str:
    """``09:26 GMT, 14 Mar 2025``: the clock in ``zone`` with its abbreviation (or offset)."""
    local = when.astimezone(zone_of(zone))
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    abbr = local.tzname() or ""
    if not abbr or abbr[0] in "+-":  # zones without a letter abbreviation: "UTC-03"
        abbr = f"UTC{abbr}"
    return f"{clock} {abbr}, {local.day} {local:%b %Y}"


def iso(when: dt.datetime) -> str:
    """The instant in UTC, for ``<time datetime>`` (what the script reads)."""
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")
