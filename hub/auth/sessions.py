"""Browser sessions: a signed cookie holding a random session id; the session itself in Redis.

Server-side sessions (rather than a signed cookie holding the data) are what let sign-out and
deactivation take effect at once: deleting ``ptsa:session:<sid>`` ends the session everywhere,
and a message on ``ptsa:kick`` makes every hub process close that session's sockets.

``PrincipalMiddleware`` resolves the cookie for HTTP and WebSocket scopes alike and puts the
``Principal`` in ``scope["principal"]`` (and the session in ``scope["session"]``), so pages, the
JSON API and ``/ws`` share one authentication path.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from http.cookies import SimpleCookie
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from redis.asyncio import Redis
from starlette.types import ASGIApp, Receive, Scope, Send

from channels import names

COOKIE_NAME = "ptsa_session"
_SALT = "ptsa.session.v1"


@dataclass(frozen=True)
class SessionData:
    sid: str
    staff_id: int
    epoch: int
    csrf: str
    created: float
    language: str = "id"


class SessionStore:
    def __init__(self, redis: Redis, secret_key: str, max_age_seconds: int) -> None:
        self.redis = redis
        self.max_age = max_age_seconds
        self._signer = URLSafeSerializer(secret_key, salt=_SALT)

    async def create(self, staff_id: int, epoch: int, language: str = "id") -> tuple[SessionData,
                                                                                        str]:
        """A new session; returns it and the cookie value to set."""
        data = SessionData(secrets.token_urlsafe(24), staff_id, epoch,
                           secrets.token_urlsafe(32), time.time(), language)
        await self.redis.set(names.session_key(data.sid), json.dumps(asdict(data)),
                             ex=self.max_age)
        return data, self._signer.dumps(data.sid)

    async def load(self, cookie: str | None) -> SessionData | None:
        if not cookie:
            return None
        try:
            sid = self._signer.loads(cookie)
        except BadSignature:
            return None
        raw = await self.redis.get(names.session_key(str(sid)))
        if raw is None:
            return None
        return SessionData(**json.loads(raw))

    async def update(self, data: SessionData) -> None:
        await self.redis.set(names.session_key(data.sid), json.dumps(asdict(data)),
                             keepttl=True)

    async def destroy(self, data: SessionData, username: str) -> None:
        await self.redis.delete(names.session_key(data.sid))
        await kick(self.redis, username, data.sid)


async def kick(redis: Redis, username: str, session_id: str | None = None) -> None:
    """Tell every hub process to close ``username``'s sockets (one session's, or all)."""
    await redis.publish(names.KICK_KEY, json.dumps({"username": username, "session": session_id}))


def cookie_from_scope(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is the same as no session
                return None
            morsel = jar.get(COOKIE_NAME)
            return morsel.value if morsel else None
    return None


class PrincipalMiddleware:
    """Puts ``scope["principal"]`` (or None) on every HTTP and WebSocket request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Without a cookie to resolve it hands back the next app's coroutine instead of awaiting
        # it: no frame of this middleware stays suspended for a WebSocket's hours.
        if scope["type"] in ("http", "websocket"):
            scope["principal"] = None
            scope["session"] = None
            cookie = cookie_from_scope(scope)
            if cookie:
                return self._resolved(cookie, scope, receive, send)
        return self.app(scope, receive, send)

    async def _resolved(self, cookie: str, scope: Scope, receive: Receive, send: Send) -> None:
        await _resolve(scope, cookie)
        await self.app(scope, receive, send)


async def _resolve(scope: Scope, cookie: str) -> None:
    from hub.auth.principal import load_principal

    ctx: Any = scope["app"].state.ctx
    session = await ctx.sessions.load(cookie)
    if session is None:
        return
    async with ctx.db.read() as db_session:
        principal = await load_principal(db_session, session.staff_id, session.epoch)
    if principal is not None:
        scope["principal"] = principal
        scope["session"] = session
