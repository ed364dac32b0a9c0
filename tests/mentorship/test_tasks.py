"""Tasks and task comments (spec A.2), with the new edit and un-complete routes."""

from __future__ import annotations

import asyncpg
import pytest

from dockyard.mentorship import messages
from tests.mentorship.conftest import BASE, Programme


def rel(relation_id: int) -> str:
    return f"{BASE}/mentorship_relation/{relation_id}"


class TestTasks:
    async def test_create_list_complete_delete(self, programme: Programme, db: asyncpg.Connection) -> None:
        mentor, mentee, relation_id = await programme.pair()
        first = await programme.task(mentor, relation_id, "One")
        second = await programme.task(mentee, relation_id, "Two")
        assert (first, second) == (1, 2)
        listed = (await programme.client.get(f"{rel(relation_id)}/tasks", headers=mentee.headers)).json()
        assert [(task["id"], task["description"]) for task in listed] == [(1, "One"), (2, "Two")]
        assert set(listed[0]) == {"id", "description", "created_at", "completed_at"}
        done = await programme.client.put(f"{rel(relation_id)}/task/1/complete", headers=mentee.headers)
        assert (done.status_code, done.json()) == (200, {"message": messages.TASK_ACHIEVED})
        again = await programme.client.put(f"{rel(relation_id)}/task/1/complete", headers=mentee.headers)
        assert (again.status_code, again.json()) == (409, {"message": messages.TASK_ALREADY_ACHIEVED})
        deleted = await programme.client.delete(f"{rel(relation_id)}/task/2", headers=mentor.headers)
        assert (deleted.status_code, deleted.json()) == (200, {"message": messages.TASK_DELETED})
        assert await programme.task(mentor, relation_id, "Three") == 3  # numbers are never reused
        global_ids = await db.fetch("SELECT id FROM mentorship.tasks WHERE relation_id = $1", relation_id)
        assert len(global_ids) == 2

    async def test_create_errors(self, programme: Programme) -> None:
        mentor, _, relation_id = await programme.pair()
        outsider = await programme.person()
        for path, who, payload, status, message in (
            (rel(relation_id), mentor, {}, 400, messages.DESCRIPTION_FIELD_IS_MISSING),
            (rel(987654321), mentor, {"description": "x"}, 404, messages.RELATION_DOES_NOT_EXIST),
            (rel(relation_id), outsider, {"description": "x"}, 403, messages.NOT_INVOLVED),
        ):
            answer = await programme.client.post(f"{path}/task", json=payload, headers=who.headers)
            assert (answer.status_code, answer.json()) == (status, {"message": message})

    async def test_only_accepted_relations_get_tasks(self, programme: Programme) -> None:
        mentor, mentee = await programme.person(), await programme.person()
        pending = await programme.request(mentor, mentor, mentee)
        answer = await programme.client.post(
            f"{rel(pending)}/task", json={"description": "x"}, headers=mentor.headers
        )
        assert (answer.status_code, answer.json()) == (403, {"message": messages.NOT_ACCEPTED})

    async def test_outsider_gets_401_on_reads_and_changes(self, programme: Programme) -> None:
        mentor, _, relation_id = await programme.pair()
        outsider = await programme.person()
        await programme.task(mentor, relation_id)
        for method, path in (
            ("GET", f"{rel(relation_id)}/tasks"),
            ("PUT", f"{rel(relation_id)}/task/1/complete"),
            ("PUT", f"{rel(relation_id)}/task/1/uncomplete"),
            ("DELETE", f"{rel(relation_id)}/task/1"),
        ):
            answer = await programme.client.request(method, path, headers=outsider.headers)
            assert (answer.status_code, answer.json()) == (401, {"message": messages.NOT_INVOLVED})

    async def test_missing_task_and_relation(self, programme: Programme) -> None:
        mentor, _, relation_id = await programme.pair()
        for method, path, message in (
            ("PUT", f"{rel(relation_id)}/task/77/complete", messages.TASK_DOES_NOT_EXIST),
            ("DELETE", f"{rel(relation_id)}/task/77", messages.TASK_DOES_NOT_EXIST),
            ("GET", f"{rel(987654321)}/tasks", messages.RELATION_DOES_NOT_EXIST),
            ("DELETE", f"{rel(987654321)}/task/1", messages.RELATION_DOES_NOT_EXIST),
        ):
            answer = await programme.client.request(method, path, headers=mentor.headers)
            assert (answer.status_code, answer.json()) == (404, {"message": message})

    async def test_edit_and_uncomplete(self, programme: Programme, db: asyncpg.Connection) -> None:
        mentor, mentee, relation_id = await programme.pair()
        number = await programme.task(mentor, relation_id, "Draft")
        edited = await programme.client.put(
            f"{rel(relation_id)}/task/{number}", json={"description": "Final"}, headers=mentee.headers
        )
        assert (edited.status_code, edited.json()) == (200, {"message": messages.TASK_UPDATED})
        missing = await programme.client.put(
            f"{rel(relation_id)}/task/{number}", json={}, headers=mentee.headers
        )
        assert (missing.status_code, missing.json()) == (
            400,
            {"message": messages.DESCRIPTION_FIELD_IS_MISSING},
        )
        not_done = await programme.client.put(
            f"{rel(relation_id)}/task/{number}/uncomplete", headers=mentor.headers
        )
        assert (not_done.status_code, not_done.json()) == (409, {"message": messages.TASK_NOT_ACHIEVED})
        await programme.client.put(f"{rel(relation_id)}/task/{number}/complete", headers=mentor.headers)
        undone = await programme.client.put(
            f"{rel(relation_id)}/task/{number}/uncomplete", headers=mentor.headers
        )
        assert (undone.status_code, undone.json()) == (200, {"message": messages.TASK_REOPENED})
        row = await db.fetchrow(
            "SELECT description, is_done, completed_at FROM mentorship.tasks WHERE relation_id = $1",
            relation_id,
        )
        assert tuple(row) == ("Final", False, None)


