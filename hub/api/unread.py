"""``GET /me/unread``: the caller's unread messages per task (``hub.tasks.unread``)."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from hub.api.common import authenticate, ctx, json_response
from hub.models import Task
from hub.tasks.unread import unread_of


async def my_unread(request: Request) -> JSONResponse:
    principal = await authenticate(request)
    async with ctx(request).db.read() as session:
        counts = await unread_of(session, principal.id)
        codes = {}
        if counts:
            rows = await session.exec(select(Task.id, Task.code).where(  # type: ignore[call-overload]
                col(Task.id).in_(list(counts))))
            codes = {row[0]: row[1] for row in rows.all()}
    tasks = [{"id": tid, "code": codes.get(tid, ""), "count": n}
             for tid, n in sorted(counts.items(), reverse=True)]
    return json_response({"total": sum(counts.values()), "tasks": tasks})
