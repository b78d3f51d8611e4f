"""channels.render: labels, links, limits and severities for every channel kind."""

from __future__ import annotations

import pytest
from apprise import NotifyFormat, NotifyType
from apprise.conversion import convert_between

from channels import (
    KINDS,
    ChannelError,
    Deliverer,
    Outgoing,
    Rendered,
    ServiceLimits,
    as_html,
    notify_type_for,
    render,
    service_limits,
)
from channels.render import HTML, MARKDOWN, SEVERITIES, SMS_MAXLEN, TEXT
from console.mailsink import MailSink

# URL-safe base64 can start and end with "_": a bare URL would turn into <em>…</em>.
LINK = "https://acks.example.com/a/_Tk9-x_QzW2vLmN8pRsT4u_"
OPTIONS = ("I'm safe", "I need help")
LONG_BODY = "Smoke reported on floor 3. Leave by the stairs, do not use the lifts. " * 40


def make(kind: str, **overrides: object) -> Rendered:
    args: dict[str, object] = dict(title="Fire in building B", body="Leave the building now.",
                                   severity="critical", exercise=False, link=LINK, options=OPTIONS)
    args.update(overrides)
    return render(kind, **args)  # type: ignore[arg-type]


def sms_length(rendered: Rendered) -> int:
    """Characters the phone shows: Apprise puts the title before the body (SMS has no title)."""
    return len(rendered.title) + 2 + len(rendered.body) if rendered.title else len(rendered.body)


@pytest.mark.parametrize("kind", KINDS)
def test_exercise_label_in_title_and_first_body_line(kind: str) -> None:
    rendered = make(kind, exercise=True)
    assert rendered.title.startswith("[EXERCISE] ")
    assert rendered.body.splitlines()[0].startswith("[EXERCISE]")


@pytest.mark.parametrize("kind", KINDS)
def test_no_label_without_exercise(kind: str) -> None:
    rendered = make(kind)
    assert "[EXERCISE]" not in rendered.title + rendered.body


@pytest.mark.parametrize("kind", KINDS)
def test_link_is_a_whole_raw_url_on_its_own_line_after_the_options(kind: str) -> None:
    rendered = make(kind)
    lines = rendered.body.splitlines()
    [line] = [ln for ln in lines if LINK in ln]
    assert line.strip("<>").endswith(LINK)
    assert "Answer (I'm safe / I need help)" in rendered.body


def test_single_option_is_the_call_to_action() -> None:
    rendered = make("email", options=("Acknowledge",))
    assert f"Acknowledge:\n<{LINK}>" in rendered.body


@pytest.mark.parametrize("kind", ["email", "chat", "group"])
def test_markdown_link_survives_apprise_html_and_text_conversion(kind: str) -> None:
    rendered = make(kind)
    assert rendered.body_format == NotifyFormat.MARKDOWN.value
    html = convert_between(NotifyFormat.MARKDOWN, NotifyFormat.HTML, rendered.body)
    assert f'href="{LINK}"' in html
    text = convert_between(NotifyFormat.HTML, NotifyFormat.TEXT, html)
    assert LINK in text.split()


def test_markdown_block_keeps_its_meaning_under_the_label() -> None:
    rendered = make("email", exercise=True, body="# Evacuate\n\n- stairs only")
    assert rendered.body.startswith("[EXERCISE] **CRITICAL**\n\n# Evacuate")


def test_reminder_and_organisation() -> None:
    rendered = make("chat", reminder=True, org_name="ACME  Ltd")
    assert rendered.title == "Reminder: Fire in building B"
    assert rendered.body.startswith("Reminder: we have not had your answer yet.")
    assert rendered.body.endswith("— ACME Ltd")


@pytest.mark.parametrize("exercise", [False, True])
@pytest.mark.parametrize("body", ["Leave now.", LONG_BODY])
def test_sms_fits_160_characters_and_keeps_the_whole_link(exercise: bool, body: str) -> None:
    rendered = make("sms", exercise=exercise, body=body,
                    title="Fire in building B at the Leeds site, all floors affected")
    assert rendered.body_format == NotifyFormat.TEXT.value
    assert sms_length(rendered) <= SMS_MAXLEN
    assert LINK in rendered.body.split()
    if body == LONG_BODY:
        assert sms_length(rendered) >= SMS_MAXLEN - 15  # the first instruction whole, the rest trimmed
        assert rendered.body.splitlines()[0].endswith("Smoke reported on floor 3.")


def test_sms_shortens_the_call_to_action_before_losing_the_text() -> None:
    options = ("I am safe and outside the building", "I need help from the first aid team")
    rendered = make("sms", options=options, body=LONG_BODY)
    assert sms_length(rendered) <= SMS_MAXLEN
    assert f"Answer: {LINK}" in rendered.body


def test_sms_link_that_cannot_fit_is_an_error() -> None:
    with pytest.raises(ChannelError):
        make("sms", link="https://acks.example.com/a/" + "x" * 200)


