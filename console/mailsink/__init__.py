"""A real SMTP server on loopback: MailSink keeps what it receives (tests, demo inbox);
MailSinkProcess only counts, in its own process (benchmarks)."""

from console.mailsink.process import MailSinkProcess
from console.mailsink.sink import (
           MailSink,
           ReceivedMail,
           html_to_text,
           parse_mail,
           quiet_aiosmtpd,
           start_controller,
)

__all__ = ["MailSink", "MailSinkProcess", "ReceivedMail", "html_to_text", "parse_mail", "quiet_aiosmtpd",
           "start_controller"]
