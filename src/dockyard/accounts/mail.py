"""Outgoing mail: recorded in accounts.outbox first, then sent over SMTP when it is configured.

Recording first means nothing is lost: a failed send keeps its row with the error, and without
SMTP (the embedded default) the outbox is where the mail can be read.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from dockyard.core.config import Settings
from dockyard.core.db import Connection, Pool
from dockyard.core.logging import NOTICE

logger = logging.getLogger("dockyard.accounts.mail")

RECORD = "INSERT INTO accounts.outbox (recipient, subject, body, kind) VALUES ($1, $2, $3, $4) RETURNING id"
MARK_SENT = "UPDATE accounts.outbox SET sent_at = now(), error = NULL WHERE id = $1"
MARK_FAILED = "UPDATE accounts.outbox SET error = $2 WHERE id = $1"


@dataclass(frozen=True)
class Mail:
    """One message, as recorded in the outbox."""

    id: int
    recipient: str
    subject: str
    body: str
    kind: str


async def record(conn: Connection, recipient: str, subject: str, body: str, kind: str) -> Mail:
    """Put a mail in the outbox (inside the caller's transaction)."""
    mail_id = await conn.fetchval(RECORD, recipient, subject, body, kind)
    return Mail(int(mail_id), recipient, subject, body, kind)


class Mailer:
    """Sends recorded mail over SMTP, or leaves it in the outbox when SMTP is not configured."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_host)

    async def deliver(self, pool: Pool, mail: Mail) -> bool:
        """Send `mail` (after its transaction committed); record the outcome. True when sent."""
        if not self.configured:
            logger.log(
                NOTICE,
                "mail kept in outbox (SMTP not configured)",
                extra={"outbox_id": mail.id, "kind": mail.kind},
            )
            return False
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = mail.recipient
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        password = self.settings.smtp_password.get_secret_value() if self.settings.smtp_password else None
        try:
            await aiosmtplib.send(
                message,
                hostname=self.settings.smtp_host,
                port=self.settings.smtp_port,
                username=self.settings.smtp_user,
                password=password,
                start_tls=self.settings.smtp_starttls,
                timeout=10,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            logger.warning("mail not sent; kept in outbox", extra={"outbox_id": mail.id, "error": str(exc)})
            await pool.execute(MARK_FAILED, mail.id, str(exc)[:500])
            return False
        await pool.execute(MARK_SENT, mail.id)
        logger.log(NOTICE, "mail sent", extra={"outbox_id": mail.id, "kind": mail.kind})
        return True


OUTBOX = """
SELECT id, recipient, subject, body, kind, created_at, sent_at, error
FROM accounts.outbox WHERE $1::text IS NULL OR lower(recipient) = lower($1)
ORDER BY created_at DESC, id DESC LIMIT $2
"""


async def outbox(conn: Connection, *, to: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest messages of the outbox (to one address, regardless of case), newest first."""
    return [dict(row) for row in await conn.fetch(OUTBOX, to, limit)]


# At most one mail of a kind to an address per period, however many workers ask at once: the lock
# makes concurrent callers take turns, and each sees the row the previous one committed.
LOCK_RECIPIENT = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
RECORD_ONCE = """
INSERT INTO accounts.outbox (recipient, subject, body, kind)
SELECT $1, $2, $3, $4
WHERE NOT EXISTS (SELECT 1 FROM accounts.outbox
                  WHERE lower(recipient) = lower($1) AND kind = $4 AND created_at > now() - $5::interval)
RETURNING id
"""


async def record_once(
    conn: Connection, recipient: str, subject: str, body: str, kind: str, *, every: dt.timedelta
) -> Mail | None:
    """Put a mail in the outbox unless one of this `kind` went to `recipient` within `every`.

    Call inside a transaction (the advisory lock is held until it ends)."""
    await conn.execute(LOCK_RECIPIENT, f"accounts.outbox:{kind}:{recipient.lower()}")
    mail_id = await conn.fetchval(RECORD_ONCE, recipient, subject, body, kind, every)
    return None if mail_id is None else Mail(int(mail_id), recipient, subject, body, kind)
