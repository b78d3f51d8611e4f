"""A critical alert must reach the inbox: SpamAssassin (local rules) scores the real mail below 1.0.

The mail is the one the send path delivers (command line, dispatcher, Apprise, SMTP) as the
sink received it, byte for byte. ``spamassassin -t -L`` runs the local rules only (no DNS or
network checks), with Bayes off so the score does not depend on what it learnt before.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from console.mailsink import MailSink
from tests.conftest import unavailable
from tests.helpers.broadcastmail import send, set_up

if TYPE_CHECKING:
    from tests.conftest import CliRunner

pytestmark = pytest.mark.slow

LIMIT = 1.0
_STATUS = re.compile(r"^X-Spam-Status: (?P<verdict>\w+), score=(?P<score>-?\d+(?:\.\d+)?)"
                     r".*?tests=(?P<tests>[^\n]*(?:\n[ \t][^\n]*)*)", re.MULTILINE | re.DOTALL)


def spam_score(raw: bytes, home: Path) -> tuple[float, str]:
    """(score, names of the rules that fired) from ``spamassassin -t -L`` on ``raw``."""
    binary = shutil.which("spamassassin")
    if binary is None:
        unavailable("spamassassin is not installed (Debian package spamassassin; tests/setup-and-run.sh)")
    home.mkdir(exist_ok=True)
    out = subprocess.run(
        [binary, "-t", "-L", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0"], input=raw, capture_output=True,
        timeout=180, check=False, env={**os.environ, "HOME": str(home)})  # its user files stay in tmp_path
    report = out.stdout.decode("utf-8", "replace")
    found = _STATUS.search(report)
    assert found is not None, f"no X-Spam-Status (exit {out.returncode}): {out.stderr.decode(errors='replace')}"
    return float(found.group("score")), " ".join(found.group("tests").split())


def test_a_critical_alert_scores_below_one(cli: CliRunner, sqlite_url: str, tmp_path: Path,
                                           mail_sink: MailSink) -> None:
    set_up(cli, sqlite_url, tmp_path, mail_sink.port)
    (sent,) = send(cli, sqlite_url, mail_sink, "--severity", "critical", "--safety-check")
    assert sent.message.get_all("X-Priority") == ["1 (Highest)"]  # the urgent headers are in what is scored
    score, rules = spam_score(sent.mail.raw, tmp_path / "home")
    assert score < LIMIT, f"SpamAssassin scored the critical alert {score}: {rules}"


def test_the_scorer_does_score(tmp_path: Path) -> None:
    """The check can fail: a mail built like spam scores well above the limit."""
    spammy = (b"From: WINNER <winner@example.com>\r\nTo: you@example.org\r\nSubject: FREE MONEY!!! ACT NOW!!!\r\n"
              b"Content-Type: text/html\r\n\r\n<html><body><font size=7>100% FREE!!! Click here to claim your "
              b"prize. Viagra. Guaranteed. No risk. Lose weight fast. Make money fast. Dear friend, this is "
              b"not spam.</font></body></html>\r\n")
    score, rules = spam_score(spammy, tmp_path / "home")
    assert score > LIMIT, rules
