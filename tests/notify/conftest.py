"""A real SMTP server (aiosmtpd) and a real HTTP SMS gateway on loopback, and the app
pointed at them."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.recall.conftest import Recall, tomorrow  # noqa: F401  (a fixture)


class Mailbox:
    """What the SMTP server received, parsed."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


class SmsGateway:
    def __init__(self) -> None:
        self.received: list[dict] = []
        self.failures_left = 0


@pytest.fixture
def sms_gateway():
    gateway = SmsGateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if gateway.failures_left:
                gateway.failures_left -= 1
                self.send_response(500)
                self.end_headers()
                return
            gateway.received.append({"auth": self.headers.get("Authorization"), **json.loads(body)})
            answer = json.dumps({"id": f"sms-{len(gateway.received)}"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gateway.url = f"http://127.0.0.1:{server.server_port}/send"
    yield gateway
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def channels(app, smtp_server, sms_gateway):
    """The app sends e-mail to the local SMTP server and SMS to the local gateway, at any
    hour (no quiet hours unless a test sets them)."""
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_server.port,
        NOTIFY_FROM="service@fieldsvc.test",
        SMS_URL=sms_gateway.url,
        SMS_TOKEN="sms-secret",
        SMS_SENDER="FIELDSVC",
        NOTIFY_QUIET_HOURS="",
    )
    return smtp_server, sms_gateway


@pytest.fixture
def recall(make, app):
    return Recall(make, app)
