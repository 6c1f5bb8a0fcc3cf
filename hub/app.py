"""``create_app(settings)``: the ASGI application. Nothing connects until the lifespan starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channels.history import History
from channels.relay import Relay
from config.settings import Settings, load_settings
from hub.api import api_routes
from hub.api.common import error_response, handle_ptsa_error
from hub.auth.sessions import PrincipalMiddleware
from hub.context import AppContext
from hub.domain.calendar import indonesian_holidays
from hub.errors import InvalidInput, NotFound, PtsaError
from hub.redis_clients import cluster_ok, require_cluster
from hub.validation import url_is_clean
from hub.ws.endpoint import WebSocketHub, WebSocketMiddleware
from web.pages import page_routes
from workers.sla.schedule import SlaScheduler, open_pool

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 0.8
WEB_IDLE_SWEEP_S = 5.0  # the relay sweep's pause when nothing is known to wait


async def healthz(request: Request) -> JSONResponse:
    """Liveness and dependencies: 200 when the database and Redis answer, 503 otherwise."""
    ctx: AppContext = request.app.state.ctx

    async def probe(ping: Callable[[], Awaitable[object]]) -> str:
        # Bounded: a hung dependency must give the load balancer a quick 503, not no answer.
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S):
                await ping()
            return "ok"
        except TimeoutError:
            return f"error: no answer within {HEALTH_TIMEOUT_S:g} s"
        except Exception as exc:  # report, don't crash: this page tells what is wrong
            return f"error: {type(exc).__name__}"

    if ctx.drain.draining:  # SIGTERM under PTSA_DRAIN: the balancer must stop sending work here
        return JSONResponse({"status": "draining", "checks": {}}, status_code=503)
    probes = [probe(ctx.db.ping), probe(ctx.redis.ping)]
    if ctx.history_redis is not ctx.redis:  # a cluster: one answering node is not enough
        probes.append(probe(lambda: cluster_ok(ctx.history_redis)))
    database, redis, *cluster = await asyncio.gather(*probes)
    checks: dict[str, str] = {"database": database, "redis": redis}
    if cluster:
        checks["redis_cluster"] = cluster[0]
    parts = (("realtime", ctx.realtime), ("relay", ctx.relay), ("sla_scheduler", ctx.scheduler))
    for name, part in parts:
        if part is not None:
            checks[name] = part.health()
    body: dict[str, object] = {}
    if ctx.ws is not None:
        # At PTSA_WS_MAX_CONNECTIONS the process is "full": 503, so the balancer stops sending
        # it new sockets (and requests) until some close; /healthz/live stays 200, so a hall
        # whose every hub is full still has HAProxy's fail-open pool.
        checks["websockets"] = ctx.ws.health()
        body["websockets"] = ctx.ws.stats()
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", "checks": checks, **body},
                        status_code=200 if healthy else 503)


async def alive(request: Request) -> JSONResponse:
    """``/healthz/live``: this process serves requests (200) unless it is draining. It does not
    ask Redis or PostgreSQL: the load balancer's fail-open pool uses it when /healthz fails on
    EVERY hub at once — a shared dependency's trouble (a Redis failover, say), which taking all
    hubs out would turn from delayed live events into a total outage (deploy/haproxy.cfg)."""
    ctx: AppContext = request.app.state.ctx
    if ctx.drain.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def unrouted(request: Request, exc: Exception) -> Response:
    """What no route matched (e.g. a path with a newline, which no route pattern accepts):
    the JSON error body under /api/, the error page elsewhere, never Starlette's plain text."""
    status = getattr(exc, "status_code", 404)
    error = NotFound(f"nothing at {request.url.path[:200]!r}") if status == 404 else \
        PtsaError(f"{request.method[:10]} is not allowed here",
                  code="method_not_allowed").with_status(405)
    if request.url.path == "/api" or request.url.path.startswith("/api/"):
        return error_response(error)
    from web.views.base import error_page

    return error_page(request, error)


