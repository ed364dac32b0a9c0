"""Abuse resistance: what an attacker tries against accounts, and what the system answers.

One class per attack family, in the order of docs/accounts.md ("Abuse resistance"): token scopes,
revocation, admin boundaries, lockout by strangers, password policy, enumeration, headers and
budgets.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from dockyard.accounts import passwords, throttle
from dockyard.accounts.service import mail_reset
from dockyard.core.config import Settings
from dockyard.core.ratelimit import RateLimiter
from tests.accounts.conftest import PASSWORD, SERVICES, Accounts, accounts_settings, new_email
from tests.accounts.test_cli import dockyard
from tests.support.app import AppClient, app_client
from tests.support.postgres import PgServer
from tests.support.smtp import Inbox

V1 = "/accounts/v1"
ADMIN = f"{V1}/admin"
NEW_PASSWORD = "another long passphrase"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def random_ip() -> str:
    return "10." + ".".join(str(random.randint(0, 255)) for _ in range(3))


class TestTokenScopes:
    """A stolen API token must not take over the account it belongs to."""

    @pytest.mark.parametrize("scope", [[], None, ["demo.view"]], ids=["empty", "unscoped", "service-only"])
    async def test_a_token_without_self_scopes_cannot_touch_the_account(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection, scope: list[str] | None
    ) -> None:
        viewers = await users.group("demo.view")
        user_id, session = await users.bearer(groups=(viewers,))
        other = (await client.post(f"{V1}/me/tokens", json={"name": "other"}, headers=session)).json()
        token = await users.api_token(session, scope=scope)
        attempts = [
            await client.post(f"{V1}/logout-all", headers=token),
            await client.delete(f"{V1}/me/tokens/{other['id']}", headers=token),
            await client.get(f"{V1}/me/tokens", headers=token),
            await client.patch(f"{V1}/me", json={"display_name": "owned"}, headers=token),
            await client.get(f"{V1}/me/export", headers=token),
            await client.get(f"{V1}/me", headers=token),
            await client.post(
                f"{V1}/password",
                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                headers=token,
            ),
            await client.request("DELETE", f"{V1}/me", json={"password": PASSWORD}, headers=token),
        ]
        assert [a.status_code for a in attempts] == [403] * len(attempts)
        assert "accounts.credentials" in attempts[0].json()["detail"]
        assert "accounts.self" in attempts[3].json()["detail"]
        # Nothing happened: the session, the other token, the name and the password are as they were.
        assert (await client.get(f"{V1}/me", headers=session)).status_code == 200
        assert (await client.get("/demo/view", headers=bearer(other["token"]))).status_code == 200
        row = await db.fetchrow("SELECT display_name, deleted_at FROM accounts.users WHERE id = $1", user_id)
        assert (row["display_name"], row["deleted_at"]) == ("", None)

    async def test_accounts_self_reaches_the_account_but_not_credentials(
        self, client: AppClient, users: Accounts
    ) -> None:
        _, session = await users.bearer()
        token = await users.api_token(session, scope=["accounts.self"])
        assert (await client.get(f"{V1}/me", headers=token)).status_code == 200
        patched = await client.patch(f"{V1}/me", json={"display_name": "Ada"}, headers=token)
        assert patched.json()["display_name"] == "Ada"
        assert (await client.get(f"{V1}/me/export", headers=token)).status_code == 200
        assert (await client.post(f"{V1}/logout-all", headers=token)).status_code == 403
        assert (await client.get(f"{V1}/me/tokens", headers=token)).status_code == 403
        assert (await client.get(f"{V1}/me", headers=session)).status_code == 200

    async def test_accounts_credentials_manages_tokens_and_sessions(
        self, client: AppClient, users: Accounts
    ) -> None:
        _, session = await users.bearer()
        other = (await client.post(f"{V1}/me/tokens", json={"name": "other"}, headers=session)).json()
        token = await users.api_token(session, scope=["accounts.credentials"])
        assert (await client.get(f"{V1}/me", headers=token)).status_code == 403
        listed = await client.get(f"{V1}/me/tokens", headers=token)
        assert listed.status_code == 200
        assert other["id"] in [t["id"] for t in listed.json()]
        assert (await client.delete(f"{V1}/me/tokens/{other['id']}", headers=token)).status_code == 204
        assert (await client.post(f"{V1}/logout-all", headers=token)).json()[
            "message"
        ] == "Ended 1 session(s)."
        assert (await client.get(f"{V1}/me", headers=session)).status_code == 401
        # Even so, a token never mints tokens.
        minted = await client.post(f"{V1}/me/tokens", json={"name": "child"}, headers=token)
        assert minted.status_code == 400

    async def test_every_user_may_grant_the_self_scopes(self, client: AppClient, users: Accounts) -> None:
        _, session = await users.bearer()  # no group, no permission
        created = await client.post(
            f"{V1}/me/tokens",
            json={"name": "mine", "scope": ["accounts.self", "accounts.credentials"]},
            headers=session,
        )
        assert created.status_code == 201, created.text
        assert created.json()["scope"] == ["accounts.credentials", "accounts.self"]
        wider = await client.post(
            f"{V1}/me/tokens",
            json={"name": "x", "scope": ["accounts.self", "accounts.admin"]},
            headers=session,
        )
        assert wider.status_code == 400
        assert "you do not hold accounts.admin" in wider.json()["detail"]


class TestRevocation:
    """Whatever ends a password or an account ends every credential made with it."""

    async def test_a_password_change_revokes_api_tokens_and_says_so(
        self, client: AppClient, users: Accounts, smtp: Inbox
    ) -> None:
        _, email = await users.user()
        session = bearer((await users.login(email))["access_token"])
        token = await users.api_token(session, scope=["accounts.self"])
        changed = await client.post(
            f"{V1}/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=session,
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert (body["sessions_ended"], body["api_tokens_revoked"]) == (0, 1)
        assert "revoked 1 API token(s)" in body["message"]
        gone = await client.get(f"{V1}/me", headers=token)
        assert gone.status_code == 401
        mail = smtp.wait_for(email, count=2)
        assert mail["Subject"] == "Your password was changed"
        assert "1 API token(s) revoked" in mail.get_content()
        listed = (await client.get(f"{V1}/me/tokens", headers=session)).json()
        assert [(t["revoked"], t["revoked_why"]) for t in listed] == [(True, "password changed")]

    async def test_a_password_reset_revokes_api_tokens_and_says_so(
        self, client: AppClient, users: Accounts, smtp: Inbox
    ) -> None:
        _, email = await users.user()
        session = bearer((await users.login(email))["access_token"])
        token = await users.api_token(session)
        assert (await client.get("/demo/whoami", headers=token)).json() == {"user": email}
        await client.post(f"{V1}/password/reset", json={"email": email})
        reset = smtp.token(email, count=2)
        done = await client.post(
            f"{V1}/password/reset/confirm", json={"token": reset, "new_password": NEW_PASSWORD}
        )
        assert done.status_code == 200, done.text
        assert (done.json()["sessions_ended"], done.json()["api_tokens_revoked"]) == (1, 1)
        assert (await client.get("/demo/whoami", headers=token)).status_code == 401
        mail = smtp.wait_for(email, count=3)
        assert mail["Subject"] == "Your password was changed"
        assert "reset with a mailed token" in mail.get_content()
        assert "1 API token(s) revoked" in mail.get_content()

    async def test_deactivation_revokes_tokens_for_good(self, client: AppClient, users: Accounts) -> None:
        _, root = await users.bearer("root", superuser=True)
        user_id, session = await users.bearer()
        token = await users.api_token(session)
        assert (await client.get("/demo/whoami", headers=token)).status_code == 200
        off = await client.patch(f"{ADMIN}/users/{user_id}", json={"is_active": False}, headers=root)
        assert off.status_code == 200
        on = await client.patch(f"{ADMIN}/users/{user_id}", json={"is_active": True}, headers=root)
        assert on.json()["is_active"] is True
        revived = await client.get("/demo/whoami", headers=token)
        assert revived.status_code == 401, "reactivating revives no token"
        assert (await client.get(f"{V1}/me", headers=session)).status_code == 401, "nor any session"

    async def test_a_deleted_account_cannot_be_reactivated(self, client: AppClient, users: Accounts) -> None:
        _, root = await users.bearer("root", superuser=True)
        user_id, session = await users.bearer()
        deleted = await client.request("DELETE", f"{V1}/me", json={"password": PASSWORD}, headers=session)
        assert deleted.status_code == 204
        for change in ({"is_active": True}, {"is_superuser": True}):
            refused = await client.patch(f"{ADMIN}/users/{user_id}", json=change, headers=root)
            assert refused.status_code == 409, refused.text
            assert "deleted (anonymised)" in refused.json()["detail"]
        group = await users.group("demo.view")
        group_id = await users.db.fetchval("SELECT id FROM accounts.groups WHERE name = $1", group)
        joined = await client.put(f"{ADMIN}/groups/{group_id}/members/{user_id}", headers=root)
        assert joined.status_code == 409
        assert (await client.get(f"{ADMIN}/users/{user_id}", headers=root)).json()["is_active"] is False


class TestAdminBoundaries:
    """`accounts.admin` is not a superuser, and the last superuser stays."""

    async def test_only_a_superuser_acts_on_a_superuser(self, client: AppClient, users: Accounts) -> None:
        admins = await users.group("accounts.admin", "demo.view")
        _, admin = await users.bearer("admin", groups=(admins,))
        root_id, root = await users.bearer("root", superuser=True)
        group_id = await users.db.fetchval("SELECT id FROM accounts.groups WHERE name = $1", admins)
        attempts = [
            await client.patch(f"{ADMIN}/users/{root_id}", json={"is_active": False}, headers=admin),
            await client.post(f"{ADMIN}/users/{root_id}/revoke-sessions", headers=admin),
            await client.put(f"{ADMIN}/groups/{group_id}/members/{root_id}", headers=admin),
            await client.delete(f"{ADMIN}/groups/{group_id}/members/{root_id}", headers=admin),
        ]
        assert [a.status_code for a in attempts] == [403] * 4
        assert "only a superuser can act on a superuser" in attempts[0].json()["detail"]
        assert (await client.get(f"{V1}/me", headers=root)).json()["is_active"] is True
        # The admin still administers everyone else.
        user_id, _ = await users.user()
        assert (
            await client.post(f"{ADMIN}/users/{user_id}/revoke-sessions", headers=admin)
        ).status_code == 200

    async def test_only_a_superuser_grants_superuser_status(self, client: AppClient, users: Accounts) -> None:
        admins = await users.group("accounts.admin")
        admin_id, admin = await users.bearer("admin", groups=(admins,))
        user_id, _ = await users.user()
        for target in (admin_id, user_id):
            refused = await client.patch(
                f"{ADMIN}/users/{target}", json={"is_superuser": True}, headers=admin
            )
            assert refused.status_code == 403
            assert "Only a superuser can grant" in refused.json()["detail"]
        _, root = await users.bearer("root", superuser=True)
        promoted = await client.patch(f"{ADMIN}/users/{user_id}", json={"is_superuser": True}, headers=root)
        assert promoted.json()["is_superuser"] is True
        demoted = await client.patch(f"{ADMIN}/users/{user_id}", json={"is_superuser": False}, headers=root)
        assert demoted.json()["is_superuser"] is False


@pytest.fixture
def own_db(pg: PgServer) -> Iterator[str]:
    """A database of the test's own: rules about "the last superuser" count every account in it."""
    with pg.fresh_database("dy_acc_last") as url:
        pg.migrate(url)
        yield url


