"""Login by username or email, refresh with rotation, logout, password reset, token failures (A.1, A.5)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
import jwt
import pytest

from dockyard.mentorship import messages
from tests.mentorship.conftest import BASE, PASSWORD, Programme
from tests.support.app import TEST_JWT_SECRET
from tests.support.smtp import Inbox


class TestLogin:
    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({}, messages.USERNAME_FIELD_IS_MISSING),
            ({"username": "", "password": "x"}, messages.USERNAME_FIELD_IS_MISSING),
            ({"username": "someone"}, messages.PASSWORD_FIELD_IS_MISSING),
        ],
    )
    async def test_missing_field(self, programme: Programme, body: dict[str, Any], message: str) -> None:
        answer = await programme.client.post(f"{BASE}/login", json=body)
        assert (answer.status_code, answer.json()) == (400, {"message": message})

    async def test_by_username_and_by_email(self, programme: Programme) -> None:
        person = await programme.person()
        for name in (person.username, person.email, person.username.upper()):
            answer = await programme.client.post(
                f"{BASE}/login", json={"username": name, "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert set(body) == {"access_token", "access_expiry", "refresh_token", "refresh_expiry"}
            assert 800 < body["access_expiry"] - time.time() <= 900
            assert 29 * 86400 < body["refresh_expiry"] - time.time() <= 30 * 86400

    @pytest.mark.parametrize("wrong", ["username", "password"])
    async def test_wrong_credentials_are_401(self, programme: Programme, wrong: str) -> None:
        person = await programme.person()
        body = {"username": person.username, "password": PASSWORD, wrong: "wrong_value1"}
        answer = await programme.client.post(f"{BASE}/login", json=body)
        assert (answer.status_code, answer.json()) == (401, {"message": messages.WRONG_USERNAME_OR_PASSWORD})

    async def test_unverified_is_403_after_the_password(self, programme: Programme) -> None:
        person = await programme.person(verified=False)
        wrong = await programme.client.post(
            f"{BASE}/login", json={"username": person.username, "password": "nope1234"}
        )
        assert wrong.status_code == 401
        right = await programme.client.post(
            f"{BASE}/login", json={"username": person.username, "password": PASSWORD}
        )
        assert (right.status_code, right.json()) == (403, {"message": messages.VERIFY_EMAIL_BEFORE_LOGIN})

    async def test_tokens_work_on_other_services(self, programme: Programme) -> None:
        person = await programme.person()
        me = await programme.client.get("/accounts/v1/me", headers=person.headers)
        assert me.status_code == 200
        assert me.json()["email"] == person.email

    async def test_login_is_throttled(self, programme: Programme, settings: Any) -> None:
        from dockyard import accounts, mentorship
        from tests.support.app import app_client

        narrow = settings.model_copy(update={"rate_limit_login": "3/minute"})
        async with app_client(narrow, (accounts.service, mentorship.service)) as client:
            statuses = [
                (
                    await client.post(f"{BASE}/login", json={"username": "someone_x", "password": "wrong123"})
                ).status_code
                for _ in range(4)
            ]
            last = await client.post(f"{BASE}/login", json={"username": "someone_x", "password": "wrong123"})
        assert statuses == [401, 401, 401, 429]
        assert "message" in last.json()
        assert last.headers["retry-after"]


class TestRefresh:
    async def test_rotates_and_reuse_ends_the_session(self, programme: Programme) -> None:
        person = await programme.person()
        first = await programme.client.post(
            f"{BASE}/refresh", headers={"Authorization": f"Bearer {person.refresh_token}"}
        )
        assert first.status_code == 200, first.text
        body = first.json()
        assert set(body) == {"access_token", "access_expiry", "refresh_token", "refresh_expiry"}
        assert body["refresh_token"] != person.refresh_token
        new_headers = {"Authorization": f"Bearer {body['access_token']}"}
        assert (await programme.client.get(f"{BASE}/user", headers=new_headers)).status_code == 200
        reused = await programme.client.post(
            f"{BASE}/refresh", headers={"Authorization": f"Bearer {person.refresh_token}"}
        )
        assert (reused.status_code, reused.json()) == (401, {"message": messages.TOKEN_INVALID})
        ended = await programme.client.get(f"{BASE}/user", headers=new_headers)
        assert (ended.status_code, ended.json()) == (401, {"message": messages.TOKEN_INVALID})

    async def test_an_access_token_is_not_a_refresh_token(self, programme: Programme) -> None:
        person = await programme.person()
        answer = await programme.client.post(f"{BASE}/refresh", headers=person.headers)
        assert (answer.status_code, answer.json()) == (401, {"message": messages.TOKEN_INVALID})

    async def test_missing_and_expired(self, programme: Programme, db: asyncpg.Connection) -> None:
        missing = await programme.client.post(f"{BASE}/refresh")
        assert (missing.status_code, missing.json()) == (401, {"message": messages.TOKEN_MISSING})
        person = await programme.person()
        await db.execute(
            "UPDATE accounts.refresh_tokens SET expires_at = now() - interval '1 second' "
            "WHERE session_id IN (SELECT id FROM accounts.sessions WHERE user_id = $1)",
            person.id,
        )
        expired = await programme.client.post(
            f"{BASE}/refresh", headers={"Authorization": f"Bearer {person.refresh_token}"}
        )
        assert (expired.status_code, expired.json()) == (401, {"message": messages.TOKEN_EXPIRED})


class TestTokenFailures:
    async def test_missing(self, programme: Programme) -> None:
        answer = await programme.client.get(f"{BASE}/user")
        assert (answer.status_code, answer.json()) == (401, {"message": messages.TOKEN_MISSING})

    @pytest.mark.parametrize(
        "header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Token abc"]
    )
    async def test_invalid(self, programme: Programme, header: str) -> None:
        answer = await programme.client.get(f"{BASE}/user", headers={"Authorization": header})
        assert (answer.status_code, answer.json()) == (401, {"message": messages.TOKEN_INVALID})

    async def test_tampered(self, programme: Programme) -> None:
        person = await programme.person()
        token = person.headers["Authorization"].removeprefix("Bearer ")
        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        answer = await programme.client.get(f"{BASE}/user", headers={"Authorization": f"Bearer {tampered}"})
        assert (answer.status_code, answer.json()) == (401, {"message": messages.TOKEN_INVALID})

    async def test_expired(self, programme: Programme) -> None:
        person = await programme.person()
        now = int(time.time())
        claims = {
            "iss": "dockyard",
            "aud": "dockyard",
            "sub": str(person.id),
            "sid": str(uuid.uuid4()),
            "typ": "access",
            "iat": now - 3600,
            "nbf": now - 3600,
            "exp": now - 600,
        }
        token = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")
        answer = await programme.client.get(f"{BASE}/user", headers={"Authorization": f"Bearer {token}"})
        assert (answer.status_code, answer.json()) == (401, {"message": messages.TOKEN_EXPIRED})


class TestLogout:
    async def test_ends_the_session(self, programme: Programme) -> None:
        person = await programme.person()
        answer = await programme.client.post(f"{BASE}/logout", headers=person.headers)
        assert (answer.status_code, answer.json()) == (200, {"message": messages.LOGGED_OUT})
        after = await programme.client.get(f"{BASE}/user", headers=person.headers)
        assert (after.status_code, after.json()) == (401, {"message": messages.TOKEN_INVALID})
        refresh = await programme.client.post(
            f"{BASE}/refresh", headers={"Authorization": f"Bearer {person.refresh_token}"}
        )
        assert refresh.status_code == 401


class TestPasswordReset:
    async def test_mail_then_new_password(self, programme: Programme, smtp: Inbox) -> None:
        person = await programme.person()
        asked = await programme.client.post(f"{BASE}/user/reset_password", json={"email": person.email})
        assert (asked.status_code, asked.json()) == (200, {"message": messages.RESET_SENT})
        token = smtp.token(person.email, 2)  # after the verification mail
        bad = await programme.client.post(
            f"{BASE}/user/reset_password/confirm", json={"token": token, "new_password": "has space1"}
        )
        assert (bad.status_code, bad.json()) == (400, {"message": messages.SPACE_IN_PASSWORD})
        done = await programme.client.post(
            f"{BASE}/user/reset_password/confirm", json={"token": token, "new_password": "brand_new_pw"}
        )
        assert (done.status_code, done.json()) == (200, {"message": messages.RESET_DONE})
        assert (await programme.client.get(f"{BASE}/user", headers=person.headers)).status_code == 401
        await programme.login(person.username, "brand_new_pw")
        again = await programme.client.post(
            f"{BASE}/user/reset_password/confirm", json={"token": token, "new_password": "another_pw1"}
        )
        assert (again.status_code, again.json()) == (400, {"message": messages.RESET_TOKEN_INVALID})

    async def test_unknown_address_gets_the_same_answer(self, programme: Programme) -> None:
        answer = await programme.client.post(
            f"{BASE}/user/reset_password", json={"email": "ghost@example.org"}
        )
        assert (answer.status_code, answer.json()) == (200, {"message": messages.RESET_SENT})

    @pytest.mark.parametrize(
        ("body", "message"),
        [({}, messages.EMAIL_FIELD_IS_MISSING), ({"email": "x"}, messages.EMAIL_INVALID)],
    )
    async def test_bad_request(self, programme: Programme, body: dict[str, Any], message: str) -> None:
        answer = await programme.client.post(f"{BASE}/user/reset_password", json=body)
        assert (answer.status_code, answer.json()) == (400, {"message": message})
