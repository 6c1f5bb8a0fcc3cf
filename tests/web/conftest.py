"""Fixtures for the page tests: browsers (cookie jars) signed in as demo staff."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from tests.support.pages import PageClient, page_client

Browser = Callable[..., Awaitable[PageClient]]


@pytest.fixture
async def browser(app: Any) -> AsyncIterator[Browser]:
    """``await browser("p0-1")``: a new cookie jar signed in as that user (None: anonymous)."""
    async with AsyncExitStack() as stack:
        async def make(username: str | None = None, address: str = "10.9.8.7") -> PageClient:
            client = await stack.enter_async_context(page_client(app, address))
            pages = PageClient(client)
            if username:
                answer = await pages.login(username)
                assert answer.status_code == 303, answer.text
            return pages

        yield make
