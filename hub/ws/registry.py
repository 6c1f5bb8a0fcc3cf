"""The process's open WebSocket connections, by user, so sign-out and deactivation reach them.

``kick`` closes a user's sockets (one browser session's, or all of them) when a message arrives
on ``ptsa:kick``; ``recheck`` is the safety net that runs every ``interval`` seconds and closes
sockets whose account was deactivated, whose sessions were revoked (``session_epoch`` bumped),
whose browser session is gone, or whose role or unit changed (their channels may no longer be
theirs), in case a kick was missed while Redis was away.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Protocol

from redis.asyncio import Redis
from sqlmodel import col, select

from channels import names
from hub.db import Database
from hub.models import Staff
from hub.queue.devices import KINDS as DEVICE_KINDS
from hub.queue.devices import active_device_ids

log = logging.getLogger(__name__)


class Peer(Protocol):
    """What the registry needs of a connection (``hub.ws.connection.Connection``)."""

    username: str
    staff_id: int
    epoch: int
    role: str
    unit: str
    session_id: str | None

    def close(self, code: int, reason: str) -> None: ...


class ConnectionRegistry:
    def __init__(self) -> None:
        self._by_user: dict[str, set[Peer]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Peer]:
        for peers in list(self._by_user.values()):
            yield from list(peers)

    def count(self, username: str) -> int:
        """How many sockets ``username`` has open on this process."""
        return len(self._by_user.get(username, ()))

    def add(self, peer: Peer) -> None:
        peers = self._by_user.setdefault(peer.username, set())
        if peer not in peers:
            peers.add(peer)
            self._count += 1

    def remove(self, peer: Peer) -> None:
        peers = self._by_user.get(peer.username)
        if peers is not None and peer in peers:
            peers.discard(peer)
            self._count -= 1
            if not peers:
                del self._by_user[peer.username]

    def kick(self, username: str, session_id: str | None, code: int, reason: str) -> int:
        """Close ``username``'s sockets: those of one browser session, or all (``None``)."""
        closed = 0
        for peer in list(self._by_user.get(username, ())):
            if session_id is None or peer.session_id == session_id:
                peer.close(code, reason)
                closed += 1
        return closed

    async def recheck(self, db: Database, redis: Redis, code: int, reason: str) -> int:
        """Close every socket whose credentials no longer hold; returns how many were closed."""
        peers = list(self)
        if not peers:
            return 0
        ids = sorted({p.staff_id for p in peers})
        current: dict[int, tuple[bool, int, str, str]] = {}
        async with db.read() as session:
            for start in range(0, len(ids), 500):
                rows = await session.exec(
                    select(Staff).where(col(Staff.id).in_(ids[start:start + 500])))
                for staff in rows.all():
                    current[staff.id or 0] = (staff.active, staff.session_epoch, staff.role,
                                              staff.unit_code)
        sessions = sorted({p.session_id for p in peers if p.session_id})
        alive: set[str] = set()
        if sessions:
            async with redis.pipeline(transaction=False) as pipe:
                for sid in sessions:
                    pipe.exists(names.session_key(sid))
                found = await pipe.execute()
            alive = {sid for sid, hit in zip(sessions, found, strict=True) if hit}
        # Hall displays are devices, not staff: they hold while their device is not revoked.
        devices = await active_device_ids(db, sorted({int(p.username.rsplit("-", 1)[1])
                                                      for p in peers if p.role in DEVICE_KINDS}))
        closed = 0
        for peer in peers:
            if peer.role in DEVICE_KINDS:
                if int(peer.username.rsplit("-", 1)[1]) not in devices:
                    peer.close(code, reason)
                    closed += 1
                continue
            now = current.get(peer.staff_id)
            valid = (now is not None and now[0] and now[1] == peer.epoch
                     and now[2] == peer.role and now[3] == peer.unit
                     and (peer.session_id is None or peer.session_id in alive))
            if not valid:
                peer.close(code, reason)
                closed += 1
        if closed:
            log.info("closed %d WebSocket(s) whose sign-in no longer holds", closed)
        return closed
