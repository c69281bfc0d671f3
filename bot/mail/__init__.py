"""Outgoing mail: the SMTP adapter behind the services' MailPort."""
