"""A real SMTP server on loopback for the mail tests (registered from the root conftest).

`smtp_server` (session) runs aiosmtpd in a background thread on a free loopback port. `mailbox`
(per test) points Django's SMTP backend at it, empties it, and gives the messages it accepted, parsed
with the standard library. `mailbox.refuse_next(n)` makes the server answer the next `n` DATA
commands with a temporary failure (451), as a busy relay would, to exercise retries.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

LINK = re.compile(r"https?://[^\s\"'<>]+")


@dataclass(frozen=True)
class Delivered:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return str(part.get_content())  # type: ignore[attr-defined]
        raise AssertionError(f"no {content_type} part in {self.message.get_content_type()} message")

    @property
    def text(self) -> str:
        return self.part("text/plain")

    @property
    def html(self) -> str:
        return self.part("text/html")

    def links(self) -> list[str]:
        return LINK.findall(self.text)

    def token(self) -> str:
        """The `token` query parameter of the (single) link in the text part."""
        links = self.links()
        assert len(links) == 1, links
        return parse_qs(urlsplit(links[0]).query)["token"][0]


@dataclass
class _Handler:
    delivered: list[Delivered] = field(default_factory=list)
    refusals_left: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            if self.refusals_left > 0:
                self.refusals_left -= 1
                return "451 4.3.0 Try again later"
            content = envelope.original_content or b""
            message = message_from_bytes(content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.delivered.append(
                Delivered(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=[str(r) for r in envelope.rcpt_tos],
                    message=message,
                )
            )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: _Handler

    @property
    def messages(self) -> list[Delivered]:
        with self.handler.lock:
            return list(self.handler.delivered)

    def to(self, address: str) -> list[Delivered]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def refuse_next(self, count: int) -> None:
        with self.handler.lock:
            self.handler.refusals_left = count

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.delivered.clear()
            self.handler.refusals_left = 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    handler = _Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), ready_timeout=10)
    controller.start()
    try:
        yield SmtpServer(host="127.0.0.1", port=controller.port, handler=handler)
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: SmtpServer, settings: Any) -> SmtpServer:
    """Django's SMTP backend pointed at the loopback server, which starts the test empty."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    smtp_server.clear()
    return smtp_server
