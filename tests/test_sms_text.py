"""The 160-character SMS leads with what counts: title, first instruction, answer link; then the rest."""

from __future__ import annotations

import pytest

from channels import Rendered, ServiceLimits, render
from channels.render import ELLIPSIS, SMS_MAXLEN
from tests.helpers.broadcastmail import FIRE_BODY, FIRE_TITLE

LINK = "https://alerts.acme-rail.example/a/_Tk9-x_QzW2vLmN8pRsT4u_aB3dE6gHj"  # a 32-character token
OPTIONS = ("I'm safe", "I need help")
INSTRUCTION = "Leave building B now by the nearest stairs; do not use the lifts."


def sms(body: str = FIRE_BODY, **overrides: object) -> Rendered:
    args: dict[str, object] = dict(title=FIRE_TITLE, body=body, severity="critical", exercise=False,
                                   link=LINK, options=OPTIONS)
    args.update(overrides)
    return render("sms", **args)  # type: ignore[arg-type]


def shown(rendered: Rendered) -> str:
    """What the phone shows: Apprise puts the title on its own line before the body."""
    return f"{rendered.title}\r\n{rendered.body}" if rendered.title else rendered.body


def test_a_long_fire_message_keeps_title_instruction_and_link_first() -> None:
    rendered = sms()
    text = shown(rendered)
    assert len(text) <= SMS_MAXLEN
    lines = rendered.body.splitlines()
    assert rendered.title == FIRE_TITLE
    assert lines[0] == INSTRUCTION  # the first instruction, whole
    assert lines[1] == LINK  # the link, whole; no room for "Answer:" too, and the instruction comes first
    assert LINK in text.split()
    assert "Smoke was reported on floor 3 at 14:05 and the fire brigade is on its way." not in text  # prose trimmed
    assert lines[-1].endswith(ELLIPSIS)  # and the reader can tell there is more


def test_prose_fills_what_is_left_in_whole_sentences() -> None:
    body = "Leave now. Use the stairs. Meet at point C. The fire brigade has been called and is on the way here."
    rendered = sms(body, options=("Acknowledge",))
    lines = rendered.body.splitlines()
    assert lines[0] == "Leave now."
    assert lines[1] == f"Acknowledge: {LINK}"
    assert lines[2].startswith("Use the stairs. Meet at point C.")  # whole sentences first
    assert len(shown(rendered)) <= SMS_MAXLEN and lines[2].endswith(ELLIPSIS)


def test_a_short_message_is_sent_whole() -> None:
    rendered = sms("Leave now. Use the stairs.")
    assert rendered.body == f"Leave now.\nAnswer (I'm safe / I need help): {LINK}\nUse the stairs."
    assert ELLIPSIS not in shown(rendered)


def test_the_call_to_action_shortens_before_the_instruction_is_cut() -> None:
    long_options = ("I am safe and outside the building", "I need help from the first aid team")
    rendered = sms("Leave building B now by the nearest stairs.", options=long_options)
    lines = rendered.body.splitlines()
    assert lines == ["Leave building B now by the nearest stairs.", f"Answer: {LINK}"]
    assert len(shown(rendered)) <= SMS_MAXLEN


def test_an_instruction_too_long_for_the_room_is_cut_never_the_link() -> None:
    body = "Leave " + "the building by the nearest stairs and " * 8 + "wait outside. More text follows here."
    rendered = sms(body)
    assert len(shown(rendered)) <= SMS_MAXLEN
    assert LINK in rendered.body.split()
    first = rendered.body.splitlines()[0]
    assert first.startswith("Leave the building") and first.endswith(ELLIPSIS)
    assert "More text" not in rendered.body  # no prose after a cut instruction


@pytest.mark.parametrize("reminder", [False, True])
def test_exercise_label_leads_the_body_and_the_title(reminder: bool) -> None:
    rendered = sms(exercise=True, reminder=reminder)
    assert rendered.title.startswith("[EXERCISE] ")
    assert rendered.body.splitlines()[0].startswith("[EXERCISE] Leave building B now by the nearest")
    assert ("Reminder:" in rendered.title) is reminder
    assert len(shown(rendered)) <= SMS_MAXLEN and LINK in rendered.body.split()


def test_markdown_heading_and_list_become_instruction_and_prose() -> None:
    rendered = sms("# Evacuate building B\n\n- use the **north** stairs\n- do not use the lifts\n\n"
                   "[Site map](https://maps.example.org/b)", options=("Acknowledge",))
    lines = rendered.body.splitlines()
    assert lines[0] == "Evacuate building B"
    assert lines[1] == f"Acknowledge: {LINK}" and lines[2].startswith("use the north stairs; do not use the")
    assert "#" not in rendered.body and "**" not in rendered.body
    assert len(shown(rendered)) <= SMS_MAXLEN


def test_a_service_with_a_title_field_and_a_smaller_limit() -> None:
    rendered = sms(service_limits=ServiceLimits(title_maxlen=20, body_maxlen=140))
    assert len(rendered.title) <= 20 and len(rendered.body) <= 140  # the title does not count here
    assert rendered.body.splitlines()[:2] == [INSTRUCTION, LINK]
    cramped = sms(service_limits=ServiceLimits(title_maxlen=20, body_maxlen=120))
    assert len(cramped.body) <= 120 and LINK in cramped.body.split()
    assert cramped.body.startswith("Leave building B now") and cramped.body.splitlines()[0].endswith(ELLIPSIS)
