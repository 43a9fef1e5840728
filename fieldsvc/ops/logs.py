"""JSON log lines (python-json-logger), each with the request id of the work it is part of.

`setup()` is called by the processes fieldsvc starts itself (gunicorn through wsgi.py,
`fieldsvc serve`, `worker`, `scheduler`); the app factory leaves the logging of a host
process (tests, a shell) alone.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from fieldsvc.ops import request_id


class RequestJsonFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message, request_id and extras."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s",
                         rename_fields={"asctime": "time", "levelname": "level",
                                        "name": "logger"},
                         timestamp=False)

    def add_fields(self, log_record, record, message_dict) -> None:
        super().add_fields(log_record, record, message_dict)
        if "request_id" not in log_record:
            rid = request_id.current()
            if rid is not None:
                log_record["request_id"] = rid


class RequestTextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.current() or "-"
        return super().format(record)


def formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        return RequestJsonFormatter()
    if kind == "text":
        return RequestTextFormatter()
    raise ValueError(f"FIELDSVC_LOG_FORMAT={kind!r}: use json or text")


def setup(kind: str = "json", level: str = "INFO", stream=None) -> logging.Handler:
    """Send every log line of this process to stderr in `kind` format, unless the host
    (gunicorn's logconfig, a test runner) has set up the root logger already."""
    root = logging.getLogger()
    if root.handlers:
        return root.handlers[0]
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(kind))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler


def setup_for(app) -> logging.Handler:
    return setup(app.config.get("LOG_FORMAT", "json"), app.config.get("LOG_LEVEL", "INFO"))
