"""Authorisation: groups, superusers, scoped API tokens, revocation, and the admin API."""

from __future__ import annotations

import asyncpg

from dockyard.core.config import Settings
from tests.accounts.conftest import SERVICES, Accounts
from tests.support.app import AppClient, app_client

V1 = "/accounts/v1"
ADMIN = f"{V1}/admin"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_declared_permissions_are_synced_at_startup(client: AppClient, db: asyncpg.Connection) -> None:
    rows = dict(await db.fetch("SELECT codename, description FROM accounts.permissions"))
    assert rows["demo.view"] == "See demo things"
    assert rows["demo.manage"] == "Change demo things"
    assert "accounts.admin" in rows


async def test_anonymous_and_permissionless_callers_are_refused(client: AppClient, users: Accounts) -> None:
    anonymous = await client.get("/demo/view")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    _, headers = await users.bearer()
    refused = await client.get("/demo/view", headers=headers)
    assert refused.status_code == 403
    assert (
        refused.json()["detail"] == "You need the permission `demo.view`; ask an administrator to grant it."
    )
    assert (await client.get("/demo/whoami")).json() == {"user": None}


async def test_group_grants_only_its_permissions(client: AppClient, users: Accounts) -> None:
    viewers = await users.group("demo.view")
    user_id, headers = await users.bearer(groups=(viewers,))
    assert (await client.get("/demo/view", headers=headers)).json() == {"viewer": user_id}
    assert (await client.post("/demo/manage", headers=headers)).status_code == 403
    me = (await client.get(f"{V1}/me", headers=headers)).json()
    assert me["groups"] == [viewers]
    assert me["permissions"] == ["demo.view"]


async def test_superuser_passes_every_check(client: AppClient, users: Accounts) -> None:
    _, headers = await users.bearer("root", superuser=True)
    assert (await client.get("/demo/view", headers=headers)).status_code == 200
    assert (await client.post("/demo/manage", headers=headers)).status_code == 200
    assert (await client.get(f"{ADMIN}/users", headers=headers)).status_code == 200


async def test_api_tokens_full_and_scoped(client: AppClient, users: Accounts, db: asyncpg.Connection) -> None:
    both = await users.group("demo.view", "demo.manage")
    _, headers = await users.bearer(groups=(both,))
    full = await client.post(f"{V1}/me/tokens", json={"name": "ci"}, headers=headers)
    assert full.status_code == 201, full.text
    created = full.json()
    assert created["token"].startswith("dy_")
    assert created["prefix"] == created["token"][:10]
    assert created["scope"] is None
    scoped = (
        await client.post(f"{V1}/me/tokens", json={"name": "read", "scope": ["demo.view"]}, headers=headers)
    ).json()

    assert (await client.post("/demo/manage", headers=bearer(created["token"]))).status_code == 200
    assert (await client.get("/demo/view", headers=bearer(scoped["token"]))).status_code == 200
    narrowed = await client.post("/demo/manage", headers=bearer(scoped["token"]))
    assert narrowed.status_code == 403
    assert narrowed.json()["detail"] == "This API token's scope does not include `demo.manage`."

    listed = (await client.get(f"{V1}/me/tokens", headers=headers)).json()
    assert [t["name"] for t in listed] == ["read", "ci"]
    assert all("token" not in t for t in listed)
    assert listed[1]["last_used_at"] is not None
    stored = await db.fetchval("SELECT token_hash FROM accounts.api_tokens WHERE id = $1", created["id"])
    assert created["token"].encode() not in stored


async def test_token_scope_can_only_narrow(client: AppClient, users: Accounts) -> None:
    viewers = await users.group("demo.view")
    _, headers = await users.bearer(groups=(viewers,))
    wider = await client.post(
        f"{V1}/me/tokens", json={"name": "x", "scope": ["demo.view", "demo.manage"]}, headers=headers
    )
    assert wider.status_code == 400
    assert "you do not hold demo.manage" in wider.json()["detail"]
    token = (await client.post(f"{V1}/me/tokens", json={"name": "t"}, headers=headers)).json()["token"]
    minted = await client.post(f"{V1}/me/tokens", json={"name": "child"}, headers=bearer(token))
    assert minted.status_code == 400
    assert "API tokens cannot create API tokens" in minted.json()["detail"]
    bad = await client.post(
        f"{V1}/me/tokens", json={"name": "t", "scope": ["not a codename"]}, headers=headers
    )
    assert bad.status_code == 422


