"""Generated junk on every route of the app — path segments, query values, JSON bodies (deep
nesting, lone surrogates, huge numbers), form bodies — never answers 5xx, signed in or not, and
every API refusal has the JSON error body."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route

from tests.support.api import SignedTokenClient
from tests.support.pages import PageClient, csrf_from

USERS = ("p0-1", "p1-barenbang-1", "p2-pusdatin-1", "spv-barenbang", "admin")
QUERY_NAMES = ("limit", "offset", "weeks", "since", "from", "to", "status", "level", "unit",
               "assignee", "overdue", "format", "lang", "next", "kode", "code", "q", "partial",
               "by", "ok", "service", "active")
FIELD_NAMES = ("username", "password", "service", "description", "applicant", "name",
               "organisation", "phone", "email", "version", "unit", "reason", "result", "body",
               "full_name", "role", "sop_days", "short_name", "level", "parent", "active",
               "lang", "next", "day", "label", "p1_pickup", "p2_pickup", "warn_at", "minutes",
               "applicant.name", "applicant.phone", "applicant.email", "kode")
PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")

SPECIAL = ["²", "¹", "٣", "𝟙", "9" * 40, "-1", "0", "1e9", "1.5", "NaN", "0001-01-01",
           "9999-12-31", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00", "\ud800", "a\udfffb",
           "task.5\n", "x\x00y", "\x1b[31m", "", " ", "%", "..", "../..", "<script>", "1" * 19,
           "18446744073709551616", "nonaktif", "aktif", "sandi", "hapus", "claim", "en", "id"]
QUERY_SPECIAL = ["²", "0001-01-01", "9999-12-31T23:59:59"]
ANY_CHAR = st.characters(codec=None, exclude_categories=())  # surrogates included
junk_text = st.one_of(st.sampled_from(SPECIAL), st.text(ANY_CHAR, max_size=24),
                      st.integers().map(str))
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(),
                        st.floats(allow_nan=False, allow_infinity=False), junk_text)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), junk_text),
                                            inner, max_size=4)),
    max_leaves=12)
json_object = st.dictionaries(st.sampled_from(FIELD_NAMES), json_value, max_size=6)
deep = st.integers(min_value=20, max_value=200_000).flatmap(
    lambda n: st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, "[" * n]))
json_body = st.one_of(json_object.map(json.dumps), json_value.map(json.dumps), deep,
                      st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
form_body = st.dictionaries(st.sampled_from(FIELD_NAMES), junk_text, max_size=6)


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str

    @property
    def api(self) -> bool:
        return self.template.startswith("/api/")


def endpoints(app: Any) -> list[Endpoint]:
    """Every (method, path) the app routes, mounted API routes included; static files not."""
    found: list[Endpoint] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                if route.path != "/static":
                    walk(list(route.routes), prefix + route.path)
            elif isinstance(route, Route):
                for method in sorted((route.methods or set()) - {"HEAD"}):
                    found.append(Endpoint(method, prefix + route.path))

    walk(list(app.routes), "")
    return found


def segment(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="") or "%20"


@dataclass
class Caller:
    name: str
    http: httpx.AsyncClient  # page requests (cookie session), or anonymous
    bearer: str | None
    csrf: str | None


@pytest.fixture
async def callers(app: Any) -> AsyncIterator[dict[str, Caller]]:
    """Anonymous, and each demo role signed in both ways (a bearer token for the API, a browser
    session with its CSRF token for the pages)."""
    clients: list[httpx.AsyncClient] = []

    def client() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("10.7.7.7", 50000),
                                        raise_app_exceptions=False)
        made = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(made)
        return made

    tokens = SignedTokenClient(client(), app)
    found = {"anonymous": Caller("anonymous", client(), None, None)}
    for user in USERS:
        browser = PageClient(client())
        assert (await browser.login(user)).status_code in (302, 303)
        home = await browser.http.get("/", follow_redirects=True)
        found[user] = Caller(user, browser.http, await tokens.token(user), csrf_from(home.text))
    try:
        yield found
    finally:
        for made in clients:
            await made.aclose()


async def send(caller: Caller, endpoint: Endpoint, params: list[str], query: dict[str, str],
               body: str | dict[str, str] | None) -> httpx.Response:
    values = iter(params)
    path = PARAM.sub(lambda m: segment(next(values, "1")), endpoint.template)
    if query:
        path += "?" + "&".join(f"{segment(k)}={segment(v)}" for k, v in query.items())
    headers: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    if endpoint.api and caller.bearer:
        headers["Authorization"] = f"Bearer {caller.bearer}"
    if isinstance(body, dict):
        form = dict(body)
        if caller.csrf:
            form["csrf_token"] = caller.csrf
        kwargs["content"] = "&".join(f"{segment(k)}={segment(v)}" for k, v in form.items())
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        kwargs["content"] = body.encode("utf-8", "surrogatepass")
        headers["Content-Type"] = "application/json"
    return await caller.http.request(endpoint.method, path, headers=headers, **kwargs)


def check(endpoint: Endpoint, answer: httpx.Response) -> None:
    assert answer.status_code < 500, (endpoint, answer.request.url, answer.text[:300])
    if endpoint.api and answer.status_code >= 400:
        assert answer.headers.get("content-type") == "application/json", (
            endpoint, answer.request.url, answer.status_code, answer.text[:100])
        error = answer.json()["error"]
        assert error["code"] and error["message"], answer.text


async def test_generated_junk_on_every_route_never_answers_5xx(app: Any,
                                                               callers: dict[str, Caller]) -> None:
    """Hundreds of generated requests over every route and caller: no status ≥ 500, and every
    4xx under /api/v1 is the JSON error body."""
    routes = [e for e in endpoints(app) if (e.method, e.template) != ("POST", "/keluar")]
    assert len(routes) > 30
    loop = asyncio.get_running_loop()
    seen: set[tuple[str, str]] = set()

    @hyp_settings(max_examples=600, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
    @given(endpoint=st.sampled_from(routes), who=st.sampled_from(sorted(callers)),
           params=st.lists(junk_text, min_size=3, max_size=3),
           query=st.dictionaries(st.sampled_from(QUERY_NAMES), junk_text, max_size=3),
           body=st.one_of(st.none(), json_body, form_body))
    def one(endpoint: Endpoint, who: str, params: list[str], query: dict[str, str],
            body: str | dict[str, str] | None) -> None:
        if endpoint.method == "GET":
            body = None
        answer = asyncio.run_coroutine_threadsafe(
            send(callers[who], endpoint, params, query, body), loop).result(30)
        seen.add((endpoint.method, endpoint.template))
        check(endpoint, answer)

    await asyncio.to_thread(one)
    assert len(seen) > len(routes) // 2  # the examples really spread over the routes


async def test_each_known_bad_value_on_each_route_answers_4xx(app: Any,
                                                              callers: dict[str, Caller]) -> None:
    """Every special value (superscript digits, huge numbers, far dates, surrogates, control
    characters, deep nesting) in every path segment, query name and body field, as admin and
    anonymous: below 500."""
    deep_bodies = ["[" * 100_000 + "]" * 100_000, '{"username":' * 5000 + "1" + "}" * 5000]
    for endpoint in endpoints(app):
        if (endpoint.method, endpoint.template) == ("POST", "/keluar"):
            continue
        for who in ("admin", "anonymous"):
            caller = callers[who]
            for value in SPECIAL:
                body: Any = None
                if endpoint.method == "POST":
                    body = (json.dumps({f: value for f in FIELD_NAMES}) if endpoint.api
                            else {f: value for f in FIELD_NAMES})
                answer = await send(caller, endpoint, [value] * 3,
                                    {q: value for q in QUERY_NAMES}, body)
                check(endpoint, answer)
            if endpoint.method == "GET" and who == "admin":
                for name in QUERY_NAMES:  # one at a time: no other parameter refuses first
                    for value in QUERY_SPECIAL:
                        check(endpoint, await send(caller, endpoint, ["1"] * 3, {name: value},
                                                   None))
            if endpoint.method == "POST":
                for raw in deep_bodies:
                    check(endpoint, await send(caller, endpoint, ["1"] * 3, {}, raw))


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("GET", "/api/v1/tasks/%C2%B2", None, 404, "not_found"),
    ("GET", "/api/v1/tasks/99999999999", None, 404, "not_found"),
    ("GET", "/api/v1/tasks?limit=%C2%B9", None, 422, "invalid"),
    ("GET", "/api/v1/tasks?offset=%C2%B2", None, 422, "invalid"),
    ("GET", "/api/v1/tasks?since=0001-01-01", None, 422, "invalid"),
    ("GET", "/api/v1/kpi?weeks=%C2%B2", None, 422, "invalid"),
    ("GET", "/api/v1/kpi?to=9999-12-31", None, 422, "invalid"),
    ("GET", "/api/v1/kpi?from=0001-01-01", None, 422, "invalid"),
    ("POST", "/api/v1/sla/%C2%B2/ack", "{}", 404, "not_found"),
    ("POST", "/api/v1/tasks/1/claim", '{"version": 1' + "0" * 30 + "}", 422, "invalid"),
    ("POST", "/api/v1/tasks/1/messages", '{"body": "a\\ud800b"}', 422, "invalid"),
    ("POST", "/api/v1/tasks", '{"service": "data-informasi", "applicant": {"name": "\\udc00",'
     ' "phone": "0812-1111-2222"}}', 422, "invalid"),
    ("GET", "/api/v1/tasks/1%0A", None, 400, "bad_url"),
    ("GET", "/api/v1/no/such/%0Athing", None, 400, "bad_url"),
    ("GET", "/api/v1/", None, 404, "not_found"),
    ("GET", "/api", None, 404, "not_found"),
    ("DELETE", "/api/v2/tasks", None, 404, "not_found"),
    ("PUT", "/api/v1/tasks", None, 405, "method_not_allowed"),
])
async def test_named_bad_inputs_answer_their_4xx(app: Any, callers: dict[str, Caller],
                                                 method: str, path: str, body: str | None,
                                                 status: int, code: str) -> None:
    """Each input the attack report found answering 500 now answers its 4xx and error code."""
    admin = callers["admin"]
    answer = await admin.http.request(
        method, path, content=body.encode() if body else None,
        headers={"Authorization": f"Bearer {admin.bearer}", "Content-Type": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


@pytest.mark.parametrize("body", [
    '{"username": ' * 4000, "[" * 30_000 + "]" * 30_000,
    '{"username": "\\ud800", "password": "x"}'])
async def test_sign_in_refuses_deep_or_broken_json_without_signing_in(
        app: Any, callers: dict[str, Caller], body: str) -> None:
    """The unauthenticated token endpoint answers 400 to deep nesting and lone surrogates."""
    answer = await callers["anonymous"].http.post(
        "/api/v1/auth/token", content=body.encode(), headers={"Content-Type": "application/json"})
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"]["code"] in ("bad_json", "invalid")


@pytest.mark.parametrize("path", ["/permohonan/%C2%B2", "/tanda-terima/%C2%B9",
                                  "/permohonan/99999999999"])
async def test_pages_answer_a_clear_not_found_page_for_bad_numbers(
        app: Any, callers: dict[str, Caller], path: str) -> None:
    """Task pages with a superscript or huge number show the 404 error page."""
    answer = await callers["p0-1"].http.get(path)
    assert answer.status_code == 404
    assert "<html" in answer.text and "Traceback" not in answer.text
