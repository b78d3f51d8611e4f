"""Markdown message bodies to HTML that is safe to put on a public page.

Raw HTML in the body is escaped (markdown-it's `html` option off), links are
kept only for http, https and mailto (anything else stays plain text), and
images are not rendered: the page's CSP would block them anyway, and a remote
image in an alert is a tracking pixel.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

_SCHEMES = ("http://", "https://", "mailto:")


def _allowed(url: str) -> bool:
    return url.strip().lower().startswith(_SCHEMES)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = _allowed  # type: ignore[method-assign]
    return md


_MD = _parser()


def markdown_to_html(text: str) -> str:
    """The body as HTML: every tag the author typed is escaped, only safe links survive."""
    return str(_MD.render(text))
