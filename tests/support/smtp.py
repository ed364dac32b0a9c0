"""A real SMTP server for the tests (aiosmtpd on a free port) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

TOKEN_IN_BODY = re.compile(r'"token": "([A-Za-z0-9_-]{20,})"')


@dataclass
class Inbox:
    """Messages the test SMTP server accepted, in arrival order."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages addressed to `address` (case-insensitive)."""
        return [m for m in self.messages if str(m["To"]).lower() == address.lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 5.0) -> EmailMessage:
        """The `count`-th message to `address`, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.to(address)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail #{count} to {address}; got {len(self.to(address))}")
                self._arrived.wait(left)
            return self.to(address)[count - 1]

    def token(self, address: str, count: int = 1) -> str:
        """The token in the `count`-th mail to `address`."""
        body = self.wait_for(address, count).get_content()
        found = TOKEN_IN_BODY.search(body)
        assert found, f"no token in mail body: {body!r}"
        return found.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    """Run an SMTP server on 127.0.0.1 until the block ends."""
    inbox = Inbox(host="127.0.0.1", port=_free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
