"""Handing one notification to the SMTP server or the SMS gateway, around a point of no return.

``Transports.send(row, committing)`` awaits ``committing()`` at the last moment before the message
may leave our hands: for e-mail after the server accepted ``MAIL FROM`` and ``RCPT TO`` and just
before ``DATA``; for SMS just before the HTTP request. Until then a crash cannot have delivered
anything, so ``workers/notify.py`` may safely send again; after it, it cannot know (see the
"exactly once" section of that module).

The transports themselves (URL parsing, message building, error classification) are
``workers/email.py`` and ``workers/sms.py``; this module only adds the commit point.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiosmtplib

from config.settings import Settings
from hub.models import Notification
from workers.email import DeliveryError, SmtpConfig, _classify, build_message, parse_smtp_url
from workers.sms import SmsGateway

Committing = Callable[[], Awaitable[None]]


class _CommitPointSMTP(aiosmtplib.SMTP):
    """An SMTP client that awaits ``before_data`` after the envelope is accepted, before DATA."""

    def __init__(self, before_data: Committing, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._before_data = before_data

    async def data(self, *args: Any, **kwargs: Any) -> Any:
        await self._before_data()
        return await super().data(*args, **kwargs)


async def send_email_committing(config: SmtpConfig, mail_from: str, to: str, subject: str,
                                body: str, message_id: str, committing: Committing) -> str:
    """Send one message (one SMTP session) and return its Message-ID.

    Raises:
        DeliveryError: the server did not take it; ``permanent`` says whether to retry.
    """
    message = build_message(mail_from, to, subject, body, None, message_id)
    client = _CommitPointSMTP(committing, hostname=config.host, port=config.port,
                              username=config.username, password=config.password,
                              use_tls=config.use_tls, start_tls=config.starttls,
                              timeout=config.timeout)
    try:
        async with client:
            await client.send_message(message)
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError, TimeoutError) as exc:
        raise _classify(exc, config, to) from exc
    return str(message["Message-ID"])


class Transports:
    """The configured channels; a channel whose URL is unset is ``missing`` (rows are held)."""

    def __init__(self, settings: Settings) -> None:
        self.mail_from = settings.mail_from
        self.smtp = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self.sms = (SmsGateway(settings.sms_url, settings.sms_method, settings.sms_fields)
                    if settings.sms_url else None)

    def missing(self, channel: str) -> str | None:
        """Why ``channel`` cannot send now, or None when it can."""
        if channel == "email" and self.smtp is None:
            return "PTSA_SMTP_URL is not set: e-mail is kept until it is configured"
        if channel == "sms" and self.sms is None:
            return "PTSA_SMS_URL is not set: SMS is kept until it is configured"
        return None

    async def send(self, row: Notification, message_id: str, committing: Committing) -> str:
        """Send one row; returns a reference (Message-ID or the gateway's answer).

        Raises:
            DeliveryError: not delivered; ``permanent`` says whether a retry can help.
        """
        if row.channel == "email" and self.smtp is not None:
            return await send_email_committing(self.smtp, self.mail_from, row.recipient,
                                               row.subject, row.body, message_id, committing)
        if row.channel == "sms" and self.sms is not None:
            await committing()
            return await self.sms.send(row.recipient, row.body)
        raise DeliveryError(self.missing(row.channel) or f"unknown channel {row.channel!r}",
                            permanent=False)
