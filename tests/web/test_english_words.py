"""No English left on the Indonesian pages: every page a role can open (and the public ones) is
read as its user sees it — text, labels, placeholders, tooltips, the live JS's strings — and
must not contain common English words. Proper names and shared terms are allowed; text marked
``lang="en"`` (a gateway's own error message) is skipped."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from tests.conftest import ApiClient
from tests.support.pages import PageClient, csrf_from, page_client

# Common English words of a UI that are not also Indonesian words.
ENGLISH = set("""
the and of to for with from into by at on in is are was be not no yes or if then than this that
these those it its you your our we they he she his her them
open opened close closed due left overdue late queue queued request requests claim claimed
dispose disposed hold held resume resumed resubmit return returned complete completed pending
sending sent failed error errors sign signed search submit save add new today board counter
notification notifications breach breached warning deadline minutes minute hours hour days day
working time applicant phone organisation organization service services message messages unread
receipt print track tracking back next all free please nothing here none who what when where
created registered holder kind channel recipient attempts result reason notes name password
username role active inactive edit delete remove show hide export download week weeks trend
median share within finished completion pickup calendar office holiday holidays staff desk
""".split())
# Words that look English but are Indonesian, or names and terms kept as they are.
ALLOWED = {"ptsa", "kemnaker", "sop", "sla", "p0", "p1", "p2", "p90", "csv", "excel", "qr", "id",
           "en", "sms", "email", "admin", "median", "administrator", "total", "status", "unit",
           "data", "eselon", "barenbang", "pusdatin", "pt", "cv", "uu"}

# Names from the organisation's data, kept as the organisation writes them.
PROPER_NAMES = ("Front Office PTSA",)
ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "data-total", "data-task",
              "data-toast"}


class Visible(HTMLParser):
    """The words a user reads: text outside scripts and styles and outside ``lang="en"``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self.stack: list[tuple[str, bool]] = []
        self.page_data = ""

    def skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        skip = tag in ("style",) or values.get("lang") == "en" or (
            tag == "script" and values.get("id") != "page-data")
        if tag not in ("input", "br", "img", "meta", "link", "hr"):
            self.stack.append((tag, skip))
        if not skip and not self.skipping():
            for name in ATTRIBUTES & set(values):
                self.words += _words(values[name] or "")

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][0] == "script" and not self.skipping():
            self.page_data += data
        elif not self.skipping():
            self.words += _words(data)


def _words(text: str) -> list[str]:
    # %(name)s placeholders are not words a reader sees.
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    return re.findall(r"[A-Za-z][A-Za-z']+", re.sub(r"%\(\w+\)s", " ", text))


def english_in(html: str) -> set[str]:
    parser = Visible()
    parser.feed(html)
    words = list(parser.words)
    if parser.page_data:
        strings = json.loads(parser.page_data).get("strings", {})
        for value in strings.values():
            words += _words(value)
    return {w for w in words if w.lower() in ENGLISH and w.lower() not in ALLOWED}


async def _pages(app: Any, username: str | None, paths: list[str]) -> dict[str, set[str]]:
    found = {}
    async with page_client(app) as http:
        if username:
            await PageClient(http).login(username)
        for path in paths:
            answer = await http.get(path)
            assert answer.status_code == 200, (username, path, answer.status_code)
            found[f"{username or 'public'} {path}"] = english_in(answer.text)
    return found


async def test_no_english_words_on_any_indonesian_page(api: ApiClient, app: Any) -> None:
    """Every staff page of every role, and every public page, in Indonesian (the default)."""
    task = await api.register()
    await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/claim", json={})
    await api.as_("p1-barenbang-1", "POST", f"/api/v1/tasks/{task['id']}/hold",
                  json={"reason": "Menunggu surat kuasa"})
    await api.as_("spv-barenbang", "POST", f"/api/v1/tasks/{task['id']}/messages",
                  json={"body": "Mohon dipantau"})
    tid, code = task["id"], task["code"]
    found: dict[str, set[str]] = {}
    found |= await _pages(app, "p0-1", ["/loket", "/papan", "/cari?q=andi", "/cari", "/pesan",
                                        f"/tanda-terima/{tid}", f"/permohonan/{tid}",
                                        "/kinerja"])
    found |= await _pages(app, "p1-barenbang-1", ["/papan", f"/permohonan/{tid}", "/pesan"])
    found |= await _pages(app, "p2-pusdatin-1", ["/papan"])
    found |= await _pages(app, "spv-barenbang", ["/penyelia", "/penyelia/notifikasi",
                                                 "/kinerja", "/kinerja?by=service"])
    found |= await _pages(app, "admin", ["/admin/petugas", "/admin/unit", "/admin/layanan",
                                         "/admin/sla", "/admin/kalender"])
    found |= await _pages(app, None, ["/masuk", "/lacak", f"/lacak?kode={code}", "/layanan"])
    left = {page: words for page, words in found.items() if words}
    assert not left, "\n".join(f"{p}: {sorted(w)}" for p, w in left.items())


def test_the_check_finds_english_words() -> None:
    """The checker itself sees English in text, attributes and the live strings, and skips
    text marked lang="en"."""
    html = ('<p>Permohonan <b>overdue</b></p><input placeholder="Search here">'
            '<small lang="en">connection refused</small>'
            '<script type="application/json" id="page-data">{"strings": {"a": "%(n)s left"}}'
            '</script>')
    assert english_in(html) == {"overdue", "Search", "here", "left"}


async def test_the_language_switch_keeps_the_page_query(app: Any) -> None:
    """The switch to English on a search results page (the top bar's POST form) keeps the search
    and its filters."""
    async with page_client(app) as http:
        pages = PageClient(http)
        await pages.login("p0-1")
        page = await http.get("/cari?q=andi&status=queued")
        form = re.search(r'<form method="post" action="/bahasa".*?name="next" value="([^"]+)"',
                         page.text, re.S)
        assert form, page.text
        english = await http.post("/bahasa", follow_redirects=True, data={
            "csrf_token": csrf_from(page.text), "lang": "en",
            "next": form.group(1).replace("&amp;", "&")})
    assert english.status_code == 200
    assert 'value="andi"' in english.text and 'lang="en"' in english.text
    assert '<option value="queued" selected>' in english.text
