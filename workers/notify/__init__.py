"""The notification outbox and everything that sends: SMTP, the SMS gateway, the texts."""
