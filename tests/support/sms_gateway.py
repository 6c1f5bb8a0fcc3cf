"""A real HTTP server standing in for an SMS gateway (Zenziva-like form POST); records requests,
and can hold its answer open (``hold()``/``release()``) so a test can kill a sender mid-request."""

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
    ref: str = ""  # the "ref" field, when PTSA_SMS_FIELDS passes {ref}


class SmsGateway(ThreadingHTTPServer):
    daemon_threads = False  # joined by server_close(): no thread outlives a test

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.messages: list[Sms] = []
        self.lock = threading.Lock()
        self.down_with: int | None = None  # e.g. 503: answer that and record nothing
        self.holding = False
        self.held = threading.Event()  # a request is being held open
        self._release = threading.Event()

    def hold(self) -> None:
        """Hold the next requests open (after recording them) until ``release()``."""
        self._release.clear()
        self.held.clear()
        self.holding = True

    def release(self) -> None:
        self.holding = False
        self._release.set()

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
            self.server.messages.append(Sms(fields.get("number", ""), fields.get("message", ""),
                                            fields.get("ref", "")))
        if self.server.holding:  # the gateway has the message; the answer is late
            self.server.held.set()
            self.server._release.wait(timeout=60)
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
        server.release()
        server.shutdown()
        thread.join()
        server.server_close()
