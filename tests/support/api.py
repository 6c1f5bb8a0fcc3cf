"""An API client for tests whose subject is not signing in.

A real sign-in verifies an Argon2id hash (about 0.2 s on purpose); tests that only need *some*
valid bearer token for a demo user get one signed by the app's own ``TokenSigner`` instead, the
same token ``POST /api/v1/auth/token`` would return. tests/hub/api/test_auth.py covers sign-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlmodel import select

from hub.models import Staff
from tests.conftest import ApiClient


class SignedTokenClient(ApiClient):
    def __init__(self, client: httpx.AsyncClient, app: Any) -> None:
        super().__init__(client)
        self.ctx = app.state.ctx
        self._signed: dict[str, str] = {}

    async def token(self, username: str) -> str:
        if username not in self._signed:
            async with self.ctx.db.read() as session:
                staff = (await session.exec(select(Staff).where(Staff.username == username))).one()
            self._signed[username] = self.ctx.tokens.issue(staff.id, staff.session_epoch)
        return self._signed[username]



@asynccontextmanager
async def signed_api(app: Any) -> AsyncIterator[SignedTokenClient]:
    """The client for a module's ``api`` fixture: ``async with signed_api(app) as api: ...``."""
    from tests.support.api_statuses import record

    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 event_hooks={"response": [record]}) as client:
        yield SignedTokenClient(client, app)
