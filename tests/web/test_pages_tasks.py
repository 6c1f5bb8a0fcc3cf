"""Task actions from the pages call the same commands as the API; the task page shows them."""

from __future__ import annotations

import re

from tests.conftest import ApiClient
from tests.web.conftest import Browser


async def test_a_request_travels_p1_to_p2_to_completion_through_the_pages(
        browser: Browser, api: ApiClient) -> None:
    """Claim, dispose, claim, hold, resume and complete, each a form post, each on the timeline."""
    task = await api.register()
    tid = task["id"]
    p1 = await browser("p1-barenbang-1")
    claimed = await p1.post_form(f"/permohonan/{tid}/claim", {"next": "/papan"})
    assert claimed.status_code == 303 and claimed.headers["location"] == "/papan"
    disposed = await p1.post_form(f"/permohonan/{tid}/dispose", {"unit": "pusdatin"})
    assert disposed.headers["location"] == f"/permohonan/{tid}?ok=dispose"
    page = await p1.http.get(disposed.headers["location"])
    assert "Permohonan telah didisposisikan." in page.text
    assert "Didisposisikan ke Pusdatinaker" in page.text
    p2 = await browser("p2-pusdatin-1")
    for action, data in (("claim", {}), ("hold", {"reason": "Surat kuasa belum ada"}),
                         ("resume", {}), ("complete", {"result": "Data dikirim lewat email"})):
        answer = await p2.post_form(f"/permohonan/{tid}/{action}", data)
        assert answer.status_code == 303, (action, answer.text[:400])
    page = (await p2.http.get(f"/permohonan/{tid}")).text
    for label in ("Didaftarkan", "Diambil", "Ditunda", "Dilanjutkan", "Selesai",
                  "Surat kuasa belum ada", "Hasil: Data dikirim lewat email"):
        assert label in page, label
    detail = (await api.as_("p0-1", "GET", f"/api/v1/tasks/{tid}")).json()
    assert detail["status"] == "completed"


async def test_a_second_claim_says_who_has_it(browser: Browser, api: ApiClient) -> None:
    """When another P1 already claimed the task, the page answers 409 naming them."""
    task = await api.register()
    first, second = await browser("p1-barenbang-1"), await browser("p1-barenbang-2")
    assert (await first.post_form(f"/permohonan/{task['id']}/claim", {})).status_code == 303
    answer = await second.post_form(f"/permohonan/{task['id']}/claim", {})
    assert answer.status_code == 409
    assert "Sudah diambil oleh" in answer.text and "p1-barenbang-1" in answer.text


async def test_a_json_claim_answers_with_the_card(browser: Browser, api: ApiClient) -> None:
    """The board's JS posts the same form with Accept: application/json and gets the new card,
    or the error with a translated text."""
    task = await api.register()
    p1 = await browser("p1-barenbang-1")
    headers = {"Accept": "application/json"}
    answer = await p1.post_form(f"/permohonan/{task['id']}/claim",
                                {"version": str(task["version"])}, headers=headers)
    assert answer.status_code == 200
    card = answer.json()["task"]
    assert card["status"] == "claimed" and card["assignee"]["username"] == "p1-barenbang-1"
    other = await browser("p1-barenbang-2")
    refused = await other.post_form(f"/permohonan/{task['id']}/claim", {}, headers=headers)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "already_claimed" and error["assignee"] == "p1-barenbang-1"
    assert error["text"].startswith("Sudah diambil oleh")


async def test_an_empty_hold_reason_is_shown_beside_the_field(browser: Browser,
                                                              api: ApiClient) -> None:
    """Holding without a reason re-renders the task page with the message at the reason field."""
    task = await api.register()
    p1 = await browser("p1-barenbang-1")
    await p1.post_form(f"/permohonan/{task['id']}/claim", {})
    answer = await p1.post_form(f"/permohonan/{task['id']}/hold", {"reason": "  "})
    assert answer.status_code == 422
    assert "Wajib diisi." in answer.text


async def test_action_without_csrf_token_is_refused(browser: Browser, api: ApiClient) -> None:
    """A claim posted without the session's token changes nothing."""
    task = await api.register()
    p1 = await browser("p1-barenbang-1")
    answer = await p1.http.post(f"/permohonan/{task['id']}/claim", data={})
    assert answer.status_code == 403
    detail = (await api.as_("p0-1", "GET", f"/api/v1/tasks/{task['id']}")).json()
    assert detail["status"] == "queued"


async def test_another_units_desk_cannot_open_the_task(browser: Browser, api: ApiClient) -> None:
    """A P1 of another Eselon I unit gets 403 on the task page; an unknown id is 404."""
    task = await api.register()
    outsider = await browser("p1-binapenta-1")
    assert (await outsider.http.get(f"/permohonan/{task['id']}")).status_code == 403
    assert (await outsider.http.get("/permohonan/999999")).status_code == 404
    assert (await outsider.http.get("/permohonan/abc")).status_code == 404


