"""Hostile input, secrets in logs, and how passwords are stored."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from pwdlib.hashers.argon2 import Argon2Hasher

from dockyard.core.config import Settings
from tests.accounts.conftest import PASSWORD, Accounts, new_email
from tests.support.app import AppClient
from tests.support.smtp import Inbox

V1 = "/accounts/v1"

HOSTILE = [
    "'; DROP TABLE accounts.users; --",
    '" OR "1"="1',
    "<script>alert('x')</script>",
    "${jndi:ldap://x}",
    "%00%27%22",
    "\\x00\\' UNION SELECT password_hash FROM accounts.users --",
    "名前 ünïcödé 🚢",
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_display_names_are_stored_verbatim(
    client: AppClient, users: Accounts, db: asyncpg.Connection, text: str
) -> None:
    _, headers = await users.bearer()
    answer = await client.patch(f"{V1}/me", json={"display_name": text}, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["display_name"] == text
    assert (await client.get(f"{V1}/me", headers=headers)).json()["display_name"] == text
    assert await db.fetchval("SELECT count(*) FROM accounts.users") > 0


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_passwords_work_as_passwords(
    client: AppClient, db: asyncpg.Connection, text: str
) -> None:
    password = (text * 2)[:128].ljust(8, "!")
    email = new_email("hostile")
    assert (
        await client.post(f"{V1}/register", json={"email": email, "password": password})
    ).status_code == 202
    await db.execute("UPDATE accounts.users SET email_verified_at = now() WHERE email = $1", email)
    assert (await client.post(f"{V1}/login", json={"email": email, "password": password})).status_code == 200
    wrong = await client.post(f"{V1}/login", json={"email": email, "password": password + "x"})
    assert wrong.status_code == 401


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_values_elsewhere_are_refused_or_harmless(
    client: AppClient, users: Accounts, text: str
) -> None:
    _, root = await users.bearer("root", superuser=True)
    answers = [
        await client.post(f"{V1}/register", json={"email": text, "password": PASSWORD}),
        await client.post(
            f"{V1}/register", json={"email": new_email(), "password": PASSWORD, "username": text}
        ),
        await client.post(f"{V1}/login", json={"email": text, "password": text.ljust(8)}),
        await client.post(f"{V1}/verify", json={"token": text.ljust(10, "x")}),
        await client.get(f"{V1}/verify", params={"token": text.ljust(10, "x")}),
        await client.post(f"{V1}/refresh", json={"refresh_token": text.ljust(10, "x")}),
        await client.post(f"{V1}/password/reset", json={"email": text}),
        await client.post(f"{V1}/admin/groups", json={"name": text}, headers=root),
        await client.get(f"{V1}/admin/users", params={"q": text}, headers=root),
        await client.get(f"{V1}/admin/users/{text}", headers=root),
        await client.get(f"{V1}/me", headers={"Authorization": f"Bearer {text}".encode()}),
        await client.post(f"{V1}/me/tokens", json={"name": text}, headers=root),
    ]
    statuses = [answer.status_code for answer in answers]
    assert all(status < 500 for status in statuses), statuses
    for answer in answers:
        if answer.status_code >= 400:
            detail = answer.json()["detail"]
            assert detail, "every 4xx explains itself"
    search = answers[8].json()
    for user in search["results"]:  # only real matches (an earlier test may store `text` as a name)
        assert any(text.lower() in str(value).lower() for value in user.values())
    assert answers[11].status_code == 201  # a token name is free text, kept verbatim
    assert answers[11].json()["name"] == text


@pytest.mark.parametrize(
    "extra",
    [{"display_name": "a\x00b"}, {"username": "nul\x00name"}],
)
async def test_nul_characters_in_stored_text_are_refused_not_500(
    client: AppClient, extra: dict[str, str]
) -> None:
    """PostgreSQL text cannot hold NUL: such input gets a 422 that names the field."""
    answer = await client.post(f"{V1}/register", json={"email": new_email(), "password": PASSWORD, **extra})
    assert answer.status_code == 422, answer.text
    assert next(iter(extra)) in answer.text


async def test_nul_in_an_email_address_is_refused(client: AppClient) -> None:
    answer = await client.post(f"{V1}/register", json={"email": "nul\x00@example.org", "password": PASSWORD})
    assert answer.status_code == 422


async def test_a_password_may_hold_any_character(client: AppClient, db: asyncpg.Connection) -> None:
    """Only its hash is stored, so even NUL is fine."""
    email, password = new_email("nul"), "pass\x00word 🚢"
    assert (
        await client.post(f"{V1}/register", json={"email": email, "password": password})
    ).status_code == 202
    await db.execute("UPDATE accounts.users SET email_verified_at = now() WHERE email = $1", email)
    assert (await client.post(f"{V1}/login", json={"email": email, "password": password})).status_code == 200
    assert (await client.post(f"{V1}/login", json={"email": email, "password": "pass"})).status_code == 401


async def test_oversized_and_malformed_bodies_are_400s(client: AppClient) -> None:
    huge = await client.post(f"{V1}/register", json={"email": "a@example.org", "password": "x" * 10_000})
    assert huge.status_code == 422
    broken = await client.post(
        f"{V1}/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    wrong_type = await client.post(f"{V1}/login", json=["a", "b"])
    assert wrong_type.status_code == 422


async def test_secrets_never_reach_the_logs(
    client: AppClient, users: Accounts, smtp: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = new_email("quiet")
    await client.post(f"{V1}/register", json={"email": email, "password": PASSWORD})
    verify_token = smtp.token(email)
    await client.get(f"{V1}/verify", params={"token": verify_token})
    pair = await users.login(email)
    rotated = (await client.post(f"{V1}/refresh", json={"refresh_token": pair["refresh_token"]})).json()
    await client.post(f"{V1}/refresh", json={"refresh_token": pair["refresh_token"]})  # reuse: logged
    fresh = await users.login(email)
    api = (
        await client.post(f"{V1}/me/tokens", json={"name": "t"}, headers=bearer(fresh["access_token"]))
    ).json()
    await client.get(f"{V1}/me", headers=bearer(api["token"]))
    await client.post(f"{V1}/login", json={"email": email, "password": "wrong password!"})
    await client.post(f"{V1}/password/reset", json={"email": email})
    reset_token = smtp.token(email, count=2)
    await client.post(
        f"{V1}/password/reset/confirm", json={"token": reset_token, "new_password": PASSWORD + "2"}
    )

    secrets = {
        "password": PASSWORD,
        "new password": PASSWORD + "2",
        "wrong password": "wrong password!",
        "verification token": verify_token,
        "access token": pair["access_token"],
        "refresh token": pair["refresh_token"],
        "rotated refresh token": rotated["refresh_token"],
        "api token": api["token"],
        "reset token": reset_token,
    }
    ours = [r for r in caplog.records if r.name.split(".")[0] in {"dockyard", "uvicorn", "asyncpg"}]
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in ours)
    assert "login" in logged  # the events were logged…
    assert "refresh token reuse" in logged
    for name, secret in secrets.items():
        assert secret not in logged, f"the {name} appears in the logs"  # …without their secrets


async def test_passwords_are_stored_as_argon2id(users: Accounts, db: asyncpg.Connection) -> None:
    user_id, _ = await users.user()
    stored = await db.fetchval("SELECT password_hash FROM accounts.users WHERE id = $1", user_id)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_the_default_hash_cost_is_production_strength() -> None:
    """The suite lowers the cost through the environment; the defaults stay 64 MiB and 3 passes."""
    fields = Settings.model_fields
    assert fields["password_hash_memory_kib"].default == 65_536
    assert fields["password_hash_time_cost"].default == 3


async def test_weaker_hashes_are_upgraded_at_login(users: Accounts, db: asyncpg.Connection) -> None:
    user_id, email = await users.user()
    weak = Argon2Hasher(time_cost=1, memory_cost=4096, parallelism=1).hash(PASSWORD)
    await db.execute("UPDATE accounts.users SET password_hash = $2 WHERE id = $1", user_id, weak)
    await users.login(email)
    upgraded = await db.fetchval("SELECT password_hash FROM accounts.users WHERE id = $1", user_id)
    assert upgraded != weak
    assert upgraded.startswith("$argon2id$")
    assert "m=4096" in weak
    assert "m=4096" not in upgraded
    await users.login(email)  # and the new hash still verifies
