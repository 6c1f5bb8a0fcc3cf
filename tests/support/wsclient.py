"""A small ``/ws`` client for tests: subscribe, read frames with timeouts, collect events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from config.seed import DEMO_PASSWORD

Frame = dict[str, Any]


async def fetch_token(base_url: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
        answer = await client.post("/api/v1/auth/token",
                                   json={"username": username, "password": DEMO_PASSWORD})
        answer.raise_for_status()
        return str(answer.json()["access_token"])


async def register_task(base_url: str, token: str, service: str = "data-informasi",
                        client: httpx.AsyncClient | None = None) -> Frame:
    body = {"service": service, "description": "Permintaan data",
            "applicant": {"name": "Andi Wijaya", "organisation": "PT Maju Jaya",
                          "phone": "0812-1111-2222", "email": "andi@example.co.id"}}
    headers = {"Authorization": f"Bearer {token}"}
    if client is not None:
        answer = await client.post(f"{base_url}/api/v1/tasks", json=body, headers=headers)
    else:
        async with httpx.AsyncClient(timeout=30.0) as own:
            answer = await own.post(f"{base_url}/api/v1/tasks", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


class WsClient:
    """One connection; frames that are not asked for yet wait in ``inbox``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, ws_url: str, token: str | None = None, **kw: Any) -> WsClient:
        url = f"{ws_url}?token={quote(token)}" if token else ws_url
        ws = await connect(url, compression=None, open_timeout=10, close_timeout=2, proxy=None,
                             **kw)
        return cls(ws)

    async def close(self) -> None:
        await self.ws.close()

    async def send(self, frame: Frame | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> Frame:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        return json.loads(raw)  # type: ignore[no-any-return]

    async def subscribe(self, channel: str, since: str | None = None,
                        epoch: str | None = None, timeout: float = 5.0) -> Frame:
        """Send a subscribe and return the answer (``subscribed`` or ``error``)."""
        await self.send({"op": "subscribe", "channel": channel, "since": since,
                         "epoch": epoch})
        return await self.recv_until(lambda f: f.get("op") in ("subscribed", "error")
                                     and f.get("channel") in (channel, None), timeout)

    async def recv_until(self, want: Callable[[Frame], bool], timeout: float = 5.0) -> Frame:
        """The first frame ``want`` accepts; frames before it are dropped."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if want(frame):
                    return frame

    async def events(self, count: int, timeout: float = 10.0,
                     channel: str | None = None) -> list[Frame]:
        """The next ``count`` event frames (of ``channel``, if given)."""
        got: list[Frame] = []
        async with asyncio.timeout(timeout):
            while len(got) < count:
                frame = await self.recv(timeout)
                if frame.get("op") == "event" and channel in (None, frame["channel"]):
                    got.append(frame)
        return got

    async def drain(self, quiet: float = 0.5) -> list[Frame]:
        """Every frame until none arrives for ``quiet`` seconds or the server closes."""
        frames: list[Frame] = []
        while True:
            try:
                frames.append(await self.recv(quiet))
            except (TimeoutError, ConnectionClosed):
                return frames

    async def closed_with(self, timeout: float = 10.0) -> tuple[int | None, str]:
        """Read until the server closes; its close code and reason."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.ws.recv()
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            return (rcvd.code, rcvd.reason) if rcvd else (None, "")
