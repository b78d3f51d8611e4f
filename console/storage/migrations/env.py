"""Alembic environment: always given a connection by console.storage.migrate."""

from alembic import context

from console.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through console.storage.migrate.upgrade_to_head")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
context.run_migrations()
