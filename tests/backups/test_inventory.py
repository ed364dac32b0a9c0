"""A run's inventory over the API: attached by PATCH as it goes ongoing → finished; diffed between runs."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from tests.accounts.conftest import Accounts
from tests.backups.test_api import API, GIB, finished_run, manager, viewer
from tests.support.app import AppClient


@pytest.fixture
def section() -> str:
    return f"i{uuid.uuid4().hex[:8]}"


def files(*entries: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"path": "enwiki", "name": name, "size": size} for name, size in entries]


def objects(*entries: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"db": "enwiki", "name": name, "size": size, "rows": size // 100} for name, size in entries]


class TestPatchInventory:
    async def test_an_external_tool_attaches_its_files_when_it_finishes(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection, section: str
    ) -> None:
        headers = await manager(users)
        body = {"section": section, "type": "dump", "datacenter": "eqiad", "status": "ongoing"}
        run_id = (await client.post(f"{API}/runs", json=body, headers=headers)).json()["id"]
        first = await client.patch(
            f"{API}/runs/{run_id}",
            json={"bytes_done": 10, "files": files(("page.sql.gz", 10)), "objects": objects(("page", 1000))},
            headers=headers,
        )
        assert first.status_code == 200, first.text
        final = files(("page.sql.gz", 1200), ("revision.sql.gz", 9000), ("metadata", 300))
        closed = await client.patch(
            f"{API}/runs/{run_id}",
            json={"status": "finished", "total_size": 10500, "files": final},
            headers=headers,
        )
        assert closed.status_code == 200, closed.text
        detail = (await client.get(f"{API}/runs/{run_id}", headers=headers)).json()
        assert detail["status"] == "finished"
        assert [(f["name"], f["size"]) for f in detail["files"]] == [
            ("metadata", 300),
            ("page.sql.gz", 1200),
            ("revision.sql.gz", 9000),
        ], "the files are replaced as a whole"
        assert [(o["name"], o["size"], o["rows"]) for o in detail["objects"]] == [("page", 1000, 10)], (
            "objects not sent are left as they were"
        )

    async def test_bad_inventories_are_refused_and_change_nothing(
        self, client: AppClient, users: Accounts, db: asyncpg.Connection, section: str
    ) -> None:
        headers = await manager(users)
        body = {"section": section, "type": "dump", "datacenter": "eqiad", "files": files(("a", 1))}
        run_id = (await client.post(f"{API}/runs", json=body, headers=headers)).json()["id"]
        twice = await client.patch(
            f"{API}/runs/{run_id}", json={"files": files(("b", 1), ("b", 2))}, headers=headers
        )
        assert twice.status_code == 400
        assert "The file 'enwiki/b' is listed twice." in twice.json()["detail"]
        for bad in (
            {"files": [{"name": "", "size": 1}]},
            {"files": [{"name": "x", "size": -1}]},
            {"files": [{"name": "x", "size": 1, "owner": "root"}]},
            {"objects": [{"db": "enwiki", "name": "t\x00", "size": 1}]},
        ):
            refused = await client.patch(f"{API}/runs/{run_id}", json=bad, headers=headers)
            assert refused.status_code == 422, (bad, refused.text)
        too_many = await client.patch(
            f"{API}/runs/{run_id}",
            json={"files": [{"name": f"f{index}", "size": 1} for index in range(100_001)]},
            headers=headers,
        )
        assert too_many.status_code == 422
        assert "100000" in too_many.text
        names = await db.fetch("SELECT name FROM backups.files WHERE run_id = $1", run_id)
        assert [row["name"] for row in names] == ["a"]

        await client.patch(f"{API}/runs/{run_id}", json={"status": "failed"}, headers=headers)
        closed = await client.patch(f"{API}/runs/{run_id}", json={"files": files(("c", 1))}, headers=headers)
        assert closed.status_code == 409
        viewer_headers = await viewer(users)
        refused = await client.patch(f"{API}/runs/{run_id}", json={"files": []}, headers=viewer_headers)
        assert refused.status_code == 403


class TestDiff:
    async def test_what_appeared_vanished_grew_and_shrank(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        headers = await manager(users)
        older = finished_run(
            section,
            2,
            GIB,
            files=files(("page.sql.gz", 100), ("user.sql.gz", 50), ("old.sql.gz", 70), ("same", 5)),
            objects=objects(("page", 1000), ("user", 500), ("old", 700)),
        )
        newer = finished_run(
            section,
            1,
            GIB,
            files=files(("page.sql.gz", 160), ("user.sql.gz", 40), ("new.sql.gz", 30), ("same", 5)),
            objects=objects(("page", 1500), ("user", 500), ("new", 300)),
        )
        before = (await client.post(f"{API}/runs", json=older, headers=headers)).json()["id"]
        after = (await client.post(f"{API}/runs", json=newer, headers=headers)).json()["id"]

        read = await viewer(users)
        answer = await client.get(f"{API}/runs/{after}/diff", params={"against": before}, headers=read)
        assert answer.status_code == 200, answer.text
        diff = answer.json()
        assert (diff["run"]["id"], diff["against"]["id"]) == (after, before)
        found = diff["files"]
        assert found["counts"] == {"appeared": 1, "vanished": 1, "grew": 1, "shrank": 1, "unchanged": 1}
        assert (found["size_before"], found["size_after"]) == (225, 235)
        assert [(c["name"], c["change"], c["before"], c["after"], c["delta"]) for c in found["changes"]] == [
            ("old.sql.gz", "vanished", 70, None, -70),
            ("page.sql.gz", "grew", 100, 160, 60),
            ("new.sql.gz", "appeared", None, 30, 30),
            ("user.sql.gz", "shrank", 50, 40, -10),
        ], "biggest change first, unchanged left out"
        tables = {c["name"]: c["change"] for c in diff["objects"]["changes"]}
        assert tables == {"page": "grew", "old": "vanished", "new": "appeared"}
        assert diff["objects"]["counts"]["unchanged"] == 1

        every = await client.get(
            f"{API}/runs/{after}/diff",
            params={"against": before, "include_unchanged": "true", "limit": 2},
            headers=read,
        )
        assert len(every.json()["files"]["changes"]) == 2
        reverse = (
            await client.get(f"{API}/runs/{before}/diff", params={"against": after}, headers=read)
        ).json()
        assert {c["name"]: c["change"] for c in reverse["files"]["changes"]}["new.sql.gz"] == "vanished"

    async def test_bad_requests_say_what_to_fix(
        self, client: AppClient, users: Accounts, section: str
    ) -> None:
        headers = await manager(users)
        run_id = (
            await client.post(f"{API}/runs", json=finished_run(section, 1, GIB), headers=headers)
        ).json()["id"]
        assert (await client.get(f"{API}/runs/{run_id}/diff", params={"against": run_id})).status_code == 401
        itself = await client.get(f"{API}/runs/{run_id}/diff", params={"against": run_id}, headers=headers)
        assert itself.status_code == 400
        assert "`against` is the run itself" in itself.json()["detail"]
        missing = await client.get(f"{API}/runs/{run_id}/diff", params={"against": 2**62}, headers=headers)
        assert missing.status_code == 404
        assert f"against: no run {2**62}" in missing.json()["detail"]
        nothing = await client.get(f"{API}/runs/{2**62}/diff", params={"against": run_id}, headers=headers)
        assert nothing.status_code == 404
        without = await client.get(f"{API}/runs/{run_id}/diff", headers=headers)
        assert without.status_code == 422
        assert "against" in without.text
