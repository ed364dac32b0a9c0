"""The directory, the own profile (read, update, password, export, delete), home and dashboard."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from dockyard.mentorship import messages
from tests.mentorship.conftest import BASE, PASSWORD, Programme, unique
from tests.support.smtp import Inbox

PUBLIC_FIELDS = {
    "id",
    "username",
    "name",
    "slack_username",
    "bio",
    "location",
    "occupation",
    "organization",
    "interests",
    "skills",
    "need_mentoring",
    "available_to_mentor",
    "is_available",
    "registration_date",
}


class TestDirectory:
    async def test_search_by_name_or_username_case_insensitive(self, programme: Programme) -> None:
        tag = unique("zq")
        caller = await programme.person()
        named = await programme.person(name="Zelda Quartz")
        handle = await programme.person(username=tag)
        for search, expected in ((tag.upper(), [handle.id]), ("zelda quartz", [named.id])):
            answer = await programme.client.get(
                f"{BASE}/users", params={"search": search}, headers=caller.headers
            )
            assert answer.status_code == 200
            found = [user["id"] for user in answer.json()]
            assert [user_id for user_id in found if user_id in (named.id, handle.id)] == expected
            assert set(answer.json()[0]) == PUBLIC_FIELDS

    async def test_paging_total_and_caller_left_out(self, programme: Programme) -> None:
        tag = unique("pg")
        people = [
            await programme.person(name=f"Pager {letter}", username=f"{tag}{letter}") for letter in "abcd"
        ]
        caller = people[0]
        answer = await programme.client.get(
            f"{BASE}/users", params={"search": tag, "page": "2", "per_page": "2"}, headers=caller.headers
        )
        assert [user["id"] for user in answer.json()] == [people[3].id]
        assert answer.headers["x-total-count"] == "3"
        first = await programme.client.get(f"{BASE}/users", params={"search": tag}, headers=caller.headers)
        assert [user["id"] for user in first.json()] == [person.id for person in people[1:]]

    @pytest.mark.parametrize(
        ("page", "per_page", "count"),
        [("abc", "xyz", 3), ("0", "2", 2), ("-3", "1", 1), ("1", "-1", 3), ("1", "0", 0), ("9", "50", 0)],
    )
    async def test_paging_quirks(self, programme: Programme, page: str, per_page: str, count: int) -> None:
        tag = unique("pq")
        people = [await programme.person(username=f"{tag}{letter}") for letter in "abcd"]
        answer = await programme.client.get(
            f"{BASE}/users",
            params={"search": tag, "page": page, "per_page": per_page},
            headers=people[0].headers,
        )
        assert answer.status_code == 200
        assert len(answer.json()) == count

    async def test_at_most_50_per_page(self, programme: Programme) -> None:
        caller = await programme.person()
        answer = await programme.client.get(
            f"{BASE}/users", params={"per_page": "500"}, headers=caller.headers
        )
        assert len(answer.json()) <= 50

    async def test_unverified_listed_except_on_verified(self, programme: Programme) -> None:
        tag = unique("uv")
        caller = await programme.person()
        hidden = await programme.person(verified=False, username=f"{tag}a")
        shown = await programme.person(username=f"{tag}b")
        everyone = await programme.client.get(f"{BASE}/users", params={"search": tag}, headers=caller.headers)
        verified = await programme.client.get(
            f"{BASE}/users/verified", params={"search": tag}, headers=caller.headers
        )
        assert [user["id"] for user in everyone.json()] == [hidden.id, shown.id]
        assert [user["id"] for user in verified.json()] == [shown.id]

    async def test_wildcards_are_literal(self, programme: Programme) -> None:
        tag = unique("wc")
        caller = await programme.person()
        await programme.person(username=f"{tag}ab")
        answer = await programme.client.get(
            f"{BASE}/users", params={"search": f"{tag}_%"}, headers=caller.headers
        )
        assert answer.json() == []

    async def test_is_available_and_filters(self, programme: Programme) -> None:
        tag = unique("av")
        caller = await programme.person()
        mentor = await programme.person(username=f"{tag}m", available_to_mentor=True, need_mentoring=False)
        mentee = await programme.person(username=f"{tag}e", available_to_mentor=False, need_mentoring=True)
        idle = await programme.person(username=f"{tag}i", available_to_mentor=False, need_mentoring=False)
        await programme.client.put(f"{BASE}/user", headers=mentor.headers, json={"skills": "Rust, Go"})
        answer = await programme.client.get(f"{BASE}/users", params={"search": tag}, headers=caller.headers)
        available = {user["id"]: user["is_available"] for user in answer.json()}
        assert available == {mentor.id: True, mentee.id: True, idle.id: False}
        await programme.accepted(mentor, mentee)
        answer = await programme.client.get(
            f"{BASE}/users", params={"search": tag, "available": "false"}, headers=caller.headers
        )
        assert {user["id"] for user in answer.json()} == {mentor.id, mentee.id, idle.id}
        answer = await programme.client.get(
            f"{BASE}/users", params={"search": tag, "skills": "rust"}, headers=caller.headers
        )
        assert [user["id"] for user in answer.json()] == [mentor.id]

    async def test_needs_a_token(self, programme: Programme) -> None:
        answer = await programme.client.get(f"{BASE}/users")
        assert (answer.status_code, answer.json()) == (401, {"message": messages.TOKEN_MISSING})


class TestOneUser:
    async def test_public_profile(self, programme: Programme) -> None:
        caller, other = await programme.person(), await programme.person()
        answer = await programme.client.get(f"{BASE}/users/{other.id}", headers=caller.headers)
        assert answer.status_code == 200
        assert set(answer.json()) == PUBLIC_FIELDS
        assert answer.json()["username"] == other.username

    async def test_unverified_target_is_403(self, programme: Programme) -> None:
        caller, other = await programme.person(), await programme.person(verified=False)
        answer = await programme.client.get(f"{BASE}/users/{other.id}", headers=caller.headers)
        assert (answer.status_code, answer.json()) == (403, {"message": messages.VERIFY_EMAIL_BEFORE_LOGIN})

    @pytest.mark.parametrize(("path", "status"), [("999999999", 404), ("0", 404), ("abc", 404), ("-1", 404)])
    async def test_unknown(self, programme: Programme, path: str, status: int) -> None:
        caller = await programme.person()
        answer = await programme.client.get(f"{BASE}/users/{path}", headers=caller.headers)
        assert answer.status_code == status
        assert "message" in answer.json()

    async def test_out_of_range_id_is_422(self, programme: Programme) -> None:
        caller = await programme.person()
        answer = await programme.client.get(f"{BASE}/users/{2**63}", headers=caller.headers)
        assert answer.status_code == 422
        assert answer.json()["message"] == "Input payload validation failed"


class TestOwnProfile:
    async def test_full_profile(self, programme: Programme) -> None:
        person = await programme.person()
        answer = await programme.client.get(f"{BASE}/user", headers=person.headers)
        body = answer.json()
        assert body["email"] == person.email
        assert body["is_email_verified"] is True
        assert isinstance(body["registration_date"], float)
        assert body["email_verification_date"].startswith("20")
        assert {
            "is_admin",
            "terms_and_conditions_checked",
            "current_mentorship_role",
            "membership_status",
        } <= set(body)

    async def test_accounts_user_without_profile_is_404(
        self, programme: Programme, db: asyncpg.Connection
    ) -> None:
        email = f"{unique()}@example.org"
        await programme.client.post(
            "/accounts/v1/register", json={"email": email, "password": "a long password"}
        )
        await db.execute("UPDATE accounts.users SET email_verified_at = now() WHERE email = $1", email)
        login = await programme.client.post(
            "/accounts/v1/login", json={"email": email, "password": "a long password"}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        answer = await programme.client.get(f"{BASE}/user", headers=headers)
        assert (answer.status_code, answer.json()) == (404, {"message": messages.USER_DOES_NOT_EXIST})
        home = await programme.client.get(f"{BASE}/home", headers=headers)
        assert (home.status_code, home.json()) == (404, {"message": messages.USER_NOT_FOUND})


class TestUpdate:
    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({}, messages.NO_PROFILE_DATA),
            ([], messages.NO_PROFILE_DATA),
            ({"username": "abc"}, messages.length_message("username", 5, 25)),
            ({"username": "bad-name1"}, messages.NEW_USERNAME_INVALID),
            ({"name": "A"}, messages.length_message("name", 2, 30)),
            ({"name": "N4me"}, messages.NAME_INVALID),
            ({"bio": "x" * 451}, messages.length_message("bio", None, 450)),
            ({"location": "x" * 61}, messages.length_message("location", None, 60)),
            ({"interests": "x" * 151}, messages.length_message("interests", None, 150)),
            ({"need_mentoring": None}, messages.NEED_MENTORING_INVALID),
            ({"available_to_mentor": None}, messages.AVAILABLE_TO_MENTOR_INVALID),
            ({"bio": 5}, "The bio field has to be a string."),
        ],
    )
    async def test_rules(self, programme: Programme, body: Any, message: str) -> None:
        person = await programme.person()
        answer = await programme.client.put(f"{BASE}/user", json=body, headers=person.headers)
        assert (answer.status_code, answer.json()) == (400, {"message": message})

    async def test_taken_username_is_400_even_your_own(self, programme: Programme) -> None:
        person, other = await programme.person(), await programme.person()
        for username in (other.username, person.username):
            answer = await programme.client.put(
                f"{BASE}/user", json={"username": username}, headers=person.headers
            )
            assert (answer.status_code, answer.json()) == (400, {"message": messages.USERNAME_TAKEN})

    async def test_updates_clears_and_ignores(self, programme: Programme, db: asyncpg.Connection) -> None:
        person = await programme.person()
        new_name = unique("nw")
        body = {
            "bio": "Hello",
            "name": "New Name",
            "username": new_name,
            "need_mentoring": False,
            "unknown": 1,
        }
        answer = await programme.client.put(f"{BASE}/user", json=body, headers=person.headers)
        assert (answer.status_code, answer.json()) == (200, {"message": messages.USER_UPDATED})
        row = await db.fetchrow(
            "SELECT p.bio, p.name, p.username, p.need_mentoring, u.display_name FROM mentorship.profiles p "
            "JOIN accounts.users u ON u.id = p.user_id WHERE p.user_id = $1",
            person.id,
        )
        assert tuple(row) == ("Hello", "New Name", new_name, False, "New Name")
        await programme.client.put(f"{BASE}/user", json={"bio": ""}, headers=person.headers)
        assert await db.fetchval("SELECT bio FROM mentorship.profiles WHERE user_id = $1", person.id) is None
        relogin = await programme.client.post(
            f"{BASE}/login", json={"username": new_name, "password": PASSWORD}
        )
        assert relogin.status_code == 200


class TestChangePassword:
    @pytest.mark.parametrize(
        ("body", "status", "expected"),
        [
            (
                {"new_password": "x"},
                400,
                {
                    "errors": {"current_password": "'current_password' is a required property"},
                    "message": "Input payload validation failed",
                },
            ),
            (
                {"current_password": PASSWORD, "new_password": PASSWORD},
                400,
                {"message": messages.NEW_PASSWORD_SAME},
            ),
            (
                {"current_password": PASSWORD, "new_password": "a b c d e f"},
                400,
                {"message": messages.SPACE_IN_PASSWORD},
            ),
            (
                {"current_password": PASSWORD, "new_password": "short"},
                400,
                {"message": messages.length_message("new_password", 8, 64)},
            ),
            (
                {"current_password": "wrong_pass", "new_password": "another_pass"},
                400,
                {"message": messages.CURRENT_PASSWORD_INCORRECT},
            ),
        ],
    )
    async def test_errors(
        self, programme: Programme, body: dict[str, Any], status: int, expected: Any
    ) -> None:
        person = await programme.person()
        answer = await programme.client.put(f"{BASE}/user/change_password", json=body, headers=person.headers)
        assert (answer.status_code, answer.json()) == (status, expected)

    async def test_changes_and_ends_other_sessions(self, programme: Programme) -> None:
        person = await programme.person()
        other_session = await programme.login(person.username)
        answer = await programme.client.put(
            f"{BASE}/user/change_password",
            json={"current_password": PASSWORD, "new_password": "another_pass"},
            headers=person.headers,
        )
        assert (answer.status_code, answer.json()) == (201, {"message": messages.PASSWORD_UPDATED})
        assert (await programme.client.get(f"{BASE}/user", headers=person.headers)).status_code == 200
        other = {"Authorization": f"Bearer {other_session['access_token']}"}
        assert (await programme.client.get(f"{BASE}/user", headers=other)).status_code == 401
        await programme.login(person.username, "another_pass")


class TestDelete:
    async def test_only_admin_cannot(self, programme: Programme, db: asyncpg.Connection) -> None:
        admin = await programme.person(admin=True)
        await db.execute("UPDATE mentorship.profiles SET is_admin = false WHERE user_id <> $1", admin.id)
        answer = await programme.client.delete(f"{BASE}/user", headers=admin.headers)
        assert (answer.status_code, answer.json()) == (400, {"message": messages.ONLY_ADMIN_CANNOT_DELETE})

    async def test_in_an_accepted_relation(
        self, programme: Programme, db: asyncpg.Connection, smtp: Inbox
    ) -> None:
        mentor, mentee, relation_id = await programme.pair()
        task = await programme.task(mentor, relation_id)
        await programme.comment(mentee, relation_id, task, "from the mentee")
        answer = await programme.client.delete(f"{BASE}/user", headers=mentee.headers)
        assert (answer.status_code, answer.json()) == (200, {"message": messages.USER_DELETED})
        assert "deleted their account" in smtp.wait_for(mentor.email, 3).get_content()
        # the deleted user's tokens and login are gone
        assert (await programme.client.get(f"{BASE}/user", headers=mentee.headers)).status_code == 401
        login = await programme.client.post(
            f"{BASE}/login", json={"username": mentee.username, "password": PASSWORD}
        )
        assert login.status_code == 401
        # the partner: relation cancelled, a deleted user, dashboard fine, tasks and comments readable
        relations = (
            await programme.client.get(f"{BASE}/mentorship_relations", headers=mentor.headers)
        ).json()
        assert relations[0]["state"] == 4
        assert relations[0]["mentee"] == {"id": mentee.id, "name": "Deleted user"}
        dashboard = await programme.client.get(f"{BASE}/dashboard", headers=mentor.headers)
        assert dashboard.status_code == 200
        assert dashboard.json()["as_mentor"]["sent"]["cancelled"][0]["mentee"]["user_name"] == "Deleted user"
        tasks = await programme.client.get(
            f"{BASE}/mentorship_relation/{relation_id}/tasks", headers=mentor.headers
        )
        assert [item["id"] for item in tasks.json()] == [task]
        comments = await programme.client.get(
            f"{BASE}/mentorship_relation/{relation_id}/task/{task}/comments/", headers=mentor.headers
        )
        assert [item["comment"] for item in comments.json()] == ["from the mentee"]
        # the mentor is free again; the deleted user is gone from the directory
        assert (
            await programme.client.get(f"{BASE}/users/{mentee.id}", headers=mentor.headers)
        ).status_code == 404
        current = await programme.client.get(f"{BASE}/mentorship_relations/current", headers=mentor.headers)
        assert current.json() == {"message": messages.NOT_IN_CURRENT_RELATION}
        row = await db.fetchrow(
            "SELECT u.email, u.password_hash, p.username, p.deleted_at FROM accounts.users u "
            "JOIN mentorship.profiles p ON p.user_id = u.id WHERE u.id = $1",
            mentee.id,
        )
        assert row["email"].endswith("@deleted.invalid")
        assert row["password_hash"] is None
        assert row["username"] is None
        assert row["deleted_at"] is not None

    async def test_the_email_can_register_again(self, programme: Programme) -> None:
        person = await programme.person()
        await programme.client.delete(f"{BASE}/user", headers=person.headers)
        again = await programme.client.post(
            f"{BASE}/register", json=programme.registration(email=person.email, username=person.username)
        )
        assert again.status_code == 201


class TestExport:
    async def test_everything_about_you(self, programme: Programme) -> None:
        mentor, mentee, relation_id = await programme.pair()
        task = await programme.task(mentor, relation_id, "Export me")
        await programme.comment(mentor, relation_id, task, "mine")
        await programme.comment(mentee, relation_id, task, "not mine")
        body = (await programme.client.get(f"{BASE}/user/export", headers=mentor.headers)).json()
        assert body["user"]["email"] == mentor.email
        assert [relation["id"] for relation in body["relations"]] == [relation_id]
        assert [item["description"] for item in body["tasks"]] == ["Export me"]
        assert [item["comment"] for item in body["comments"]] == ["mine"]


class TestHome:
    async def test_counts_and_achievements(self, programme: Programme) -> None:
        mentor, mentee, other = await programme.person(), await programme.person(), await programme.person()
        await programme.request(other, other, mentor)  # pending, mentor as mentee
        relation_id = await programme.accepted(mentor, mentee)
        numbers = [await programme.task(mentor, relation_id, f"Task {index}") for index in range(5)]
        for number in numbers[:4]:
            done = await programme.client.put(
                f"{BASE}/mentorship_relation/{relation_id}/task/{number}/complete", headers=mentee.headers
            )
            assert done.status_code == 200
        body = (await programme.client.get(f"{BASE}/home", headers=mentor.headers)).json()
        assert body["name"] == mentor.name
        assert (body["pending_requests"], body["accepted_requests"], body["rejected_requests"]) == (1, 1, 0)
        assert (body["completed_relations"], body["cancelled_relations"]) == (0, 0)
        assert [item["description"] for item in body["achievements"]] == ["Task 3", "Task 2", "Task 1"]
        assert all(item["is_done"] for item in body["achievements"])


class TestDashboard:
    async def test_split_by_role_direction_and_state(self, programme: Programme) -> None:
        mentor, mentee, asker = await programme.person(), await programme.person(), await programme.person()
        pending_id = await programme.request(asker, asker, mentor)
        relation_id = await programme.accepted(mentor, mentee)
        task = await programme.task(mentee, relation_id)
        body = (await programme.client.get(f"{BASE}/dashboard", headers=mentor.headers)).json()
        assert [item["id"] for item in body["as_mentor"]["sent"]["accepted"]] == [relation_id]
        assert [item["id"] for item in body["as_mentee"]["received"]["pending"]] == [pending_id]
        entry = body["as_mentor"]["sent"]["accepted"][0]
        assert entry["mentee"] == {"id": mentee.id, "user_name": mentee.name, "photo_url": None}
        assert entry["accept_date"] is not None
        assert entry["start_date"] is not None
        assert [item["id"] for item in body["tasks_todo"]] == [task]
        assert body["tasks_done"] == []

    async def test_no_tasks_without_a_current_relation(self, programme: Programme) -> None:
        person = await programme.person()
        body = (await programme.client.get(f"{BASE}/dashboard", headers=person.headers)).json()
        assert set(body) == {"as_mentor", "as_mentee"}
        assert body["as_mentee"]["sent"] == {
            "accepted": [],
            "rejected": [],
            "completed": [],
            "cancelled": [],
            "pending": [],
        }
