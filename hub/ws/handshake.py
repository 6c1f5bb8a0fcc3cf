"""Who is opening a WebSocket: the Origin check and the credentials, at the handshake.

Browsers authenticate with the session cookie (``PrincipalMiddleware`` resolved it into
``scope["principal"]``); because a browser sends cookies with any page's WebSocket, the
``Origin`` must be one of ours (``PTSA_ALLOWED_ORIGINS``, the hub's public URL, and in development
the origin the request was addressed to). Other clients pass a bearer token as ``?token=``. A
handshake with a foreign ``Origin`` is refused with 403 whatever the credentials; one without
valid credentials with 401.

Token principals are cached for a few seconds by (staff id, session epoch): after a hub restart
thousands of screens reconnect at once, and one database read per user is enough. A kick drops a
user's cache entries, so a revoked token cannot ride the cache back in.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import Scope

from config.settings import Settings
from hub.auth.principal import Principal, load_principal
from hub.auth.sessions import SessionData
from hub.auth.tokens import TokenSigner
from hub.db import Database
from hub.errors import NotAuthenticated, PtsaError
from hub.queue.devices import cookie_token, device_for_token, device_principal


class HandshakeRefused(PtsaError):
    """The WebSocket handshake is answered with ``status`` instead of being accepted."""


@dataclass(frozen=True, slots=True)
class Identity:
    principal: Principal
    epoch: int  # the session epoch the credential was issued for
    session_id: str | None  # the browser session, None for a token
    expires_at: float | None = None  # a token's end (Unix time); None for a browser session


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def allowed_origins(settings: Settings) -> frozenset[str]:
    return frozenset({*settings.allowed_origins, settings.public_url.rstrip("/")})


def origin_ok(scope: Scope, settings: Settings, allowed: frozenset[str]) -> bool:
    """True when the Origin (if any) is ours."""
    origin = header(scope, b"origin")
    if origin is None:
        return True  # not a browser: no ambient cookie was forged into this request
    origin = origin.rstrip("/")
    if origin in allowed:
        return True
    if not settings.is_production:
        host = header(scope, b"host")
        scheme = "https" if scope.get("scheme") == "wss" else "http"
        return host is not None and origin == f"{scheme}://{host}"
    return False


def query_token(scope: Scope) -> str | None:
    raw = scope.get("query_string", b"").decode("latin-1")
    values = parse_qs(raw).get("token")
    return values[0].strip() if values and values[0].strip() else None


def forget_handshake(scope: Scope) -> None:
    """Let go of what only the handshake needed. The scope lives as long as the socket (uvicorn
    and every middleware frame hold it): its headers (cookies, user agent…, ~1 KiB), the query
    (a bearer token) and the resolved browser session would otherwise stay for hours. The
    identity has been taken out of them; nothing reads them again."""
    scope["headers"] = []
    scope["query_string"] = b""
    scope["subprotocols"] = []
    if "session" in scope:
        scope["session"] = None


class PrincipalCache:
    def __init__(self, db: Database, tokens: TokenSigner, ttl: float = 10.0) -> None:
        self.db = db
        self.tokens = tokens
        self.ttl = ttl
        self._entries: dict[tuple[int, int], tuple[float, Principal]] = {}
        self._shared: weakref.WeakValueDictionary[str, Principal] = \
            weakref.WeakValueDictionary()

    def share(self, principal: Principal) -> Principal:
        """An equal principal that open sockets already hold, else this one (shared from now on).

        Screens reconnect at all hours, so each cache miss loads the account again; without
        this, hundreds of sockets of one account would each keep their own copy of the same row
        (~1.5 KiB with its ORM state). Equal means every column, the scope and the unit level:
        a principal loaded after a change (role, unit, epoch…) is never replaced by an old one.
        """
        held = self._shared.get(principal.username)
        if held is not None and _same(held, principal):
            return held
        self._shared[principal.username] = principal
        return principal

    async def from_token(self, token: str) -> Identity:
        """Raises NotAuthenticated for a bad, expired or revoked token."""
        claims = self.tokens.verify(token)
        key = (claims.staff_id, claims.epoch)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return Identity(hit[1], claims.epoch, None, claims.expires_at)
        async with self.db.read() as session:
            principal = await load_principal(session, claims.staff_id, claims.epoch)
        if principal is None:
            raise NotAuthenticated("the account is inactive or its sessions were revoked; "
                                   "sign in again", code="revoked")
        principal = self.share(principal)
        if len(self._entries) > 10_000:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        self._entries[key] = (now + self.ttl, principal)
        return Identity(principal, claims.epoch, None, claims.expires_at)

    def forget(self, username: str) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v[1].username != username}


def _same(a: Principal, b: Principal) -> bool:
    return (a.scope == b.scope and a.unit_level == b.unit_level
            and a.staff.model_dump() == b.staff.model_dump())


async def identify(scope: Scope, settings: Settings, allowed: frozenset[str],
                   cache: PrincipalCache) -> Identity:
    """The identity behind a WebSocket handshake.

    Raises:
        HandshakeRefused: 403 for a foreign Origin, 401 without valid credentials.
    """
    if not origin_ok(scope, settings, allowed):
        raise HandshakeRefused("this page's origin may not open the hub's WebSocket",
                               code="bad_origin").with_status(403)
    token = query_token(scope)
    if token is not None:
        try:
            return await cache.from_token(token)
        except NotAuthenticated as exc:
            raise HandshakeRefused(exc.message, code=exc.code).with_status(401) from None
    principal: Principal | None = scope.get("principal")
    session: SessionData | None = scope.get("session")
    if principal is not None and session is not None:
        if header(scope, b"origin") is None:
            # A browser always sends Origin; a cookie without one is not a page of ours.
            raise HandshakeRefused("a session cookie needs an Origin header",
                                   code="bad_origin").with_status(403)
        return Identity(cache.share(principal), session.epoch, session.sid)
    device_token = cookie_token(scope)
    if device_token is not None:  # a hall display (hub/queue/devices.py)
        try:
            device = await device_for_token(cache.db, device_token, "display")
        except NotAuthenticated as exc:
            raise HandshakeRefused(exc.message, code=exc.code).with_status(401) from None
        return Identity(device_principal(device), 0, None)
    raise HandshakeRefused("sign in first: a browser session, or ?token= from "
                           "POST /api/v1/auth/token", code="unauthenticated").with_status(401)
