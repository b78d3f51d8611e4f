"""Compose and send a broadcast: text or template, audience, channels, preview, confirmation.

A thin layer over the services the CLI uses: the choices and the live count
are console.services.audience (in workers, the count debounced), the preview is
channels.render, and sending is console.services.broadcasts.send in a worker.
Sending asks first through the replaceable `confirm` hook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.broadcast.errors import BroadcastError
from console.broadcast.options import PRESETS
from console.gui.bridge import Bridge
from console.gui.models.choices import ChoiceFilter, ChoiceModel
from console.gui.readonly import mark_writes
from console.gui.tasks import TaskRunner, describe
from console.gui.views.broadcast.dialogs import ask_to_send
from console.gui.views.broadcast.live import LiveQuery
from console.gui.views.broadcast.message import MessageForm
from console.gui.views.broadcast.preview import PreviewPane
from console.gui.views.broadcast.readiness import ReadinessBanner
from console.gui.widgets import Banner
from console.services import broadcasts
from console.services.audience import AudienceCount, ComposeChoices, count_audience, load_choices
from console.services.broadcasts import DEFAULT_OPTIONS, BroadcastRequest, SendResult
from console.storage import Database
from console.templates import TemplateRow

log = logging.getLogger("console.gui.compose")

COUNT_DELAY_MS = 250
PREVIEW_DELAY_MS = 150


class ComposeView(QWidget):
    """Write or pick a message, choose who gets it and how, see it per channel, send it.

    Signals:
        counted(AudienceCount): a fresh count of the chosen audience is shown.
        choices_loaded(): groups, people, channels and templates were (re)loaded.
        sent(SendResult): a broadcast was written to the outbox (bridge.broadcast_created follows).
        send_failed(str): sending did not happen; the text says why.
    """

    counted = Signal(object)
    choices_loaded = Signal()
    sent = Signal(object)
    send_failed = Signal(str)

    def __init__(self, db: Database, actor: str, tasks: TaskRunner, bridge: Bridge,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db, self.actor, self.tasks, self.bridge = db, actor, tasks, bridge
        self.confirm: Callable[[str], bool] = self._ask
        """Asked with the counts before sending; True sends. Tests and the benchmark replace it."""
        self.count: AudienceCount | None = None
        self.public_url, self.org_name = "http://127.0.0.1:8765", ""
        self._templates: list[TemplateRow] = []
        self._sending = False
        self._build()
        self._count_timer = self._single_shot(COUNT_DELAY_MS, self._count_read_request)
        self._preview_timer = self._single_shot(PREVIEW_DELAY_MS, self.update_preview)
        self._choices_read = LiveQuery(tasks, self._plan_choices, 0, self)
        self._count_read = LiveQuery(tasks, self._plan_count, 0, self)
        self._choices_read.failed.connect(lambda text: self.banner.show_message("error", text))
        bridge.data_changed.connect(self._on_data_changed)
        # First reads once the event loop runs: the window shows before workers compete for the GIL.
        QTimer.singleShot(0, self._choices_read.request)
        self.update_preview()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.message = MessageForm()
        self.message.template_chosen.connect(self.apply_template)
        self.message.edited.connect(self._preview_timer_start)
        # The form's fields, as the tests, the benchmark and the screenshots reach them.
        form = self.message
        self.template_box, self.title_edit, self.body_edit = form.template_box, form.title_edit, form.body_edit
        self.severity_box, self.preset_box, self.options_edit = form.severity_box, form.preset_box, form.options_edit
        self.exercise_box, self.exercise_banner = form.exercise_box, form.exercise_banner

        self.groups = ChoiceModel((self.tr("Group"), self.tr("Members")), self)
        self.contacts = ChoiceModel((self.tr("Name"), self.tr("Email")), self)
        self.channels = ChoiceModel((self.tr("Channel"), self.tr("Kind")), self)
        self.contact_filter = ChoiceFilter(self.contacts, self)
        self.contact_search = QLineEdit()
        self.contact_search.setPlaceholderText(self.tr("Find people by name, email or group"))
        self.contact_search.setClearButtonEnabled(True)
        self.contact_search.textChanged.connect(self.contact_filter.set_text)
        self.group_table = choice_table(self.groups)
        self.contact_table = choice_table(self.contact_filter)
        self.channel_table = choice_table(self.channels)
        people = QWidget()
        people_box = QVBoxLayout(people)
        people_box.setContentsMargins(0, 0, 0, 0)
        people_box.addWidget(self.contact_search)
        people_box.addWidget(self.contact_table)
        self.audience_tabs = QTabWidget()
        self.audience_tabs.addTab(self.group_table, self.tr("Groups"))
        self.audience_tabs.addTab(people, self.tr("People"))
        self.count_label = QLabel(self.tr("Choose groups or people."))
        self.count_label.setObjectName("audienceCount")
        self.count_label.setWordWrap(True)
        self.unreachable_label = QLabel()
        self.unreachable_label.setObjectName("unreachableCount")
        self.unreachable_label.setWordWrap(True)
        audience = QWidget()
        audience_box = QVBoxLayout(audience)
        audience_box.addWidget(QLabel(self.tr("Who")))
        audience_box.addWidget(self.audience_tabs, 3)
        audience_box.addWidget(QLabel(self.tr("Channels")))
        audience_box.addWidget(self.channel_table, 1)
        audience_box.addWidget(self.count_label)
        audience_box.addWidget(self.unreachable_label)
        for model in (self.groups, self.contacts, self.channels):
            model.checked_changed.connect(self._audience_changed)
        self.channels.checked_changed.connect(self._preview_timer_start)

        self.preview = PreviewPane()

        self.banner = Banner()
        self.send_button = QPushButton(self.tr("Send…"))
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip(self.tr("Send (Ctrl+Return)"))
        self.send_button.clicked.connect(self.send)
        self.send_shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        self.send_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.send_shortcut.activated.connect(self.send)
        mark_writes(self.send_button, self.send_shortcut)
        bottom = QHBoxLayout()
        bottom.addWidget(self.banner, 1)
        bottom.addWidget(self.send_button)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.message)
        split.addWidget(audience)
        split.addWidget(self.preview)
        split.setSizes([420, 360, 380])
        self.readiness = ReadinessBanner(self.db, self.tasks)  # links to this machine, no answer service
        layout = QVBoxLayout(self)
        layout.addWidget(self.readiness)
        layout.addWidget(split, 1)
        layout.addLayout(bottom)

    def _single_shot(self, ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    def _preview_timer_start(self) -> None:
        self._preview_timer.start()

    # -- choices ---------------------------------------------------------------------------
    def _on_data_changed(self, kind: str) -> None:
        if kind in ("contacts", "groups", "channels", "templates", "settings"):
            self._choices_read.request()

    def _plan_choices(self) -> tuple[Callable[[], ComposeChoices], Callable[[ComposeChoices], None]]:
        db = self.db
        return (lambda: load_choices(db)), self._apply_choices

    def _apply_choices(self, choices: ComposeChoices) -> None:
        self.groups.set_choices(choices.groups)
        self.contacts.set_choices(choices.contacts)
        self.channels.set_choices(choices.channels, default_checked=True)
        self._templates = choices.templates
        self.message.set_templates(choices.templates)
        self.message.follow.set_channels(choices.channels)
        self.public_url, self.org_name = choices.public_url, choices.org_name
        self.readiness.check(*self._audience_key())
        self.update_preview()
        self.choices_loaded.emit()

    def apply_template(self, template_id: int | None) -> None:
        """Fill title, body, severity and answers from a template (the text stays editable)."""
        template = next((t for t in self._templates if t.id == template_id), None)
        if template is not None:
            self.message.fill(template)

    def use_safety_check(self) -> None:
        """Answers "I'm safe" / "I need help"."""
        preset = PRESETS["safety_check"]
        self.message.set_options(preset.options, preset.help_options)

    # -- audience --------------------------------------------------------------------------
    def select(self, *, groups: list[str] | None = None, contacts: list[int] | None = None,
               channels: list[str] | None = None) -> None:
        """Choose exactly these groups / people / channels (None leaves that list as it is)."""
        if groups is not None:
            self.groups.set_checked(groups)
        if contacts is not None:
            self.contacts.set_checked(contacts)
        if channels is not None:
            self.channels.set_checked(channels)

    def _audience_changed(self) -> None:
        self.count = None
        self.count_label.setText(self.tr("Counting…"))
        self._count_timer.start()

    def _count_read_request(self) -> None:
        if not (self.groups.checked() or self.contacts.checked()):
            self._show_count(AudienceCount((), problem=self.tr("Choose groups or people.")))
            return
        if not self.channels.checked():
            self._show_count(AudienceCount((), problem=self.tr("Choose at least one channel.")))
            return
        self._count_read.request()

    def _audience_key(self) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
        return (tuple(self.groups.checked()), tuple(self.contacts.checked()), tuple(self.channels.checked()))

    def _plan_count(self) -> tuple[Callable[[], AudienceCount], Callable[[AudienceCount], None]]:
        db, (groups, contacts, channels) = self.db, self._audience_key()
        return (lambda: count_audience(db, list(groups), list(contacts), list(channels))), self._counted

    def _counted(self, count: AudienceCount) -> None:
        if count.key != self._audience_key():
            return  # the choice changed while counting; the newer count is on its way
        self._show_count(count)

    def _show_count(self, count: AudienceCount) -> None:
        self.count = count
        if count.problem:
            self.count_label.setText(count.problem)
            self.unreachable_label.clear()
            self.unreachable_label.setToolTip("")
        else:
            text = self.tr("{n} people will receive it ({d} messages)").format(
                n=count.recipients, d=count.deliveries)
            if count.group_posts:
                text += self.tr(", plus {g} group posts").format(g=count.group_posts)
            self.count_label.setText(text)
            missing = count.unreachable
            self.unreachable_label.setText(
                self.tr("{u} cannot be reached on the chosen channels").format(u=len(missing)) if missing else "")
            self.unreachable_label.setToolTip("\n".join(f"{u['contact']}: {u['why']}" for u in missing[:30])
                                              + ("\n…" if len(missing) > 30 else ""))
        self.readiness.check(*self._audience_key())
        self.counted.emit(count)

    # -- preview ---------------------------------------------------------------------------
    def update_preview(self) -> None:
        kinds = {c.kind for c in self.channels.checked_choices()}
        form = self.message
        self.preview.show_message(
            title=form.title(), body=form.body(), severity=form.severity(), exercise=form.exercise(),
            options=form.options(), public_url=self.public_url, org_name=self.org_name, kinds=kinds)

    # -- sending ---------------------------------------------------------------------------
    def request(self) -> BroadcastRequest:
        """The request the form describes (not yet checked)."""
        form = self.message
        return BroadcastRequest(
            title=form.title(), body=form.body(), groups=self.groups.checked(),
            contact_ids=self.contacts.checked(), channels=self.channels.checked(),
            severity=form.severity(), options=form.options() or list(DEFAULT_OPTIONS),
            help_options=form.help_options(), exercise=form.exercise(), **form.follow.fields())

    def send(self) -> None:
        """Check the form, count the audience afresh, ask, then write the broadcast in a worker."""
        if self._sending:
            return
        try:
            req = broadcasts.check(self.request())
            if not req.channels:
                raise BroadcastError(self.tr("Choose at least one channel."))
        except BroadcastError as exc:
            self._failed(str(exc))
            return
        self._set_sending(True)
        db = self.db
        self.tasks.run(lambda: count_audience(db, req.groups, req.contact_ids, req.channels or []),
                       lambda count: self._confirm_and_send(req, count),
                       lambda exc: self._failed(describe(exc)))

    def _confirm_and_send(self, req: BroadcastRequest, count: AudienceCount) -> None:
        if count.problem:
            self._failed(count.problem)
            return
        drill = self.tr("EXERCISE — ") if req.exercise else ""
        text = self.tr("{drill}Send “{title}” to {n} people ({d} messages on {channels})?").format(
            drill=drill, title=req.title, n=count.recipients, d=count.deliveries,
            channels=", ".join(req.channels or []))
        if count.group_posts:
            text += " " + self.tr("Plus {g} group posts.").format(g=count.group_posts)
        if count.unreachable:
            text += " " + self.tr("{u} people cannot be reached on these channels.").format(u=len(count.unreachable))
        if req.scheduled_at is not None:
            text += " " + self.tr("It goes out at {at}.").format(at=f"{req.scheduled_at.astimezone():%Y-%m-%d %H:%M}")
        if not self.confirm(text):
            self._set_sending(False)
            return
        db, actor = self.db, self.actor
        self.tasks.run(lambda: broadcasts.send(db, req, actor), self._sent, lambda exc: self._failed(describe(exc)))

    def _sent(self, result: SendResult) -> None:
        self._set_sending(False)
        self.banner.show_message("ok", self.tr("Broadcast {id} queued for {n} people ({d} messages).").format(
            id=result.broadcast_id, n=result.recipients, d=result.deliveries))
        self.title_edit.clear()
        self.body_edit.clear()
        self.template_box.setCurrentIndex(0)
        self.message.follow.after_send()
        self.sent.emit(result)
        self.bridge.broadcast_created.emit(result.broadcast_id)
        self.bridge.status_message.emit(self.tr("Broadcast {id} is being sent").format(id=result.broadcast_id))

    def _failed(self, text: str) -> None:
        self._set_sending(False)
        self.banner.show_message("error", text)
        self.send_failed.emit(text)

    def _set_sending(self, sending: bool) -> None:
        self._sending = sending
        self.send_button.setEnabled(not sending)

    def _ask(self, text: str) -> bool:
        return ask_to_send(self, text)


def choice_table(model: ChoiceModel | ChoiceFilter) -> QTableView:
    """A compact table for a checkable list."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(22)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    table.setWordWrap(False)
    return table
