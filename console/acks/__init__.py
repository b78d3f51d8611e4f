"""Acknowledgements: tokens, recording answers, the WSGI app and its server (no Qt).

Modules: `tokens` (link tokens), `formcheck` (the form's check field),
`richtext` (Markdown to safe HTML), `lookup` (the read path), `recorder`
(the group-commit writer), `limits` (invalid-token rate limiting), `pages`
(templates), `wsgi` (routes), `server` (waitress start/stop).
"""
