"""POST /register, GET /user/confirm_email/{token}, POST /user/resend_email (spec A.1, A.2 Users)."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest

from dockyard.mentorship import messages
from tests.mentorship.conftest import BASE, Programme, unique
from tests.support.smtp import Inbox

LINK = re.compile(r"/mentorship/user/confirm_email/([A-Za-z0-9_-]{20,})")

MISSING = [
    ("name", "'name' is a required property"),
    ("username", "'username' is a required property"),
    ("password", "'password' is a required property"),
    ("email", "'email' is a required property"),
    ("terms_and_conditions_checked", "'terms_and_conditions_checked' is a required property"),
]


class TestRequestModel:
    """The request model is checked first, with flask-restx's messages, one entry per field."""

    @pytest.mark.parametrize(("field", "why"), MISSING)
    async def test_missing_field(self, programme: Programme, field: str, why: str) -> None:
        body = programme.registration()
        del body[field]
        answer = await programme.client.post(f"{BASE}/register", json=body)
        assert answer.status_code == 400
        assert answer.json() == {"errors": {field: why}, "message": "Input payload validation failed"}

    @pytest.mark.parametrize(
        ("field", "value", "why"),
        [
            ("name", 123, "123 is not of type 'string'"),
            ("username", None, "None is not of type 'string'"),
            ("password", ["a"], "['a'] is not of type 'string'"),
            ("terms_and_conditions_checked", "yes", "'yes' is not of type 'boolean'"),
            ("need_mentoring", 1, "1 is not of type 'boolean'"),
        ],
    )
    async def test_wrong_type(self, programme: Programme, field: str, value: Any, why: str) -> None:
        body = programme.registration(**{field: value})
        answer = await programme.client.post(f"{BASE}/register", json=body)
        assert answer.status_code == 400
        assert answer.json() == {"errors": {field: why}, "message": "Input payload validation failed"}

    async def test_every_failing_field_is_listed(self, programme: Programme) -> None:
        answer = await programme.client.post(f"{BASE}/register", json={"name": 5})
        errors = answer.json()["errors"]
        assert errors["name"] == "5 is not of type 'string'"
        assert set(errors) == {"name", "username", "password", "email", "terms_and_conditions_checked"}

    async def test_body_that_is_not_an_object(self, programme: Programme) -> None:
        answer = await programme.client.post(f"{BASE}/register", json=[1, 2])
        assert answer.status_code == 400
        assert answer.json()["errors"] == {"": "[1, 2] is not of type 'object'"}

    async def test_body_that_is_not_json(self, programme: Programme) -> None:
        answer = await programme.client.post(
            f"{BASE}/register", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400
        assert answer.json()["message"].startswith("Failed to decode JSON object: Expecting property name")


class TestRules:
    """After the model: the original's rules, in its order."""

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"password": "has a space1"}, messages.SPACE_IN_PASSWORD),
            (
                {"name": "A"},
                "The name field has to be longer than 1 characters and shorter than 31 characters.",
            ),
            (
                {"name": "A" * 31},
                "The name field has to be longer than 1 characters and shorter than 31 characters.",
            ),
            ({"username": "abcd"}, messages.length_message("username", 5, 25)),
            ({"username": "a" * 26}, messages.length_message("username", 5, 25)),
            ({"password": "short12"}, messages.length_message("password", 8, 64)),
            ({"password": "x" * 65}, messages.length_message("password", 8, 64)),
            ({"terms_and_conditions_checked": False}, messages.TERMS_NOT_CHECKED),
            ({"name": "R2-D2 unit"}, messages.NAME_INVALID),
            ({"email": "not-an-email"}, messages.EMAIL_INVALID),
            ({"username": "with-dash1"}, messages.USERNAME_INVALID),
            # the order: a space in the password is reported before a short name
            ({"password": "a b", "name": "A"}, messages.SPACE_IN_PASSWORD),
            ({"name": "A", "terms_and_conditions_checked": False}, messages.length_message("name", 2, 30)),
        ],
    )
    async def test_rule(self, programme: Programme, overrides: dict[str, Any], message: str) -> None:
        answer = await programme.client.post(f"{BASE}/register", json=programme.registration(**overrides))
        assert answer.status_code == 400
        assert answer.json() == {"message": message}

    async def test_lengths_do_not_count_whitespace(self, programme: Programme) -> None:
        body = programme.registration(name="A                  ")
        answer = await programme.client.post(f"{BASE}/register", json=body)
        assert answer.json() == {"message": messages.length_message("name", 2, 30)}

    async def test_taken_username_then_taken_email(self, programme: Programme) -> None:
        first = programme.registration()
        assert (await programme.client.post(f"{BASE}/register", json=first)).status_code == 201
        again = programme.registration(username=first["username"], email=first["email"])
        answer = await programme.client.post(f"{BASE}/register", json=again)
        assert (answer.status_code, answer.json()) == (409, {"message": messages.USERNAME_TAKEN})
        answer = await programme.client.post(
            f"{BASE}/register", json=programme.registration(email=first["email"])
        )
        assert (answer.status_code, answer.json()) == (409, {"message": messages.EMAIL_TAKEN})

    async def test_email_of_an_accounts_user_is_taken(self, programme: Programme) -> None:
        email = f"{unique()}@example.org"
        created = await programme.client.post(
            "/accounts/v1/register", json={"email": email, "password": "a long password"}
        )
        assert created.status_code == 202, created.text
        answer = await programme.client.post(f"{BASE}/register", json=programme.registration(email=email))
        assert (answer.status_code, answer.json()) == (409, {"message": messages.EMAIL_TAKEN})


