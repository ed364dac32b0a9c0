"""The account life cycle over HTTP, with mail read from a real SMTP server."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from dockyard.core.config import Settings
from tests.accounts.conftest import PASSWORD, SERVICES, Accounts, new_email
from tests.support.app import AppClient, app_client
from tests.support.smtp import Inbox

V1 = "/accounts/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_verify_login_refresh_rotate_logout(
    client: AppClient, smtp: Inbox, db: asyncpg.Connection
) -> None:
    email = new_email("flow")
    username = f"ada{email[5:15]}"
    answer = await client.post(
        f"{V1}/register",
        json={"email": email, "password": PASSWORD, "display_name": "Ada", "username": username},
    )
    assert answer.status_code == 202, answer.text
    assert set(answer.json()) == {"message"}
    created = await db.fetchrow("SELECT * FROM accounts.users WHERE email = $1", email)
    assert (created["username"], created["display_name"]) == (username, "Ada")
    assert created["email_verified_at"] is None
    assert created["password_hash"].startswith("$argon2id$")

    # Login waits for the address to be verified.
    refused = await client.post(f"{V1}/login", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 403
    assert "Verify your email address" in refused.json()["detail"]

    mail = smtp.wait_for(email)
    assert mail["Subject"] == "Confirm your email address"
    token = smtp.token(email)
    assert f"/accounts/v1/verify?token={token}" in mail.get_content()
    verified = await client.get(f"{V1}/verify", params={"token": token})
    assert verified.status_code == 200, verified.text
    again = await client.post(f"{V1}/verify", json={"token": token})
    assert again.status_code == 400
    assert "already used" in again.json()["detail"]

    login = await client.post(
        f"{V1}/login",
        json={"email": email.upper(), "password": PASSWORD},
        headers={"User-Agent": "flow-test"},
    )
    assert login.status_code == 200, login.text
    pair = login.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 900
    me = await client.get(f"{V1}/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert me.json()["email_verified"] is True
    assert me.json()["last_login_at"] is not None

    rotated = await client.post(f"{V1}/refresh", json={"refresh_token": pair["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    fresh = rotated.json()
    assert fresh["refresh_token"] != pair["refresh_token"]
    assert (await client.get(f"{V1}/me", headers=bearer(fresh["access_token"]))).status_code == 200

    out = await client.post(f"{V1}/logout", headers=bearer(fresh["access_token"]))
    assert out.status_code == 204
    # Both tokens of the session stop working at once.
    after = await client.get(f"{V1}/me", headers=bearer(fresh["access_token"]))
    assert after.status_code == 401
    assert "session has ended" in after.json()["detail"]
    assert after.headers["www-authenticate"] == "Bearer"
    dead = await client.post(f"{V1}/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert dead.status_code == 401


async def test_reusing_a_rotated_refresh_token_revokes_the_session(
    client: AppClient, users: Accounts, db: asyncpg.Connection
) -> None:
    user_id, email = await users.user()
    first = await users.login(email)
    second = (await client.post(f"{V1}/refresh", json={"refresh_token": first["refresh_token"]})).json()

    replay = await client.post(f"{V1}/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    # The thief's replay also ends the legitimate holder's newer tokens: the whole family.
    assert (
        await client.post(f"{V1}/refresh", json={"refresh_token": second["refresh_token"]})
    ).status_code == 401
    assert (await client.get(f"{V1}/me", headers=bearer(second["access_token"]))).status_code == 401
    why = await db.fetchval("SELECT revoked_why FROM accounts.sessions WHERE user_id = $1", user_id)
    assert why == "refresh token reused"


async def test_refresh_tokens_are_stored_hashed(users: Accounts, db: asyncpg.Connection) -> None:
    user_id, email = await users.user()
    pair = await users.login(email)
    stored = await db.fetch(
        "SELECT rt.token_hash FROM accounts.refresh_tokens rt "
        "JOIN accounts.sessions s ON s.id = rt.session_id "
        "WHERE s.user_id = $1",
        user_id,
    )
    assert len(stored) == 1
    assert len(stored[0]["token_hash"]) == 32
    assert pair["refresh_token"].encode() not in stored[0]["token_hash"]


async def test_logout_everywhere_ends_every_session(client: AppClient, users: Accounts) -> None:
    _, email = await users.user()
    laptop, phone = await users.login(email), await users.login(email)
    done = await client.post(f"{V1}/logout-all", headers=bearer(phone["access_token"]))
    assert done.status_code == 200
    assert done.json()["message"] == "Ended 2 session(s)."
    for pair in (laptop, phone):
        assert (await client.get(f"{V1}/me", headers=bearer(pair["access_token"]))).status_code == 401
        assert (
            await client.post(f"{V1}/refresh", json={"refresh_token": pair["refresh_token"]})
        ).status_code == 401


async def test_password_change_needs_the_current_one_and_ends_other_sessions(
    client: AppClient, users: Accounts
) -> None:
    _, email = await users.user()
    here, elsewhere = await users.login(email), await users.login(email)
    wrong = await client.post(
        f"{V1}/password",
        json={"current_password": "not it at all", "new_password": "a brand new password"},
        headers=bearer(here["access_token"]),
    )
    assert wrong.status_code == 403
    assert wrong.json()["detail"] == "The current password is wrong."
    short = await client.post(
        f"{V1}/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=bearer(here["access_token"]),
    )
    assert short.status_code == 422
    changed = await client.post(
        f"{V1}/password",
        json={"current_password": PASSWORD, "new_password": "a brand new password"},
        headers=bearer(here["access_token"]),
    )
    assert changed.status_code == 200
    assert "ended 1 other session" in changed.json()["message"]
    assert (await client.get(f"{V1}/me", headers=bearer(here["access_token"]))).status_code == 200
    assert (await client.get(f"{V1}/me", headers=bearer(elsewhere["access_token"]))).status_code == 401
    old = await client.post(f"{V1}/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    await users.login(email, "a brand new password")


async def test_password_reset_by_mail(client: AppClient, users: Accounts, smtp: Inbox) -> None:
    _, email = await users.user()
    session = await users.login(email)
    asked = await client.post(f"{V1}/password/reset", json={"email": email})
    assert asked.status_code == 202
    mail = smtp.wait_for(email, count=2)  # after the verification mail
    assert mail["Subject"] == "Reset your password"
    token = smtp.token(email, count=2)
    done = await client.post(
        f"{V1}/password/reset/confirm", json={"token": token, "new_password": "reset to something new"}
    )
    assert done.status_code == 200, done.text
    assert (await client.get(f"{V1}/me", headers=bearer(session["access_token"]))).status_code == 401
    await users.login(email, "reset to something new")
    reused = await client.post(
        f"{V1}/password/reset/confirm", json={"token": token, "new_password": "and once more again"}
    )
    assert reused.status_code == 400
    assert "invalid, already used or expired" in reused.json()["detail"]


async def test_reset_for_an_unknown_address_is_indistinguishable(
    client: AppClient, users: Accounts, smtp: Inbox
) -> None:
    _, known = await users.user()
    unknown = new_email("nobody")
    answers = [
        await client.post(f"{V1}/password/reset", json={"email": address}) for address in (known, unknown)
    ]
    assert answers[0].status_code == answers[1].status_code == 202
    assert answers[0].content == answers[1].content
    assert set(answers[0].headers) == set(answers[1].headers)
    assert smtp.wait_for(known, count=2)["Subject"] == "Reset your password"
    assert smtp.to(unknown) == []


async def test_expired_verification_token_is_refused(
    client: AppClient, smtp: Inbox, db: asyncpg.Connection
) -> None:
    email = new_email("late")
    await client.post(f"{V1}/register", json={"email": email, "password": PASSWORD})
    token = smtp.token(email)
    await db.execute(
        "UPDATE accounts.email_tokens SET expires_at = now() - interval '1 second' "
        "WHERE user_id = (SELECT id FROM accounts.users WHERE email = $1)",
        email,
    )
    late = await client.post(f"{V1}/verify", json={"token": token})
    assert late.status_code == 400
    assert "expired" in late.json()["detail"]


async def test_resend_issues_a_new_link_and_retires_the_old(client: AppClient, smtp: Inbox) -> None:
    email = new_email("resend")
    await client.post(f"{V1}/register", json={"email": email, "password": PASSWORD})
    first = smtp.token(email)
    resent = await client.post(f"{V1}/verify/resend", json={"email": email})
    assert resent.status_code == 202
    second = smtp.token(email, count=2)
    assert second != first
    assert (await client.post(f"{V1}/verify", json={"token": first})).status_code == 400
    assert (await client.post(f"{V1}/verify", json={"token": second})).status_code == 200
    # Verified accounts get no more links, and the answer does not say so.
    after = await client.post(f"{V1}/verify/resend", json={"email": email})
    assert after.status_code == 202
    assert after.json() == resent.json()
    assert len(smtp.to(email)) == 2


async def test_registering_a_taken_address_answers_alike_and_mails_its_owner(
    client: AppClient, users: Accounts, smtp: Inbox, db: asyncpg.Connection
) -> None:
    """No enumeration: a taken address gets the very answer a new one gets; its owner hears of it."""
    user_id, taken = await users.user()
    fresh = new_email("fresh")
    answers = [
        await client.post(f"{V1}/register", json={"email": address, "password": PASSWORD + " 2"})
        for address in (taken.upper(), fresh)
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].content == answers[1].content
    assert set(answers[0].headers) == set(answers[1].headers)
    told = smtp.wait_for(taken, count=2)  # after its verification mail
    assert told["Subject"] == "You already have an account"
    assert "/accounts/v1/password/reset" in told.get_content()
    assert smtp.wait_for(fresh)["Subject"] == "Confirm your email address"
    assert await db.fetchval("SELECT count(*) FROM accounts.users WHERE lower(email) = lower($1)", taken) == 1
    # The owner's account is untouched: the password typed by the stranger does not log in.
    assert (
        await client.post(f"{V1}/login", json={"email": taken, "password": PASSWORD + " 2"})
    ).status_code == 401
    await users.login(taken)
    assert user_id == await db.fetchval("SELECT id FROM accounts.users WHERE email = $1", taken)


async def test_a_taken_username_does_not_tell_either(
    client: AppClient, users: Accounts, smtp: Inbox, db: asyncpg.Connection
) -> None:
    """A taken username would reveal an address through 409s: the account is made without it."""
    _, first = await users.user()
    name = f"nick{uuid.uuid4().hex[:8]}"
    await db.execute("UPDATE accounts.users SET username = $2 WHERE email = $1", first, name)
    email = new_email("second")
    answer = await client.post(
        f"{V1}/register", json={"email": email, "password": PASSWORD, "username": name.upper()}
    )
    assert answer.status_code == 202
    assert await db.fetchval("SELECT username FROM accounts.users WHERE email = $1", email) is None
    mail = smtp.wait_for(email)
    assert f"The username {name.upper()!r} was already taken" in mail.get_content()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-address", "password": PASSWORD}, "email"),
        ({"email": "a@example.org", "password": "short"}, "password"),
        ({"email": "a@example.org", "password": "x" * 129}, "password"),
        ({"email": "a@example.org", "password": PASSWORD, "username": "no spaces allowed"}, "username"),
        ({"email": "a@example.org", "password": PASSWORD, "is_superuser": True}, "is_superuser"),
    ],
)
async def test_registration_input_is_validated(
    client: AppClient, body: dict[str, object], field: str
) -> None:
    answer = await client.post(f"{V1}/register", json=body)
    assert answer.status_code == 422
    assert field in answer.text


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: AppClient, users: Accounts
) -> None:
    _, email = await users.user()
    wrong = await client.post(f"{V1}/login", json={"email": email, "password": "wrong password"})
    nobody = await client.post(f"{V1}/login", json={"email": new_email(), "password": "wrong password"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["detail"] == nobody.json()["detail"] == "Wrong email or password."
    assert wrong.json().keys() == nobody.json().keys()


async def test_deactivated_account_cannot_log_in_or_refresh(
    client: AppClient, users: Accounts, db: asyncpg.Connection
) -> None:
    user_id, email = await users.user()
    pair = await users.login(email)
    await db.execute("UPDATE accounts.users SET is_active = false WHERE id = $1", user_id)
    login = await client.post(f"{V1}/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 403
    assert "deactivated" in login.json()["detail"]
    assert (await client.get(f"{V1}/me", headers=bearer(pair["access_token"]))).status_code == 401
    assert (
        await client.post(f"{V1}/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 401


async def test_me_patch_export_and_delete(client: AppClient, users: Accounts, db: asyncpg.Connection) -> None:
    user_id, email = await users.user()
    pair = await users.login(email)
    auth = bearer(pair["access_token"])
    patched = await client.patch(f"{V1}/me", json={"display_name": "Grace H."}, headers=auth)
    assert patched.status_code == 200
    assert patched.json()["display_name"] == "Grace H."
    token = await client.post(f"{V1}/me/tokens", json={"name": "laptop"}, headers=auth)
    secret = token.json()["token"]

    export = await client.get(f"{V1}/me/export", headers=auth)
    assert export.status_code == 200
    data = export.json()
    assert data["account"]["email"] == email
    assert data["account"]["display_name"] == "Grace H."
    assert len(data["sessions"]) == 1
    assert data["sessions"][0]["user_agent"]
    assert [t["name"] for t in data["api_tokens"]] == ["laptop"]
    assert secret not in export.text
    assert pair["refresh_token"] not in export.text

    refused = await client.request("DELETE", f"{V1}/me", json={"password": "not my password"}, headers=auth)
    assert refused.status_code == 403
    deleted = await client.request("DELETE", f"{V1}/me", json={"password": PASSWORD}, headers=auth)
    assert deleted.status_code == 204
    row = await db.fetchrow("SELECT * FROM accounts.users WHERE id = $1", user_id)
    assert row is not None, "the row stays so other services' references hold"
    assert row["email"] == f"deleted-{user_id}@deleted.invalid"
    assert row["password_hash"] is None
    assert row["display_name"] == ""
    assert row["deleted_at"] is not None
    assert await db.fetchval("SELECT count(*) FROM accounts.sessions WHERE user_id = $1", user_id) == 0
    assert await db.fetchval("SELECT count(*) FROM accounts.outbox WHERE recipient = $1", email) == 0
    assert (await client.get(f"{V1}/me", headers=auth)).status_code == 401
    assert (await client.get(f"{V1}/me", headers=bearer(secret))).status_code == 401
    # The address is free again.
    again = await client.post(f"{V1}/register", json={"email": email, "password": PASSWORD})
    assert again.status_code == 202
    assert await db.fetchval("SELECT count(*) FROM accounts.users WHERE email = $1", email) == 1


async def test_username_taken_is_a_conflict_on_patch(client: AppClient, users: Accounts) -> None:
    _, first = await users.user()
    name = "taken" + first[5:13]
    pair = await users.login(first)
    assert (
        await client.patch(f"{V1}/me", json={"username": name}, headers=bearer(pair["access_token"]))
    ).status_code == 200
    _, second = await users.user()
    other = await users.login(second)
    clash = await client.patch(
        f"{V1}/me", json={"username": name.upper()}, headers=bearer(other["access_token"])
    )
    assert clash.status_code == 409, clash.text


async def test_without_smtp_mail_waits_in_the_outbox(settings: Settings, db: asyncpg.Connection) -> None:
    email = new_email("outbox")
    no_smtp = settings.model_copy(update={"smtp_host": None})
    async with app_client(no_smtp, SERVICES) as client:
        answer = await client.post(f"{V1}/register", json={"email": email, "password": PASSWORD})
        assert answer.status_code == 202
        row = await db.fetchrow(
            "SELECT subject, body, kind, sent_at, error FROM accounts.outbox WHERE recipient = $1", email
        )
        assert row["kind"] == "verify"
        assert row["sent_at"] is None
        assert row["error"] is None
        token = row["body"].split("?token=")[1].split()[0]
        assert (await client.post(f"{V1}/verify", json={"token": token})).status_code == 200
        assert (
            await client.post(f"{V1}/login", json={"email": email, "password": PASSWORD})
        ).status_code == 200


async def test_an_unreachable_smtp_server_loses_nothing(settings: Settings, db: asyncpg.Connection) -> None:
    email = new_email("smtpdown")
    broken = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9})
    async with app_client(broken, SERVICES) as client:
        answer = await client.post(f"{V1}/register", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 202
    row = await db.fetchrow("SELECT sent_at, error FROM accounts.outbox WHERE recipient = $1", email)
    assert row["sent_at"] is None
    assert row["error"]


async def test_sent_mail_is_marked_in_the_outbox(
    client: AppClient, smtp: Inbox, db: asyncpg.Connection
) -> None:
    email = new_email("sent")
    await client.post(f"{V1}/register", json={"email": email, "password": PASSWORD})
    smtp.wait_for(email)
    sent_at = await db.fetchval("SELECT sent_at FROM accounts.outbox WHERE recipient = $1", email)
    assert sent_at is not None
