"""KPI targets an admin sets per unit and metric ("90 % of P1 pickups within SLA at Barenbang"),
shown against the figures so a unit's improvement over time is visible.

Kept as ``app_settings`` rows (``kpi_target:<unit>:<metric>`` → share 0..1), the table the admin's
other run-time values live in: no schema change, and the KPI report reads them in one query.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.db import Database
from hub.errors import InvalidInput
from hub.models import AppSetting, Unit

METRICS = ("pickup_p1", "handling_p1", "pickup_p2", "completion")
PREFIX = "kpi_target:"


def _key(unit: str, metric: str) -> str:
    return f"{PREFIX}{unit}:{metric}"


async def load_targets(session: AsyncSession) -> dict[str, dict[str, float]]:
    """unit code → metric → target share (0..1)."""
    rows = await session.exec(select(AppSetting).where(col(AppSetting.key).startswith(PREFIX)))
    targets: dict[str, dict[str, float]] = {}
    for row in rows.all():
        unit, _, metric = row.key[len(PREFIX):].rpartition(":")
        targets.setdefault(unit, {})[metric] = float(row.value)
    return targets


async def set_target(db: Database, unit: str, metric: str, percent: str) -> float | None:
    """Set (or with an empty ``percent``, remove) a unit's target for one metric; returns the
    share stored.

    Raises:
        InvalidInput: unknown unit (or not Eselon I/II), unknown metric, percent not 1-100.
    """
    if metric not in METRICS:
        raise InvalidInput(f"metric must be one of {', '.join(METRICS)}; got {metric!r}",
                           field="metric")
    async with db.write() as session:
        row = await session.get(Unit, unit)
        if row is None or row.level not in ("eselon1", "eselon2"):
            raise InvalidInput(f"unit must be an Eselon I or II unit; got {unit!r}",
                               field="unit")
        stored = await session.get(AppSetting, _key(unit, metric))
        if not percent.strip():
            if stored is not None:
                await session.delete(stored)
            return None
        try:
            value = float(percent.replace(",", "."))
        except ValueError:
            value = -1.0
        if not 0 < value <= 100:
            raise InvalidInput(f"target must be a percentage from 1 to 100; got {percent!r}",
                               field="target")
        share = round(value / 100, 4)
        if stored is None:
            stored = AppSetting(key=_key(unit, metric), value=f"{share:g}")
        stored.value = f"{share:g}"
        session.add(stored)
    return share