async def test_messages_are_shown_as_text_on_the_thread(browser: Browser, api: ApiClient) -> None:
    """A message with HTML in it is posted from the page and shown escaped in the thread."""
    task = await api.register()
    p1 = await browser("p1-barenbang-1")
    answer = await p1.post_form(f"/permohonan/{task['id']}/message",
                                {"body": "<img src=x onerror=alert(1)> cek berkas"},
                                headers={"Accept": "application/json"})
    assert answer.status_code == 200
    page = (await p1.http.get(f"/permohonan/{task['id']}?partial=1")).text
    assert "&lt;img src=x onerror=alert(1)&gt; cek berkas" in page
    assert "<img src=x" not in page
    assert "<html" not in page  # the fragment the live page swaps in


async def test_the_board_shows_the_queue_and_my_tasks(browser: Browser, api: ApiClient) -> None:
    """A P1 board lists the unit's queued requests with their pickup deadline."""
    first = await api.register(name="Pemohon Satu")
    await api.register(name="Pemohon Dua")
    p1 = await browser("p1-barenbang-1")
    await p1.post_form(f"/permohonan/{first['id']}/claim", {})
    board = (await p1.http.get("/papan")).text
    assert "Antrean unit" in board and "Tugas saya" in board
    assert "Pemohon Dua" in board and "Pemohon Satu" in board
    assert 'data-due="20' in board  # the queued card counts down to its pickup deadline


async def test_a_p2_returns_a_claimed_task_to_the_p1_queue_with_a_reason(
        browser: Browser, api: ApiClient) -> None:
    """From the task page's return form (its CSRF token included), an empty reason is refused
    beside the field with nothing changed; with a reason the task goes back to the Eselon I
    queue, unclaimed, and the reason is on the timeline."""
    task = await api.register(name="Salah Alamat")
    tid = task["id"]
    await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{tid}/claim")
    await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{tid}/dispose",
                  json={"unit": "pusdatin"})
    p2 = await browser("p2-pusdatin-1")
    assert (await p2.post_form(f"/permohonan/{tid}/claim", {})).status_code == 303
    page = (await p2.http.get(f"/permohonan/{tid}")).text
    form = re.search(rf'<form method="post" action="/permohonan/{tid}/return".*?</form>', page,
                     re.S)
    assert form, "the holder of a claimed task has a return form"
    fields = dict(re.findall(r'name="(csrf_token|version)" value="([^"]*)"', form.group(0)))
    before = (await api.as_("p0-1", "GET", f"/api/v1/tasks/{tid}")).json()

    refused = await p2.http.post(f"/permohonan/{tid}/return", data={**fields, "reason": "  "})
    assert refused.status_code == 422
    assert re.search(r'id="act-return-reason"[^>]*><p class="field-error">Wajib diisi\.</p>',
                     refused.text)
    unchanged = (await api.as_("p0-1", "GET", f"/api/v1/tasks/{tid}")).json()
    assert (unchanged["status"], unchanged["level"], unchanged["unit"], unchanged["version"],
            unchanged["assignee"]["username"]) == (
        "claimed", "p2", "pusdatin", before["version"], "p2-pusdatin-1")
    assert len(unchanged["history"]) == len(before["history"])

    reason = "Bukan wewenang Pusdatinaker; mohon disposisi ulang"
    returned = await p2.http.post(f"/permohonan/{tid}/return", data={**fields, "reason": reason})
    assert returned.status_code == 303
    assert returned.headers["location"] == f"/permohonan/{tid}?ok=return"
    assert "Permohonan telah dikembalikan." in (await p2.http.get(
        returned.headers["location"])).text
    after = (await api.as_("p0-1", "GET", f"/api/v1/tasks/{tid}")).json()
    assert (after["status"], after["level"], after["unit"], after["assignee"]) == (
        "queued", "p1", "barenbang", None)
    assert after["history"][-1]["type"] == "task.returned"
    assert after["history"][-1]["data"]["reason"] == reason
    p1 = await browser("p1-barenbang-2")
    board = (await p1.http.get("/papan")).text
    queue = board[board.index('data-list="queue"'):board.index('data-list="mine"')]
    assert f'data-id="{tid}"' in queue
    timeline = (await p1.http.get(f"/permohonan/{tid}")).text
    entry = re.search(r'<li class="ev ev-task-returned">.*?</li>', timeline, re.S)
    assert entry and "Dikembalikan" in entry.group(0) and reason in entry.group(0)
    assert "(P2)" in entry.group(0)
