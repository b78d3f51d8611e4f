"""The acknowledgement service's own use cases: the audit entry that says where it serves."""

from __future__ import annotations

from console import audit
from console.storage import Database


def record_serving(db: Database, actor: str, url: str, public_url: str) -> None:
    """Audit that an acknowledgement service listens on `url` (links point to `public_url`)."""
    with db.write() as session:
        audit.append(session, actor, "acks.serve", url, {"url": url, "public_url": public_url})
