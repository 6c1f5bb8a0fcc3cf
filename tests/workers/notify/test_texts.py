"""Breach texts from the Jinja2 templates: Indonesian, linked to the task, SMS in one message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.models import Service, SlaClock, Task, Unit
from workers.notify.gsm import gsm7_length, is_gsm7
from workers.notify.texts import breach_texts

JAKARTA = ZoneInfo("Asia/Jakarta")
DUE = datetime(2026, 11, 27, 3, 15, tzinfo=UTC)  # 10:15 WIB


def make(kind: str = "p1_pickup", applicant: str = "Andi Wijaya",
         base_url: str = "https://ptsa.kemnaker.go.id", copy: bool = False,
         unit_name: str = "Badan Perencanaan dan Pengembangan Ketenagakerjaan") -> tuple[str, ...]:
    task = Task(id=4821, code="PTSA-20261127-0042", service_code="data-informasi",
                status="queued", level="p1", unit_code="barenbang", eselon1="barenbang",
                applicant_name=applicant, applicant_org="PT Maju Jaya", description="",
                created_by=1, created_at=DUE, updated_at=DUE)
    clock = SlaClock(id=7, task_id=4821, kind=kind, unit_code="barenbang", state="running",
                     started_at=DUE - timedelta(minutes=15), due_at=DUE,
                     breached_at=DUE + timedelta(milliseconds=40))
    service = Service(code="data-informasi", name="Pelayanan Data dan Informasi Ketenagakerjaan",
                      eselon1="barenbang", eselon2="pusdatin", sop_days=3)
    unit = Unit(code="barenbang", name=unit_name, short_name="Barenbang", level="eselon1")
    text = breach_texts(task=task, clock=clock, service=service, unit=unit, holder=unit,
                        recipient_name="Rani Oktaviani", copy=copy, cc_unit=unit if copy else None,
                        tz=JAKARTA, public_url=base_url)
    return text.subject, text.email, text.sms


def test_email_says_what_is_late_when_and_where_to_act_in_indonesian() -> None:
    """Subject and body name the task, the deadline in WIB and link to the task page."""
    subject, body, _ = make()
    assert subject == "[PTSA] Terlambat: PTSA-20261127-0042 belum diambil P1"
    assert body.startswith("Yth. Rani Oktaviani,")
    assert "belum diambil oleh petugas P1 Barenbang dalam batas waktu" in body
    assert "Batas waktu        : 27-11-2026 10:15 WIB" in body
    assert "https://ptsa.kemnaker.go.id/permohonan/4821" in body


def test_copied_supervisor_is_told_it_is_a_copy() -> None:
    """The Eselon I supervisor copied on a resolution breach reads "Tembusan"."""
    subject, body, _ = make(kind="resolution", copy=True)
    assert subject.startswith("[PTSA] Tembusan - Terlambat:")
    assert "jangka waktu penyelesaian sesuai SOP (3 hari kerja)" in body
    assert "Mohon segera ditindaklanjuti" not in body


@pytest.mark.parametrize("applicant", ["Andi Wijaya", "Ñoño “Budi” Śmiałek — 李雷 😀"])
@pytest.mark.parametrize("base_url", ["http://10.0.0.5:8000",
                                      "https://ptsa.kemnaker.go.id/pelayanan-terpadu-satu-atap"])
def test_sms_is_one_gsm7_message_with_the_link(applicant: str, base_url: str) -> None:
    """Whatever the names and base URL, the SMS is GSM-7, at most 160 septets, with the link."""
    _, _, sms = make(applicant=applicant, base_url=base_url,
                     unit_name="Badan Perencanaan dan Pengembangan Ketenagakerjaan " * 3)
    assert is_gsm7(sms) and gsm7_length(sms) <= 160
    assert "PTSA-20261127-0042" in sms and sms.endswith(f"{base_url}/permohonan/4821")
