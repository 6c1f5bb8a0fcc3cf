"""Group commit: a follow-up that fails after the commit does not undo or repeat the batch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.db import Database
from workers.batching import GroupCommit, after_commit


async def test_a_failing_after_commit_follow_up_leaves_the_batch_committed_once(
        database_url: str, tmp_path: Path) -> None:
    """The handler runs once, its rows stay, callers get their results, later follow-ups run."""
    from config.settings import normalise_database_url

    db = Database(normalise_database_url(database_url))
    runs: list[int] = []
    followed: list[str] = []
    async with db.write() as session:
        await session.exec(text("CREATE TABLE gc_probe (n INTEGER)"))  # type: ignore[call-overload]

    async def handler(session: AsyncSession, items: Sequence[int]) -> list[int]:
        runs.append(len(items))
        for n in items:
            await session.exec(text("INSERT INTO gc_probe (n) VALUES (:n)").bindparams(n=n))  # type: ignore[call-overload]
        after_commit(session, lambda: 1 / 0)  # type: ignore[arg-type, return-value]
        after_commit(session, lambda: followed.append("next"))  # type: ignore[arg-type, func-returns-value]
        return [n * 10 for n in items]

    commit: GroupCommit[int, int] = GroupCommit(db, handler, name="probe")
    try:
        assert await commit.submit(7) == 70
        async with db.read() as session:
            rows = (await session.exec(text("SELECT n FROM gc_probe"))).all()  # type: ignore[call-overload]
        assert [r[0] for r in rows] == [7] and runs == [1] and followed == ["next"]
    finally:
        await commit.close()
        await db.dispose()
