"""Section 3's operation table, case by case: every route and method at every level, by user and group.

For each operation a caller holds one level (or none) on a fresh feed; the operation must run
(its Lbasedb success status) exactly when that level reaches the one the table requires, and be
refused with 403 in Lbasedb's shape — with nothing reaching Lbasedb — otherwise.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import pytest

from tests.gateway.conftest import Lbasedb, People, feed_name
from tests.support.app import AppClient
from tests.support.lbasedb import StandIn

LEVELS = [None, "read", "append", "write", "admin"]
RANK = {None: 0, "read": 1, "append": 2, "write": 3, "admin": 4}
ROW = struct.pack("<q", 7)


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    query: str  # `{feed}` is replaced by the test's feed
    needs: str
    success: int
    json: Any = None
    content: bytes | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


CASES = [
    Case("PATCH", "/feed", "name={feed}", "admin", 204, json={"name": "{feed}_renamed"}),
    Case("DELETE", "/feed", "name={feed}", "admin", 204),
    Case("GET", "/col", "feed={feed}", "read", 200),
    Case("POST", "/col", "feed={feed}", "admin", 201, json={"name": "z", "datatype": "Int32"}),
    Case("PATCH", "/col", "feed={feed}&name=y", "admin", 204, json={"name": "y2"}),
    Case("DELETE", "/col", "feed={feed}&name=y", "admin", 204),
    Case("GET", "/size", "feed={feed}", "read", 200),
    Case("PUT", "/size", "feed={feed}", "admin", 204, json={"size": 5}),
    Case("GET", "/data", "feed={feed}&ix=0&size=2&col[]=x", "read", 200),
    Case("POST", "/data", "feed={feed}", "append", 204, json={"x": [7]}),
    Case("PUT", "/data", "feed={feed}&ix=0", "write", 204, json={"x": [7]}),
    Case("PATCH", "/data", "feed={feed}&ix=0", "write", 204, json={"x": [7]}),
    Case("GET", "/raw", "feed={feed}&col=x&ix=0&size=2", "read", 200),
    Case("POST", "/raw", "feed={feed}&col=x&ix=1", "write", 204, content=ROW),
    Case("GET", "/bytes", "feed={feed}&ix=0&size=2&col[]=x&col[]=y", "read", 200),
    Case("POST", "/bytes", "feed={feed}&col[]=x", "append", 204, content=ROW),
    Case("PUT", "/bytes", "feed={feed}&ix=1&col[]=x", "write", 204, content=ROW),
    Case("PATCH", "/bytes", "feed={feed}&ix=1&col[]=y", "write", 204, content=ROW),
    Case("DELETE", "/bytes", "feed={feed}&ix=0&size=1&col[]=x", "write", 204),
]


def _fill(value: Any, feed: str) -> Any:
    if isinstance(value, dict):
        return {key: _fill(item, feed) for key, item in value.items()}
    if isinstance(value, str):
        return value.replace("{feed}", feed)
    return value


GROUP_CASES = [
    case for case in CASES if case.id in ("GET /data", "POST /data", "PATCH /bytes", "DELETE /feed")
]


@pytest.mark.parametrize(
    ("case", "subject"),
    [(case, "user") for case in CASES] + [(case, "group") for case in GROUP_CASES],
    ids=[f"{case.id} by user" for case in CASES] + [f"{case.id} by group" for case in GROUP_CASES],
)
async def test_each_level(
    client: AppClient, people: People, direct: Lbasedb, standin: StandIn, case: Case, subject: str
) -> None:
    for level in LEVELS:
        feed = await direct.feed(feed_name("ops"), {"x": "Int64", "y": "Int64"}, {"x": [1, 2], "y": [3, 4]})
        if subject == "user":
            caller = await people.caller()
            if level:
                await people.grant(feed, level, user=caller.user_id)
        else:
            group = await people.group()
            caller = await people.caller(groups=(group,))
            if level:
                await people.grant(feed, level, group=group)
        seen_before = len(standin.received)
        answer = await client.request(
            case.method,
            f"/gateway/lbasedb{case.path}?{case.query.replace('{feed}', feed)}",
            json=_fill(case.json, feed),
            content=case.content,
            headers=caller.headers,
        )
        allowed = RANK[level] >= RANK[case.needs]
        if allowed:
            assert answer.status_code == case.success, (level, answer.text)
        else:
            assert answer.status_code == 403, (level, answer.text)
            assert answer.json()["error"] == "permission denied"
            assert f"`{case.needs}`" in answer.json()["detail"]
            assert len(standin.received) == seen_before, "a refused request reached Lbasedb"


async def test_version_needs_only_a_login(client: AppClient, people: People) -> None:
    caller = await people.caller()
    assert (await client.get("/gateway/lbasedb/version", headers=caller.headers)).json() == {
        "version": "0.1.10"
    }
    anonymous = await client.get("/gateway/lbasedb/version")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["error"] == "authentication required"


async def test_anonymous_and_bad_tokens_are_401_everywhere(client: AppClient, standin: StandIn) -> None:
    for case in CASES:
        url = f"/gateway/lbasedb{case.path}?{case.query.replace('{feed}', 'some.feed')}"
        for headers in ({}, {"Authorization": "Bearer dy_not-a-token"}, {"Authorization": "Basic eDp5"}):
            answer = await client.request(
                case.method, url, headers=headers, json=case.json, content=case.content
            )
            assert answer.status_code == 401, (case.id, answer.text)
            assert answer.headers["www-authenticate"] == "Bearer"
    assert standin.received == []


async def test_superusers_pass_every_check(client: AppClient, people: People, direct: Lbasedb) -> None:
    root = await people.caller(superuser=True)
    for case in CASES:
        feed = await direct.feed(feed_name("root"), {"x": "Int64", "y": "Int64"}, {"x": [1, 2], "y": [3, 4]})
        answer = await client.request(
            case.method,
            f"/gateway/lbasedb{case.path}?{case.query.replace('{feed}', feed)}",
            json=_fill(case.json, feed),
            content=case.content,
            headers=root.headers,
        )
        assert answer.status_code == case.success, (case.id, answer.text)