async def test_revoked_and_expired_tokens_stop_working(
    client: AppClient, users: Accounts, db: asyncpg.Connection
) -> None:
    viewers = await users.group("demo.view")
    _, headers = await users.bearer(groups=(viewers,))
    revoked = (await client.post(f"{V1}/me/tokens", json={"name": "a"}, headers=headers)).json()
    expiring = (
        await client.post(f"{V1}/me/tokens", json={"name": "b", "expires_in_days": 1}, headers=headers)
    ).json()
    assert expiring["expires_at"] is not None
    assert (await client.get("/demo/view", headers=bearer(revoked["token"]))).status_code == 200

    assert (await client.delete(f"{V1}/me/tokens/{revoked['id']}", headers=headers)).status_code == 204
    gone = await client.get("/demo/view", headers=bearer(revoked["token"]))
    assert gone.status_code == 401
    assert gone.json()["detail"] == "The API token is invalid, expired or revoked."
    assert (await client.delete(f"{V1}/me/tokens/999999999", headers=headers)).status_code == 404

    await db.execute(
        "UPDATE accounts.api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
        expiring["id"],
    )
    assert (await client.get("/demo/view", headers=bearer(expiring["token"]))).status_code == 401


async def test_another_users_token_cannot_be_revoked(client: AppClient, users: Accounts) -> None:
    _, alice = await users.bearer("alice")
    _, bob = await users.bearer("bob")
    token = (
        await client.post(f"{V1}/me/tokens", json={"name": "a", "scope": ["accounts.self"]}, headers=alice)
    ).json()
    assert (await client.delete(f"{V1}/me/tokens/{token['id']}", headers=bob)).status_code == 404
    assert (await client.get(f"{V1}/me", headers=bearer(token["token"]))).status_code == 200


async def test_grant_changes_reach_another_worker_at_once(settings: Settings, users: Accounts) -> None:
    """Two apps with their own pools stand for two workers: no cache keeps a stale answer."""
    viewers = await users.group("demo.view")
    user_id, headers = await users.bearer()
    _, root = await users.bearer("root", superuser=True)
    group_id = await users.db.fetchval("SELECT id FROM accounts.groups WHERE name = $1", viewers)
    async with app_client(settings, SERVICES) as other_worker:
        assert (await other_worker.get("/demo/view", headers=headers)).status_code == 403
        granted = await users.client.put(f"{ADMIN}/groups/{group_id}/members/{user_id}", headers=root)
        assert granted.status_code == 204
        assert (await other_worker.get("/demo/view", headers=headers)).status_code == 200
        revoked = await users.client.delete(f"{ADMIN}/groups/{group_id}/members/{user_id}", headers=root)
        assert revoked.status_code == 204
        assert (await other_worker.get("/demo/view", headers=headers)).status_code == 403


async def test_admin_api_needs_accounts_admin(client: AppClient, users: Accounts) -> None:
    _, plain = await users.bearer()
    refused = await client.get(f"{ADMIN}/users", headers=plain)
    assert refused.status_code == 403
    assert "accounts.admin" in refused.json()["detail"]
    admins = await users.group("accounts.admin")
    _, admin = await users.bearer("admin", groups=(admins,))
    assert (await client.get(f"{ADMIN}/users", headers=admin)).status_code == 200


async def test_admin_search_treats_wildcards_literally(client: AppClient, users: Accounts) -> None:
    _, root = await users.bearer("root", superuser=True)
    user_id, email = await users.user("find_me")
    found = (await client.get(f"{ADMIN}/users", params={"q": email[:12]}, headers=root)).json()
    assert [u["id"] for u in found["results"]] == [user_id]
    assert found["count"] == 1
    everything = (await client.get(f"{ADMIN}/users", params={"q": "%"}, headers=root)).json()
    assert everything["count"] == 0
    paged = (await client.get(f"{ADMIN}/users", params={"limit": 1}, headers=root)).json()
    assert len(paged["results"]) == 1
    assert paged["count"] > 1


async def test_admin_deactivates_and_reactivates(client: AppClient, users: Accounts) -> None:
    root_id, root = await users.bearer("root", superuser=True)
    user_id, email = await users.user()
    session = await users.login(email)
    off = await client.patch(f"{ADMIN}/users/{user_id}", json={"is_active": False}, headers=root)
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    assert (await client.get(f"{V1}/me", headers=bearer(session["access_token"]))).status_code == 401
    on = await client.patch(f"{ADMIN}/users/{user_id}", json={"is_active": True}, headers=root)
    assert on.json()["is_active"] is True
    await users.login(email)
    myself = await client.patch(f"{ADMIN}/users/{root_id}", json={"is_active": False}, headers=root)
    assert myself.status_code == 400
    assert (await client.get(f"{ADMIN}/users/999999999", headers=root)).status_code == 404


