"""The use cases both faces (console.cli, console.gui) call: one module per area.

Each function takes the Database plus plain arguments (and the actor for writes),
owns its transaction and returns frozen dataclasses, never ORM objects or
sessions. No PySide6 here.

Modules: directory (contacts, groups, CSV import), channels (add/edit/disable,
list, test send), templates, settings, audit (search, verify, export),
broadcasts (send, follow-up, remind, cancel, status, failures), live (the
incident and broadcast picture, read incrementally), audience (compose choices
and counts), acks (the answer service's start entry), demo (the demo database),
warm (imports made before Qt's), incidents (every person of an incident, help
requests handled and reopened, the guarded close), incident_live (the incident
picture as the desktop follows it, and its answers-over-time series), schedules
(scheduled sends listed and cancelled; durations and times as people type them), readiness
(would answers come back: links only this machine opens, the answer service's
/healthz), reports (an incident or one message gathered once and written as a PDF, or its
people table as CSV or JSON).
"""
