"""SMS gateway requests against a real HTTP server on 127.0.0.1, and phone normalisation."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from hub.errors import ConfigError
from workers.notify.sms import DeliveryError, SmsGateway, normalise_phone, parse_sms_fields

ZENZIVA = "userkey=u&passkey=p&nohp={phone}&pesan={text}"
TEXT = "Peringatan: batas waktu terlampaui. Permohonan 2024/0153 di P1 & P2 belum diambil (15 mnt)."


@dataclass
class Received:
    method: str
    path: str
    query: list[tuple[str, str]]
    content_type: str
    body: bytes


class Gateway(ThreadingHTTPServer):
    """A stand-in SMS gateway: ``/status/<code>`` answers that code, ``/slow`` stalls."""

    # Non-daemon handler threads are joined by server_close(), so no socket outlives a test.
    daemon_threads = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.received: list[Received] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append(Received(
            self.command, parts.path, parse_qsl(parts.query, keep_blank_values=True),
            self.headers.get("Content-Type", ""), self.rfile.read(length),
        ))
        if parts.path == "/slow":
            time.sleep(0.6)
        status = int(parts.path.rsplit("/", 1)[1]) if parts.path.startswith("/status/") else 200
        body = b"x" * 500 if parts.path == "/long" else f"status={status} id=MSG-77".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_get_puts_template_fields_in_the_query_string(gateway: Gateway) -> None:
    """GET mode sends the fixed fields, the normalised number and the text as query parameters."""
    sms = SmsGateway(f"{gateway.base_url}/api/sendsms", "GET", ZENZIVA)
    reference = await sms.send("0812-3456-7890", TEXT)
    assert reference == "status=200 id=MSG-77"
    [request] = gateway.received
    assert (request.method, request.path) == ("GET", "/api/sendsms")
    assert request.query == [("userkey", "u"), ("passkey", "p"), ("nohp", "6281234567890"),
                             ("pesan", TEXT)]


async def test_get_keeps_the_query_already_in_the_url(gateway: Gateway) -> None:
    """Fields are added to, not swapped for, a query string written into the gateway URL."""
    sms = SmsGateway(f"{gateway.base_url}/send?format=json", "GET", ZENZIVA)
    await sms.send("081234567890", TEXT)
    assert gateway.received[0].query[0] == ("format", "json")
    assert ("nohp", "6281234567890") in gateway.received[0].query


async def test_post_form_encodes_the_fields(gateway: Gateway) -> None:
    """POST mode sends an application/x-www-form-urlencoded body."""
    sms = SmsGateway(f"{gateway.base_url}/api/sendsms", "POST", ZENZIVA)
    await sms.send("+62 812 3456 7890", TEXT)
    [request] = gateway.received
    assert request.method == "POST" and request.query == []
    assert request.content_type == "application/x-www-form-urlencoded"
    assert parse_qsl(request.body.decode()) == [("userkey", "u"), ("passkey", "p"),
                                               ("nohp", "6281234567890"), ("pesan", TEXT)]


async def test_json_posts_a_json_object(gateway: Gateway) -> None:
    """JSON mode posts the fields as one JSON object of strings."""
    sms = SmsGateway(f"{gateway.base_url}/api/sendsms", "json", ZENZIVA)
    await sms.send("0812 3456 7890", "Tenggat terlampaui — eskalasi")
    [request] = gateway.received
    assert request.method == "POST" and request.content_type == "application/json"
    assert json.loads(request.body) == {"userkey": "u", "passkey": "p", "nohp": "6281234567890",
                                        "pesan": "Tenggat terlampaui — eskalasi"}


async def test_text_with_placeholder_words_is_sent_literally(gateway: Gateway) -> None:
    """Braces inside the message are not filled in a second time."""
    sms = SmsGateway(f"{gateway.base_url}/send", "GET", ZENZIVA)
    await sms.send("081234567890", "isi {phone} dan {text}")
    assert ("pesan", "isi {phone} dan {text}") in gateway.received[0].query


async def test_the_message_reference_fills_ref_and_nothing_else(gateway: Gateway) -> None:
    """{ref} carries the caller's stable reference; braces in the text stay literal."""
    sms = SmsGateway(f"{gateway.base_url}/api/sendsms", "POST", ZENZIVA + "&clientref={ref}")
    await sms.send("0812 3456 7890", "isi {ref}", ref="ptsa.n7.1796439921628")
    await sms.send("0812 3456 7890", "isi {ref}", ref="ptsa.n7.1796439921628")  # a resend
    first, again = (parse_qsl(r.body.decode()) for r in gateway.received)
    assert first == again == [("userkey", "u"), ("passkey", "p"), ("nohp", "6281234567890"),
                              ("pesan", "isi {ref}"), ("clientref", "ptsa.n7.1796439921628")]


async def test_reference_is_truncated(gateway: Gateway) -> None:
    """A long gateway reply is cut to 200 characters for the outbox column."""
    sms = SmsGateway(f"{gateway.base_url}/long", "GET", ZENZIVA)
    assert await sms.send("081234567890", TEXT) == "x" * 200


