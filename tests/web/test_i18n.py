"""Languages: Indonesian by default, English by choice (remembered), complete catalogues, and
Asia/Jakarta dates in each language's own format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlmodel import select

from hub.models import Staff
from tests.web.conftest import Browser
from web import i18n

WEB = Path(__file__).resolve().parents[2] / "web"


def code_msgids() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(WEB), method_map, options, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_in_the_code_has_an_indonesian_translation() -> None:
    """No template or Python string falls back to English on the Indonesian screens."""
    with open(WEB / "locale" / "id" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(code_msgids() - translated)
    assert not missing, f"add these to web/locale/id/LC_MESSAGES/messages.po: {missing}"
    assert len(translated) > 200


def test_placeholders_survive_translation() -> None:
    """Each translation keeps the %(name)s placeholders of its message id."""
    import re

    with open(WEB / "locale" / "id" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id and message.string:
            assert set(re.findall(r"%\((\w+)\)s", message.id)) == \
                set(re.findall(r"%\((\w+)\)s", message.string)), message.id


def test_dates_are_shown_in_jakarta_time_in_the_language_format() -> None:
    """03:05 UTC is 10.05 WIB; Indonesian writes 10.05 and day names in Indonesian."""
    moment = datetime(2026, 11, 27, 3, 5, tzinfo=UTC)
    tz = ZoneInfo("Asia/Jakarta")
    i18n.set_language("id")
    assert i18n.format_when(moment, tz) == "27 Nov 2026 10.05"
    assert i18n.format_when(moment, tz, "long") == "Jumat, 27 November 2026, 10.05 WIB"
    i18n.set_language("en")
    assert i18n.format_when(moment, tz) == "27 Nov 2026, 10:05"
    i18n.set_language("id")


async def test_pages_are_indonesian_by_default(browser: Browser) -> None:
    """Without a choice the sign-in page is in Indonesian."""
    pages = await browser()
    page = await pages.http.get("/masuk")
    assert '<html lang="id">' in page.text and "Nama pengguna" in page.text


async def test_lang_en_switches_and_is_remembered_for_the_staff_member(browser: Browser,
                                                                       app: object) -> None:
    """The language form (POST /bahasa with the CSRF token) shows English, stores the choice on
    staff.language and keeps it on later pages, also in a new browser after signing in; posting
    id switches back."""
    pages = await browser("p1-barenbang-1")
    page = await pages.post_form("/bahasa", {"lang": "en", "next": "/papan"},
                                 follow_redirects=True)
    assert '<html lang="en">' in page.text and "Unit queue" in page.text
    assert "Antrean unit" not in page.text
    assert 'action="/bahasa"' in page.text
    later = await pages.http.get("/papan")
    assert "Unit queue" in later.text
    assert await _language_of(app, "p1-barenbang-1") == "en"
    elsewhere = await browser("p1-barenbang-1")
    assert "Unit queue" in (await elsewhere.http.get("/papan")).text
    back = await pages.post_form("/bahasa", {"lang": "id", "next": "/papan"},
                                 follow_redirects=True)
    assert "Antrean unit" in back.text


async def _language_of(app: object, username: str) -> str | None:
    async with app.state.ctx.db.read() as session:  # type: ignore[attr-defined]
        staff = (await session.exec(select(Staff).where(Staff.username == username))).one()
    return staff.language


async def test_a_get_with_lang_changes_the_page_but_writes_nothing(browser: Browser,
                                                                   app: object) -> None:
    """A link with ?lang=en (anyone can put one on any site) shows that page in English and
    changes nothing stored: the account's language and the next page stay Indonesian."""
    pages = await browser("p1-barenbang-2")
    before = await _language_of(app, "p1-barenbang-2")
    page = await pages.http.get("/papan?lang=en")
    assert "Unit queue" in page.text
    assert "Antrean unit" in (await pages.http.get("/papan")).text
    assert await _language_of(app, "p1-barenbang-2") == before


async def test_the_language_form_without_its_csrf_token_is_refused(browser: Browser,
                                                                   app: object) -> None:
    """POST /bahasa without the session's CSRF token is 403 and stores nothing."""
    pages = await browser("p1-barenbang-2")
    before = await _language_of(app, "p1-barenbang-2")
    answer = await pages.http.post("/bahasa", data={"lang": "en", "next": "/papan"})
    assert answer.status_code == 403
    assert await _language_of(app, "p1-barenbang-2") == before


async def test_an_anonymous_choice_is_kept_in_a_cookie(browser: Browser) -> None:
    """The public tracking page remembers English for a visitor without an account."""
    pages = await browser()
    await pages.http.get("/lacak?lang=en")
    page = await pages.http.get("/lacak")
    assert "Track a request" in page.text


async def test_the_live_js_gets_its_strings_translated(browser: Browser) -> None:
    """The board hands its JavaScript the connection-state words in the page's language."""
    pages = await browser("p1-barenbang-1")
    board = await pages.http.get("/papan")
    assert '"conn.online": "Terhubung"' in board.text
