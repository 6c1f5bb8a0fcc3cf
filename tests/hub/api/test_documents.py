"""A service's document checklist through ``POST /api/v1/tasks``: the ticked documents are kept
with the registration; anything not on the checklist is refused and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from hub.models import Service, Task, TaskEvent
from tests.conftest import ApiClient

BODY = {"service": "data-informasi", "description": "Data",
        "applicant": {"name": "Rina", "phone": "0812-3333-4444"}}


@pytest.fixture
async def checklist(seeded_db: Any) -> None:
    async with seeded_db.write() as session:
        await session.exec(update(Service).where(col(Service.code) == "data-informasi")
                           .values(documents="Surat permohonan\nKTP pemohon"))


async def test_ticked_documents_are_kept_in_checklist_order(
        api: ApiClient, seeded_db: Any, checklist: None) -> None:
    """Documents given in any order are recorded with the registration in the checklist's
    order."""
    r = await api.as_("p0-1", "POST", "/api/v1/tasks",
                      json={**BODY, "documents": ["KTP pemohon", "Surat permohonan"]})
    assert r.status_code == 201, r.text
    async with seeded_db.read() as session:
        event = (await session.exec(select(TaskEvent).where(
            TaskEvent.task_id == r.json()["id"], TaskEvent.type == "task.created"))).one()
    assert json.loads(event.data)["documents"] == ["Surat permohonan", "KTP pemohon"]


@pytest.mark.parametrize("documents", [["Ijazah"], "Surat permohonan"])
async def test_a_document_not_on_the_checklist_is_refused(
        api: ApiClient, seeded_db: Any, checklist: None, documents: Any) -> None:
    """A name not on the service's checklist, or documents that are not a list, answer 422
    naming ``documents``; no task is stored."""
    r = await api.as_("p0-1", "POST", "/api/v1/tasks", json={**BODY, "documents": documents})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "documents"
    async with seeded_db.read() as session:
        assert (await session.exec(select(func.count()).select_from(Task))).one() == 0
