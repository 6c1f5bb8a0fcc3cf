"""A real SMTP server (aiosmtpd) for notification tests: it records what it accepts, with the
time of receipt, and can be told to stall at RCPT or DATA so a test can kill a sender mid-send."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    message: EmailMessage
    recipients: list[str]
    at: float  # time.time() of the final reply to DATA

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class Mailbox:
    """The handler. ``stall_at`` = "rcpt" or "data" holds the reply until ``release()``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.stall_at: str | None = None
        self.refuse: str | None = None  # an SMTP reply to every RCPT, e.g. "550 5.1.1 unknown"
        self.stalled = asyncio.Event()
        self._release = asyncio.Event()
        self.arrived = asyncio.Condition()

    def release(self) -> None:
        self.stall_at = None
        self._release.set()

    async def _maybe_stall(self, where: str) -> None:
        if self.stall_at == where:
            self.stalled.set()
            await self._release.wait()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        await self._maybe_stall("rcpt")
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        # Recorded before the stall: from here on the server has the message, whatever the
        # client does next (the "delivering" window of workers/notify/outbox.py).
        self.received.append(Received(parsed, list(envelope.rcpt_tos), time.time()))
        async with self.arrived:
            self.arrived.notify_all()
        await self._maybe_stall("data")
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]


@asynccontextmanager
async def smtp_server(handler: Mailbox, port: int = 0) -> AsyncIterator[int]:
    """Serve ``handler`` on 127.0.0.1 (``port`` 0: any free port); yields the port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mail.kemnaker.test"), "127.0.0.1", port)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
