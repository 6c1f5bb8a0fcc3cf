"""Sign-in, sign-out, landing boards, CSRF and throttling on the pages."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub.app import create_app
from hub.db import Database
from tests.conftest import make_settings
from tests.support.pages import PageClient, csrf_from, page_client
from tests.web.conftest import Browser


async def test_each_role_lands_on_its_own_board(browser: Browser) -> None:
    """After signing in, P0 goes to the counter, P1/P2 to the board, supervisors and admins to
    theirs."""
    expected = {"p0-1": "/loket", "p1-barenbang-1": "/papan", "p2-pusdatin-1": "/papan",
                "spv-barenbang": "/penyelia", "admin": "/admin"}
    for username, landing in expected.items():
        pages = await browser()
        answer = await pages.login(username)
        assert answer.status_code == 303
        assert answer.headers["location"] == landing
        board = await pages.http.get(landing)
        assert board.status_code == 200, (username, board.text[:300])


async def test_session_cookie_is_httponly_and_samesite_lax(browser: Browser) -> None:
    """The session cookie cannot be read by scripts and is not sent on cross-site posts."""
    pages = await browser()
    answer = await pages.login("p0-1")
    cookie = next(v for k, v in answer.headers.multi_items()
                  if k == "set-cookie" and v.startswith("ptsa_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie


async def test_a_page_without_a_session_redirects_to_sign_in_with_next(browser: Browser) -> None:
    """Opening a board while signed out leads to the sign-in page, which returns there after."""
    pages = await browser()
    answer = await pages.http.get("/papan")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/masuk?next=%2Fpapan"
    form = await pages.http.get("/masuk?next=%2Fpermohonan%2F1")
    signed = await pages.http.post("/masuk", data={
        "username": "p1-barenbang-1", "password": "ptsa-demo-2026", "next": "/permohonan/1",
        "csrf_token": csrf_from(form.text)})
    assert signed.headers["location"] == "/permohonan/1"


async def test_next_never_leaves_the_site(browser: Browser) -> None:
    """A ``next`` pointing to another host is ignored (no open redirect)."""
    pages = await browser()
    form = await pages.http.get("/masuk")
    answer = await pages.http.post("/masuk", data={
        "username": "p0-1", "password": "ptsa-demo-2026", "next": "//evil.example/x",
        "csrf_token": csrf_from(form.text)})
    assert answer.headers["location"] == "/loket"


async def test_wrong_password_is_shown_in_indonesian(browser: Browser) -> None:
    """A wrong password answers 401 with a plain message and keeps the username typed."""
    pages = await browser()
    answer = await pages.login("p0-1", "salah-sandi")
    assert answer.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in answer.text
    assert 'value="p0-1"' in answer.text


async def test_login_throttling_gives_a_clear_message(
        seeded_db: Database, database_url: str, redis_url: str, tmp_path: Path) -> None:
    """After five failures the sixth attempt, even with the right password, is refused with the
    minutes to wait. (Delays between attempts off, PTSA_LOGIN_DELAY_MAX=0, to fail five times
    back to back; the next test has them.)"""
    settings = make_settings(database_url, redis_url, tmp_path, PTSA_LOGIN_DELAY_MAX="0")
    application = create_app(settings)
    async with application.router.lifespan_context(application), \
            page_client(application) as http:
        pages = PageClient(http)
        for _ in range(5):
            assert (await pages.login("p0-2", "salah-sandi")).status_code == 401
        answer = await pages.login("p0-2")
    assert answer.status_code == 429
    assert "Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam 15 menit." in answer.text
    assert int(answer.headers["retry-after"]) > 0


async def test_the_wait_between_failed_sign_ins_is_told_in_seconds(browser: Browser) -> None:
    """After two failures the next attempt, even with the right password, is refused at once
    with the seconds to wait (Indonesian by default, English when chosen), the username kept;
    once they passed, the right password signs in."""
    pages, english = await browser(), await browser()  # one address: the same pair waits
    english.http.cookies.set("ptsa_lang", "en")
    for _ in range(2):
        assert (await pages.login("p0-2", "salah-sandi")).status_code == 401
    answer = await pages.login("p0-2")
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "1"
    assert "Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam 1 detik." in answer.text
    assert 'value="p0-2"' in answer.text
    answer = await english.login("p0-2")
    assert answer.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 1 second(s)." in answer.text
    await asyncio.sleep(1.1)
    assert (await pages.login("p0-2")).status_code == 303


async def test_sign_in_without_csrf_token_is_refused(browser: Browser) -> None:
    """The sign-in form is CSRF-protected too (login CSRF): no token, no session."""
    pages = await browser()
    await pages.http.get("/masuk")
    answer = await pages.http.post("/masuk", data={"username": "p0-1",
                                                   "password": "ptsa-demo-2026"})
    assert answer.status_code == 403
    assert "ptsa_session" not in answer.headers.get("set-cookie", "")


async def test_sign_out_ends_the_session(browser: Browser) -> None:
    """Signing out deletes the session: the same cookie no longer opens a board."""
    pages = await browser("p1-barenbang-1")
    cookie = pages.http.cookies.get("ptsa_session")
    answer = await pages.post_form("/keluar", {})
    assert answer.status_code == 303 and answer.headers["location"] == "/masuk"
    pages.http.cookies.set("ptsa_session", cookie or "")
    assert (await pages.http.get("/papan")).status_code == 303


async def test_sign_out_without_csrf_token_is_refused(browser: Browser) -> None:
    """A cross-site sign-out attempt (no token) is refused and the session survives."""
    pages = await browser("p1-barenbang-1")
    answer = await pages.http.post("/keluar", data={})
    assert answer.status_code == 403
    assert (await pages.http.get("/papan")).status_code == 200


async def test_pages_send_security_headers(browser: Browser) -> None:
    """Pages forbid inline scripts and framing."""
    pages = await browser("p0-1")
    answer = await pages.http.get("/loket")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "<script>" not in answer.text.replace('<script type="application/json"', "")


async def test_a_role_cannot_open_another_roles_page(browser: Browser) -> None:
    """A P2 desk cannot open the counter or the admin pages (403 page)."""
    pages = await browser("p2-pusdatin-1")
    assert (await pages.http.get("/loket")).status_code == 403
    assert (await pages.http.get("/admin")).status_code == 403


async def test_an_expired_session_leads_back_to_sign_in_and_the_api_refuses_it(
        seeded_db: Database, database_url: str, redis_url: str, tmp_path: Path) -> None:
    """With PTSA_SESSION_MAX_AGE=2s, the same cookie that opened a board and the API a moment
    ago leads to the sign-in page (with ``next``) and gets 401 from the API once 2 s passed."""
    settings = make_settings(database_url, redis_url, tmp_path, PTSA_SESSION_MAX_AGE="2s")
    application = create_app(settings)
    async with application.router.lifespan_context(application), \
            page_client(application) as http:
        answer = await PageClient(http).login("p1-barenbang-1")
        assert answer.status_code == 303
        assert "Max-Age=2;" in answer.headers["set-cookie"]
        # Sent by hand from here on: a browser drops the cookie at Max-Age by itself, but the
        # server must not rely on that (a copied cookie, a PC whose clock is behind).
        cookie = {"Cookie": f"ptsa_session={http.cookies['ptsa_session']}"}
        http.cookies.clear()
        assert (await http.get("/papan", headers=cookie)).status_code == 200
        assert (await http.get("/api/v1/me", headers=cookie)).status_code == 200
        await asyncio.sleep(2.5)
        page = await http.get("/papan", headers=cookie)
        assert page.status_code == 303
        assert page.headers["location"] == "/masuk?next=%2Fpapan"
        api = await http.get("/api/v1/me", headers=cookie)
        assert api.status_code == 401
        assert api.json()["error"]["code"]
