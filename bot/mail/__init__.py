"""Outgoing mail: the SMTP adapter and the emails the bot sends."""