class TestComments:
    async def test_create_list_edit_delete(self, programme: Programme) -> None:
        mentor, mentee, relation_id = await programme.pair()
        number = await programme.task(mentor, relation_id)
        comment_id = await programme.comment(mentee, relation_id, number, "First!")
        base = f"{rel(relation_id)}/task/{number}"
        listed = (await programme.client.get(f"{base}/comments/", headers=mentor.headers)).json()
        assert listed == [
            {
                "id": comment_id,
                "user_id": mentee.id,
                "task_id": number,
                "relation_id": relation_id,
                "creation_date": listed[0]["creation_date"],
                "modification_date": None,
                "comment": "First!",
            }
        ]
        not_yours = await programme.client.put(
            f"{base}/comment/{comment_id}", json={"comment": "x"}, headers=mentor.headers
        )
        assert (not_yours.status_code, not_yours.json()) == (
            403,
            {"message": messages.COMMENT_NOT_YOURS_MODIFY},
        )
        edited = await programme.client.put(
            f"{base}/comment/{comment_id}", json={"comment": "Edited"}, headers=mentee.headers
        )
        assert (edited.status_code, edited.json()) == (200, {"message": messages.COMMENT_UPDATED})
        listed = (await programme.client.get(f"{base}/comments/", headers=mentor.headers)).json()
        assert listed[0]["comment"] == "Edited"
        assert listed[0]["modification_date"] is not None
        not_yours = await programme.client.delete(f"{base}/comment/{comment_id}", headers=mentor.headers)
        assert (not_yours.status_code, not_yours.json()) == (
            403,
            {"message": messages.COMMENT_NOT_YOURS_DELETE},
        )
        deleted = await programme.client.delete(f"{base}/comment/{comment_id}", headers=mentee.headers)
        assert (deleted.status_code, deleted.json()) == (200, {"message": messages.COMMENT_DELETED})
        assert (await programme.client.get(f"{base}/comments/", headers=mentor.headers)).json() == []

    @pytest.mark.parametrize(
        ("payload", "message"),
        [
            ({}, messages.COMMENT_FIELD_IS_MISSING),
            ({"comment": 5}, messages.COMMENT_NOT_A_STRING),
            ({"comment": "x" * 401}, messages.length_message("comment", None, 400)),
        ],
    )
    async def test_body_rules(self, programme: Programme, payload: dict[str, object], message: str) -> None:
        mentor, _, relation_id = await programme.pair()
        number = await programme.task(mentor, relation_id)
        answer = await programme.client.post(
            f"{rel(relation_id)}/task/{number}/comment", json=payload, headers=mentor.headers
        )
        assert (answer.status_code, answer.json()) == (400, {"message": message})

    async def test_errors(self, programme: Programme) -> None:
        mentor, mentee, relation_id = await programme.pair()
        outsider = await programme.person()
        number = await programme.task(mentor, relation_id)
        other_number = await programme.task(mentor, relation_id)
        comment_id = await programme.comment(mentee, relation_id, number)
        base = f"{rel(relation_id)}/task"
        cases = [
            ("POST", f"{rel(987654321)}/task/1/comment", mentor, 404, messages.RELATION_DOES_NOT_EXIST),
            ("POST", f"{base}/{number}/comment", outsider, 401, messages.NOT_INVOLVED),
            ("POST", f"{base}/99/comment", mentor, 404, messages.TASK_DOES_NOT_EXIST),
            ("PUT", f"{base}/{number}/comment/987654321", mentee, 404, messages.COMMENT_DOES_NOT_EXIST),
            ("PUT", f"{base}/{other_number}/comment/{comment_id}", mentee, 404, messages.COMMENT_NOT_ON_TASK),
            ("GET", f"{base}/{number}/comments/", outsider, 401, messages.NOT_INVOLVED),
        ]
        for method, path, who, status, message in cases:
            answer = await programme.client.request(method, path, json={"comment": "hi"}, headers=who.headers)
            assert (answer.status_code, answer.json()) == (status, {"message": message}), path

    async def test_readable_but_not_writable_after_the_relation(self, programme: Programme) -> None:
        mentor, mentee, relation_id = await programme.pair()
        number = await programme.task(mentor, relation_id)
        comment_id = await programme.comment(mentee, relation_id, number, "kept")
        await programme.client.put(f"{rel(relation_id)}/cancel", headers=mentor.headers)
        base = f"{rel(relation_id)}/task/{number}"
        listed = await programme.client.get(f"{base}/comments/", headers=mentor.headers)
        assert [item["comment"] for item in listed.json()] == ["kept"]
        for method, path in (
            ("POST", f"{base}/comment"),
            ("PUT", f"{base}/comment/{comment_id}"),
            ("DELETE", f"{base}/comment/{comment_id}"),
        ):
            answer = await programme.client.request(
                method, path, json={"comment": "x"}, headers=mentee.headers
            )
            assert (answer.status_code, answer.json()) == (403, {"message": messages.NOT_ACCEPTED})

    async def test_deleting_a_task_deletes_its_comments(
        self, programme: Programme, db: asyncpg.Connection
    ) -> None:
        mentor, mentee, relation_id = await programme.pair()
        number = await programme.task(mentor, relation_id)
        comment_id = await programme.comment(mentee, relation_id, number)
        await programme.client.delete(f"{rel(relation_id)}/task/{number}", headers=mentor.headers)
        assert (
            await db.fetchval("SELECT count(*) FROM mentorship.task_comments WHERE id = $1", comment_id) == 0
        )
