"""What the message will look like on each kind of channel, with a sample answer link.

The text comes from channels.render, the same function the dispatcher uses, so
the preview cannot drift from what people receive.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from channels import ChannelError, Rendered, render
from channels.render import SMS_MAXLEN
from console.acks.tokens import ack_link, group_link
from console.vocabulary import ChannelKind

SAMPLE_TOKEN = "PREVIEW-sample-link-0123456789ab"
"""Shaped like a real token (32 URL-safe characters) so the preview's length is true."""


def sample_links(public_url: str) -> tuple[str, str]:
    """A personal and a group link as they would appear in a message."""
    return ack_link(public_url, SAMPLE_TOKEN), group_link(public_url, SAMPLE_TOKEN)


class _Pane(QWidget):
    def __init__(self, markdown: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setObjectName("previewTitle")
        self.markdown = markdown
        self.text: QTextBrowser | QPlainTextEdit
        if markdown:
            browser = QTextBrowser()
            browser.setOpenLinks(False)
            self.text = browser
        else:
            plain = QPlainTextEdit()
            plain.setReadOnly(True)
            self.text = plain
        self.note = QLabel()
        self.note.setObjectName("previewNote")
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.note)

    def show_rendered(self, title_label: str, rendered: Rendered | None, note: str, body: str | None = None) -> None:
        self.title.setText(title_label.format(title=rendered.title if rendered else ""))
        if body is None:
            body = rendered.body if rendered else ""
        if isinstance(self.text, QTextBrowser):
            self.text.setMarkdown(body)
        else:
            self.text.setPlainText(body)
        self.note.setText(note)


def sms_text(rendered: Rendered) -> str:
    """The SMS as the phone shows it: SMS has no title field, so Apprise puts it on the first line."""
    return f"{rendered.title}\r\n{rendered.body}" if rendered.title else rendered.body


class PreviewPane(QTabWidget):
    """Tabs: email, chat post, SMS (and group post), each as channels.render makes it.

    Signals: QTabWidget's own.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.email = _Pane(True)
        self.chat = _Pane(True)
        self.sms = _Pane(False)
        self.group = _Pane(True)
        self.addTab(self.email, self.tr("Email"))
        self.addTab(self.chat, self.tr("Chat post"))
        self.addTab(self.sms, self.tr("SMS"))
        self.addTab(self.group, self.tr("Group post"))
        self.rendered: dict[str, Rendered | None] = {}

    def show_message(self, *, title: str, body: str, severity: str, exercise: bool, options: Sequence[str],
                     public_url: str, org_name: str, kinds: Collection[str | None]) -> None:
        """Render for every kind; `kinds` are those of the chosen channels (the others say so)."""
        personal, group = sample_links(public_url)
        not_chosen = self.tr("No channel of this kind is chosen.")
        for kind, pane, link in ((ChannelKind.EMAIL, self.email, personal), (ChannelKind.CHAT, self.chat, personal),
                                 (ChannelKind.SMS, self.sms, personal), (ChannelKind.GROUP, self.group, group)):
            error = ""
            try:
                rendered: Rendered | None = render(
                    kind, title=title or self.tr("(no title)"), body=body, severity=severity, exercise=exercise,
                    link=link, options=tuple(options) or ("Acknowledge",), org_name=org_name)
            except ChannelError as exc:
                rendered, error = None, str(exc)
            self.rendered[kind] = rendered
            notes, text = [], None
            if kind is ChannelKind.SMS and rendered is not None:
                text = sms_text(rendered)
                notes.append(self.tr("{n} of {max} characters").format(n=len(text), max=SMS_MAXLEN))
            if error:
                notes.append(error)
            if kind not in kinds:
                notes.append(not_chosen)
            label = self.tr("Subject: {title}") if kind is ChannelKind.EMAIL else self.tr("Title: {title}")
            pane.show_rendered(label, rendered, "  ".join(notes), text)
        self.setTabVisible(self.indexOf(self.group), ChannelKind.GROUP in kinds)
