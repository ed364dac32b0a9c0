"""The example service of docs/ADDING_A_SERVICE.md, mounted the way create_app mounts a real one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from typer.testing import CliRunner

from dockyard import accounts
from dockyard.core.config import Settings
from tests.accounts.conftest import Accounts, db, settings, smtp
from tests.support.app import AppClient, app_client
from tests.support.example import service as example
from tests.support.example.commands import example_app
from tests.support.example.settings import ExampleSettings

__all__ = ["db", "settings", "smtp"]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AppClient]:
    greeting = ExampleSettings(_env_file=None, greeting="Ahoy")  # type: ignore[call-arg]
    async with app_client(settings, (accounts.service, example), service_settings=[greeting]) as client:
        yield client


@pytest.fixture
def users(client: AppClient, db: asyncpg.Connection) -> Accounts:
    return Accounts(client, db)


class TestGreeting:
    async def test_anonymous_is_401_in_problem_json(self, client: AppClient) -> None:
        answer = await client.get("/example/v1/greeting")
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"] == "Bearer"

    async def test_greets_with_the_settings_given_to_the_app(
        self, client: AppClient, users: Accounts
    ) -> None:
        _, headers = await users.bearer("greeted")
        answer = await client.get("/example/v1/greeting", headers=headers)
        assert answer.status_code == 200
        assert answer.json()["message"].startswith("Ahoy, greeted-")


class TestGroups:
    async def test_needs_the_declared_permission(self, client: AppClient, users: Accounts) -> None:
        _, headers = await users.bearer("plain")
        answer = await client.get("/example/v1/groups", headers=headers)
        assert answer.status_code == 403
        assert "example.view" in answer.json()["detail"]

    async def test_lists_matching_groups_with_members_and_total(
        self, client: AppClient, users: Accounts
    ) -> None:
        group = await users.group("example.view")
        _, email = await users.user("viewer", groups=(group,))
        headers = {"Authorization": f"Bearer {(await users.login(email))['access_token']}"}
        answer = await client.get("/example/v1/groups", params={"name": group}, headers=headers)
        assert answer.status_code == 200
        assert answer.json() == {
            "count": 1,
            "results": [{"id": answer.json()["results"][0]["id"], "name": group, "members": 1}],
        }

    async def test_wildcards_in_the_filter_match_literally(self, client: AppClient, users: Accounts) -> None:
        group = await users.group("example.view")
        _, email = await users.user("viewer", groups=(group,))
        headers = {"Authorization": f"Bearer {(await users.login(email))['access_token']}"}
        answer = await client.get("/example/v1/groups", params={"name": "%"}, headers=headers)
        assert answer.json()["count"] == 0

    async def test_out_of_range_paging_is_422_naming_the_field(
        self, client: AppClient, users: Accounts
    ) -> None:
        group = await users.group("example.view")
        _, email = await users.user("viewer", groups=(group,))
        headers = {"Authorization": f"Bearer {(await users.login(email))['access_token']}"}
        answer = await client.get("/example/v1/groups", params={"limit": 10**20}, headers=headers)
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == "query.limit"


class TestDeclaration:
    async def test_permissions_are_synced_at_start(self, client: AppClient, db: asyncpg.Connection) -> None:
        assert (
            await db.fetchval("SELECT count(*) FROM accounts.permissions WHERE codename = 'example.view'")
            == 1
        )

    async def test_openapi_documents_every_error_with_its_body(self, client: AppClient) -> None:
        operation = (await client.get("/openapi.json")).json()["paths"]["/example/v1/groups"]["get"]
        assert sorted(operation["responses"]) == ["200", "400", "401", "403", "422", "429", "503", "504"]
        success = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert success == {"$ref": "#/components/schemas/GroupList"}
        problem = operation["responses"]["403"]["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/Problem"}

    def test_its_command_reads_its_settings_from_the_environment(self) -> None:
        done = CliRunner().invoke(example_app, ["greet", "Grace"], env={"EXAMPLE_GREETING": "Hi"})
        assert done.exit_code == 0
        assert done.output == "Hi, Grace\n"
