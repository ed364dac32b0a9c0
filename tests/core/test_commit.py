"""A 2xx means committed: the transaction of `Conn` ends before the response starts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from dockyard import accounts
from tests.accounts.conftest import Accounts, accounts_settings, smtp
from tests.support.app import AppClient, app_client
from tests.support.postgres import PgServer
from tests.support.smtp import Inbox

__all__ = ["smtp"]

# Fails at COMMIT, not at the UPDATE: the check runs when the deferred trigger fires.
FAIL_AT_COMMIT = """
CREATE FUNCTION public.refuse_display_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.display_name = 'refused at commit' THEN
        RAISE EXCEPTION 'display name refused' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER refuse_display_name AFTER UPDATE ON accounts.users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.refuse_display_name();
"""


@pytest.fixture
def own_db(pg: PgServer) -> Iterator[str]:
    """A migrated database of this test's own: the trigger must not reach other tests."""
    with pg.fresh_database("dy_commit") as url:
        pg.migrate(url)
        yield url


@pytest.fixture
async def db(own_db: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(own_db)
    await conn.execute(FAIL_AT_COMMIT)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def client(own_db: str, smtp: Inbox) -> AsyncIterator[AppClient]:
    async with app_client(accounts_settings(own_db, smtp), (accounts.service,)) as client:
        yield client


async def test_a_commit_that_fails_is_never_answered_2xx(client: AppClient, db: asyncpg.Connection) -> None:
    user_id, headers = await Accounts(client, db).bearer("committer")
    before = await db.fetchval("SELECT display_name FROM accounts.users WHERE id = $1", user_id)
    answer = await client.patch(
        "/accounts/v1/me", json={"display_name": "refused at commit"}, headers=headers
    )
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "not saved" in answer.json()["detail"]
    assert await db.fetchval("SELECT display_name FROM accounts.users WHERE id = $1", user_id) == before


async def test_a_commit_that_succeeds_is_visible_to_the_next_request(
    client: AppClient, db: asyncpg.Connection
) -> None:
    user_id, headers = await Accounts(client, db).bearer("committer")
    answer = await client.patch("/accounts/v1/me", json={"display_name": "kept"}, headers=headers)
    assert answer.status_code == 200, answer.text
    # Read on another connection at once: the row is there before the client even reads the body.
    assert await db.fetchval("SELECT display_name FROM accounts.users WHERE id = $1", user_id) == "kept"
    assert (await client.get("/accounts/v1/me", headers=headers)).json()["display_name"] == "kept"
