"""Handing one notification to the SMTP server or the SMS gateway, around a point of no return.

``Transports.send(row, committing)`` awaits ``committing()`` at the last moment before the message
may leave our hands: for e-mail after the server accepted ``MAIL FROM`` and ``RCPT TO`` and just
before ``DATA``; for SMS just before the HTTP request. Until then a crash cannot have delivered
anything, so ``workers/notify/outbox.py`` may safely send again; after it, it cannot know (see the
"exactly once" section of that module).

The transports themselves (URL parsing, error classification, the SMS gateway) are
``workers/notify/email.py`` and ``workers/notify/sms.py``; this module composes the e-mail cheaply
(``compose``) and sends it over reused SMTP sessions (``workers/notify/smtp_pool.py``).
"""

from __future__ import annotations

import binascii
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from typing import TYPE_CHECKING

from config.settings import Settings
from workers.notify.email import DeliveryError, parse_smtp_url
from workers.notify.sms import SmsGateway
from workers.notify.smtp_pool import Committing, SmtpPool

if TYPE_CHECKING:
    from workers.notify.outbox import Claimed


def compose(mail_from: str, to: str, subject: str, body: str, message_id: str) -> bytes:
    """The message as bytes: one text/plain UTF-8 part, quoted-printable, stable Message-ID.

    The stdlib's ``EmailMessage`` API parses every header it sets, then encodes quoted-printable
    in pure Python: about 2.5 ms a message. A burst of breaches sends hundreds a second, so the
    worker assembles this one simple part itself, encodes with ``binascii`` (C), and checks the
    addresses itself (one mailbox, a dot-atom local part, no header injection).

    Raises:
        DeliveryError: (permanent) an address or the message id is unusable.
    """
    name, sender = parseaddr(mail_from)
    for what, address in (("PTSA_MAIL_FROM", sender), ("recipient", to)):
        local, at, domain = address.rpartition("@")
        if not (local and at and domain) or any(c.isspace() or c in "<>,;\"" for c in address) \
                or "@" in local or ".." in local or local.startswith(".") or local.endswith("."):
            raise DeliveryError(f"{what} must be one e-mail address such as "
                                f"penyelia@kemnaker.go.id; got {address!r}", permanent=True)
    if not message_id or any(c.isspace() or c in "<>" for c in message_id):
        raise DeliveryError(f"message_id must look like token@host; got {message_id!r}",
                            permanent=True)
    # A task title pasted into the subject may carry line breaks; headers must not.
    flat = " ".join(subject.split())
    headers = [
        f"From: {formataddr((name, sender), charset='utf-8')}",
        f"To: {to}",
        f"Subject: {flat if flat.isascii() else Header(flat, 'utf-8').encode()}",
        f"Date: {formatdate(localtime=True)}",
        f"Message-ID: <{message_id}@{sender.rpartition('@')[2]}>",
        "Auto-Submitted: auto-generated",  # RFC 3834: no out-of-office replies to us
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
    ]
    encoded = binascii.b2a_qp(body.replace("\r\n", "\n").encode("utf-8"), istext=True)
    # LF line ends: aiosmtplib turns every line end into CRLF on the wire.
    return ("\n".join(headers) + "\n\n").encode("ascii") + encoded


class Transports:
    """The configured channels; a channel whose URL is unset is ``missing`` (rows are held)."""

    def __init__(self, settings: Settings) -> None:
        self.mail_from = settings.mail_from
        self.sender = parseaddr(settings.mail_from)[1]
        self.smtp = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self.smtp_pool = SmtpPool(self.smtp) if self.smtp else None
        self.sms = (SmsGateway(settings.sms_url, settings.sms_method, settings.sms_fields)
                    if settings.sms_url else None)

    def missing(self, channel: str) -> str | None:
        """Why ``channel`` cannot send now, or None when it can."""
        if channel == "email" and self.smtp is None:
            return "PTSA_SMTP_URL is not set: e-mail is kept until it is configured"
        if channel == "sms" and self.sms is None:
            return "PTSA_SMS_URL is not set: SMS is kept until it is configured"
        return None

    async def send(self, row: Claimed, committing: Committing) -> str:
        """Send one row; returns a reference (Message-ID or the gateway's answer).

        Raises:
            DeliveryError: not delivered; ``permanent`` says whether a retry can help.
        """
        if row.channel == "email" and self.smtp_pool is not None:
            data = compose(self.mail_from, row.recipient, row.subject, row.body, row.message_id)
            await self.smtp_pool.send(self.sender, row.recipient, data, committing)
            return row.message_id
        if row.channel == "sms" and self.sms is not None:
            await committing()
            return await self.sms.send(row.recipient, row.body, ref=row.message_id)
        raise DeliveryError(self.missing(row.channel) or f"unknown channel {row.channel!r}",
                            permanent=False)

    async def close(self) -> None:
        if self.smtp_pool is not None:
            await self.smtp_pool.close()
