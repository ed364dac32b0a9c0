"""Who may do what: patterns, groups, column limits, token scopes, listings, and grants that follow feeds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg

from dockyard.accounts.tokens import API_TOKEN_PREFIX
from tests.accounts.conftest import Accounts
from tests.gateway.conftest import Lbasedb, People, feed_name
from tests.support.app import AppClient
from tests.support.lbasedb import StandIn

XY = {"x": "Int64", "y": "Int64"}
ROWS = {"x": [1, 2], "y": [3, 4]}


def data_url(feed: str, *cols: str) -> str:
    return f"/gateway/lbasedb/data?feed={feed}&ix=0&size=2" + "".join(f"&col[]={col}" for col in cols)


class TestPatterns:
    async def test_a_dotted_prefix_covers_feeds_below_it_only(
        self, client: AppClient, people: People, direct: Lbasedb
    ) -> None:
        root = feed_name("pfx")
        for feed in (f"{root}.a", f"{root}.a.b", root, f"{root}x.a"):
            await direct.feed(feed, XY, ROWS)
        caller = await people.caller()
        await people.grant(f"{root}.*", "read", user=caller.user_id)
        statuses = {
            feed: (await client.get(data_url(feed, "x"), headers=caller.headers)).status_code
            for feed in (f"{root}.a", f"{root}.a.b", root, f"{root}x.a")
        }
        assert statuses == {f"{root}.a": 200, f"{root}.a.b": 200, root: 403, f"{root}x.a": 403}

    async def test_star_covers_every_feed(self, client: AppClient, people: People, direct: Lbasedb) -> None:
        feed = await direct.feed(feed_name("any"), XY, ROWS)
        caller = await people.caller()
        await people.grant("*", "read", user=caller.user_id)
        assert (await client.get(data_url(feed, "x", "y"), headers=caller.headers)).json() == ROWS

    async def test_the_right_is_the_highest_over_user_and_groups(
        self, client: AppClient, people: People, direct: Lbasedb
    ) -> None:
        feed = await direct.feed(feed_name("max"), XY, ROWS)
        writers, readers = await people.group(), await people.group()
        caller = await people.caller(groups=(writers, readers))
        await people.grant(feed, "read", user=caller.user_id)
        await people.grant(feed, "read", group=readers)
        url = f"/gateway/lbasedb/data?feed={feed}&ix=0"
        assert (await client.patch(url, json={"x": [9]}, headers=caller.headers)).status_code == 403
        await people.grant(feed.split(".")[0] + ".*", "write", group=writers)
        assert (await client.patch(url, json={"x": [9]}, headers=caller.headers)).status_code == 204
        assert (await direct.data(feed, ["x"]))["x"] == [9, 2]


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


class TestColumnLimits:
    async def test_reads_name_their_columns(
        self, client: AppClient, people: People, direct: Lbasedb, standin: StandIn
    ) -> None:
        feed = await direct.feed(feed_name("cols"), XY, ROWS)
        caller = await people.caller()
        await people.grant(feed, "read", user=caller.user_id, columns=["x"])
        assert (await client.get(data_url(feed, "x"), headers=caller.headers)).json() == {"x": [1, 2]}
        refused = await client.get(data_url(feed, "x", "y"), headers=caller.headers)
        assert refused.status_code == 403
        assert "column `y`" in refused.json()["detail"]
        raw = await client.get(f"/gateway/lbasedb/raw?feed={feed}&col=y&ix=0&size=1", headers=caller.headers)
        assert raw.status_code == 403
        listed = await client.get(f"/gateway/lbasedb/col?feed={feed}", headers=caller.headers)
        assert listed.json() == [{"name": "x", "datatype": "Int64"}]
        size = await client.get(f"/gateway/lbasedb/size?feed={feed}", headers=caller.headers)
        assert size.json() == {"size": 2}

    async def test_a_forbidden_key_cuts_the_body_off_and_nothing_is_written(
        self, client: AppClient, people: People, direct: Lbasedb, standin: StandIn
    ) -> None:
        feed = await direct.feed(feed_name("scan"), XY, ROWS)
        caller = await people.caller()
        await people.grant(feed, "read", user=caller.user_id)
        await people.grant(feed, "write", user=caller.user_id, columns=["x"])
        url = f"/gateway/lbasedb/data?feed={feed}&ix=0"
        assert (await client.patch(url, json={"x": [5, 6]}, headers=caller.headers)).status_code == 204
        first = b'{"x": [7, 8], '
        rest = b'"y": [0, 0]}'
        answer = await client.patch(
            url,
            content=_chunks(first, rest),
            headers={
                **caller.headers,
                "content-type": "application/json",
                "content-length": str(len(first + rest)),
            },
        )
        assert answer.status_code == 403
        assert "column `y`" in answer.json()["detail"]
        # The cut-off request, if its head arrived before the reset, never had a complete body.
        patches = [r for r in standin.requests_to("/data") if r.method == "PATCH"]
        assert [r.body_complete for r in patches] in ([True], [True, False])
        assert all(r.body_bytes <= len(first) for r in patches[1:])
        assert await direct.data(feed, ["x", "y"]) == {"x": [5, 6], "y": [3, 4]}

    async def test_escaped_and_unknown_keys_are_checked_too(
        self, client: AppClient, people: People, direct: Lbasedb
    ) -> None:
        feed = await direct.feed(feed_name("esc"), XY, ROWS)
        caller = await people.caller()
        await people.grant(feed, "append", user=caller.user_id, columns=["x"])
        url = f"/gateway/lbasedb/data?feed={feed}"
        escaped = await client.post(
            url, content=b'{"\\u0079": [1]}', headers={**caller.headers, "content-type": "application/json"}
        )
        assert escaped.status_code == 403
        assert (await client.post(url, json={"zz": [1]}, headers=caller.headers)).status_code == 403
        assert (await client.post(url, json={"x": [1]}, headers=caller.headers)).status_code == 204
        assert await direct.data(feed, ["x", "y"]) == {"x": [1, 2, 1], "y": [3, 4, 0]}

    async def test_put_needs_write_on_every_column(
        self, client: AppClient, people: People, direct: Lbasedb, standin: StandIn
    ) -> None:
        feed = await direct.feed(feed_name("put"), XY, ROWS)
        partial, complete = await people.caller(), await people.caller()
        await people.grant(feed, "write", user=partial.user_id, columns=["x"])
        await people.grant(feed, "write", user=complete.user_id, columns=["x", "y"])
        url = f"/gateway/lbasedb/data?feed={feed}&ix=0"
        refused = await client.put(url, json={"x": [9]}, headers=partial.headers)
        assert refused.status_code == 403
        assert "column `y`" in refused.json()["detail"]
        assert not [r for r in standin.requests_to("/data") if r.method == "PUT"]
        assert (await client.put(url, json={"x": [9]}, headers=complete.headers)).status_code == 204
        assert await direct.data(feed, ["x", "y"]) == {"x": [9, 2], "y": [0, 4]}
        bytes_url = f"/gateway/lbasedb/bytes?feed={feed}&ix=0&col[]=x"
        assert (await client.put(bytes_url, content=bytes(8), headers=partial.headers)).status_code == 403

    async def test_bytes_routes_check_their_listed_columns(
        self, client: AppClient, people: People, direct: Lbasedb
    ) -> None:
        feed = await direct.feed(feed_name("bcol"), XY, ROWS)
        caller = await people.caller()
        await people.grant(feed, "append", user=caller.user_id, columns=["x"])
        ok = await client.post(
            f"/gateway/lbasedb/bytes?feed={feed}&col[]=x", content=bytes(8), headers=caller.headers
        )
        assert ok.status_code == 204
        refused = await client.post(
            f"/gateway/lbasedb/bytes?feed={feed}&col[]=x&col[]=y", content=bytes(16), headers=caller.headers
        )
        assert refused.status_code == 403


class TestTokenScopes:
    async def test_a_scope_caps_the_users_rights(
        self, client: AppClient, people: People, direct: Lbasedb
    ) -> None:
        feed = await direct.feed(feed_name("scope"), XY, ROWS)
        full = await people.caller()
        await people.grant(feed, "admin", user=full.user_id)
        url = f"/gateway/lbasedb/data?feed={feed}&ix=0"
        for scope, read, write in (
            (["gateway.read"], 200, 403),
            (["gateway.write"], 200, 204),
            ([], 403, 403),
            (["gateway.manage", "backups.view"], 200, 204),
        ):
            token = await people.token(full.user_id, scope)
            assert (await client.get(data_url(feed, "x"), headers=token)).status_code == read, scope
            answer = await client.patch(url, json={"x": [1]}, headers=token)
            assert answer.status_code == write, scope
            if write == 403:
                assert "scope" in answer.json()["detail"]

    async def test_a_scope_narrows_superusers_too(
        self, client: AppClient, people: People, direct: Lbasedb
    ) -> None:
        feed = await direct.feed(feed_name("suscope"), XY, ROWS)
        root = await people.caller(superuser=True, scope=["gateway.read"])
        assert (await client.get(data_url(feed, "x"), headers=root.headers)).status_code == 200
        answer = await client.patch(
            f"/gateway/lbasedb/data?feed={feed}&ix=0", json={"x": [1]}, headers=root.headers
        )
        assert answer.status_code == 403
        assert "`gateway.write`" in answer.json()["detail"]
        created = await client.post("/gateway/lbasedb/feed", json={"name": feed_name()}, headers=root.headers)
        assert created.status_code == 403
        assert "gateway.create_feed" in created.json()["detail"]

    async def test_tokens_made_through_accounts_and_access_tokens_work(
        self, client: AppClient, users: Accounts, people: People, direct: Lbasedb
    ) -> None:
        feed = await direct.feed(feed_name("jwt"), XY, ROWS)
        scopers = await users.group("gateway.read")
        user_id, email = await users.user("gw", groups=(scopers,))
        await people.grant(feed, "write", user=user_id)
        access = {"Authorization": f"Bearer {(await users.login(email))['access_token']}"}
        url = f"/gateway/lbasedb/data?feed={feed}&ix=0"
        assert (await client.patch(url, json={"x": [4]}, headers=access)).status_code == 204
        made = await client.post(
            "/accounts/v1/me/tokens", json={"name": "reader", "scope": ["gateway.read"]}, headers=access
        )
        assert made.status_code == 201, made.text
        token = {"Authorization": f"Bearer {made.json()['token']}"}
        assert made.json()["token"].startswith(API_TOKEN_PREFIX)
        assert (await client.get(data_url(feed, "x"), headers=token)).json() == {"x": [4, 2]}
        assert (await client.patch(url, json={"x": [5]}, headers=token)).status_code == 403


class TestListings:
    async def test_feed_list_shows_what_the_caller_may_read(
        self, client: AppClient, people: People, direct: Lbasedb
    ) -> None:
        whole, some, hidden = [await direct.feed(feed_name("lst"), XY, ROWS) for _ in range(3)]
        caller = await people.caller()
        await people.grant(whole, "read", user=caller.user_id)
        await people.grant(some, "write", user=caller.user_id, columns=["y"])
        names = {
            item["name"]
            for item in (await client.get("/gateway/lbasedb/feed", headers=caller.headers)).json()
        }
        assert whole in names
        assert some in names
        assert hidden not in names
        root = await people.caller(superuser=True)
        every = {
            item["name"] for item in (await client.get("/gateway/lbasedb/feed", headers=root.headers)).json()
        }
        assert {whole, some, hidden} <= every

    async def test_refusals_do_not_tell_whether_a_feed_exists(
        self, client: AppClient, people: People, direct: Lbasedb
    ) -> None:
        caller = await people.caller()
        name = feed_name("ghost")
        url = f"/gateway/lbasedb/size?feed={name}"
        before = await client.get(url, headers=caller.headers)
        await direct.feed(name, XY, ROWS)
        after = await client.get(url, headers=caller.headers)
        assert before.status_code == after.status_code == 403
        assert before.content == after.content
        assert {k: v for k, v in before.headers.items() if k not in ("x-request-id", "date")} == {
            k: v for k, v in after.headers.items() if k not in ("x-request-id", "date")
        }


class TestFeedsCarryTheirGrants:
    async def test_creating_needs_the_permission_and_makes_the_creator_admin(
        self, client: AppClient, people: People, db: asyncpg.Connection, direct: Lbasedb
    ) -> None:
        plain = await people.caller()
        name = feed_name("new")
        refused = await client.post("/gateway/lbasedb/feed", json={"name": name}, headers=plain.headers)
        assert refused.status_code == 403
        assert "gateway.create_feed" in refused.json()["detail"]
        creators = await people.group("gateway.create_feed")
        creator = await people.caller(groups=(creators,))
        made = await client.post("/gateway/lbasedb/feed", json={"name": name}, headers=creator.headers)
        assert made.status_code == 201
        assert made.content == b""
        assert made.headers["content-length"] == "0"
        grants = await db.fetch("SELECT user_id, level::text FROM gateway.grants WHERE feed = $1", name)
        assert [tuple(row) for row in grants] == [(creator.user_id, "admin")]
        column = await client.post(
            f"/gateway/lbasedb/col?feed={name}",
            json={"name": "v", "datatype": "Float64"},
            headers=creator.headers,
        )
        assert column.status_code == 201
        again = await client.post("/gateway/lbasedb/feed", json={"name": name}, headers=creator.headers)
        assert again.status_code == 400
        assert again.json() == {"error": "entity already exists", "detail": name}

    async def test_a_rename_moves_grants_and_a_delete_drops_them(
        self, client: AppClient, people: People, direct: Lbasedb, db: asyncpg.Connection
    ) -> None:
        old, new = feed_name("mv"), feed_name("mv")
        await direct.feed(old, XY, ROWS)
        owner, reader = await people.caller(), await people.caller()
        await people.grant(old, "admin", user=owner.user_id)
        await people.grant(old, "read", user=reader.user_id, columns=["x"])
        renamed = await client.patch(
            f"/gateway/lbasedb/feed?name={old}", json={"name": new}, headers=owner.headers
        )
        assert renamed.status_code == 204
        assert (await client.get(data_url(new, "x"), headers=reader.headers)).json() == {"x": [1, 2]}
        await direct.feed(old, XY, ROWS)  # someone makes a feed with the old name: no grant carries over
        assert (await client.get(data_url(old, "x"), headers=reader.headers)).status_code == 403
        dropped = await client.delete(f"/gateway/lbasedb/feed?name={new}", headers=owner.headers)
        assert dropped.status_code == 204
        assert await db.fetchval("SELECT count(*) FROM gateway.grants WHERE feed = $1", new) == 0
        await direct.feed(new, XY, ROWS)
        assert (await client.get(data_url(new, "x"), headers=reader.headers)).status_code == 403

    async def test_a_refused_rename_leaves_grants_alone(
        self, client: AppClient, people: People, direct: Lbasedb, db: asyncpg.Connection
    ) -> None:
        first, second = feed_name("clash"), feed_name("clash")
        await direct.feed(first, XY, ROWS)
        await direct.feed(second, XY, ROWS)
        owner = await people.caller()
        await people.grant(first, "admin", user=owner.user_id)
        answer = await client.patch(
            f"/gateway/lbasedb/feed?name={first}", json={"name": second}, headers=owner.headers
        )
        assert answer.status_code == 400
        assert answer.json() == {"error": "entity already exists", "detail": second}
        assert await db.fetchval("SELECT count(*) FROM gateway.grants WHERE feed = $1", first) == 1

    async def test_column_lists_follow_column_renames_and_deletes(
        self, client: AppClient, people: People, direct: Lbasedb, db: asyncpg.Connection
    ) -> None:
        feed = await direct.feed(feed_name("cmv"), XY, ROWS)
        owner, reader = await people.caller(), await people.caller()
        await people.grant(feed, "admin", user=owner.user_id)
        grant = await people.grant(feed, "read", user=reader.user_id, columns=["x", "y"])
        renamed = await client.patch(
            f"/gateway/lbasedb/col?feed={feed}&name=x", json={"name": "x2"}, headers=owner.headers
        )
        assert renamed.status_code == 204
        assert await db.fetchval("SELECT columns FROM gateway.grants WHERE id = $1", grant) == ["x2", "y"]
        assert (await client.get(data_url(feed, "x2"), headers=reader.headers)).json() == {"x2": [1, 2]}
        assert (
            await client.delete(f"/gateway/lbasedb/col?feed={feed}&name=y", headers=owner.headers)
        ).status_code == 204
        assert await db.fetchval("SELECT columns FROM gateway.grants WHERE id = $1", grant) == ["x2"]

    async def test_two_renames_of_one_feed_at_once_leave_one_consistent_result(
        self, client: AppClient, people: People, direct: Lbasedb, db: asyncpg.Connection
    ) -> None:
        old, a, b = feed_name("race"), feed_name("race"), feed_name("race")
        await direct.feed(old, XY, ROWS)
        owner = await people.caller()
        await people.grant(old, "admin", user=owner.user_id)
        answers = await asyncio.gather(
            client.patch(f"/gateway/lbasedb/feed?name={old}", json={"name": a}, headers=owner.headers),
            client.patch(f"/gateway/lbasedb/feed?name={old}", json={"name": b}, headers=owner.headers),
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses in ([204, 400], [204, 403])
        winner = a if a in direct.standin.store.feeds else b
        rows = await db.fetch("SELECT feed FROM gateway.grants WHERE user_id = $1", owner.user_id)
        assert [row["feed"] for row in rows] == [winner]
