"""Email: the SMTP mailer, the message templates, the voicemail and missed-call notifier."""

from centralino.notify.mailer import Mailer, MailError, SmtpMailer
from centralino.notify.notifier import EmailNotifier

__all__ = ["EmailNotifier", "MailError", "Mailer", "SmtpMailer"]
