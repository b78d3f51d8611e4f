"""Qt item models over the domain's plain rows (no SQL here: rows come from the services)."""