class CleanUrls:
    """Refuses (400) a request whose path or query holds control characters or bad UTF-8
    before any route sees it (``hub.validation.url_is_clean``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself (nor NoStore): it hands back the next app's. A WebSocket lives
        # for hours, and an awaiting frame here would stay suspended in memory as long.
        if scope["type"] != "http" or url_is_clean(scope["path"], scope["query_string"]):
            return self.app(scope, receive, send)
        return self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = InvalidInput("the address holds control characters or is not UTF-8",
                             code="bad_url").with_status(400)
        request = Request(scope, receive)
        response: Response
        if scope["path"] == "/api" or scope["path"].startswith("/api/"):
            response = error_response(error)
        else:
            from web.views.base import error_page

            response = error_page(request, error)
        await response(scope, receive, send)


class NoStore:
    """``Cache-Control: no-store`` on every page and API answer (they carry applicants' names
    and phone numbers, tokens, CSRF tokens): no browser or proxy cache keeps them. Static files
    and /healthz keep their own caching."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http" or scope["path"].startswith(("/static/", "/healthz")):
            return self.app(scope, receive, send)
        return self._no_store(scope, receive, send)

    async def _no_store(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ())
                           if k.lower() != b"cache-control"]
                headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_no_store)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    ctx = AppContext(settings)
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/healthz/live", alive, methods=["GET"]),
        Mount("/api/v1", routes=api_routes()),
        *page_routes(),  # web/: the staff screens, /lacak and /static
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(ctx.close)
            # The holiday tables (lunar calendars) take most of a second to compute: now, not in
            # the first registration of the day.
            this_year = datetime.now(settings.tz).year
            for year in (this_year, this_year + 1):
                indonesian_holidays(year)
            await start_parts(ctx, stack)
            ctx.drain.install()  # after start-up: a SIGTERM while starting stops at once
            stack.callback(ctx.drain.uninstall)
            yield

    app = Starlette(routes=routes, lifespan=lifespan,
                    # /ws is served by WebSocketMiddleware (hub/ws/endpoint.py: the live channels).
                    middleware=[Middleware(NoStore), Middleware(CleanUrls),
                                Middleware(PrincipalMiddleware),
                                Middleware(WebSocketMiddleware)],
                    exception_handlers={PtsaError: handle_ptsa_error, 404: unrouted,
                                        405: unrouted})
    app.state.ctx = ctx
    return app


async def start_parts(ctx: AppContext, stack: AsyncExitStack) -> None:
    """The web process's running parts, built and started here and nowhere else; each one's
    stop goes on ``stack`` (so they stop in reverse order)."""
    settings = ctx.settings
    await require_cluster(settings)  # a bad cluster refuses start-up with a plain message
    history = History(ctx.history_redis, settings.history_max_len,
                      int(settings.history_max_age.total_seconds()))
    # The outbox relay. With the fast path publishing this process's events, its sweep is a
    # safety net (the worker's sweep, four times a second, is the first one): every 5 s unless
    # rows are known to wait. Without a fast path ("sweep") the sweep is how events leave.
    fast_path = settings.relay == "on"
    relay = Relay(ctx.db, history, fast_path=fast_path,
                  idle_interval=WEB_IDLE_SWEEP_S if fast_path else None)
    # The WebSocket side: the Redis subscriber and fan-out (ctx.realtime), the kick listener.
    ws = WebSocketHub(ctx, history)
    ctx.ws, ctx.realtime, ctx.relay = ws, ws.realtime, relay
    ctx.commands.after_commit.append(relay.after_commit)
    relay.start(sweep=settings.relay != "off")
    stack.push_async_callback(relay.stop)
    ws.start()
    stack.push_async_callback(ws.stop)
    # The SLA scheduler: after each command, arq jobs at the clocks' warning and due instants.
    pool = await open_pool(settings.queue_url or "", settings.redis_timeout)
    stack.push_async_callback(pool.aclose)
    scheduler = SlaScheduler(pool, settings.sla_sweep_interval)
    ctx.commands.after_commit.append(scheduler.after_commit)
    ctx.scheduler = scheduler
