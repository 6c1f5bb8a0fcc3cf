"""The public tracking of a request by its registration number (``/lacak`` and ``GET /track``):
what an applicant may see of it, and the per-address limit on lookups. Shared by the API route and
the page; no HTTP here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.auth.throttle import limit_rate
from hub.domain.instants import iso
from hub.domain.tasks import Level, Status
from hub.models import Service, Task

if TYPE_CHECKING:
    from hub.context import AppContext


_PUBLIC_STAGE = {
    (Status.QUEUED, Level.P1): "received",
    (Status.CLAIMED, Level.P1): "verification",
    (Status.QUEUED, Level.P2): "forwarded",
    (Status.CLAIMED, Level.P2): "processing",
    (Status.ON_HOLD, Level.P1): "waiting_applicant",
    (Status.ON_HOLD, Level.P2): "waiting_applicant",
    (Status.RETURNED, Level.P0): "returned",
}


TRACK_LIMIT_PER_MINUTE = 30


async def limit_track_lookups(app: AppContext, client: str) -> None:
    """Registration numbers are sequential; a per-address limit keeps anyone from walking a
    day's requests while leaving an applicant (or a kiosk) plenty of lookups."""
    await limit_rate(app.redis, "track", client, TRACK_LIMIT_PER_MINUTE, 60)


def public_status(task: Task, service: Service | None) -> dict[str, Any]:
    if task.status == Status.COMPLETED:
        stage = "completed"
    else:
        stage = _PUBLIC_STAGE.get((Status(task.status), Level(task.level)), "processing")
    return {
        "code": task.code, "stage": stage,
        "service": {"code": task.service_code, "name": service.name if service else "",
                    "sop_days": service.sop_days if service else None},
        "registered_at": iso(task.created_at), "due_at": iso(task.due_at),
        "completed_at": iso(task.completed_at),
        "on_hold": task.status == Status.ON_HOLD,
    }