class TestRegistration:
    async def test_creates_account_and_profile_and_mails_the_link(
        self, programme: Programme, db: asyncpg.Connection, smtp: Inbox
    ) -> None:
        body = programme.registration(need_mentoring=True, available_to_mentor=False)
        answer = await programme.client.post(f"{BASE}/register", json=body)
        assert (answer.status_code, answer.json()) == (201, {"message": messages.USER_CREATED})
        row = await db.fetchrow(
            "SELECT u.email, u.email_verified_at, u.password_hash, p.name, p.need_mentoring, "
            "p.available_to_mentor FROM mentorship.profiles p JOIN accounts.users u ON u.id = p.user_id "
            "WHERE p.username = $1",
            body["username"],
        )
        assert row["email"] == body["email"]
        assert row["email_verified_at"] is None
        assert row["password_hash"].startswith("$argon2id$")
        assert (row["name"], row["need_mentoring"], row["available_to_mentor"]) == ("Test User", True, False)
        mail = smtp.wait_for(body["email"])
        assert LINK.search(mail.get_content()), mail.get_content()

    async def test_first_user_is_admin(self, fresh_db: str, pg: Any, smtp: Inbox) -> None:
        from dockyard import accounts, mentorship
        from tests.accounts.conftest import accounts_settings
        from tests.support.app import app_client

        pg.migrate(fresh_db)
        async with app_client(
            accounts_settings(fresh_db, smtp), (accounts.service, mentorship.service)
        ) as client:
            conn = await asyncpg.connect(fresh_db)
            try:
                local = Programme(client, conn)
                first, second = await local.person(admin=None), await local.person(admin=None)
                flags = await conn.fetch("SELECT user_id, is_admin FROM mentorship.profiles ORDER BY user_id")
            finally:
                await conn.close()
        assert [(row["user_id"], row["is_admin"]) for row in flags] == [(first.id, True), (second.id, False)]


class TestConfirmEmail:
    async def test_link_confirms_once_then_says_already(
        self, programme: Programme, db: asyncpg.Connection, smtp: Inbox
    ) -> None:
        body = programme.registration()
        await programme.client.post(f"{BASE}/register", json=body)
        token = LINK.search(smtp.wait_for(body["email"]).get_content()).group(1)  # type: ignore[union-attr]
        first = await programme.client.get(f"{BASE}/user/confirm_email/{token}")
        assert (first.status_code, first.json()) == (200, {"message": messages.ACCOUNT_CONFIRMED})
        assert await db.fetchval(
            "SELECT email_verified_at IS NOT NULL FROM accounts.users WHERE email = $1", body["email"]
        )
        again = await programme.client.get(f"{BASE}/user/confirm_email/{token}")
        assert (again.status_code, again.json()) == (200, {"message": messages.ACCOUNT_ALREADY_CONFIRMED})

    @pytest.mark.parametrize("token", ["nonsense", "x" * 300])
    async def test_unknown_token_is_400(self, programme: Programme, token: str) -> None:
        answer = await programme.client.get(f"{BASE}/user/confirm_email/{token}")
        assert (answer.status_code, answer.json()) == (400, {"message": messages.CONFIRMATION_INVALID})

    async def test_a_resent_link_retires_the_first(self, programme: Programme, smtp: Inbox) -> None:
        body = programme.registration()
        await programme.client.post(f"{BASE}/register", json=body)
        first = LINK.search(smtp.wait_for(body["email"]).get_content()).group(1)  # type: ignore[union-attr]
        resent = await programme.client.post(f"{BASE}/user/resend_email", json={"email": body["email"]})
        assert (resent.status_code, resent.json()) == (200, {"message": messages.VERIFICATION_EMAIL_SENT})
        second = LINK.search(smtp.wait_for(body["email"], 2).get_content()).group(1)  # type: ignore[union-attr]
        assert (await programme.client.get(f"{BASE}/user/confirm_email/{first}")).status_code == 400
        assert (await programme.client.get(f"{BASE}/user/confirm_email/{second}")).status_code == 200


class TestResendEmail:
    @pytest.mark.parametrize(
        ("body", "status", "message"),
        [
            ({}, 400, messages.EMAIL_FIELD_IS_MISSING),
            ({"email": "nope"}, 400, messages.EMAIL_INVALID),
            ({"email": "nobody-registered@example.org"}, 404, messages.NOT_REGISTERED),
        ],
    )
    async def test_errors(
        self, programme: Programme, body: dict[str, Any], status: int, message: str
    ) -> None:
        answer = await programme.client.post(f"{BASE}/user/resend_email", json=body)
        assert (answer.status_code, answer.json()) == (status, {"message": message})

    async def test_already_confirmed_is_403(self, programme: Programme) -> None:
        person = await programme.person()
        answer = await programme.client.post(f"{BASE}/user/resend_email", json={"email": person.email})
        assert (answer.status_code, answer.json()) == (403, {"message": messages.ALREADY_CONFIRMED_EMAIL})
