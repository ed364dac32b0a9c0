"""`dockyard user|group|mail …` against the migrated test database, checked over SQL and the HTTP API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from click.testing import Result
from typer.testing import CliRunner

from dockyard.cli import app
from tests.accounts.conftest import PASSWORD, Accounts, new_email
from tests.support.app import AppClient

V1 = "/accounts/v1"
NEW_PASSWORD = "a different passphrase"
DOCKYARD = str(Path(sys.executable).parent / "dockyard")


async def dockyard(url: str, *args: str, stdin: str | None = None) -> Result:
    """Run `dockyard ARGS` on the database at `url` (in a thread: the command runs its own event loop)."""
    runner = CliRunner()
    env = {"DATABASE_URL": url, "COLUMNS": "250", "NO_COLOR": "1"}
    return await asyncio.to_thread(runner.invoke, app, list(args), input=stdin, env=env)


def group_name() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


async def login_status(client: AppClient, email: str, password: str) -> int:
    answer = await client.post(f"{V1}/login", json={"email": email, "password": password})
    return answer.status_code


class TestCreateSuperuser:
    async def test_new_superuser_from_stdin_logs_in_and_administers(
        self, migrated_db: str, client: AppClient, db: asyncpg.Connection
    ) -> None:
        email = new_email("root")
        done = await dockyard(
            migrated_db,
            *("user", "create-superuser", "--email", email, "--password-stdin", "--display-name", "Root"),
            stdin=PASSWORD + "\n",
        )
        assert done.exit_code == 0, done.output
        assert f"created superuser {email}" in done.output
        row = await db.fetchrow("SELECT * FROM accounts.users WHERE email = $1", email)
        assert row["is_superuser"]
        assert row["is_active"]
        assert row["email_verified_at"] is not None
        assert row["display_name"] == "Root"
        assert row["password_hash"].startswith("$argon2id$")
        assert PASSWORD not in done.output

        pair = (await client.post(f"{V1}/login", json={"email": email, "password": PASSWORD})).json()
        auth = {"Authorization": f"Bearer {pair['access_token']}"}
        me = (await client.get(f"{V1}/me", headers=auth)).json()
        assert me["is_superuser"] is True
        admin = await client.get(f"{V1}/admin/users", params={"q": email}, headers=auth)
        assert admin.status_code == 200
        assert [user["email"] for user in admin.json()["results"]] == [email]

    async def test_prompt_asks_twice_and_repeats_on_mismatch(
        self, migrated_db: str, client: AppClient
    ) -> None:
        email = new_email("prompted")
        answers = f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n"
        done = await dockyard(migrated_db, "user", "create-superuser", "--email", email, stdin=answers)
        assert done.exit_code == 0, done.output
        assert "do not match" in done.output
        assert await login_status(client, email, PASSWORD) == 200

    async def test_existing_account_is_promoted_and_keeps_its_password(
        self, migrated_db: str, client: AppClient, db: asyncpg.Connection
    ) -> None:
        email = new_email("promoted")
        registered = await client.post(f"{V1}/register", json={"email": email, "password": PASSWORD})
        assert registered.status_code == 202
        assert await login_status(client, email, PASSWORD) == 403, "unverified before"
        done = await dockyard(migrated_db, "user", "create-superuser", "--email", email.upper())
        assert done.exit_code == 0, done.output
        assert "made superuser" in done.output
        row = await db.fetchrow(
            "SELECT is_superuser, email_verified_at FROM accounts.users WHERE email = $1", email
        )
        assert row["is_superuser"]
        assert row["email_verified_at"] is not None
        assert await login_status(client, email, PASSWORD) == 200

    async def test_a_piped_password_for_an_existing_account_needs_reset_password(
        self, migrated_db: str, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, email = await users.user("kept")
        done = await dockyard(
            migrated_db,
            "user",
            "create-superuser",
            "--email",
            email,
            "--password-stdin",
            stdin=NEW_PASSWORD + "\n",
        )
        assert done.exit_code == 1
        assert "add --reset-password" in done.output
        assert not await db.fetchval("SELECT is_superuser FROM accounts.users WHERE id = $1", user_id)
        assert await login_status(client, email, PASSWORD) == 200

    async def test_reset_password_replaces_it_and_ends_sessions(
        self, migrated_db: str, client: AppClient, users: Accounts
    ) -> None:
        _, email = await users.user("reset")
        before = await users.login(email)
        done = await dockyard(
            migrated_db,
            *("user", "create-superuser", "--email", email, "--password-stdin", "--reset-password"),
            stdin=NEW_PASSWORD + "\n",
        )
        assert done.exit_code == 0, done.output
        assert await login_status(client, email, PASSWORD) == 401
        assert await login_status(client, email, NEW_PASSWORD) == 200
        refreshed = await client.post(f"{V1}/refresh", json={"refresh_token": before["refresh_token"]})
        assert refreshed.status_code == 401, "the session opened with the old password is over"

    async def test_bad_input_exits_1_and_creates_nothing(
        self, migrated_db: str, db: asyncpg.Connection
    ) -> None:
        email = new_email("short")
        short = await dockyard(
            migrated_db, "user", "create-superuser", "--email", email, "--password-stdin", stdin="seven77\n"
        )
        assert short.exit_code == 1
        assert "must be 8 to 128 characters" in short.output
        empty = await dockyard(
            migrated_db, "user", "create-superuser", "--email", email, "--password-stdin", stdin=""
        )
        assert empty.exit_code == 1
        assert "standard input is empty" in empty.output
        not_email = await dockyard(
            migrated_db, "user", "create-superuser", "--email", "root'; DROP TABLE x;--"
        )
        assert not_email.exit_code == 1
        assert "is not an email address" in not_email.output
        assert await db.fetchval("SELECT count(*) FROM accounts.users WHERE email = $1", email) == 0

    async def test_the_installed_command_reads_a_pipe(
        self, migrated_db: str, client: AppClient, tmp_path: Path
    ) -> None:
        email = new_email("piped")
        done = await asyncio.to_thread(
            subprocess.run,
            [DOCKYARD, "user", "create-superuser", "--email", email, "--password-stdin"],
            input=PASSWORD + "\n",
            env={"PATH": "/usr/bin:/bin", "DATABASE_URL": migrated_db, "DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert email in done.stdout
        assert await login_status(client, email, PASSWORD) == 200


class TestGroups:
    async def test_create_with_permissions_then_membership_grants_them(
        self, migrated_db: str, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        name = group_name()
        created = await dockyard(
            migrated_db, "group", "create", name, "--perm", "accounts.admin", "--description", "Runs things"
        )
        assert created.exit_code == 0, created.output
        assert f"created group {name} with accounts.admin" in created.output

        _, email = await users.user("member")
        auth = {"Authorization": f"Bearer {(await users.login(email))['access_token']}"}
        assert (await client.get(f"{V1}/admin/users", headers=auth)).status_code == 403
        added = await dockyard(migrated_db, "user", "add-to-group", "--email", email, "--group", name)
        assert added.exit_code == 0, added.output
        assert f"{email} added to {name}" in added.output
        again = await dockyard(migrated_db, "user", "add-to-group", "--email", email, "--group", name)
        assert f"{email} was already in {name}" in again.output
        me = (await client.get(f"{V1}/me", headers=auth)).json()
        assert name in me["groups"]
        assert "accounts.admin" in me["permissions"]
        assert (await client.get(f"{V1}/admin/users", headers=auth)).status_code == 200

        removed = await dockyard(migrated_db, "user", "remove-from-group", "--email", email, "--group", name)
        assert removed.exit_code == 0, removed.output
        assert f"{email} removed from {name}" in removed.output
        members = await db.fetchval(
            "SELECT count(*) FROM accounts.user_groups ug JOIN accounts.groups g ON g.id = ug.group_id "
            "WHERE g.name = $1",
            name,
        )
        assert members == 0

    async def test_unknown_permission_is_refused_listing_the_known_ones(
        self, migrated_db: str, db: asyncpg.Connection
    ) -> None:
        name = group_name()
        done = await dockyard(
            migrated_db, "group", "create", name, "--perm", "accounts.admin", "--perm", "nope.view"
        )
        assert done.exit_code == 1
        assert "Unknown permission(s): nope.view" in done.output
        assert "Known permissions:" in done.output
        assert "accounts.admin" in done.output
        assert await db.fetchval("SELECT count(*) FROM accounts.groups WHERE name = $1", name) == 0

    async def test_existing_group_needs_update_which_sets_exactly_the_given_permissions(
        self, migrated_db: str, db: asyncpg.Connection
    ) -> None:
        name = group_name()
        assert (
            await dockyard(migrated_db, "group", "create", name, "--perm", "accounts.admin")
        ).exit_code == 0
        twice = await dockyard(migrated_db, "group", "create", name)
        assert twice.exit_code == 1
        assert "already exists; add --update" in twice.output
        updated = await dockyard(migrated_db, "group", "create", name, "--update", "--description", "emptied")
        assert updated.exit_code == 0, updated.output
        row = await db.fetchrow(
            "SELECT g.description, ARRAY(SELECT permission FROM accounts.group_permissions "
            "WHERE group_id = g.id) AS permissions FROM accounts.groups g WHERE g.name = $1",
            name,
        )
        assert row["description"] == "emptied"
        assert row["permissions"] == []

    async def test_bad_names_and_unknown_targets_exit_1(self, migrated_db: str, users: Accounts) -> None:
        bad = await dockyard(migrated_db, "group", "create", "ops;drop", "--perm", "accounts.admin")
        assert bad.exit_code == 1
        assert "is not a valid group name" in bad.output
        _, email = await users.user("nogroup")
        missing_group = await dockyard(
            migrated_db, "user", "add-to-group", "--email", email, "--group", "absent"
        )
        assert missing_group.exit_code == 1
        assert "No group named 'absent'" in missing_group.output
        missing_user = await dockyard(
            migrated_db, "user", "add-to-group", "--email", new_email("ghost"), "--group", "absent"
        )
        assert missing_user.exit_code == 1
        assert "No account with the email" in missing_user.output

    async def test_group_list_as_json(self, migrated_db: str, users: Accounts) -> None:
        name = group_name()
        await dockyard(migrated_db, "group", "create", name, "--perm", "accounts.admin")
        await users.user("listed", groups=(name,))
        done = await dockyard(migrated_db, "group", "list", "--json")
        assert done.exit_code == 0, done.output
        groups = {group["name"]: group for group in json.loads(done.stdout)}
        assert groups[name]["permissions"] == ["accounts.admin"]
        assert groups[name]["members"] == 1
        table = await dockyard(migrated_db, "group", "list")
        assert name in table.stdout


class TestListing:
    async def test_user_list_searches_and_hides_deleted_accounts(
        self, migrated_db: str, client: AppClient, users: Accounts
    ) -> None:
        tag = f"find{uuid.uuid4().hex[:6]}"
        _, kept = await users.user(tag)
        gone_id, gone = await users.user(tag)
        auth = {"Authorization": f"Bearer {(await users.login(gone))['access_token']}"}
        deleted = await client.request("DELETE", f"{V1}/me", json={"password": PASSWORD}, headers=auth)
        assert deleted.status_code == 204
        done = await dockyard(migrated_db, "user", "list", "--search", tag, "--json")
        assert done.exit_code == 0, done.output
        found = json.loads(done.stdout)
        assert [user["email"] for user in found] == [kept]
        assert found[0]["verified"] is True
        assert found[0]["is_superuser"] is False
        table = await dockyard(migrated_db, "user", "list", "--search", tag)
        assert kept in table.stdout
        assert "1 account(s)" in table.stdout
        assert f"deleted-{gone_id}" not in table.stdout

    async def test_search_wildcards_are_literal(self, migrated_db: str) -> None:
        done = await dockyard(migrated_db, "user", "list", "--search", "%", "--json")
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout) == []

    async def test_mail_list_shows_the_newest_first_with_bodies(
        self, migrated_db: str, client: AppClient
    ) -> None:
        email = new_email("mailed")
        await client.post(f"{V1}/register", json={"email": email, "password": PASSWORD})
        resent = await client.post(f"{V1}/verify/resend", json={"email": email})
        assert resent.status_code == 202
        done = await dockyard(migrated_db, "mail", "list", "--to", email.upper(), "--json")
        assert done.exit_code == 0, done.output
        mails: list[dict[str, Any]] = json.loads(done.stdout)
        assert len(mails) == 2
        assert mails[0]["id"] > mails[1]["id"]
        assert all(
            mail["recipient"] == email and "/accounts/v1/verify?token=" in mail["body"] for mail in mails
        )
        text = await dockyard(migrated_db, "mail", "list", "--to", email, "--limit", "1")
        assert text.stdout.count(f"To: {email}") == 1
        assert mails[0]["body"].strip().splitlines()[0] in text.stdout
        nothing = await dockyard(migrated_db, "mail", "list", "--to", new_email("nobody"))
        assert "no mail to" in nothing.stdout


async def test_an_unmigrated_database_gets_a_hint(fresh_db: str) -> None:
    done = await dockyard(fresh_db, "user", "list")
    assert done.exit_code == 1
    assert "run `dockyard db migrate`" in done.output
