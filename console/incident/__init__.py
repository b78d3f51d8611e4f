"""Incidents carried to their end: the picture of every person, help requests, the guarded close.

Modules: picture (every person of an incident and where they stand, read in a
few queries), helprequests (mark a request for help handled, reopen it), guard
(what stands in the way of closing an incident). The answer service opens help
requests itself, in the writer's transaction (console.acks.answers).
"""
