"""SMTP URL parsing, and delivery through what the worker runs (``Transports.send``: the
composed message over the SMTP session pool) against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from hub.errors import ConfigError
from workers.notify.email import DeliveryError, SmtpConfig, parse_smtp_url
from workers.notify.outbox import Claimed
from workers.notify.transports import Transports, compose

SENDER = "PTSA Kemnaker <ptsa@kemnaker.go.id>"
SUBJECT = "Peringatan: batas waktu terlampaui"
BODY = "Permohonan 2024/0153 belum diambil di P1 — mohon tindak lanjut, penyelia. Terima kasih."


def url_of(config: SmtpConfig) -> str:
    query = f"starttls={int(config.starttls)}&timeout={config.timeout:g}"
    return f"smtp://{config.host}:{config.port}?{query}"


async def send_email(config: SmtpConfig | str, mail_from: str, to: str, subject: str, body: str,
                     row_id: int = 42) -> str:
    """One notification row sent as the worker sends it; returns the Message-ID header."""
    url = config if isinstance(config, str) else url_of(config)
    transports = Transports(SimpleNamespace(  # type: ignore[arg-type]
        mail_from=mail_from, smtp_url=url, sms_url=None, sms_method="POST", sms_fields=""))
    row = Claimed(row_id, 1, "email", to, subject, body, datetime(2026, 11, 27, 3, tzinfo=UTC))

    async def committing() -> None:
        return None

    try:
        ref = await transports.send(row, committing)
    finally:
        await transports.close()
    return f"<{ref}@{mail_from.rpartition('@')[2].rstrip('>')}>"


class Recorder:
    """An aiosmtpd handler that keeps what it accepts and refuses chosen mailboxes."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.logins: list[bytes] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.startswith("tidak-ada@"):
            return "550 5.1.1 Mailbox tidak dikenal"
        if address.startswith("penuh@"):
            return "452 4.2.2 Mailbox penuh, coba lagi nanti"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data == (b"ptsa", b"rahasia@123")
        if ok:
            self.logins.append(auth_data.login)
        # handled=False lets aiosmtpd send the 535 reply itself.
        return AuthResult(success=ok, handled=False)


