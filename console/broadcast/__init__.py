"""Broadcasts: audience resolution, the send service, the outbox dispatcher, reminders (no Qt)."""
