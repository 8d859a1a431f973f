"""Real receivers for notifications, on 127.0.0.1 at free ports: an SMTP server (aiosmtpd) that
keeps every message, and an HTTP receiver that records every call and answers as told.

Use the fixtures by importing them into a test module:
    from tests.notify_servers import http_receiver, smtp_server  # noqa: F401
then `smtp_server.messages` (parsed e-mails), `smtp_server.envelopes`; `http_receiver.url`,
`http_receiver.calls` (method, path, query, headers, body, json), `http_receiver.answer(status, body)`
to queue the next replies (then `http_receiver.default`).
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Envelope:
    sender: str
    recipients: list[str]
    data: bytes


class _Collect:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.server.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@dataclass
class SmtpServer:
    host: str = "127.0.0.1"
    port: int = 0
    envelopes: list[Envelope] = field(default_factory=list)

    @property
    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.data, policy=email.policy.default) for e in self.envelopes]


@pytest.fixture
def smtp_server():
    """An SMTP server on 127.0.0.1 that accepts and keeps every message."""
    server = SmtpServer(port=free_port())
    controller = Controller(_Collect(server), hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    replies: list[tuple[int, bytes]] = field(default_factory=list)
    default: tuple[int, bytes] = (200, b'{"errcode": 0, "errmsg": "ok", "code": 0}')
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int, body: str | bytes = b"") -> None:
        """Queue the reply to the next call not yet answered."""
        self.replies.append((status, body.encode() if isinstance(body, str) else body))

    def _next(self) -> tuple[int, bytes]:
        with self.lock:
            return self.replies.pop(0) if self.replies else self.default


@pytest.fixture
def http_receiver():
    """An HTTP server on 127.0.0.1 recording every call; replies as queued by `answer`, else `default`."""
    receiver = HttpReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's hook name)
            self._record()

        def do_GET(self):  # noqa: N802
            self._record()

        def _record(self):
            size = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(size) if size else b""
            parts = urllib.parse.urlsplit(self.path)
            with receiver.lock:
                receiver.calls.append(Call(self.command, parts.path, dict(urllib.parse.parse_qsl(parts.query)),
                                           {k.lower(): v for k, v in self.headers.items()}, body))
            status, reply = receiver._next()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
