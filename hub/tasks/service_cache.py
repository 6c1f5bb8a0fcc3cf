"""The services a registration looks up, kept between commands.

Every registration read its service's row; the row changes only when an admin edits or adds a
service (``web.admin_ops``), which writes a new ``services_version`` into ``app_settings`` in
the same transaction. A registration already reads ``app_settings`` for the clock policy
(``hub.tasks.clocks.PolicyProvider``), so it learns the version for free and reads a service's
row only when the version it knows has changed, in this process or any other.

The version must be read *before* the service, in the same transaction: a row read first and a
newer version read after would keep the old row under the new version.
"""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import AppSetting, Service

SERVICES_VERSION_KEY = "services_version"
_COLUMNS = tuple(column.name for column in Service.__table__.columns)  # type: ignore[attr-defined]


class ServiceCache:
    """Service rows by code, valid while ``services_version`` is unchanged. Unknown codes are
    not remembered (a service added later is found at once)."""

    def __init__(self) -> None:
        self._version: str | None = None
        self._services: dict[str, Service] = {}

    async def get(self, session: AsyncSession, code: str, version: str) -> Service | None:
        """The service ``code`` (active or not), or None; ``version`` is the
        ``services_version`` this transaction read before calling."""
        if version != self._version:
            self._services, self._version = {}, version
        service = self._services.get(code)
        if service is None:
            row = await session.get(Service, code)
            if row is None:
                return None
            # A copy outside the session: a rollback of this transaction expires its objects.
            service = Service(**{name: getattr(row, name) for name in _COLUMNS})
            self._services[code] = service
        return service


async def bump_services_version(session: AsyncSession) -> None:
    """Call in the transaction that changes a service: every process reloads its rows.
    A fresh random value, not a counter, so two admins' edits never leave the same version."""
    value = uuid.uuid4().hex
    row = await session.get(AppSetting, SERVICES_VERSION_KEY)
    if row is None:
        session.add(AppSetting(key=SERVICES_VERSION_KEY, value=value))
    else:
        row.value = value
        session.add(row)