@asynccontextmanager
async def smtp_server(handler: Recorder, **smtp_kwargs: Any) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mail.kemnaker.test", **smtp_kwargs), "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Recorder, SmtpConfig]]:
    handler = Recorder()
    async with smtp_server(handler) as port:
        yield handler, SmtpConfig(host="127.0.0.1", port=port, timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_starttls_url_defaults_to_587_and_decodes_credentials() -> None:
    """smtp:// with starttls=1 and no port uses 587 and percent-decodes user and password."""
    config = parse_smtp_url("smtp://ptsa%40kemnaker.go.id:p%40ss%2Fw0rd@mail.kemnaker.go.id"
                            "?starttls=1&timeout=7.5")
    assert config == SmtpConfig(host="mail.kemnaker.go.id", port=587,
                                username="ptsa@kemnaker.go.id", password="p@ss/w0rd",
                                starttls=True, use_tls=False, timeout=7.5)


def test_smtps_url_defaults_to_465_with_implicit_tls() -> None:
    """smtps:// means TLS from the first byte on port 465."""
    config = parse_smtp_url("smtps://relay.example.id")
    assert (config.port, config.use_tls, config.starttls) == (465, True, False)


def test_plain_smtp_url_defaults_to_25_and_port_587_implies_starttls() -> None:
    """A bare smtp:// host is port 25 without TLS; naming port 587 turns STARTTLS on."""
    assert parse_smtp_url("smtp://relay") == SmtpConfig(host="relay", port=25, timeout=10.0)
    assert parse_smtp_url("smtp://relay:587").starttls is True
    assert parse_smtp_url("smtp://relay:587?starttls=0").starttls is False


@pytest.mark.parametrize("url", [
    "http://relay", "smtp://", "smtp://relay:port", "smtp://relay:99999", "smtp://relay/path",
    "smtp://relay?startls=1", "smtp://relay?starttls=maybe", "smtps://relay?starttls=1",
    "smtp://relay?timeout=abc", "smtp://relay?timeout=0", "smtp://ptsa@relay",
])
def test_malformed_smtp_url_is_a_config_error(url: str) -> None:
    """A wrong scheme, port, query or half-given credentials fail at start-up, not at send."""
    with pytest.raises(ConfigError, match="PTSA_SMTP_URL"):
        parse_smtp_url(url)


def test_config_repr_hides_the_password() -> None:
    """The password never shows up in logs that print the config."""
    assert "rahasia" not in repr(parse_smtp_url("smtp://u:rahasia@relay"))


async def test_message_arrives_with_utf8_subject_body_and_message_id(
    smtp: tuple[Recorder, SmtpConfig],
) -> None:
    """The server receives the Indonesian subject, the UTF-8 body and the returned Message-ID."""
    handler, config = smtp
    message_id = await send_email(config, SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY)
    [received] = handler.messages
    assert handler.recipients == [["penyelia@kemnaker.go.id"]]
    assert received["Subject"] == SUBJECT
    assert received["From"] == SENDER
    assert received["Message-ID"] == message_id
    assert message_id.startswith("<") and message_id.endswith("@kemnaker.go.id>")
    assert received["Auto-Submitted"] == "auto-generated"
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    assert received.get_content().strip() == BODY


async def test_caller_message_id_is_reused_on_retry(smtp: tuple[Recorder, SmtpConfig]) -> None:
    """A row's stable token gets the sender's domain and the same id on every attempt."""
    handler, config = smtp
    first = await send_email(config, SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY)
    second = await send_email(config, SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY)
    assert first == second == "<ptsa.n42.1795748400000@kemnaker.go.id>"
    assert [m["Message-ID"] for m in handler.messages] == [first, first]


async def test_subject_line_breaks_are_folded_into_spaces(
    smtp: tuple[Recorder, SmtpConfig],
) -> None:
    """A multi-line task title cannot inject headers through the subject."""
    handler, config = smtp
    await send_email(config, SENDER, "penyelia@kemnaker.go.id", "Terlambat:\r\nBcc: x@y.id", BODY)
    [received] = handler.messages
    assert received["Subject"] == "Terlambat: Bcc: x@y.id"
    assert received["Bcc"] is None


async def test_rejected_recipient_is_a_permanent_failure(
    smtp: tuple[Recorder, SmtpConfig],
) -> None:
    """A 550 reply to RCPT means the address is wrong and a retry cannot help."""
    handler, config = smtp
    with pytest.raises(DeliveryError, match="550") as caught:
        await send_email(config, SENDER, "tidak-ada@kemnaker.go.id", SUBJECT, BODY)
    assert caught.value.permanent is True
    assert caught.value.details["smtp_code"] == 550
    assert handler.messages == []


async def test_temporary_recipient_refusal_is_transient(
    smtp: tuple[Recorder, SmtpConfig],
) -> None:
    """A 4xx reply to RCPT asks the sender to try again later."""
    _, config = smtp
    with pytest.raises(DeliveryError, match="452") as caught:
        await send_email(config, SENDER, "penuh@kemnaker.go.id", SUBJECT, BODY)
    assert caught.value.permanent is False


async def test_server_down_is_transient() -> None:
    """Nothing listening on the port is a connection failure worth retrying."""
    config = SmtpConfig(host="127.0.0.1", port=free_port(), timeout=2)
    with pytest.raises(DeliveryError) as caught:
        await send_email(config, SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY)
    assert caught.value.permanent is False


async def test_silent_server_times_out_as_transient() -> None:
    """A server that accepts the connection but never greets fails after the timeout, retryably."""
    hung_up = asyncio.Event()

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()
        await writer.wait_closed()
        hung_up.set()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    config = SmtpConfig(host="127.0.0.1", port=server.sockets[0].getsockname()[1], timeout=0.3)
    try:
        with pytest.raises(DeliveryError, match="timed out") as caught:
            await send_email(config, SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY)
        await asyncio.wait_for(hung_up.wait(), 5)
    finally:
        server.close()
        await server.wait_closed()
    assert caught.value.permanent is False


async def test_login_with_url_credentials_delivers() -> None:
    """User and password from the URL authenticate with the server before sending."""
    handler = Recorder()
    async with smtp_server(handler, authenticator=handler.authenticate,
                           auth_require_tls=False) as port:
        config = f"smtp://ptsa:rahasia%40123@127.0.0.1:{port}?timeout=5"
        await send_email(config, SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY)
    assert handler.logins == [b"ptsa"]
    assert len(handler.messages) == 1


async def test_wrong_password_is_permanent() -> None:
    """A 535 login refusal will not heal by retrying the same credentials."""
    handler = Recorder()
    async with smtp_server(handler, authenticator=handler.authenticate,
                           auth_require_tls=False) as port:
        config = f"smtp://ptsa:salah@127.0.0.1:{port}?timeout=5"
        with pytest.raises(DeliveryError, match="535") as caught:
            await send_email(config, SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY)
    assert caught.value.permanent is True
    assert handler.messages == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


async def test_starttls_upgrades_before_sending(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With starttls=1 the message goes over TLS to a server that demands it."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    handler = Recorder()
    async with smtp_server(handler, tls_context=server_tls(certificate),
                           require_starttls=True) as port:
        config = parse_smtp_url(f"smtp://127.0.0.1:{port}?starttls=1&timeout=5")
        await send_email(config, SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY)
    assert len(handler.messages) == 1


async def test_untrusted_certificate_is_transient(certificate: tuple[Path, Path]) -> None:
    """A certificate the system does not trust stops delivery without marking it hopeless."""
    handler = Recorder()
    async with smtp_server(handler, tls_context=server_tls(certificate),
                           require_starttls=True) as port:
        config = parse_smtp_url(f"smtp://127.0.0.1:{port}?starttls=1&timeout=5")
        with pytest.raises(DeliveryError) as caught:
            await send_email(config, SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY)
    assert caught.value.permanent is False
    assert handler.messages == []


async def test_server_without_starttls_is_permanent(smtp: tuple[Recorder, SmtpConfig]) -> None:
    """Asking for STARTTLS from a server that does not offer it is a configuration mismatch."""
    _, config = smtp
    with pytest.raises(DeliveryError, match="STARTTLS|starttls") as caught:
        await send_email(SmtpConfig(config.host, config.port, starttls=True, timeout=5),
                         SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY)
    assert caught.value.permanent is True


@pytest.mark.parametrize("to", [
    "penyelia", "", "Budi <budi@>", "a b@kemnaker.go.id", "budi@kemnaker.go.id\r\nBcc: x@y.id",
    "budi@kemnaker.go.id, x@y.id", "a@b@c", "a..b@kemnaker.go.id",
])
async def test_unusable_recipient_is_permanent_without_connecting(to: str) -> None:
    """An address that cannot be mailed fails at once, before any connection is tried."""
    config = SmtpConfig(host="127.0.0.1", port=free_port())
    with pytest.raises(DeliveryError, match="recipient") as caught:
        await send_email(config, SENDER, to, SUBJECT, BODY)
    assert caught.value.permanent is True


async def test_malformed_message_id_is_permanent() -> None:
    """A message id with spaces or brackets inside is refused before sending."""
    with pytest.raises(DeliveryError, match="message_id") as caught:
        compose(SENDER, "penyelia@kemnaker.go.id", SUBJECT, BODY, "outbox 42")
    assert caught.value.permanent is True
