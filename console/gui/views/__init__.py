"""The console's views: one QWidget per page, each built from (db, actor, tasks, bridge)."""