@pytest.mark.parametrize(("status", "permanent"), [
    (500, False), (502, False), (503, False), (408, False), (429, False),
    (400, True), (401, True), (404, True), (422, True), (301, True),
])
async def test_http_status_decides_whether_to_retry(
    gateway: Gateway, status: int, permanent: bool,
) -> None:
    """5xx, 408 and 429 are worth retrying; other non-2xx answers are not."""
    sms = SmsGateway(f"{gateway.base_url}/status/{status}", "POST", ZENZIVA)
    with pytest.raises(DeliveryError, match=f"HTTP {status}") as caught:
        await sms.send("081234567890", TEXT)
    assert caught.value.permanent is permanent
    assert caught.value.details["http_status"] == status


async def test_gateway_down_is_transient() -> None:
    """Nothing listening on the gateway port is a connection failure worth retrying."""
    sms = SmsGateway(f"http://127.0.0.1:{free_port()}/send", "POST", ZENZIVA, timeout=2)
    with pytest.raises(DeliveryError, match="could not reach") as caught:
        await sms.send("081234567890", TEXT)
    assert caught.value.permanent is False


async def test_slow_gateway_times_out_as_transient(gateway: Gateway) -> None:
    """A gateway that does not answer within the timeout is retried later."""
    sms = SmsGateway(f"{gateway.base_url}/slow", "POST", ZENZIVA, timeout=0.2)
    with pytest.raises(DeliveryError, match="timed out") as caught:
        await sms.send("081234567890", TEXT)
    assert caught.value.permanent is False


async def test_invalid_number_is_permanent_and_sends_nothing(gateway: Gateway) -> None:
    """A number that is not an Indonesian mobile never reaches the gateway."""
    sms = SmsGateway(f"{gateway.base_url}/send", "POST", ZENZIVA)
    with pytest.raises(DeliveryError, match="Indonesian mobile") as caught:
        await sms.send("021-5255733", TEXT)
    assert caught.value.permanent is True
    assert gateway.received == []


@pytest.mark.parametrize(("written", "normalised"), [
    ("081234567890", "6281234567890"),
    ("0812-3456-7890", "6281234567890"),
    ("0812 3456 789", "628123456789"),
    ("+62 812-3456-7890", "6281234567890"),
    ("62 81234567890", "6281234567890"),
    ("0062 812 3456 7890", "6281234567890"),
    ("(0812) 3456.7890", "6281234567890"),
    ("81234567890", "6281234567890"),
    ("0812345678", "62812345678"),
])
def test_indonesian_numbers_are_normalised_to_62(written: str, normalised: str) -> None:
    """National, international and formatted spellings become the 62… form gateways expect."""
    assert normalise_phone(written) == normalised


@pytest.mark.parametrize("written", [
    "", "abc", "08123", "0812345", "021-5255733", "+65 8123 4567", "0812345678901234",
    "0812-3456-789x", "٠٨١٢٣٤٥٦٧٨٩٠",
])
def test_obviously_invalid_numbers_are_rejected(written: str) -> None:
    """Too short, too long, landline, foreign or non-digit numbers are permanent failures."""
    with pytest.raises(DeliveryError) as caught:
        normalise_phone(written)
    assert caught.value.permanent is True


def test_field_template_keeps_order_and_decodes_values() -> None:
    """Fixed fields are percent-decoded and kept in the order written."""
    assert parse_sms_fields("userkey=a%2Bb&sender=PTSA+Kemnaker&to={phone}&msg={text}") == [
        ("userkey", "a+b"), ("sender", "PTSA Kemnaker"), ("to", "{phone}"), ("msg", "{text}"),
    ]


@pytest.mark.parametrize(("template", "problem"), [
    ("number={phone}", "{text} missing"),
    ("message={text}", "{phone} missing"),
    ("to={phone}&msg={message}", "{message}"),
    ("to={phone}&{text}", "name=value"),
    ("to={phone}&to={text}", "twice"),
])
def test_bad_field_template_is_a_config_error(template: str, problem: str) -> None:
    """A template without both placeholders, or with unknown ones, fails at start-up."""
    with pytest.raises(ConfigError, match="PTSA_SMS_FIELDS") as caught:
        parse_sms_fields(template)
    assert problem in caught.value.message


@pytest.mark.parametrize(("url", "method"), [
    ("ftp://gateway/send", "POST"), ("gateway/send", "POST"), ("http://gw/send", "PUT"),
])
def test_bad_gateway_settings_are_config_errors(url: str, method: str) -> None:
    """A non-HTTP URL or an unknown method is refused when the gateway is built."""
    with pytest.raises(ConfigError):
        SmsGateway(url, method, ZENZIVA)


def test_gateway_repr_hides_credentials() -> None:
    """Keys in the URL query or the fields never show up in a repr."""
    text = repr(SmsGateway("https://u:secret@gw.example.id:8443/api?key=secret", "GET",
                           "passkey=secret&to={phone}&msg={text}"))
    assert "secret" not in text and "gw.example.id:8443/api" in text
