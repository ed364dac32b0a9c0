"""Admins: assign, revoke, list (spec A.2 Admin)."""

from __future__ import annotations

import asyncio

import asyncpg

from dockyard.mentorship import messages
from tests.mentorship.conftest import BASE, Programme

NEW, REMOVE, ADMINS = f"{BASE}/admin/new", f"{BASE}/admin/remove", f"{BASE}/admins"


class TestAssign:
    async def test_order_of_checks(self, programme: Programme) -> None:
        admin, user = await programme.person(admin=True), await programme.person()
        cases = [
            (user, {"user_id": admin.id}, 403, {"message": messages.ASSIGN_NOT_ADMIN}),
            (
                admin,
                {"user_id": "1"},
                400,
                {"errors": {"user_id": "'1' is not of type 'integer'"}, "message": messages.PAYLOAD_INVALID},
            ),
            (
                admin,
                {},
                400,
                {
                    "errors": {"user_id": "'user_id' is a required property"},
                    "message": messages.PAYLOAD_INVALID,
                },
            ),
            (admin, {"user_id": admin.id}, 403, {"message": messages.CANNOT_ASSIGN_YOURSELF}),
            (admin, {"user_id": 987654321}, 404, {"message": messages.USER_DOES_NOT_EXIST}),
            (admin, {"user_id": user.id}, 200, {"message": messages.NOW_ADMIN}),
            (admin, {"user_id": user.id}, 400, {"message": messages.ALREADY_ADMIN}),
        ]
        for who, body, status, expected in cases:
            answer = await programme.client.post(NEW, json=body, headers=who.headers)
            assert (answer.status_code, answer.json()) == (status, expected), body


class TestRevoke:
    async def test_order_of_checks(self, programme: Programme, db: asyncpg.Connection) -> None:
        admin, other_admin, user = (
            await programme.person(admin=True),
            await programme.person(admin=True),
            await programme.person(),
        )
        cases = [
            (user, {"user_id": admin.id}, 403, messages.REVOKE_NOT_ADMIN),
            (admin, {"user_id": 987654321}, 404, messages.USER_DOES_NOT_EXIST),
            (admin, {"user_id": user.id}, 400, messages.NOT_AN_ADMIN),
            (admin, {"user_id": other_admin.id}, 200, messages.ADMIN_REVOKED),
        ]
        for who, body, status, message in cases:
            answer = await programme.client.post(REMOVE, json=body, headers=who.headers)
            assert (answer.status_code, answer.json()) == (status, {"message": message})
        await db.execute("UPDATE mentorship.profiles SET is_admin = false WHERE user_id <> $1", admin.id)
        last = await programme.client.post(REMOVE, json={"user_id": admin.id}, headers=admin.headers)
        assert (last.status_code, last.json()) == (403, {"message": messages.CANNOT_REVOKE_OWN})

    async def test_two_admins_revoking_each_other_leave_one(
        self, programme: Programme, db: asyncpg.Connection
    ) -> None:
        first, second = await programme.person(admin=True), await programme.person(admin=True)
        await db.execute(
            "UPDATE mentorship.profiles SET is_admin = false WHERE user_id <> ALL($1::bigint[])",
            [first.id, second.id],
        )
        answers = await asyncio.gather(
            programme.client.post(REMOVE, json={"user_id": first.id}, headers=first.headers),
            programme.client.post(REMOVE, json={"user_id": second.id}, headers=second.headers),
        )
        assert sorted(answer.status_code for answer in answers) == [200, 403]
        assert await db.fetchval("SELECT count(*) FROM mentorship.profiles WHERE is_admin") == 1


class TestList:
    async def test_other_admins_for_admins_only(self, programme: Programme) -> None:
        admin, other_admin, user = (
            await programme.person(admin=True),
            await programme.person(admin=True),
            await programme.person(),
        )
        listed = await programme.client.get(ADMINS, headers=admin.headers)
        ids = [item["id"] for item in listed.json()]
        assert other_admin.id in ids
        assert admin.id not in ids
        assert set(listed.json()[0]) == {
            "id",
            "username",
            "name",
            "slack_username",
            "bio",
            "location",
            "occupation",
            "organization",
            "skills",
        }
        refused = await programme.client.get(ADMINS, headers=user.headers)
        assert (refused.status_code, refused.json()) == (403, {"message": messages.NOT_AN_ADMIN})