@pytest.fixture
async def own(own_db: str, smtp: Inbox) -> AsyncIterator[tuple[AppClient, Accounts]]:
    conn = await asyncpg.connect(own_db)
    try:
        async with app_client(accounts_settings(own_db, smtp), SERVICES) as client:
            yield client, Accounts(client, conn)
    finally:
        await conn.close()


class TestTheLastSuperuser:
    async def test_nobody_removes_deactivates_or_demotes_the_last_active_superuser(
        self, own: tuple[AppClient, Accounts]
    ) -> None:
        client, users = own
        first_id, first = await users.bearer("first", superuser=True)
        second_id, second = await users.bearer("second", superuser=True)
        off = await client.patch(f"{ADMIN}/users/{second_id}", json={"is_active": False}, headers=first)
        assert off.status_code == 200
        # `first` is now the only active superuser.
        assert (
            await client.patch(f"{ADMIN}/users/{first_id}", json={"is_active": False}, headers=first)
        ).status_code == 400
        assert (
            await client.patch(f"{ADMIN}/users/{first_id}", json={"is_superuser": False}, headers=first)
        ).status_code == 400
        removed = await client.request("DELETE", f"{V1}/me", json={"password": PASSWORD}, headers=first)
        assert removed.status_code == 409
        assert "last active superuser" in removed.json()["detail"]
        # With a second active superuser again, each may go.
        on = await client.patch(f"{ADMIN}/users/{second_id}", json={"is_active": True}, headers=first)
        assert on.status_code == 200
        second = bearer((await users.login(on.json()["email"]))["access_token"])
        demoted = await client.patch(
            f"{ADMIN}/users/{first_id}", json={"is_superuser": False}, headers=second
        )
        assert demoted.json()["is_superuser"] is False
        last = await client.request("DELETE", f"{V1}/me", json={"password": PASSWORD}, headers=second)
        assert last.status_code == 409

    async def test_two_superusers_deactivating_each_other_at_once_leave_one(
        self, own: tuple[AppClient, Accounts]
    ) -> None:
        client, users = own
        first_id, first = await users.bearer("first", superuser=True)
        second_id, second = await users.bearer("second", superuser=True)
        answers = await asyncio.gather(
            client.patch(f"{ADMIN}/users/{second_id}", json={"is_active": False}, headers=first),
            client.patch(f"{ADMIN}/users/{first_id}", json={"is_active": False}, headers=second),
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses in ([200, 401], [200, 409]), [a.text for a in answers]
        active = await users.db.fetchval(
            "SELECT count(*) FROM accounts.users WHERE is_superuser AND is_active AND deleted_at IS NULL"
        )
        assert active == 1

    async def test_the_command_line_keeps_the_last_superuser_too(
        self, own: tuple[AppClient, Accounts], own_db: str
    ) -> None:
        client, users = own
        _, root = await users.user("root", superuser=True)
        for command in ("deactivate", "demote"):
            done = await dockyard(own_db, "user", command, "--email", root)
            assert done.exit_code == 1, done.output
            assert "last active superuser" in done.output
        _, other = await users.user("other", superuser=True)
        token = await users.api_token(bearer((await users.login(other))["access_token"]))
        assert (await dockyard(own_db, "user", "demote", "--email", root)).exit_code == 0
        done = await dockyard(own_db, "user", "deactivate", "--email", other)
        assert done.exit_code == 1, "root is no superuser now: other is the last one"
        assert (await dockyard(own_db, "user", "create-superuser", "--email", root)).exit_code == 0
        done = await dockyard(own_db, "user", "deactivate", "--email", other)
        assert done.exit_code == 0, done.output
        assert (await client.get("/demo/whoami", headers=token)).status_code == 401
        assert (await dockyard(own_db, "user", "activate", "--email", other)).exit_code == 0
        assert (await client.get("/demo/whoami", headers=token)).status_code == 401, "tokens stay revoked"
        assert (
            await client.post(f"{V1}/login", json={"email": other, "password": PASSWORD})
        ).status_code == 200


def narrowed(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update=changes)


class TestLockoutByStrangers:
    """Failed logins slow an attacker down without letting anyone lock the owner out."""

    async def test_strangers_failing_from_many_addresses_do_not_lock_the_owner_out(
        self, settings: Settings, users: Accounts
    ) -> None:
        _, email = await users.user("owner")
        narrow = narrowed(
            settings, rate_limit_login="3/minute", login_slowdown_after=4, login_slowdown_max_s=0.05
        )
        shared = RateLimiter()  # one store for every app, as Redis would be for every worker
        for _ in range(3):
            async with app_client(narrow, SERVICES, client_ip=random_ip()) as stranger:
                stranger.app.state.auth.limiter = shared
                for _ in range(3):
                    wrong = await stranger.post(
                        f"{V1}/login", json={"email": email, "password": "guess guess"}
                    )
                    assert wrong.status_code == 401
                refused = await stranger.post(f"{V1}/login", json={"email": email, "password": PASSWORD})
                assert refused.status_code == 429, "each stranger's address is refused past its budget"
        async with app_client(narrow, SERVICES, client_ip=random_ip()) as owner:
            owner.app.state.auth.limiter = shared
            answer = await owner.post(f"{V1}/login", json={"email": email, "password": PASSWORD})
        assert answer.status_code == 200, answer.text

    async def test_a_flood_slows_attempts_down_progressively_and_mails_the_owner_once(
        self, settings: Settings, users: Accounts, db: asyncpg.Connection, caplog: pytest.LogCaptureFixture
    ) -> None:
        _, email = await users.user("flooded")
        narrow = narrowed(
            settings, rate_limit_login="100/minute", login_slowdown_after=2, login_slowdown_max_s=0.6
        )
        caplog.set_level(logging.INFO, logger="dockyard.accounts.throttle")
        shared = RateLimiter()
        for _ in range(5):
            async with app_client(narrow, SERVICES, client_ip=random_ip()) as stranger:
                stranger.app.state.auth.limiter = shared
                answer = await stranger.post(f"{V1}/login", json={"email": email, "password": "guess guess"})
                assert answer.status_code == 401
        waits = [r.__dict__["wait_s"] for r in caplog.records if r.getMessage() == "login slowed"]
        assert waits == [0.25, 0.5, 0.6], "no wait below the threshold, then doubling up to the cap"
        async with app_client(narrow, SERVICES, client_ip=random_ip()) as owner:
            owner.app.state.auth.limiter = shared
            assert (
                await owner.post(f"{V1}/login", json={"email": email, "password": PASSWORD})
            ).status_code == 200
        notices = await db.fetch(
            "SELECT subject, body FROM accounts.outbox WHERE recipient = $1 AND kind = 'login-flood'", email
        )
        assert len(notices) == 1
        assert "is not locked" in notices[0]["body"]

    def test_the_wait_grows_from_the_threshold_to_the_cap(self) -> None:
        waits = [throttle.login_wait(failures, after=3, max_s=4.0) for failures in range(10)]
        assert waits == [0, 0, 0, 0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]

    async def test_two_workers_noticing_one_flood_at_once_send_one_mail(
        self, settings: Settings, users: Accounts, db: asyncpg.Connection
    ) -> None:
        """Each worker's own (memory) counters see the flood; the outbox lets only one notice through."""
        _, email = await users.user("twice")
        narrow = narrowed(settings, login_slowdown_after=1, login_slowdown_max_s=0)
        async with app_client(narrow, SERVICES) as first, app_client(narrow, SERVICES) as second:
            answers = await asyncio.gather(
                *(
                    c.post(f"{V1}/login", json={"email": email, "password": "guess guess"})
                    for c in (first, second)
                )
            )
        assert [a.status_code for a in answers] == [401, 401]
        sent = await db.fetchval(
            "SELECT count(*) FROM accounts.outbox WHERE recipient = $1 AND kind = 'login-flood'", email
        )
        assert sent == 1

    async def test_one_address_spraying_many_accounts_is_refused(self, settings: Settings) -> None:
        narrow = narrowed(settings, rate_limit_login_ip="4/minute")
        async with app_client(narrow, SERVICES, client_ip=random_ip()) as sprayer:
            answers = [
                await sprayer.post(
                    f"{V1}/login", json={"email": new_email("victim"), "password": "Summer2024!"}
                )
                for _ in range(5)
            ]
        assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
        assert "failed logins from your address" in answers[-1].json()["detail"]

    async def test_a_strangers_reset_requests_do_not_block_the_owners_reset(
        self, settings: Settings, users: Accounts, smtp: Inbox
    ) -> None:
        _, email = await users.user("resetter")
        narrow = narrowed(settings, rate_limit_mail="2/hour", rate_limit_mail_account="2/hour")
        shared = RateLimiter()
        for _ in range(2):  # two strangers, each up to their own budget
            async with app_client(narrow, SERVICES, client_ip=random_ip()) as stranger:
                stranger.app.state.auth.limiter = shared
                for _ in range(2):
                    assert (
                        await stranger.post(f"{V1}/password/reset", json={"email": email})
                    ).status_code == 202
                assert (await stranger.post(f"{V1}/password/reset", json={"email": email})).status_code == 429
        async with app_client(narrow, SERVICES, client_ip=random_ip()) as owner:
            owner.app.state.auth.limiter = shared
            asked = await owner.post(f"{V1}/password/reset", json={"email": email})
            assert asked.status_code == 202, "the owner is never refused because of strangers"
            # Only two reset mails went out (the address's cap), and the first still works.
            assert len([m for m in smtp.to(email) if m["Subject"] == "Reset your password"]) == 2
            first = smtp.token(email, count=2)
            done = await owner.post(
                f"{V1}/password/reset/confirm", json={"token": first, "new_password": NEW_PASSWORD}
            )
            assert done.status_code == 200, done.text
            second = smtp.token(email, count=3)
            spent = await owner.post(
                f"{V1}/password/reset/confirm", json={"token": second, "new_password": NEW_PASSWORD + "!"}
            )
            assert spent.status_code == 400, "using one reset token spends the others"


class TestPasswordPolicy:
    @pytest.mark.parametrize("common", ["password", "12345678", "iloveyou", "Qwertyuiop", "passw0rd"])
    async def test_common_and_breached_passwords_are_refused_saying_why(
        self, client: AppClient, db: asyncpg.Connection, common: str
    ) -> None:
        email = new_email("weak")
        answer = await client.post(f"{V1}/register", json={"email": email, "password": common})
        assert answer.status_code == 400, answer.text
        assert "most often found in data breaches" in answer.json()["detail"]
        assert await db.fetchval("SELECT count(*) FROM accounts.users WHERE email = $1", email) == 0

    @pytest.mark.parametrize(
        "derive",
        [
            lambda email, name: email,
            lambda email, name: email.split("@")[0] + "!",
            lambda email, name: f"i am {name.lower()} x",
            lambda email, name: name.split()[0],
            lambda email, name: "my dockyard account",
        ],
        ids=["email", "local part", "display name", "a word of the name", "service name"],
    )
    async def test_passwords_made_of_the_account_are_refused(self, client: AppClient, derive: Any) -> None:
        email, name = new_email("self"), "Augustina Byron"
        answer = await client.post(
            f"{V1}/register", json={"email": email, "password": derive(email, name), "display_name": name}
        )
        assert answer.status_code == 400, answer.text
        assert "must not be or contain your email address" in answer.json()["detail"]

    async def test_the_policy_holds_for_changes_and_resets_too(
        self, client: AppClient, users: Accounts, smtp: Inbox
    ) -> None:
        _, email = await users.user()
        session = bearer((await users.login(email))["access_token"])
        change = await client.post(
            f"{V1}/password", json={"current_password": PASSWORD, "new_password": email}, headers=session
        )
        assert change.status_code == 400
        assert change.json()["detail"].startswith("`new_password` must not be or contain")
        await client.post(f"{V1}/password/reset", json={"email": email})
        token = smtp.token(email, count=2)
        reset = await client.post(
            f"{V1}/password/reset/confirm", json={"token": token, "new_password": "sunshine"}
        )
        assert reset.status_code == 400
        assert "data breaches" in reset.json()["detail"]
        still = await client.post(
            f"{V1}/password/reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert still.status_code == 200, "a refused password does not spend the token"

    async def test_long_passphrases_are_welcome(self, client: AppClient, db: asyncpg.Connection) -> None:
        email, phrase = new_email("long"), ("tide " * 26)[:128]
        assert (
            await client.post(f"{V1}/register", json={"email": email, "password": phrase})
        ).status_code == 202
        assert await db.fetchval("SELECT count(*) FROM accounts.users WHERE email = $1", email) == 1


class CountingHasher:
    """Stands in front of the argon2 hasher and counts what it is asked to do (and does it)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    passwords._dummy_hash()  # made once per process, before counting starts
    counting = CountingHasher(passwords._hasher())
    monkeypatch.setattr(passwords, "_hasher", lambda: counting)
    return counting


class TestNoEnumeration:
    """Nothing an answer says, or the work behind it, tells which addresses have accounts."""

    async def test_login_does_the_same_work_for_a_known_and_an_unknown_address(
        self, client: AppClient, users: Accounts, hasher: CountingHasher
    ) -> None:
        _, known = await users.user()
        work, answers = [], []
        for email in (known, new_email("nobody")):
            hasher.calls.clear()
            answers.append(
                await client.post(f"{V1}/login", json={"email": email, "password": "wrong password"})
            )
            work.append(list(hasher.calls))
        assert work[0] == ["verify_and_update"], "the stored hash is verified"
        assert work[1] == ["verify"], "a dummy hash is verified instead: one argon2 verification each"
        assert answers[0].status_code == answers[1].status_code == 401
        assert answers[0].json()["detail"] == answers[1].json()["detail"] == "Wrong email or password."

    async def test_a_reset_runs_the_same_statement_for_a_known_and_an_unknown_address(
        self, settings: Settings, users: Accounts, migrated_db: str
    ) -> None:
        _, known = await users.user()
        executed: list[str] = []

        async def log_queries(conn: asyncpg.Connection) -> None:
            conn.add_query_logger(lambda record: executed.append(record.query))

        pool = await asyncpg.create_pool(migrated_db, min_size=1, max_size=1, init=log_queries)
        try:
            work, outcomes = [], []
            for email in (known, new_email("nobody")):
                executed.clear()
                outcomes.append(await mail_reset(pool, settings, email))
                work.append(list(executed))
        finally:
            await pool.close()
        assert work[0] == work[1], "the same statements, whether or not the address has an account"
        ours = [query for query in work[0] if "accounts." in query]
        assert len(ours) == 1, "one statement finds the account, stores the token and records the mail"
        assert outcomes[0] is not None
        assert outcomes[0].recipient == known
        assert outcomes[1] is None

    async def test_registering_hashes_once_whether_or_not_the_address_is_taken(
        self, client: AppClient, users: Accounts, hasher: CountingHasher
    ) -> None:
        _, taken = await users.user()
        work = []
        for email in (taken, new_email("new")):
            hasher.calls.clear()
            answer = await client.post(f"{V1}/register", json={"email": email, "password": NEW_PASSWORD})
            assert answer.status_code == 202
            work.append(list(hasher.calls))
        assert work == [["hash"], ["hash"]]


class TestHeadersAndBudgets:
    async def test_answers_with_tokens_or_personal_data_are_never_stored(
        self, client: AppClient, users: Accounts
    ) -> None:
        _, email = await users.user()
        login = await client.post(f"{V1}/login", json={"email": email, "password": PASSWORD})
        session = bearer(login.json()["access_token"])
        token = await client.post(f"{V1}/me/tokens", json={"name": "t"}, headers=session)
        private = [
            login,
            token,
            await client.post(f"{V1}/refresh", json={"refresh_token": login.json()["refresh_token"]}),
            await client.get(f"{V1}/me", headers=session),
            await client.get(f"{V1}/me/export", headers=session),
            await client.post(f"{V1}/register", json={"email": new_email(), "password": PASSWORD}),
            await client.get("/demo/whoami", headers=bearer(token.json()["token"])),
        ]
        for answer in private:
            assert answer.headers["cache-control"] == "no-store", answer.request.url
        assert "cache-control" not in (await client.get("/demo/whoami")).headers

    async def test_an_unknown_api_token_is_401_on_a_public_route_too(self, settings: Settings) -> None:
        narrow = narrowed(settings, rate_limit_anonymous="1/minute")
        made_up = bearer("dy_" + uuid.uuid4().hex)
        async with app_client(narrow, SERVICES, client_ip=random_ip()) as client:
            public = f"{V1}/verify/resend"
            assert (await client.post(public, json={"email": new_email()})).status_code == 202
            assert (await client.post(public, json={"email": new_email()})).status_code == 429
            refused = await client.post(public, json={"email": new_email()}, headers=made_up)
        assert refused.status_code == 401, "a made-up token buys no budget of its own"
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["detail"] == "The API token is invalid, expired or revoked."
