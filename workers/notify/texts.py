"""Notification texts, in Indonesian, from the Jinja2 templates in ``workers/notify/templates/``.

``breach_subject.txt`` and ``breach_email.txt`` make the e-mail, ``breach_sms.txt`` the SMS. The SMS
must fit one GSM-7 message (160 septets): when the full text does not, the template is rendered
again with ``short=True`` (no unit, no call to action) and ``workers.notify.gsm.fit_single_sms`` is
the last guard, so the link to the task is the only thing that can be cut, and only with an absurdly
long ``PTSA_BASE_URL``. """

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hub.domain.tasks import ClockKind
from hub.models import Service, SlaClock, Task, Unit
from workers.notify.gsm import GSM7_SINGLE, fit_single_sms, gsm7_length, is_gsm7, to_gsm7_friendly

TEMPLATES = Path(__file__).resolve().parent / "templates"

_STATUS = {"queued": "dalam antrean", "claimed": "diproses", "on_hold": "menunggu pemohon",
           "returned": "dikembalikan ke loket", "completed": "selesai"}
_LEVEL = {"p0": "P0 (loket depan)", "p1": "P1", "p2": "P2"}


@dataclass(frozen=True)
class BreachText:
    subject: str
    email: str
    sms: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    # Plain text, not HTML: no autoescape. StrictUndefined: a typo in a template fails loudly.
    # auto_reload=False: templates are read once; checking their mtime per message costs a stat.
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, auto_reload=False,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=False)


def task_link(public_url: str, task_id: int) -> str:
    return f"{public_url.rstrip('/')}/permohonan/{task_id}"  # web/pages.py's task page


def what_happened(clock: SlaClock, unit: Unit | None, sop_days: int | None) -> tuple[str, str]:
    """(sentence part, short part) saying which deadline passed."""
    name = unit.short_name or unit.name if unit else clock.unit_code
    if clock.kind == ClockKind.P1_PICKUP:
        return f"belum diambil oleh petugas P1 {name} dalam batas waktu", "belum diambil P1"
    if clock.kind == ClockKind.P1_HANDLING:
        return (f"sudah diambil petugas P1 {name} tetapi belum didisposisikan dalam batas waktu "
                "penanganan", "P1 belum disposisi")
    if clock.kind == ClockKind.P2_PICKUP:
        return f"belum diambil oleh petugas P2 {name} dalam batas waktu", "belum diambil P2"
    days = f" ({sop_days} hari kerja)" if sop_days else ""
    return (f"belum selesai dalam jangka waktu penyelesaian sesuai SOP{days}",
            "lewat jangka waktu SOP")


def local_time(at: datetime, tz: ZoneInfo, with_date: bool = True) -> str:
    local = at.astimezone(tz)
    return local.strftime("%d-%m-%Y %H:%M %Z" if with_date else "%H:%M %Z")


def breach_texts(*, task: Task, clock: SlaClock, service: Service | None, unit: Unit | None,
                 holder: Unit | None, recipient_name: str, copy: bool, cc_unit: Unit | None,
                 tz: ZoneInfo, public_url: str) -> BreachText:
    """The e-mail subject and body and the SMS for one supervisor about one breach."""
    what, what_short = what_happened(clock, unit, service.sop_days if service else None)
    applicant = task.applicant_name + (f" ({task.applicant_org})" if task.applicant_org else "")
    holder_name = holder.name if holder else task.unit_code
    values = {
        "task": task, "what": what, "what_short": what_short, "copy": copy,
        "recipient_name": recipient_name,
        "service_name": service.name if service else task.service_code,
        "unit_name": unit.name if unit else clock.unit_code,
        "unit_short": (unit.short_name or unit.name) if unit else clock.unit_code,
        "cc_unit_name": cc_unit.name if cc_unit else "",
        "due_at": local_time(clock.due_at, tz),
        "due_hm": local_time(clock.due_at, tz, with_date=False),
        "breached_at": local_time(clock.breached_at or clock.due_at, tz),
        "applicant": applicant,
        "position": f"{_LEVEL.get(task.level, task.level)} {holder_name}, "
                    f"{_STATUS.get(task.status, task.status)}",
        "link": task_link(public_url, task.id or 0),
    }
    env = environment()
    subject = " ".join(env.get_template("breach_subject.txt").render(values).split())
    email = env.get_template("breach_email.txt").render(values).strip() + "\n"
    return BreachText(subject, email, sms_text(values))


def sms_text(values: dict[str, object]) -> str:
    template = environment().get_template("breach_sms.txt")
    for short in (False, True):
        text = to_gsm7_friendly(" ".join(template.render(values, short=short).split()))
        if is_gsm7(text) and gsm7_length(text) <= GSM7_SINGLE:
            return text
    return fit_single_sms(text)
