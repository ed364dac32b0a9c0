"""/ihr/api/user: monitored ASes and notification channels of the calling account, over HTTP and SQL."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from tests.accounts.conftest import PASSWORD, Accounts
from tests.support.app import AppClient

ASNS = "/ihr/api/user/monitored_asns"
CHANNELS = "/ihr/api/user/channels"
BIGINT_MAX = 2**63 - 1


async def rows(db: asyncpg.Connection, table: str, user_id: int) -> list[dict[str, Any]]:
    """The user's rows in `table` (without created_at), in primary-key order."""
    columns = {"ihr_user_monitoredasn": "asn, notifylevel", "ihr_user_channel": "channel, frequency"}[table]
    found = await db.fetch(f"SELECT {columns} FROM public.{table} WHERE user_id = $1 ORDER BY 1", user_id)
    return [dict(row) for row in found]


def fields(answer: Any) -> list[str]:
    """The `field` of each problem in a DRF-style 422 answer."""
    return [problem["field"] for problem in answer.json()["detail"]]


class TestAuthentication:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [("GET", ASNS, None), ("PUT", ASNS, []), ("GET", CHANNELS, None), ("PUT", CHANNELS, [])],
    )
    async def test_anonymous_gets_401_in_drf_style(
        self, client: AppClient, method: str, path: str, body: Any
    ) -> None:
        answer = await client.request(method, path, json=body)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["www-authenticate"] == "Bearer"
        assert set(answer.json()) == {"detail"}
        assert "Authorization: Bearer" in answer.json()["detail"]

    async def test_bad_token_gets_401(self, client: AppClient) -> None:
        answer = await client.get(ASNS, headers={"Authorization": "Bearer dy_not-a-real-token"})
        assert answer.status_code == 401
        assert "invalid" in answer.json()["detail"]

    async def test_legacy_token_header_is_refused_with_a_hint(self, client: AppClient) -> None:
        answer = await client.get(ASNS, headers={"Authorization": "Token 0123456789abcdef"})
        assert answer.status_code == 401
        assert "Bearer" in answer.json()["detail"]

    async def test_api_token_with_the_self_scope_works(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr-token")
        token = await users.api_token(auth, scope=["accounts.self"])
        put = await client.put(ASNS, json=[{"asn": 2497, "notifylevel": 5}], headers=token)
        assert put.status_code == 200, put.text
        assert (await client.get(ASNS, headers=token)).json() == [{"asn": 2497, "notifylevel": 5}]
        assert (await client.get(ASNS, headers=auth)).json() == [{"asn": 2497, "notifylevel": 5}]
        assert await rows(db, "ihr_user_monitoredasn", user_id) == [{"asn": 2497, "notifylevel": 5}]

    @pytest.mark.parametrize("scope", [[], None], ids=["empty", "unscoped"])
    async def test_api_token_without_the_self_scope_is_refused(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection, scope: list[str] | None
    ) -> None:
        user_id, auth = await users.bearer("ihr-token")
        token = await users.api_token(auth, scope=scope)
        for method, path, body in (("GET", ASNS, None), ("PUT", ASNS, [{"asn": 1}]), ("PUT", CHANNELS, [])):
            answer = await client.request(method, path, json=body, headers=token)
            assert answer.status_code == 403, answer.text
            assert "accounts.self" in answer.json()["detail"]
        assert await rows(db, "ihr_user_monitoredasn", user_id) == []

    async def test_personal_lists_are_never_stored_by_caches(
        self, client: AppClient, users: Accounts
    ) -> None:
        _, auth = await users.bearer("ihr")
        answer = await client.get(CHANNELS, headers=auth)
        assert answer.headers["cache-control"] == "no-store"


class TestMonitoredAsns:
    async def test_empty_at_first(self, client: AppClient, users: Accounts) -> None:
        _, auth = await users.bearer("ihr")
        answer = await client.get(ASNS, headers=auth)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == []

    async def test_put_then_get_ordered_by_asn_with_default_level(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        body = [{"asn": 15169, "notifylevel": 5}, {"asn": 2497}, {"asn": -1, "notifylevel": 0}, {"asn": 0}]
        expected = [
            {"asn": -1, "notifylevel": 0},
            {"asn": 0, "notifylevel": 10},
            {"asn": 2497, "notifylevel": 10},
            {"asn": 15169, "notifylevel": 5},
        ]
        put = await client.put(ASNS, json=body, headers=auth)
        assert put.status_code == 200, put.text
        assert put.json() == expected
        assert (await client.get(ASNS, headers=auth)).json() == expected
        assert await rows(db, "ihr_user_monitoredasn", user_id) == expected

    async def test_put_replaces_the_whole_set(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        await client.put(ASNS, json=[{"asn": 1}, {"asn": 2}, {"asn": 3, "notifylevel": 0}], headers=auth)
        put = await client.put(ASNS, json=[{"asn": 3, "notifylevel": 5}, {"asn": 4}], headers=auth)
        assert put.json() == [{"asn": 3, "notifylevel": 5}, {"asn": 4, "notifylevel": 10}]
        assert await rows(db, "ihr_user_monitoredasn", user_id) == put.json()

    async def test_empty_list_clears(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        await client.put(ASNS, json=[{"asn": 2497}], headers=auth)
        cleared = await client.put(ASNS, json=[], headers=auth)
        assert cleared.status_code == 200
        assert cleared.json() == []
        assert await rows(db, "ihr_user_monitoredasn", user_id) == []

    async def test_bigint_bounds_are_accepted(self, client: AppClient, users: Accounts) -> None:
        _, auth = await users.bearer("ihr")
        body = [{"asn": -(2**63)}, {"asn": BIGINT_MAX}]
        put = await client.put(ASNS, json=body, headers=auth)
        assert put.status_code == 200, put.text
        assert [entry["asn"] for entry in put.json()] == [-(2**63), BIGINT_MAX]

    async def test_a_thousand_entries_in_one_request(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        body = [{"asn": asn, "notifylevel": (0, 5, 10)[asn % 3]} for asn in range(1000, 0, -1)]
        put = await client.put(ASNS, json=body, headers=auth)
        assert put.status_code == 200, put.text
        assert [entry["asn"] for entry in put.json()] == list(range(1, 1001))
        count = await db.fetchval(
            "SELECT count(*) FROM public.ihr_user_monitoredasn WHERE user_id = $1", user_id
        )
        assert count == 1000

    @pytest.mark.parametrize("level", [3, -1, 11, "5", None, 5.5])
    async def test_bad_notifylevel_is_422_naming_the_field(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection, level: Any
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        await client.put(ASNS, json=[{"asn": 7}], headers=auth)
        answer = await client.put(ASNS, json=[{"asn": 1}, {"asn": 2, "notifylevel": level}], headers=auth)
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/json"
        assert fields(answer) == ["body.1.notifylevel"]
        assert "0, 5 or 10" in answer.json()["detail"][0]["message"]
        assert await rows(db, "ihr_user_monitoredasn", user_id) == [{"asn": 7, "notifylevel": 10}]

    async def test_duplicate_asn_is_400_and_changes_nothing(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        await client.put(ASNS, json=[{"asn": 7}], headers=auth)
        body = [{"asn": 2497}, {"asn": 15169}, {"asn": 2497, "notifylevel": 0}]
        answer = await client.put(ASNS, json=body, headers=auth)
        assert answer.status_code == 400
        assert answer.json() == {"detail": "Each asn may appear only once in the list; repeated: 2497."}
        assert await rows(db, "ihr_user_monitoredasn", user_id) == [{"asn": 7, "notifylevel": 10}]

    async def test_more_than_a_thousand_entries_is_422(self, client: AppClient, users: Accounts) -> None:
        _, auth = await users.bearer("ihr")
        answer = await client.put(ASNS, json=[{"asn": asn} for asn in range(1001)], headers=auth)
        assert answer.status_code == 422
        assert fields(answer) == ["body"]
        assert "at most 1000" in answer.json()["detail"][0]["message"]

    @pytest.mark.parametrize("asn", [2**63, -(2**63) - 1, 10**30])
    async def test_asn_outside_bigint_is_422(self, client: AppClient, users: Accounts, asn: int) -> None:
        _, auth = await users.bearer("ihr")
        answer = await client.put(ASNS, json=[{"asn": asn}], headers=auth)
        assert answer.status_code == 422
        assert fields(answer) == ["body.0.asn"]

    @pytest.mark.parametrize("asn", ["AS2497", "2497", 2497.5, True, None])
    async def test_asn_must_be_a_json_integer(self, client: AppClient, users: Accounts, asn: Any) -> None:
        _, auth = await users.bearer("ihr")
        answer = await client.put(ASNS, json=[{"asn": asn}], headers=auth)
        assert answer.status_code == 422
        assert fields(answer) == ["body.0.asn"]

    async def test_an_integral_number_is_an_integer(self, client: AppClient, users: Accounts) -> None:
        """JSON (and JSON Schema's `integer`) does not tell 2497.0 from 2497."""
        _, auth = await users.bearer("ihr")
        answer = await client.put(ASNS, json=[{"asn": 2497.0}, {"asn": -1e3}], headers=auth)
        assert answer.status_code == 200, answer.text
        assert answer.json() == [{"asn": -1000, "notifylevel": 10}, {"asn": 2497, "notifylevel": 10}]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ([{"notifylevel": 5}], "body.0.asn"),
            ([{"asn": 1, "notify_level": 5}], "body.0.notify_level"),
            ({"monitoredasn": [{"asnumber": 1}]}, "body"),
            ([2497], "body.0"),
        ],
    )
    async def test_malformed_bodies_are_422(
        self, client: AppClient, users: Accounts, body: Any, field: str
    ) -> None:
        _, auth = await users.bearer("ihr")
        answer = await client.put(ASNS, json=body, headers=auth)
        assert answer.status_code == 422
        assert field in fields(answer)

    async def test_invalid_json_is_422(self, client: AppClient, users: Accounts) -> None:
        _, auth = await users.bearer("ihr")
        headers = {**auth, "Content-Type": "application/json"}
        answer = await client.put(ASNS, content=b"[{asn: 1}", headers=headers)
        assert answer.status_code == 422
        assert "detail" in answer.json()

    async def test_concurrent_replacements_take_turns(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        first = [{"asn": asn, "notifylevel": 10} for asn in range(1, 300)]
        second = [{"asn": asn, "notifylevel": 5} for asn in range(200, 500)]
        answers = await asyncio.gather(
            *(client.put(ASNS, json=body, headers=auth) for body in (first, second, first, second))
        )
        assert [answer.status_code for answer in answers] == [200] * 4
        assert await rows(db, "ihr_user_monitoredasn", user_id) in (first, second)


class TestChannels:
    async def test_empty_at_first(self, client: AppClient, users: Accounts) -> None:
        _, auth = await users.bearer("ihr")
        answer = await client.get(CHANNELS, headers=auth)
        assert answer.status_code == 200
        assert answer.json() == []

    async def test_round_trip_with_default_frequency(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        put = await client.put(CHANNELS, json=[{"channel": "email"}], headers=auth)
        assert put.status_code == 200, put.text
        assert put.json() == [{"channel": "email", "frequency": "normal"}]
        assert (await client.get(CHANNELS, headers=auth)).json() == put.json()
        assert await rows(db, "ihr_user_channel", user_id) == put.json()

    @pytest.mark.parametrize("frequency", ["normal", "daily", "weekly"])
    async def test_replace_sets_each_frequency(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection, frequency: str
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        await client.put(CHANNELS, json=[{"channel": "email"}], headers=auth)
        put = await client.put(CHANNELS, json=[{"channel": "email", "frequency": frequency}], headers=auth)
        assert put.json() == [{"channel": "email", "frequency": frequency}]
        assert await rows(db, "ihr_user_channel", user_id) == put.json()

    async def test_empty_list_clears(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        await client.put(CHANNELS, json=[{"channel": "email", "frequency": "daily"}], headers=auth)
        assert (await client.put(CHANNELS, json=[], headers=auth)).json() == []
        assert await rows(db, "ihr_user_channel", user_id) == []

    @pytest.mark.parametrize(
        ("entry", "field", "hint"),
        [
            ({"channel": "sms"}, "body.0.channel", "'email'"),
            ({"channel": "Email"}, "body.0.channel", "'email'"),
            (
                {"channel": "email", "frequency": "hourly"},
                "body.0.frequency",
                "'normal', 'daily' or 'weekly'",
            ),
            ({"frequency": "daily"}, "body.0.channel", "required"),
        ],
    )
    async def test_bad_channel_or_frequency_is_422(
        self, client: AppClient, users: Accounts, entry: dict[str, Any], field: str, hint: str
    ) -> None:
        _, auth = await users.bearer("ihr")
        answer = await client.put(CHANNELS, json=[entry], headers=auth)
        assert answer.status_code == 422
        assert fields(answer) == [field]
        assert hint in answer.json()["detail"][0]["message"]

    async def test_duplicate_channel_is_400(self, client: AppClient, users: Accounts) -> None:
        _, auth = await users.bearer("ihr")
        body = [{"channel": "email"}, {"channel": "email", "frequency": "weekly"}]
        answer = await client.put(CHANNELS, json=body, headers=auth)
        assert answer.status_code == 400
        assert answer.json() == {"detail": "Each channel may appear only once in the list; repeated: email."}


class TestIsolation:
    async def test_users_see_and_replace_only_their_own_lists(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        ada_id, ada = await users.bearer("ada")
        bob_id, bob = await users.bearer("bob")
        await client.put(ASNS, json=[{"asn": 2497, "notifylevel": 0}], headers=ada)
        await client.put(CHANNELS, json=[{"channel": "email", "frequency": "weekly"}], headers=ada)
        assert (await client.get(ASNS, headers=bob)).json() == []
        assert (await client.get(CHANNELS, headers=bob)).json() == []

        await client.put(ASNS, json=[{"asn": 2497, "notifylevel": 5}, {"asn": 15169}], headers=bob)
        await client.put(CHANNELS, json=[], headers=bob)
        assert (await client.get(ASNS, headers=ada)).json() == [{"asn": 2497, "notifylevel": 0}]
        assert (await client.get(CHANNELS, headers=ada)).json() == [
            {"channel": "email", "frequency": "weekly"}
        ]
        who = await db.fetch(
            "SELECT user_id, notifylevel FROM public.ihr_user_monitoredasn "
            "WHERE asn = 2497 AND user_id = ANY($1::bigint[]) ORDER BY notifylevel",
            [ada_id, bob_id],
        )
        assert [(row["user_id"], row["notifylevel"]) for row in who] == [(ada_id, 0), (bob_id, 5)]


class TestSchema:
    async def test_rows_go_with_a_removed_account(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        await client.put(ASNS, json=[{"asn": 2497}], headers=auth)
        await client.put(CHANNELS, json=[{"channel": "email"}], headers=auth)
        await db.execute("DELETE FROM accounts.users WHERE id = $1", user_id)
        assert await rows(db, "ihr_user_monitoredasn", user_id) == []
        assert await rows(db, "ihr_user_channel", user_id) == []

    async def test_deleting_the_account_through_the_api_erases_its_lists(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection
    ) -> None:
        user_id, auth = await users.bearer("ihr")
        kept_id, kept_auth = await users.bearer("ihr")
        for headers in (auth, kept_auth):
            await client.put(ASNS, json=[{"asn": 2497}, {"asn": 15169, "notifylevel": 0}], headers=headers)
            await client.put(CHANNELS, json=[{"channel": "email"}], headers=headers)
        deleted = await client.request("DELETE", "/accounts/v1/me", json={"password": PASSWORD}, headers=auth)
        assert deleted.status_code == 204
        assert await db.fetchval("SELECT deleted_at IS NOT NULL FROM accounts.users WHERE id = $1", user_id)
        assert await rows(db, "ihr_user_monitoredasn", user_id) == []
        assert await rows(db, "ihr_user_channel", user_id) == []
        assert len(await rows(db, "ihr_user_monitoredasn", kept_id)) == 2, "another user's lists stay"
        assert len(await rows(db, "ihr_user_channel", kept_id)) == 1

    @pytest.mark.parametrize(
        ("insert", "constraint"),
        [
            (
                "INSERT INTO public.ihr_user_monitoredasn (user_id, asn, notifylevel) VALUES ($1, 1, 3)",
                "ihr_user_monitoredasn_notifylevel_check",
            ),
            (
                "INSERT INTO public.ihr_user_channel (user_id, channel) VALUES ($1, 'sms')",
                "ihr_user_channel_channel_check",
            ),
            (
                "INSERT INTO public.ihr_user_channel (user_id, channel, frequency) "
                "VALUES ($1, 'email', 'hourly')",
                "ihr_user_channel_frequency_check",
            ),
        ],
    )
    async def test_the_schema_refuses_what_the_api_refuses(
        self, users: Accounts, db: asyncpg.Connection, insert: str, constraint: str
    ) -> None:
        user_id, _ = await users.user("ihr")
        with pytest.raises(asyncpg.CheckViolationError) as refused:
            await db.execute(insert, user_id)
        assert refused.value.constraint_name == constraint
