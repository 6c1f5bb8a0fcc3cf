"""SMTP sessions kept open and reused, each message with its own point of no return.

A session per message spends four of its seven round trips (connect and banner, EHLO, QUIT) on
ceremony, on our side and the server's. A burst of breaches sends hundreds of messages a second,
so ``SmtpPool`` keeps up to ``size`` sessions open and sends consecutive messages over them:
``MAIL FROM``, ``RCPT TO``, then ``committing()``, then ``DATA``.

A reused session the server has meanwhile closed fails at ``MAIL FROM``, before the commit point, so
the message is sent again on a fresh session at once. Any other failure closes the session; the
caller (``workers/notify/sender.py``) decides about retrying. Sessions idle for ``IDLE_S`` or used
for ``MAX_MESSAGES`` messages are closed, as servers expect. """

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiosmtplib

from workers.notify.email import SmtpConfig, _classify

Committing = Callable[[], Awaitable[None]]
IDLE_S = 20.0
MAX_MESSAGES = 100
SMTP_ERRORS = (aiosmtplib.SMTPException, OSError, ssl.SSLError, TimeoutError)


class _Session(aiosmtplib.SMTP):
    """An SMTP client that awaits the current message's commit point just before DATA."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.committing: Committing | None = None
        self.committed = False
        self.sent = 0
        self.idle_since = time.monotonic()

    async def data(self, *args: Any, **kwargs: Any) -> Any:
        if self.committing is not None:
            await self.committing()
        self.committed = True
        return await super().data(*args, **kwargs)


class SmtpPool:
    def __init__(self, config: SmtpConfig, size: int = 20) -> None:
        self.config = config
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Session] = []

    async def send(self, sender: str, to: str, data: bytes, committing: Committing) -> None:
        """Send one message.

        Raises:
            DeliveryError: the server did not take it; ``permanent`` says whether to retry.
        """
        async with self._slots:
            session = self._take_idle()
            if session is not None:
                try:
                    await self._send_on(session, sender, to, data, committing)
                    return
                except SMTP_ERRORS as exc:
                    if session.committed or not isinstance(
                            exc, aiosmtplib.SMTPServerDisconnected | ConnectionError):
                        raise _classify(exc, self.config, to) from exc
                    # The server closed the idle session; nothing was handed over: go again.
            try:
                session = await self._connect()
                await self._send_on(session, sender, to, data, committing)
            except SMTP_ERRORS as exc:
                raise _classify(exc, self.config, to) from exc

    async def _send_on(self, session: _Session, sender: str, to: str, data: bytes,
                       committing: Committing) -> None:
        session.committing, session.committed = committing, False
        try:
            await session.sendmail(sender, [to], data)
        except BaseException:
            session.close()  # no QUIT: the session is in an unknown state
            raise
        session.committing = None
        session.sent += 1
        session.idle_since = time.monotonic()
        if session.sent >= MAX_MESSAGES:
            await _close(session)
        else:
            self._idle.append(session)

    def _take_idle(self) -> _Session | None:
        now = time.monotonic()
        while self._idle:
            session = self._idle.pop()
            if now - session.idle_since < IDLE_S and session.is_connected:
                return session
            session.close()  # the server has likely given up on it; no QUIT needed
        return None

    async def _connect(self) -> _Session:
        c = self.config
        session = _Session(hostname=c.host, port=c.port, username=c.username,
                           password=c.password, use_tls=c.use_tls, start_tls=c.starttls,
                           timeout=c.timeout)
        await session.connect()
        return session

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_close(session) for session in idle))


async def _close(session: _Session) -> None:
    if session.is_connected:
        with contextlib.suppress(*SMTP_ERRORS):
            await asyncio.wait_for(session.quit(), 1)  # a polite QUIT, but never a slow stop
    session.close()
