"""``/ws``: the live WebSocket endpoint, and the start-up of everything real-time in a web process.

The endpoint is plain ASGI, served by ``WebSocketMiddleware`` (no router, no per-message wrapper
objects): handshake checks (``hub.ws.handshake``), then a receive loop handing each text frame to
its ``Connection``. Outgoing frames never pass through this loop: the fan-out
(``channels.realtime``) pushes them straight to each connection's ``Outbound``.

``start_realtime`` is the web process's starter: the relay (fast path + sweep), the Redis
subscriber and fan-out, the kick listener and the periodic sign-in recheck.

Subscriptions are re-authorised, not only checked once: an event that moves a task makes each
process re-check its own subscribers of that task's channel before forwarding it
(``reauthorise``), and the periodic recheck runs ``may_subscribe`` over every subscription.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable

from sqlmodel import col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channels import names
from channels import protocol as proto
from channels.history import History
from channels.permissions import may_subscribe, moves_task
from channels.realtime import Realtime, Subscription
from hub.auth.principal import Principal
from hub.background import Loops
from hub.context import AppContext
from hub.domain.tasks import can_view
from hub.models import Task
from hub.tasks.commands import actor_of, state_of
from hub.ws.connection import Connection
from hub.ws.gc_governor import CollectorGovernor
from hub.ws.handshake import (
    HandshakeRefused,
    PrincipalCache,
    allowed_origins,
    forget_handshake,
    identify,
)
from hub.ws.outbound import fan_out
from hub.ws.registry import ConnectionRegistry
from hub.ws.wire import prepared_message, wire_writer

log = logging.getLogger(__name__)
# Connections re-checked between two yields to the event loop (recheck_subscriptions).
_RECHECK_SLICE = 250

WS_PATH = "/ws"


class WebSocketHub:
    """The process's WebSocket side (``ctx.ws``; built and started by hub/app.py)."""

    def __init__(self, ctx: AppContext, history: History) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.allowed = allowed_origins(ctx.settings)
        self.principals = PrincipalCache(ctx.db, ctx.tokens)
        self.registry = ConnectionRegistry()
        # Fan-out frames are prepared for the wire once per event, not framed once per socket.
        self.realtime = Realtime(ctx.settings.redis_url or "", history, prepared_message,
                                 self.on_kick, pending_limit=ctx.settings.ws_queue_size,
                                 reauthorise=self.reauthorise, moves=moves_task,
                                 queue_url=ctx.settings.queue_url, fan_out=fan_out)
        self.collector = CollectorGovernor(lambda: len(self.registry))
        self._loops = Loops()
        # Sockets past their connect message, signed in or still in the handshake (which may
        # ask the database): what PTSA_WS_MAX_CONNECTIONS bounds, so a burst of handshakes
        # cannot all slip in before the first of them is registered.
        self.admitted = 0
        self.refused_full = 0  # sockets closed with 1013 since the process started
        self.saturated = False  # reached the cap, not yet back down to ``rejoin_at``
        self._warned_full = False

    @property
    def full(self) -> bool:
        """At the cap: a new socket is closed with 1013."""
        return self.admitted >= self.settings.ws_max_connections

    @property
    def rejoin_at(self) -> int:
        """Once the cap is reached, /healthz says "full" until no more than this many sockets are
        open: 5 % of the cap (at least one socket) below it. Without that room a full hub behind
        HAProxy went UP as one screen left and DOWN as the next arrived, over and over."""
        cap = self.settings.ws_max_connections
        return cap - max(1, cap // 20)

    def health(self) -> str:
        """``/healthz``'s ``websockets`` check: "ok", or "full: N of M open" (then /healthz is
        503 and HAProxy sends new connections to the other hubs; /healthz/live stays 200)."""
        if not self.saturated:
            return "ok"
        text = f"full: {self.admitted} of {self.settings.ws_max_connections} open"
        return text if self.full else f"{text}; healthy again at {self.rejoin_at}"

    def stats(self) -> dict[str, int]:
        return {"open": self.admitted, "max": self.settings.ws_max_connections,
                "refused_full": self.refused_full}

    def start(self) -> None:
        self.realtime.start()
        self._loops.spawn(self._recheck_loop(), "ws-recheck")
        self.collector.start()

    async def stop(self) -> None:
        await self._loops.stop()  # a re-check in progress ends first (hub/background.py)
        for conn in list(self.registry):
            conn.close(proto.CLOSE_RESTART, "the hub is restarting; reconnect with since")
        await self.realtime.stop()
        await self.collector.stop()

    def on_kick(self, data: str) -> None:
        try:
            message = json.loads(data)
            username, session = message["username"], message.get("session")
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed kick message: %r", data[:200])
            return
        self.principals.forget(username)
        self.registry.kick(username, session, proto.CLOSE_SESSION_ENDED,
                           "signed out: sign in again")

    async def _recheck_loop(self) -> None:
        while not await self._loops.pause(self.settings.ws_recheck_interval.total_seconds()):
            try:
                await self.registry.recheck(self.ctx.db, self.ctx.redis,
                                            proto.CLOSE_SESSION_ENDED, "sign in again")
            except Exception as exc:  # the database or Redis is away; try again next round
                log.warning("WebSocket sign-in recheck failed: %s", exc)
                continue
            try:
                await self.recheck_subscriptions()
            except Exception as exc:
                log.warning("WebSocket subscription recheck failed: %s", exc)

    async def _task_states(self, ids: set[int]) -> dict[int, Task]:
        found: dict[int, Task] = {}
        wanted = sorted(ids)
        async with self.ctx.db.read() as session:
            for start in range(0, len(wanted), 500):
                rows = await session.exec(
                    select(Task).where(col(Task.id).in_(wanted[start:start + 500])))
                found.update((t.id or 0, t) for t in rows.all())
        return found

    async def recheck_subscriptions(self) -> int:
        """Run the subscribe rule over every subscription of this process (tasks read in one
        pass); drop those that no longer pass. Returns how many were dropped."""
        conns = [c for c in self.registry if isinstance(c, Connection) and c.subs]
        ids = {int(p.key) for c in conns for ch in c.subs
               if (p := names.parse_channel(ch)) is not None and p.kind == "task"}
        tasks = await self._task_states(ids) if ids else {}

        async def visible(principal: Principal, task_id: int) -> bool:
            task = tasks.get(task_id)
            return task is not None and can_view(state_of(task),
                                                 actor_of(principal.staff, principal.scope))

        dropped = 0
        for done, conn in enumerate(conns, 1):
            if done % _RECHECK_SLICE == 0:
                # At 10,000 sockets the pass is ~20,000 rule checks: in one go it held the
                # event loop for tens of milliseconds every PTSA_WS_RECHECK, and the benchmark
                # saw a 45 ms pause in the 10,000-board window; in slices, the fan-out goes on
                # between them. A socket closed meanwhile has no subscriptions left to check.
                await asyncio.sleep(0)
            for channel in list(conn.subs):
                if not await may_subscribe(conn.principal, channel, visible):
                    conn.revoke(channel, proto.UNSUB_FORBIDDEN)
                    dropped += 1
        if dropped:
            log.info("dropped %d subscription(s) their users may no longer see", dropped)
        return dropped

    async def reauthorise(self, channel: str, subs: list[Subscription]) -> None:
        """Before a task-moving event goes out on ``task.<id>``: unsubscribe this process's
        subscribers who may no longer see the task. Fails closed: if the task cannot be read,
        every subscriber is dropped (they may subscribe again, which checks afresh)."""
        parsed = names.parse_channel(channel)
        if parsed is None or parsed.kind != "task":
            return
        task: Task | None = None
        try:
            async with self.ctx.db.read() as session:
                task = await session.get(Task, int(parsed.key))
        except Exception as exc:
            log.warning("could not re-check the subscribers of %s: %s", channel, exc)
        for sub in subs:
            conn = sub.owner
            if not isinstance(conn, Connection):
                continue
            staff = conn.principal.staff
            if task is None or not can_view(state_of(task), actor_of(staff,
                                                                     conn.principal.scope)):
                conn.revoke(channel, proto.UNSUB_TASK_MOVED)

    async def task_visible(self, principal: Principal, task_id: int) -> bool:
        async with self.ctx.db.read() as session:
            task = await session.get(Task, task_id)
        return task is not None and can_view(state_of(task),
                                             actor_of(principal.staff, principal.scope))

    # --- the endpoint ----------------------------------------------------------------------
    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if self.full:
            # Refused before the handshake's checks (no database, no token) and after an
            # accept, with 1013 "try again later" (RFC 6455): an HTTP 503 at the handshake
            # reaches a page's script only as an unexplained 1006, while 1013 and its reason
            # are readable, documented (docs/PROTOCOL.md), and retried by the board's back-off
            # like 1012 (web/static/js/live.js) — not a 4xxx, which makes it check its sign-in.
            self.refused_full += 1
            if not self._warned_full:
                self._warned_full = True
                log.warning("WebSocket cap reached (%d, PTSA_WS_MAX_CONNECTIONS): new sockets "
                            "are closed with 1013 and /healthz answers 503",
                            self.settings.ws_max_connections)
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": proto.CLOSE_TRY_AGAIN_LATER,
                        "reason": "this hub process is full; try again later"})
            return
        self.admitted += 1
        self.saturated = self.saturated or self.full
        try:
            try:
                identity = await identify(scope, self.settings, self.allowed, self.principals)
            except HandshakeRefused as exc:
                await _refuse(scope, send, exc)
                return
            await send({"type": "websocket.accept"})
            forget_handshake(scope)
            cap = self.settings.ws_max_sockets_per_account
            if self.registry.count(identity.principal.username) >= cap:
                # Accepted first so that a browser can read the code (a refused handshake is
                # only "failed" to a page's script).
                await send({"type": "websocket.close", "code": proto.CLOSE_TOO_MANY_SOCKETS,
                            "reason": f"at most {cap} open connections per account"})
                return
            conn = Connection(identity, send, self.realtime, self.task_visible,
                              queue_size=self.settings.ws_queue_size,
                              max_subscriptions=self.settings.ws_max_subscriptions,
                              write=wire_writer(scope))
            self.registry.add(conn)
            self.collector.opened()
            limit = self.settings.ws_max_message_bytes
            try:
                while True:
                    # No local holds the message dict: this frame lives as long as the socket.
                    kind, text = _kind_and_text(await receive())
                    if kind == "websocket.receive":
                        if text is None:
                            conn.refuse_binary()
                        elif len(text) > limit // 4 and len(text.encode()) > limit:
                            # uvicorn's --ws-max-size closes first; this holds under any server.
                            conn.close(proto.CLOSE_TOO_BIG, "message too big")
                        else:
                            await conn.handle(text)
                        text = None
                    elif kind == "websocket.disconnect":
                        break
            finally:
                self.registry.remove(conn)
                self.collector.closed()
                conn.detach()
        finally:
            self.admitted -= 1
            if self.saturated and self.admitted <= self.rejoin_at:
                self.saturated = False
                if self._warned_full:
                    self._warned_full = False
                    log.info("WebSocket cap no longer reached: %d of %d open", self.admitted,
                             self.settings.ws_max_connections)


class WebSocketMiddleware:
    """Serves ``/ws`` WebSocket scopes; passes everything else on.

    It sits right below ``PrincipalMiddleware`` (which resolves the session cookie) and above
    Starlette's exception middleware and router. A WebSocket lives for hours, and every
    coroutine between uvicorn and ``serve`` stays suspended in memory for as long as it does:
    skipping four of them saves ~3 KiB per connection, and each frame sent skips a wrapper.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: it hands back the one to await, one frame less per socket.
        if scope["type"] == "websocket" and scope["path"] == WS_PATH:
            hub: WebSocketHub = scope["app"].state.ctx.ws
            return hub.serve(scope, receive, send)
        return self.app(scope, receive, send)


def _kind_and_text(message: Message) -> tuple[str, str | None]:
    return message["type"], message.get("text")


async def _refuse(scope: Scope, send: Send, exc: HandshakeRefused) -> None:
    """Answer the handshake with an HTTP error (a JSON body where the server supports it)."""
    if "websocket.http.response" in scope.get("extensions", {}):
        body = json.dumps(exc.to_dict()).encode()
        await send({"type": "websocket.http.response.start", "status": exc.status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
