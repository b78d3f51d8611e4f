"""Acknowledgements: tokens, recording answers, the WSGI app and its server (no Qt).

Modules: `tokens` (link tokens), `formcheck` (the form's check field),
`richtext` (Markdown to safe HTML), `rawdb` (raw DBAPI connections for the hot
paths), `lookup` (the read path), `recorder` (the group-commit writer) with
`auditbatch` (its audit appends), `limits` (invalid-token rate limiting),
`pages` (templates), `http` (request, response, form), `wsgi` (routes),
`server` (waitress start/stop) with `httpserver` (its guard against slow
clients) and `eventloop` (its epoll loop), `errors`.

Entry points: `make_app(db)` for the WSGI app, `AckServer(db, host, port)` to
serve it in a background thread.
"""
