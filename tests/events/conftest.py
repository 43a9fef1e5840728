"""A real local HTTP receiver for webhooks, and helpers to deliver the outbox."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fieldsvc import events
from fieldsvc.extensions import db


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the server got, in arrival order; `statuses` are answered first, then 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    # Called (on the server's thread) before answering; may block, as a slow receiver does.
    before_answer: Callable[[Received], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered_ok(self) -> list[Received]:
        """Requests answered 2xx, first one per webhook-id, in arrival order."""
        seen, out = set(), []
        for request in self.requests:
            if (
                request.headers.get("x-test-status") == "200"
                and request.headers["webhook-id"] not in seen
            ):
                seen.add(request.headers["webhook-id"])
                out.append(request)
        return out


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got = Received({k.lower(): v for k, v in self.headers.items()}, body)
            if receiver.before_answer is not None:
                receiver.before_answer(got)
            with receiver.lock:
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                got.headers["x-test-status"] = str(status)
                receiver.requests.append(got)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    recv = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks")
    server.RequestHandlerClass = _handler(recv)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recv
    server.shutdown()
    server.server_close()


@pytest.fixture
def events_app(app):
    """The session's app with private targets allowed and a backoff of milliseconds."""
    app.config.update(
        WEBHOOK_ALLOW_PRIVATE=True,
        EVENTS_BACKOFF_SECONDS=0.001,
        EVENTS_BACKOFF_MAX_SECONDS=0.01,
        WEBHOOK_TIMEOUT_SECONDS=5,
    )
    return app


def deliver_until(app, done: Callable[[], bool], rounds: int = 50) -> None:
    """Run the dispatcher (as the scheduler's job does) until `done()` or `rounds` runs."""
    for _ in range(rounds):
        events.deliver(app, budget_seconds=5)
        if done():
            return
    raise AssertionError("the outbox was not delivered as expected")


def outbox(app, model, *where):
    with app.app_context():
        rows = db.session.scalars(db.select(model).where(*where).order_by(model.id)).all()
        db.session.expunge_all()
        db.session.remove()
        return rows
