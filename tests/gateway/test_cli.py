"""`dockyard gateway grant|revoke|rights|audit` against the real database."""

from __future__ import annotations

import asyncio
import json

import asyncpg
from click.testing import Result
from typer.testing import CliRunner

from dockyard.cli import app
from tests.gateway.conftest import People, feed_name


async def dockyard(url: str, *args: str) -> Result:
    env = {"DATABASE_URL": url, "COLUMNS": "250", "NO_COLOR": "1"}
    return await asyncio.to_thread(CliRunner().invoke, app, ["gateway", *args], env=env)


async def test_grant_rights_revoke(migrated_db: str, people: People, db: asyncpg.Connection) -> None:
    target = await people.caller()
    email = await db.fetchval("SELECT email FROM accounts.users WHERE id = $1", target.user_id)
    group = await people.group()
    group_name = await db.fetchval("SELECT name FROM accounts.groups WHERE id = $1", group)
    feed = feed_name("cli")
    made = await dockyard(
        migrated_db, "grant", "--user", email, "--feed", feed, "--level", "read", "--columns", "a,b"
    )
    assert made.exit_code == 0, made.output
    assert (json.loads(made.stdout)["level"], json.loads(made.stdout)["columns"]) == ("read", ["a", "b"])
    again = await dockyard(
        migrated_db, "grant", "--user", str(target.user_id), "--feed", feed, "--level", "read"
    )
    assert json.loads(again.stdout)["columns"] is None  # the same grant, widened to every column
    by_group = await dockyard(migrated_db, "grant", "--group", group_name, "--feed", "*", "--level", "write")
    assert by_group.exit_code == 0, by_group.output
    await db.execute(
        "INSERT INTO accounts.user_groups (user_id, group_id) VALUES ($1, $2)", target.user_id, group
    )
    rights = await dockyard(migrated_db, "rights", "--user", email, "--feed", feed)
    assert rights.exit_code == 0, rights.output
    assert json.loads(rights.stdout)["level"] == "write"
    gone = await dockyard(migrated_db, "revoke", "--group", group_name, "--feed", "*")
    assert (gone.exit_code, gone.stdout.strip()) == (0, "1 grant(s) deleted")
    grant_id = json.loads(made.stdout)["id"]
    assert (await dockyard(migrated_db, "revoke", str(grant_id))).exit_code == 0
    nothing = await dockyard(migrated_db, "revoke", str(grant_id))
    assert nothing.exit_code == 1
    assert await db.fetchval("SELECT count(*) FROM gateway.grants WHERE user_id = $1", target.user_id) == 0
    changes = await dockyard(migrated_db, "audit", "--feed", feed)
    assert [item["change"]["action"] for item in json.loads(changes.stdout)["results"]] == [
        "delete",
        "update",
        "create",
    ]


async def test_bad_arguments_are_usage_errors(migrated_db: str) -> None:
    assert (
        await dockyard(migrated_db, "grant", "--feed", "a..b", "--level", "read", "--user", "1")
    ).exit_code == 2
    assert (
        await dockyard(migrated_db, "grant", "--feed", "a", "--level", "owner", "--user", "1")
    ).exit_code == 2
    assert (await dockyard(migrated_db, "grant", "--feed", "a", "--level", "read")).exit_code == 2
    missing = await dockyard(
        migrated_db, "grant", "--feed", "a", "--level", "read", "--user", "nobody@example.org"
    )
    assert missing.exit_code == 1
    assert "no user" in missing.output


async def test_purge_keeps_recent_records(migrated_db: str, db: asyncpg.Connection) -> None:
    marker = feed_name("purge")
    await db.execute(
        "INSERT INTO gateway.audit (at, method, route, feed, decision, status) "
        "VALUES (now() - interval '400 days', 'GET', '/size', $1, 'allow', 200), "
        "(now(), 'GET', '/size', $1, 'allow', 200)",
        marker,
    )
    dry = await dockyard(migrated_db, "audit", "purge", "--older-than-days", "365", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would be deleted" in dry.stdout
    assert await db.fetchval("SELECT count(*) FROM gateway.audit WHERE feed = $1", marker) == 2
    done = await dockyard(migrated_db, "audit", "purge", "--older-than-days", "365")
    assert done.exit_code == 0, done.output
    assert await db.fetchval("SELECT count(*) FROM gateway.audit WHERE feed = $1", marker) == 1
