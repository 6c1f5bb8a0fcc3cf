"""A real HTTP server standing in for an SMS gateway (Zenziva-like form POST); records requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


@dataclass
class Sms:
    number: str
    text: str


class SmsGateway(ThreadingHTTPServer):
    daemon_threads = False  # joined by server_close(): no thread outlives a test

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.messages: list[Sms] = []
        self.lock = threading.Lock()
        self.down_with: int | None = None  # e.g. 503: answer that and record nothing

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/send"

    def to(self, number: str) -> list[Sms]:
        with self.lock:
            return [m for m in self.messages if m.number == number]


class _Handler(BaseHTTPRequestHandler):
    server: SmsGateway

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        fields = dict(parse_qsl(self.rfile.read(length).decode()))
        if self.server.down_with is not None:
            self.send_response(self.server.down_with)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with self.server.lock:
            self.server.messages.append(Sms(fields.get("number", ""), fields.get("message", "")))
        body = b"status=1 id=SMS-1"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def sms_gateway() -> Iterator[SmsGateway]:
    server = SmsGateway()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
