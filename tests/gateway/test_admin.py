"""The admin API (/gateway/api/v1): grants, a user's effective rights, and the audit log."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg

from tests.gateway.conftest import Caller, Lbasedb, People, feed_name
from tests.support.app import AppClient

API = "/gateway/api/v1"


async def _admin(people: People) -> Caller:
    admins = await people.group("gateway.admin")
    return await people.caller(groups=(admins,))


async def _flushed(client: AppClient) -> None:
    await client.app.state.gateway.audit.flushed()


class TestGrants:
    async def test_needs_gateway_admin(self, client: AppClient, people: People) -> None:
        assert (await client.get(f"{API}/grants")).status_code == 401
        plain = await people.caller()
        answer = await client.get(f"{API}/grants", headers=plain.headers)
        assert answer.status_code == 403
        assert answer.headers["content-type"] == "application/problem+json"
        assert "gateway.admin" in answer.json()["detail"]

    async def test_create_change_list_delete(
        self, client: AppClient, people: People, db: asyncpg.Connection
    ) -> None:
        admin = await _admin(people)
        target = await people.caller()
        made = await client.post(
            f"{API}/grants",
            json={"user_id": target.user_id, "feed": "lab.*", "level": "read", "columns": ["t", "h"]},
            headers=admin.headers,
        )
        assert made.status_code == 201, made.text
        grant = made.json()
        assert (grant["user_id"], grant["feed"], grant["level"], grant["columns"]) == (
            target.user_id,
            "lab.*",
            "read",
            ["t", "h"],
        )
        assert grant["created_by"] == admin.user_id
        twice = await client.post(
            f"{API}/grants",
            json={"user_id": target.user_id, "feed": "lab.*", "level": "read"},
            headers=admin.headers,
        )
        assert twice.status_code == 409
        changed = await client.patch(
            f"{API}/grants/{grant['id']}", json={"level": "write", "columns": None}, headers=admin.headers
        )
        assert (changed.json()["level"], changed.json()["columns"]) == ("write", None)
        kept = await client.patch(
            f"{API}/grants/{grant['id']}", json={"level": "admin"}, headers=admin.headers
        )
        assert kept.json()["columns"] is None
        listed = await client.get(f"{API}/grants", params={"user_id": target.user_id}, headers=admin.headers)
        assert listed.json()["count"] == 1
        assert listed.json()["results"][0]["id"] == grant["id"]
        assert (await client.get(f"{API}/grants/{grant['id']}", headers=admin.headers)).json()[
            "level"
        ] == "admin"
        assert (await client.delete(f"{API}/grants/{grant['id']}", headers=admin.headers)).status_code == 204
        assert (await client.get(f"{API}/grants/{grant['id']}", headers=admin.headers)).status_code == 404
        actions = await db.fetch(
            "SELECT change->>'action' AS action FROM gateway.audit WHERE change->'grant'->>'id' = $1::text "
            "OR change->'after'->>'id' = $1::text ORDER BY id",
            str(grant["id"]),
        )
        assert [row["action"] for row in actions] == ["create", "update", "update", "delete"]

    async def test_bad_input_says_what_to_fix(self, client: AppClient, people: People) -> None:
        admin = await _admin(people)
        target = await people.caller()
        for body, field in (
            ({"user_id": target.user_id, "feed": "a..b", "level": "read"}, "feed"),
            ({"user_id": target.user_id, "feed": "a", "level": "owner"}, "level"),
            ({"user_id": target.user_id, "feed": "a", "level": "read", "columns": ["1x"]}, "columns"),
            ({"feed": "a", "level": "read"}, "user_id"),
            ({"user_id": target.user_id, "group_id": 1, "feed": "a", "level": "read"}, "group_id"),
            ({"user_id": 2**53, "feed": "a", "level": "read"}, "user_id"),
        ):
            answer = await client.post(f"{API}/grants", json=body, headers=admin.headers)
            assert answer.status_code == 422, body
            assert field in str(answer.json()["errors"]), (body, answer.json())
        missing = await client.post(
            f"{API}/grants", json={"group_id": 2**50, "feed": "a", "level": "read"}, headers=admin.headers
        )
        assert missing.status_code == 404
        assert (await client.get(f"{API}/grants/{2**63}", headers=admin.headers)).status_code == 422

    async def test_the_same_grant_twice_at_once_is_made_once(
        self, client: AppClient, people: People, db: asyncpg.Connection
    ) -> None:
        admin = await _admin(people)
        target = await people.caller()
        body = {"user_id": target.user_id, "feed": feed_name(), "level": "append"}
        answers = await asyncio.gather(
            *(client.post(f"{API}/grants", json=body, headers=admin.headers) for _ in range(2))
        )
        assert sorted(answer.status_code for answer in answers) == [201, 409]
        assert (
            await db.fetchval("SELECT count(*) FROM gateway.grants WHERE user_id = $1", target.user_id) == 1
        )


class TestRights:
    async def test_effective_rights_of_a_user(self, client: AppClient, people: People) -> None:
        admin = await _admin(people)
        group = await people.group()
        target = await people.caller(groups=(group,))
        feed = feed_name("r")
        await people.grant(feed, "read", user=target.user_id)
        await people.grant(feed.split(".")[0] + ".*", "write", group=group, columns=["x"])
        await people.grant("other.*", "admin", user=target.user_id)
        answer = await client.get(
            f"{API}/users/{target.user_id}/rights", params={"feed": feed}, headers=admin.headers
        )
        body = answer.json()
        assert (body["level"], body["columns"], body["is_superuser"]) == ("read", {"x": "write"}, False)
        assert sorted(item["via_group"] is not None for item in body["grants"]) == [False, True]
        everything = await client.get(f"{API}/users/{target.user_id}/rights", headers=admin.headers)
        assert len(everything.json()["grants"]) == 3
        assert (await client.get(f"{API}/users/{2**62}/rights", headers=admin.headers)).status_code == 404


class TestAudit:
    async def test_requests_are_recorded_after_they_end(
        self, client: AppClient, people: People, direct: Lbasedb
    ) -> None:
        admin = await _admin(people)
        feed = await direct.feed(feed_name("aud"), {"x": "Int64"}, {"x": [1, 2, 3]})
        caller = await people.caller()
        await people.grant(feed, "read", user=caller.user_id)
        began = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        ok = await client.get(
            f"/gateway/lbasedb/data?feed={feed}&ix=1&size=2&col[]=x", headers=caller.headers
        )
        refused = await client.post(
            f"/gateway/lbasedb/data?feed={feed}", json={"x": [4]}, headers=caller.headers
        )
        assert (ok.status_code, refused.status_code) == (200, 403)
        await _flushed(client)
        log = await client.get(
            f"{API}/audit", params={"feed": feed, "since": began.isoformat()}, headers=admin.headers
        )
        records = log.json()["results"]
        assert log.json()["count"] == 2
        denied, allowed = records
        assert (allowed["user_id"], allowed["token_id"], allowed["route"], allowed["method"]) == (
            caller.user_id,
            caller.token_id,
            "/data",
            "GET",
        )
        assert (allowed["decision"], allowed["status"], allowed["upstream_status"]) == ("allow", 200, 200)
        assert (allowed["cols"], allowed["ix"], allowed["size"]) == (["x"], 1, 2)
        assert allowed["bytes_out"] == len(ok.content)
        assert allowed["client"] == "127.0.0.1"
        assert allowed["request_id"] == ok.headers["x-request-id"]
        assert (denied["decision"], denied["status"], denied["upstream_status"]) == ("deny", 403, None)
        assert "append" in denied["reason"]
        only_denied = await client.get(
            f"{API}/audit", params={"feed": feed, "decision": "deny"}, headers=admin.headers
        )
        assert [item["id"] for item in only_denied.json()["results"]] == [denied["id"]]
        paged = await client.get(
            f"{API}/audit", params={"feed": feed, "limit": 1, "offset": 1}, headers=admin.headers
        )
        assert (paged.json()["count"], [item["id"] for item in paged.json()["results"]]) == (
            2,
            [allowed["id"]],
        )
        mine = await client.get(f"{API}/audit", params={"user_id": caller.user_id}, headers=admin.headers)
        assert mine.json()["count"] == 2

    async def test_the_log_is_append_only(
        self, client: AppClient, people: People, db: asyncpg.Connection
    ) -> None:
        caller = await people.caller()
        await client.get("/gateway/lbasedb/version", headers=caller.headers)
        await _flushed(client)
        row = await db.fetchval("SELECT max(id) FROM gateway.audit WHERE user_id = $1", caller.user_id)
        for statement in (
            "UPDATE gateway.audit SET status = 200 WHERE id = $1",
            "DELETE FROM gateway.audit WHERE id = $1",
        ):
            try:
                await db.execute(statement, row)
            except asyncpg.InsufficientPrivilegeError:
                continue
            raise AssertionError(f"{statement} went through")
