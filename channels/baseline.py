"""The naive Apprise path, kept so benchmarks can compare against it in the same run.

One ``Apprise()`` per message, ``add(url)``, ``notify()``: what a first implementation
would do. It runs with stock Apprise behaviour even when :mod:`channels.fast` is
installed in the same process (the lazy TLS path is only active inside
``fast.lazy_tls()``), so both numbers come from the same interpreter honestly.
"""

from __future__ import annotations

import apprise


def send_raw_apprise(url: str, title: str, body: str) -> bool:
    """Send one notification the naive way; True when Apprise reports success."""
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return False
    with notifier.notify(body=body, title=title) as result:
        return bool(result)
