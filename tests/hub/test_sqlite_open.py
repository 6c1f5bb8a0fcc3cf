"""Two processes opening one brand-new SQLite file at once (``ptsa check`` twice, the web
process and the worker on a first start) both switch it to WAL; before hub.db.use_wal retried,
one of them was sometimes told "database is locked" at once (41 in 1,000 pairs of raw
connections; one CI failure). Here two threads, each with its own event loop and its own
``Database``, race on a fresh file, many times over."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from config.settings import normalise_database_url
from hub.db import Database

PAIRS = 150


def test_two_databases_opening_one_new_file_at_once_both_answer(tmp_path: Path) -> None:
    failures: list[BaseException] = []
    for n in range(PAIRS):
        url = normalise_database_url(f"sqlite:///{tmp_path / f'new-{n}.db'}")
        start = threading.Barrier(2)

        def open_and_ping(url: str = url, start: threading.Barrier = start) -> None:
            async def ping() -> None:
                db = Database(url)
                try:
                    start.wait()
                    await db.ping()
                finally:
                    await db.dispose()
            try:
                asyncio.run(ping())
            except BaseException as exc:  # noqa: BLE001 - collected and shown below
                failures.append(exc)

        threads = [threading.Thread(target=open_and_ping) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    with sqlite3.connect(tmp_path / "new-0.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