async def test_admin_revokes_a_users_sessions(client: AppClient, users: Accounts) -> None:
    _, root = await users.bearer("root", superuser=True)
    user_id, email = await users.user()
    first, second = await users.login(email), await users.login(email)
    done = await client.post(f"{ADMIN}/users/{user_id}/revoke-sessions", headers=root)
    assert done.json()["message"] == "Ended 2 session(s)."
    for pair in (first, second):
        assert (await client.get(f"{V1}/me", headers=bearer(pair["access_token"]))).status_code == 401


async def test_admin_manages_groups(client: AppClient, users: Accounts) -> None:
    _, root = await users.bearer("root", superuser=True)
    user_id, headers = await users.bearer()
    name = f"editors {user_id}"
    created = await client.post(
        f"{ADMIN}/groups", json={"name": name, "permissions": ["demo.view"], "description": "d"}, headers=root
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["permissions"] == ["demo.view"]
    assert group["members"] == 0
    duplicate = await client.post(f"{ADMIN}/groups", json={"name": name}, headers=root)
    assert duplicate.status_code == 409
    unknown = await client.post(
        f"{ADMIN}/groups", json={"name": name + "x", "permissions": ["demo.fly"]}, headers=root
    )
    assert unknown.status_code == 400
    assert "Unknown permission(s): demo.fly" in unknown.json()["detail"]

    assert (
        await client.put(f"{ADMIN}/groups/{group['id']}/members/{user_id}", headers=root)
    ).status_code == 204
    assert (await client.post("/demo/manage", headers=headers)).status_code == 403
    patched = await client.patch(
        f"{ADMIN}/groups/{group['id']}", json={"permissions": ["demo.manage", "demo.view"]}, headers=root
    )
    assert patched.json()["permissions"] == ["demo.manage", "demo.view"]
    assert patched.json()["members"] == 1
    assert (await client.post("/demo/manage", headers=headers)).status_code == 200
    listed = (await client.get(f"{ADMIN}/groups", headers=root)).json()
    assert name in [g["name"] for g in listed]
    permissions = (await client.get(f"{ADMIN}/permissions", headers=root)).json()
    assert {"codename": "demo.view", "description": "See demo things"} in permissions

    assert (await client.delete(f"{ADMIN}/groups/{group['id']}", headers=root)).status_code == 204
    assert (await client.post("/demo/manage", headers=headers)).status_code == 403
    assert (await client.delete(f"{ADMIN}/groups/{group['id']}", headers=root)).status_code == 404
    missing = await client.delete(f"{ADMIN}/groups/{group['id']}/members/{user_id}", headers=root)
    assert missing.status_code == 404


async def test_openapi_documents_both_bearer_schemes(client: AppClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["AccessToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["AccessToken"]["description"],
    }
    assert schemes["ApiToken"]["scheme"] == "bearer"
    assert schemes["ApiToken"]["bearerFormat"] == "dy_…"
    me = spec["paths"]["/accounts/v1/me"]["get"]["security"]
    assert {"AccessToken": []} in me
    assert {"ApiToken": []} in me
    assert "security" not in spec["paths"]["/accounts/v1/login"]["post"]


async def test_token_use_is_recorded_at_most_once_a_minute(
    client: AppClient, users: Accounts, db: asyncpg.Connection
) -> None:
    _, headers = await users.bearer()
    token = (await client.post(f"{V1}/me/tokens", json={"name": "t"}, headers=headers)).json()
    last_used = "SELECT last_used_at FROM accounts.api_tokens WHERE id = $1"
    assert await db.fetchval(last_used, token["id"]) is None
    await client.get(f"{V1}/me", headers=bearer(token["token"]))
    first = await db.fetchval(last_used, token["id"])
    assert first is not None
    await client.get(f"{V1}/me", headers=bearer(token["token"]))
    assert await db.fetchval(last_used, token["id"]) == first  # no write within the minute
    await db.execute(
        "UPDATE accounts.api_tokens SET last_used_at = now() - interval '2 minutes' WHERE id = $1",
        token["id"],
    )
    stale = await db.fetchval(last_used, token["id"])
    await client.get(f"{V1}/me", headers=bearer(token["token"]))
    assert await db.fetchval(last_used, token["id"]) > stale
