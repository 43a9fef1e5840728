"""How a message leaves: e-mail over SMTP, SMS through a provider.

SMS providers differ in everything but the idea, so the sender sees only `SmsProvider.send`;
`HttpSmsProvider` is the one provider shipped: a JSON POST with a bearer token, the shape most
SMS gateways accept (Kavenegar, Twilio and others sit behind a small adapter of this kind).
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol


class DeliveryError(Exception):
    """The channel refused or could not take the message; it is retried later."""


@dataclass(frozen=True)
class SmtpChannel:
    host: str
    port: int = 25
    sender: str = "fieldsvc@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0

    def send(
        self, to: str, subject: str, body: str, *, language: str, ics: str | None = None
    ) -> str:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message_id = make_msgid(domain="fieldsvc")
        message["Message-ID"] = message_id
        message.set_content(body)
        if ics:
            message.add_attachment(
                ics.encode("utf-8"),
                maintype="text",
                subtype="calendar",
                filename="appointment.ics",
                params={"method": "PUBLISH", "charset": "utf-8"},
            )
        # After the body: setting the content rewrites every Content-* header.
        message["Content-Language"] = language
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        return message_id


class SmsProvider(Protocol):
    def send(self, to: str, text: str) -> str:
        """Hand one SMS to the provider; its message id, or DeliveryError."""
        ...


@dataclass(frozen=True)
class HttpSmsProvider:
    url: str
    token: str = ""
    sender: str = ""
    timeout: float = 10.0

    def send(self, to: str, text: str) -> str:
        payload = json.dumps({"to": to, "from": self.sender, "text": text}).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                raw = answer.read(4096)
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"SMS provider answered {exc.code}") from exc
        except OSError as exc:
            raise DeliveryError(f"SMS provider unreachable: {exc}") from exc
        try:
            return str(json.loads(raw or b"{}").get("id", ""))
        except (ValueError, AttributeError):
            return ""


def email_channel(config) -> SmtpChannel | None:
    if not config.get("SMTP_HOST"):
        return None
    return SmtpChannel(
        host=config["SMTP_HOST"],
        port=int(config.get("SMTP_PORT") or 25),
        sender=config.get("NOTIFY_FROM") or "fieldsvc@localhost",
        username=config.get("SMTP_USERNAME") or "",
        password=config.get("SMTP_PASSWORD") or "",
        starttls=bool(config.get("SMTP_STARTTLS")),
    )


def sms_provider(config) -> SmsProvider | None:
    if not config.get("SMS_URL"):
        return None
    return HttpSmsProvider(
        url=config["SMS_URL"],
        token=config.get("SMS_TOKEN") or "",
        sender=config.get("SMS_SENDER") or "",
    )
