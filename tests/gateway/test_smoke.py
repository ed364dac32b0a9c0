from __future__ import annotations

from tests.gateway.conftest import Lbasedb, People, feed_name
from tests.support.app import AppClient
from tests.support.lbasedb import StandIn


async def test_version_and_data(client: AppClient, people: People, direct: Lbasedb, standin: StandIn) -> None:
    caller = await people.caller()
    answer = await client.get("/gateway/lbasedb/version", headers=caller.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"version": "0.1.10"}
    feed = await direct.feed(feed_name(), {"x": "Int64"}, {"x": [1, 2, 3]})
    await people.grant(feed, "read", user=caller.user_id)
    answer = await client.get(
        f"/gateway/lbasedb/data?feed={feed}&ix=0&size=3&col[]=x", headers=caller.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"x": [1, 2, 3]}
    answer = await client.patch(
        f"/gateway/lbasedb/data?feed={feed}&ix=0", json={"x": [5]}, headers=caller.headers
    )
    assert answer.status_code == 403, answer.text
    print(answer.json())
