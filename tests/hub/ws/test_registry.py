"""The connection registry: kicks by user and session, and the periodic sign-in recheck."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlmodel import select

from channels import names
from hub.auth.sessions import SessionStore
from hub.db import Database
from hub.models import Staff
from hub.ws.registry import ConnectionRegistry


@dataclass(eq=False)
class FakePeer:
    """A connection as the registry sees it; records how it was closed."""

    username: str
    staff_id: int
    epoch: int
    role: str
    unit: str
    session_id: str | None = None
    closed: list[int] = field(default_factory=list)

    def close(self, code: int, reason: str) -> None:
        self.closed.append(code)


async def staff(db: Database, username: str) -> Staff:
    async with db.read() as session:
        return (await session.exec(select(Staff).where(Staff.username == username))).one()


def peer_of(person: Staff, session_id: str | None = None) -> FakePeer:
    return FakePeer(person.username, person.id or 0, person.session_epoch, person.role,
                    person.unit_code, session_id)


async def test_kick_closes_one_session_or_every_socket_of_the_user(seeded_db: Database) -> None:
    """A kick with a session closes that session's sockets; without one, all of the user's."""
    registry = ConnectionRegistry()
    person = await staff(seeded_db, "p0-1")
    tab_a, tab_b, kiosk = peer_of(person, "sid-a"), peer_of(person, "sid-b"), peer_of(person)
    other = peer_of(await staff(seeded_db, "p0-2"))
    for peer in (tab_a, tab_b, kiosk, other):
        registry.add(peer)
    assert registry.kick("p0-1", "sid-a", 4001, "bye") == 1
    assert (tab_a.closed, tab_b.closed, kiosk.closed) == ([4001], [], [])
    assert registry.kick("p0-1", None, 4001, "bye") == 3
    assert (tab_b.closed, kiosk.closed, other.closed) == ([4001], [4001], [])
    registry.remove(tab_a)
    assert len(registry) == 3


async def test_recheck_closes_what_no_longer_holds(seeded_db: Database, redis_url: str) -> None:
    """Deactivated, revoked, moved or signed-out connections are closed; valid ones stay."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    await redis.set(names.session_key("alive"), "{}")
    registry = ConnectionRegistry()
    fine = peer_of(await staff(seeded_db, "p1-setjen-1"))
    browser = peer_of(await staff(seeded_db, "p1-setjen-2"), "alive")
    signed_out = peer_of(await staff(seeded_db, "p1-itjen-1"), "gone")
    deactivated = peer_of(await staff(seeded_db, "p2-pusdatin-1"))
    revoked = peer_of(await staff(seeded_db, "p2-pusdatin-2"))
    moved = peer_of(await staff(seeded_db, "p2-ptkln-1"))
    async with seeded_db.write() as session:
        for username, change in (("p2-pusdatin-1", {"active": False}),
                                 ("p2-pusdatin-2", {"session_epoch": 7}),
                                 ("p2-ptkln-1", {"unit_code": "ptkdn"})):
            row = (await session.exec(select(Staff).where(Staff.username == username))).one()
            for key, value in change.items():
                setattr(row, key, value)
            session.add(row)
    for peer in (fine, browser, signed_out, deactivated, revoked, moved):
        registry.add(peer)
    try:
        assert await registry.recheck(seeded_db, redis, 4001, "sign in again") == 4
    finally:
        await redis.aclose()
    assert fine.closed == [] and browser.closed == []
    assert [p.closed for p in (signed_out, deactivated, revoked, moved)] == [[4001]] * 4


async def test_recheck_closes_the_socket_of_a_session_that_expired(seeded_db: Database,
                                                                   redis_url: str) -> None:
    """A browser session past its max age (its Redis key expired) loses its open socket at the
    next recheck, while a session still within its age keeps its."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        person = await staff(seeded_db, "p1-barenbang-1")
        short, _ = await SessionStore(redis, "k" * 32, 1).create(person.id or 0, 0)
        long, _ = await SessionStore(redis, "k" * 32, 60).create(person.id or 0, 0)
        expiring, staying = peer_of(person, short.sid), peer_of(person, long.sid)
        registry = ConnectionRegistry()
        registry.add(expiring)
        registry.add(staying)
        assert await registry.recheck(seeded_db, redis, 4001, "sign in again") == 0
        await asyncio.sleep(1.2)
        assert await registry.recheck(seeded_db, redis, 4001, "sign in again") == 1
    finally:
        await redis.aclose()
    assert (expiring.closed, staying.closed) == ([4001], [])
