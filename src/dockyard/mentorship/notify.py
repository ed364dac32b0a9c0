"""Mail the programme sends: recorded in accounts' outbox with the change, sent after it commits."""

from __future__ import annotations

import datetime as dt

from fastapi import BackgroundTasks, Request

from dockyard.accounts import mail
from dockyard.accounts.service import issue_verification_token
from dockyard.core.config import Settings
from dockyard.core.db import Connection

CONFIRM_PATH = "/mentorship/user/confirm_email/"


async def verification(
    conn: Connection, settings: Settings, *, user_id: int, email: str, name: str, ttl: dt.timedelta
) -> mail.Mail:
    """The mail with the link that confirms `email` (a new single-use token)."""
    token = await issue_verification_token(conn, user_id, ttl=ttl)
    link = f"{settings.public_url.rstrip('/')}{CONFIRM_PATH}{token}"
    body = (
        f"Hi {name},\n\nWelcome to the mentorship programme. Confirm your email address by opening "
        f"this link within {ttl.days} days:\n\n{link}\n\n"
        "You can log in once it is confirmed. If you did not register, ignore this message.\n"
    )
    return await mail.record(conn, email, "Confirm your email address", body, "mentorship-verify")


async def new_request(
    conn: Connection, *, recipient: str, recipient_name: str, sender_name: str, sender_role: str, notes: str
) -> mail.Mail:
    """Tell the recipient of a mentorship request about it."""
    wants = "to be your mentor" if sender_role == "mentor" else "you to be their mentor"
    body = (
        f"Hi {recipient_name},\n\n{sender_name} sent you a mentorship request: they would like {wants}.\n\n"
        f"Their notes:\n{notes}\n\nAccept or reject it in the app.\n"
    )
    return await mail.record(conn, recipient, "New mentorship request", body, "mentorship-request")


async def accepted(conn: Connection, *, recipient: str, recipient_name: str, partner_name: str) -> mail.Mail:
    """Tell the sender of a request that it was accepted."""
    body = f"Hi {recipient_name},\n\n{partner_name} accepted your mentorship request. Good mentoring!\n"
    return await mail.record(conn, recipient, "Mentorship request accepted", body, "mentorship-accepted")


async def partner_left(conn: Connection, *, recipient: str, recipient_name: str) -> mail.Mail:
    """Tell the partner of a deleted account that their relation was cancelled."""
    body = (
        f"Hi {recipient_name},\n\nThe other person in your mentorship relation deleted their account, "
        "so the relation is cancelled. Its tasks and comments stay readable to you.\n"
    )
    return await mail.record(conn, recipient, "Your mentorship relation ended", body, "mentorship-cancelled")


def send_after_commit(request: Request, background: BackgroundTasks, *mails: mail.Mail) -> None:
    """Deliver `mails` once the response is out (the route's transaction has committed by then)."""
    mailer: mail.Mailer = request.app.state.mailer
    pool = request.app.state.db.primary
    for outgoing in mails:
        background.add_task(mailer.deliver, pool, outgoing)