def test_sms_respects_a_smaller_service_limit() -> None:
    rendered = make("sms", body=LONG_BODY, service_limits=ServiceLimits(title_maxlen=0, body_maxlen=120))
    assert sms_length(rendered) <= 120 and LINK in rendered.body


def test_markdown_respects_service_limits_and_keeps_the_link() -> None:
    limits = ServiceLimits(title_maxlen=30, body_maxlen=500)
    rendered = make("chat", exercise=True, title="A very long title " * 5, body=LONG_BODY,
                    service_limits=limits)
    assert len(rendered.title) <= 30 and rendered.title.startswith("[EXERCISE] ")
    assert len(rendered.body) <= 500
    assert rendered.body.endswith(f"<{LINK}>") and "…" in rendered.body


def test_markdown_without_title_field_leaves_room_for_the_title() -> None:
    limits = ServiceLimits(title_maxlen=0, body_maxlen=400)
    rendered = make("chat", body=LONG_BODY, service_limits=limits)
    assert len(rendered.title) + 4 + len(rendered.body) <= 400


def test_limits_are_read_from_the_apprise_plugin() -> None:
    assert service_limits("vonage://apikey1:secret12345678@15551234567/{address}", "sms") == \
        ServiceLimits(title_maxlen=0, body_maxlen=160)
    mail = service_limits("mailto://127.0.0.1:25?from=a@example.com&to={address}", "email")
    assert mail.title_maxlen > 0 and mail.body_maxlen >= 10_000


@pytest.mark.parametrize(("severity", "expected"),
                         [("info", "info"), ("warning", "warning"), ("critical", "failure")])
def test_severity_to_notify_type(severity: str, expected: str) -> None:
    assert notify_type_for(severity) == expected


def test_unknown_severity_or_kind_is_an_error() -> None:
    with pytest.raises(ChannelError):
        notify_type_for("apocalyptic")
    with pytest.raises(ChannelError):
        make("email", severity="apocalyptic")
    with pytest.raises(ChannelError):
        make("pigeon")


def test_no_link_no_call_to_action() -> None:
    rendered = make("email", link=None)
    assert "Answer" not in rendered.body and rendered.body == "**CRITICAL:** Leave the building now."


def test_written_out_format_and_type_values_are_apprises() -> None:
    """channels.render names Apprise's values without importing Apprise; they must stay Apprise's."""
    assert (TEXT, MARKDOWN, HTML) == (NotifyFormat.TEXT.value, NotifyFormat.MARKDOWN.value, NotifyFormat.HTML.value)
    assert {severity: NotifyType(value) for severity, value in SEVERITIES.items()} == {
        "info": NotifyType.INFO, "warning": NotifyType.WARNING, "critical": NotifyType.FAILURE}
    assert notify_type_for("critical") == NotifyType.FAILURE.value


# --- email HTML renders no image (a remote one is a tracking pixel) ----------------------

PIXEL_BODY = ("Read the plan. ![Floor plan B](https://tracker.example.net/plan.png?u=42) "
              "![](https://tracker.example.net/pixel.gif) "
              "[![Map](https://tracker.example.net/map.png)](https://maps.example.org/b) "
              '<img src="https://tracker.example.net/raw.gif">')


def test_email_html_has_no_image_and_keeps_the_alt_text() -> None:
    html = as_html(make("email", body=PIXEL_BODY)).body
    assert "<img" not in html
    assert '<a href="https://tracker.example.net/plan.png?u=42">Floor plan B</a>' in html  # opened only if clicked
    assert '<a href="https://maps.example.org/b">Map</a>' in html  # inside a link: its text, no nested link
    assert "pixel.gif" not in html  # no alt text: nothing to show
    assert "&lt;img" in html  # raw HTML typed in the body is shown escaped, never passed on
    assert f'href="{LINK}"' in html


@pytest.mark.parametrize("pre_converted", [True, False], ids=["broadcast-html", "markdown-to-apprise"])
def test_a_real_mail_carries_no_remote_image(mail_sink: MailSink, pre_converted: bool) -> None:
    rendered = make("email", body=PIXEL_BODY)
    if pre_converted:  # what the dispatcher sends; a test send hands Apprise the Markdown
        rendered = as_html(rendered)
    url = f"mailto://127.0.0.1:{mail_sink.port}?from=alerts@example.org&to=ann@example.org&mode=insecure"
    with Deliverer() as deliverer:
        result = deliverer.send(Outgoing(url=url, kind="email", rendered=rendered,
                                         notify_type=notify_type_for("critical"), address="ann@example.org"))
    assert result.ok, result.error
    (mail,) = mail_sink.wait_for(1, timeout=20)
    assert mail.html is not None and "<img" not in mail.html.lower() and "pixel.gif" not in mail.html
    assert "Floor plan B" in mail.html and "Floor plan B" in mail.text and LINK in mail.text
