"""The window's pages, each imported when it is first made (console.gui.mainwindow.Page).

A page's module pulls in what it alone needs (the directory's phone-number
checks, the channels' Apprise, the audit log's exporters); the first window
waits only for the page it shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.gui.bridge import Bridge
    from console.gui.tasks import TaskRunner
    from console.gui.theme import ThemeController
    from console.gui.views.audit import AuditView
    from console.gui.views.broadcasts import BroadcastsView
    from console.gui.views.channels import ChannelsView
    from console.gui.views.compose import ComposeView
    from console.gui.views.directory import DirectoryView
    from console.gui.views.settings import SettingsView
    from console.gui.views.templates import TemplatesView
    from console.storage import Database


def compose(db: Database, actor: str, tasks: TaskRunner, bridge: Bridge) -> ComposeView:
    from console.gui.views.compose import ComposeView

    return ComposeView(db, actor, tasks, bridge)


def broadcasts(db: Database, actor: str, tasks: TaskRunner, bridge: Bridge) -> BroadcastsView:
    from console.gui.views.broadcasts import BroadcastsView

    return BroadcastsView(db, actor, tasks, bridge)


def directory(db: Database, actor: str, tasks: TaskRunner, bridge: Bridge) -> DirectoryView:
    from console.gui.views.directory import DirectoryView

    return DirectoryView(db, actor, tasks, bridge)


def channels(db: Database, actor: str, tasks: TaskRunner, bridge: Bridge) -> ChannelsView:
    from console.gui.views.channels import ChannelsView

    return ChannelsView(db, actor, tasks, bridge)


def templates(db: Database, actor: str, tasks: TaskRunner, bridge: Bridge) -> TemplatesView:
    from console.gui.views.templates import TemplatesView

    return TemplatesView(db, actor, tasks, bridge)


def audit(db: Database, actor: str, tasks: TaskRunner, bridge: Bridge) -> AuditView:
    from console.gui.views.audit import AuditView

    return AuditView(db, actor, tasks, bridge)


def settings(db: Database, actor: str, tasks: TaskRunner, bridge: Bridge, theme: ThemeController) -> SettingsView:
    from console.gui.views.settings import SettingsView

    return SettingsView(db, actor, tasks, bridge, theme)
