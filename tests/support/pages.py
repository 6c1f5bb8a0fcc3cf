"""Helpers for the page tests: a browser-like httpx client (cookies, CSRF tokens from forms)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from config.seed import DEMO_PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    if not match:
        raise AssertionError("no csrf_token field in the page")
    return match.group(1)


class PageClient:
    """One browser: its own cookie jar, signing in through the real sign-in form."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client

    async def login(self, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
        page = await self.http.get("/masuk")
        return await self.http.post("/masuk", data={
            "username": username, "password": password, "csrf_token": csrf_from(page.text)})

    async def token(self, path: str = "/papan") -> str:
        return csrf_from((await self.http.get(path)).text)

    async def post_form(self, path: str, data: dict[str, Any], *, token_from: str = "/papan",
                        **kw: Any) -> httpx.Response:
        body = {"csrf_token": await self.token(token_from), **data}
        return await self.http.post(path, data=body, **kw)


def page_client(app: Any, address: str = "10.9.8.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")
