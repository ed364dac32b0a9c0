"""/mentorship/ and /mentorship/v1/ are the same API."""

from __future__ import annotations

from dockyard import accounts, mentorship
from dockyard.app import create_app
from tests.mentorship.conftest import BASE, Programme
from tests.support.app import settings_for


def test_every_operation_is_served_at_both_prefixes() -> None:
    app = create_app(
        settings_for("postgresql://unused/unused"),
        services=(accounts.service, mentorship.service),
        configure_logs=False,
    )
    paths = app.openapi()["paths"]
    plain = {
        path.removeprefix(BASE): item
        for path, item in paths.items()
        if path.startswith(BASE + "/") and not path.startswith(BASE + "/v1/")
    }
    versioned = {
        path.removeprefix(BASE + "/v1"): item
        for path, item in paths.items()
        if path.startswith(BASE + "/v1/")
    }
    assert len(plain) >= 30
    assert set(plain) == set(versioned)
    for path, item in plain.items():
        assert set(item) == set(versioned[path]), path
        for method, operation in item.items():
            other = versioned[path][method]
            assert operation["responses"].keys() == other["responses"].keys(), (method, path)
            assert operation.get("requestBody") == other.get("requestBody"), (method, path)


async def test_same_answers(programme: Programme) -> None:
    mentor, mentee, relation_id = await programme.pair()
    await programme.task(mentor, relation_id)
    for path in (
        "/user",
        "/home",
        "/dashboard",
        "/users?search=Test",
        f"/users/{mentee.id}",
        "/mentorship_relations",
        "/mentorship_relations/current",
        f"/mentorship_relation/{relation_id}/tasks",
        "/users/987654321",
    ):
        plain = await programme.client.get(BASE + path, headers=mentor.headers)
        versioned = await programme.client.get(f"{BASE}/v1{path}", headers=mentor.headers)
        assert (plain.status_code, plain.json()) == (versioned.status_code, versioned.json()), path
    anonymous = await programme.client.get(f"{BASE}/v1/user")
    assert (anonymous.status_code, anonymous.json()) == (
        401,
        {"message": "The authorization token is missing!"},
    )
    done = await programme.client.put(
        f"{BASE}/v1/mentorship_relation/{relation_id}/task/1/complete", headers=mentee.headers
    )
    assert done.status_code == 200
    again = await programme.client.put(
        f"{BASE}/mentorship_relation/{relation_id}/task/1/complete", headers=mentee.headers
    )
    assert (again.status_code, again.json()) == (409, {"message": "Task was already achieved."})
