"""A real SMTP server on loopback: MailSink keeps what it receives (tests, demo inbox).

The benchmarks' counting receiver in its own process is console.bench.mailsink.MailSinkProcess."""

from console.mailsink.sink import MailSink, ReceivedMail, html_to_text, parse_mail, quiet_aiosmtpd, start_controller

__all__ = ["MailSink", "ReceivedMail", "html_to_text", "parse_mail", "quiet_aiosmtpd", "start_controller"]
