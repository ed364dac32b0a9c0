"""Relation requests, transitions and lists (spec A.2 Mentorship relations, A.4), and concurrent accepts."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from dockyard.mentorship import messages
from tests.mentorship.conftest import BASE, Person, Programme, weeks_ahead
from tests.support.smtp import Inbox

SEND = f"{BASE}/mentorship_relation/send_request"


def body(mentor: Person, mentee: Person, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "mentor_id": mentor.id,
        "mentee_id": mentee.id,
        "end_date": weeks_ahead(8),
        "notes": "n",
    }
    values.update(overrides)
    return values


class TestSendRequest:
    @pytest.mark.parametrize(
        ("drop", "message"),
        [
            ("mentor_id", messages.MENTOR_ID_FIELD_IS_MISSING),
            ("mentee_id", messages.MENTEE_ID_FIELD_IS_MISSING),
            ("end_date", messages.END_DATE_FIELD_IS_MISSING),
            ("notes", messages.NOTES_FIELD_IS_MISSING),
        ],
    )
    async def test_missing_field(self, programme: Programme, drop: str, message: str) -> None:
        me, other = await programme.person(), await programme.person()
        values = body(me, other)
        del values[drop]
        answer = await programme.client.post(SEND, json=values, headers=me.headers)
        assert (answer.status_code, answer.json()) == (400, {"message": message})

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"end_date": weeks_ahead(-1)}, messages.END_DATE_PASSED),
            ({"end_date": weeks_ahead(25)}, messages.DURATION_TOO_LONG),
            ({"end_date": weeks_ahead(3)}, messages.DURATION_TOO_SHORT),
            ({"end_date": "tomorrow"}, messages.INVALID_END_DATE),
            ({"end_date": 1e20}, messages.INVALID_END_DATE),
            ({"notes": "x" * 401}, messages.length_message("notes", None, 400)),
        ],
    )
    async def test_dates_and_notes(
        self, programme: Programme, overrides: dict[str, Any], message: str
    ) -> None:
        me, other = await programme.person(), await programme.person()
        answer = await programme.client.post(SEND, json=body(me, other, **overrides), headers=me.headers)
        assert (answer.status_code, answer.json()) == (400, {"message": message})

    async def test_parties(self, programme: Programme) -> None:
        me, other, third = await programme.person(), await programme.person(), await programme.person()
        cases = [
            (body(other, third), 400, messages.MATCH_EITHER_MENTOR_OR_MENTEE),
            (body(me, me), 400, messages.RELATION_WITH_YOURSELF),
            ({**body(me, other), "mentee_id": 987654321}, 404, messages.MENTEE_DOES_NOT_EXIST),
            (
                {**body(me, other), "mentor_id": 987654321, "mentee_id": me.id},
                404,
                messages.MENTOR_DOES_NOT_EXIST,
            ),
        ]
        for values, status, message in cases:
            answer = await programme.client.post(SEND, json=values, headers=me.headers)
            assert (answer.status_code, answer.json()) == (status, {"message": message})

    async def test_availability(self, programme: Programme) -> None:
        me = await programme.person()
        no_mentor = await programme.person(available_to_mentor=False)
        no_mentee = await programme.person(need_mentoring=False)
        for values, message in (
            (body(no_mentor, me), messages.MENTOR_NOT_AVAILABLE),
            (body(me, no_mentee), messages.MENTEE_NOT_AVAILABLE),
        ):
            answer = await programme.client.post(SEND, json=values, headers=me.headers)
            assert (answer.status_code, answer.json()) == (400, {"message": message})
        mentor, mentee, _ = await programme.pair()
        for values, message in (
            (body(mentor, me), messages.MENTOR_IN_RELATION),
            (body(me, mentee), messages.MENTEE_IN_RELATION),
        ):
            answer = await programme.client.post(SEND, json=values, headers=me.headers)
            assert (answer.status_code, answer.json()) == (400, {"message": message})

    async def test_creates_pending_and_mails(
        self, programme: Programme, db: asyncpg.Connection, smtp: Inbox
    ) -> None:
        mentor, mentee = await programme.person(), await programme.person()
        answer = await programme.client.post(
            SEND, json=body(mentor, mentee, notes="Let's go"), headers=mentee.headers
        )
        assert (answer.status_code, answer.json()) == (201, {"message": messages.RELATION_SENT})
        row = await db.fetchrow("SELECT * FROM mentorship.relations WHERE mentor_id = $1", mentor.id)
        assert (row["state"], row["action_user_id"], row["notes"], row["accept_date"]) == (
            1,
            mentee.id,
            "Let's go",
            None,
        )
        assert "Let's go" in smtp.wait_for(mentor.email, 2).get_content()


class TestTransitions:
    async def test_accept_errors_in_order(self, programme: Programme) -> None:
        mentor, mentee, outsider = (
            await programme.person(),
            await programme.person(),
            await programme.person(),
        )
        relation_id = await programme.request(mentor, mentor, mentee)
        path = f"{BASE}/mentorship_relation/{relation_id}/accept"
        for who, status, message in (
            (mentor, 403, messages.CANT_ACCEPT_OWN),
            (outsider, 403, messages.CANT_ACCEPT_UNINVOLVED),
        ):
            answer = await programme.client.put(path, headers=who.headers)
            assert (answer.status_code, answer.json()) == (status, {"message": message})
        missing = await programme.client.put(
            f"{BASE}/mentorship_relation/987654321/accept", headers=mentee.headers
        )
        assert (missing.status_code, missing.json()) == (404, {"message": messages.REQUEST_DOES_NOT_EXIST})
        assert (await programme.client.put(path, headers=mentee.headers)).status_code == 200
        again = await programme.client.put(path, headers=mentee.headers)
        assert (again.status_code, again.json()) == (403, {"message": messages.NOT_PENDING})

    async def test_accept_when_busy(self, programme: Programme) -> None:
        mentor, mentee, other = await programme.person(), await programme.person(), await programme.person()
        first = await programme.request(other, mentor, other)  # other asks mentor... as mentee
        second = await programme.request(mentee, mentor, mentee)
        third = await programme.request(other, other, mentee)
        assert (
            await programme.client.put(f"{BASE}/mentorship_relation/{first}/accept", headers=mentor.headers)
        ).status_code == 200
        busy_me = await programme.client.put(
            f"{BASE}/mentorship_relation/{second}/accept", headers=mentor.headers
        )
        assert (busy_me.status_code, busy_me.json()) == (403, {"message": messages.ALREADY_IN_RELATION})
        busy_other = await programme.client.put(
            f"{BASE}/mentorship_relation/{third}/accept", headers=mentee.headers
        )
        assert (busy_other.status_code, busy_other.json()) == (400, {"message": messages.MENTOR_IN_RELATION})

    async def test_reject_cancel_delete(self, programme: Programme, db: asyncpg.Connection) -> None:
        mentor, mentee, outsider = (
            await programme.person(),
            await programme.person(),
            await programme.person(),
        )
        rejected = await programme.request(mentor, mentor, mentee)
        path = f"{BASE}/mentorship_relation/{rejected}"
        for who, message in ((mentor, messages.CANT_REJECT_OWN), (outsider, messages.CANT_REJECT_UNINVOLVED)):
            answer = await programme.client.put(f"{path}/reject", headers=who.headers)
            assert (answer.status_code, answer.json()) == (403, {"message": message})
        answer = await programme.client.put(f"{path}/reject", headers=mentee.headers)
        assert (answer.status_code, answer.json()) == (200, {"message": messages.RELATION_REJECTED})
        cancel = await programme.client.put(f"{path}/cancel", headers=mentee.headers)
        assert (cancel.status_code, cancel.json()) == (403, {"message": messages.NOT_ACCEPTED})
        deleted = await programme.request(mentee, mentor, mentee)
        path = f"{BASE}/mentorship_relation/{deleted}"
        not_mine = await programme.client.delete(path, headers=mentor.headers)
        assert (not_mine.status_code, not_mine.json()) == (403, {"message": messages.CANT_DELETE_UNINVOLVED})
        answer = await programme.client.delete(path, headers=mentee.headers)
        assert (answer.status_code, answer.json()) == (200, {"message": messages.RELATION_DELETED})
        assert await db.fetchval("SELECT count(*) FROM mentorship.relations WHERE id = $1", deleted) == 0
        relation_id = await programme.accepted(mentor, mentee)
        path = f"{BASE}/mentorship_relation/{relation_id}"
        outside = await programme.client.put(f"{path}/cancel", headers=outsider.headers)
        assert (outside.status_code, outside.json()) == (403, {"message": messages.CANT_CANCEL_UNINVOLVED})
        not_pending = await programme.client.delete(path, headers=mentor.headers)
        assert (not_pending.status_code, not_pending.json()) == (403, {"message": messages.NOT_PENDING})
        answer = await programme.client.put(f"{path}/cancel", headers=mentor.headers)
        assert (answer.status_code, answer.json()) == (200, {"message": messages.RELATION_CANCELLED})

    async def test_two_concurrent_accepts_cannot_both_win(
        self, programme: Programme, db: asyncpg.Connection
    ) -> None:
        mentor, first, second = await programme.person(), await programme.person(), await programme.person()
        one = await programme.request(first, mentor, first)
        two = await programme.request(second, mentor, second)
        answers = await asyncio.gather(
            programme.client.put(f"{BASE}/mentorship_relation/{one}/accept", headers=mentor.headers),
            programme.client.put(f"{BASE}/mentorship_relation/{two}/accept", headers=mentor.headers),
        )
        assert sorted(answer.status_code for answer in answers) == [200, 403]
        loser = next(answer for answer in answers if answer.status_code == 403)
        assert loser.json() == {"message": messages.ALREADY_IN_RELATION}
        accepted = await db.fetchval(
            "SELECT count(*) FROM mentorship.relations WHERE id = ANY($1::bigint[]) AND state = 2", [one, two]
        )
        assert accepted == 1

    async def test_both_sides_accepting_at_once(self, programme: Programme, db: asyncpg.Connection) -> None:
        # a and b each received a request from c; a and b accept at the same moment: c ends in one relation
        a, b, c = await programme.person(), await programme.person(), await programme.person()
        to_a = await programme.request(c, a, c)
        to_b = await programme.request(c, b, c)
        answers = await asyncio.gather(
            programme.client.put(f"{BASE}/mentorship_relation/{to_a}/accept", headers=a.headers),
            programme.client.put(f"{BASE}/mentorship_relation/{to_b}/accept", headers=b.headers),
        )
        assert sorted(answer.status_code for answer in answers) == [200, 400]
        assert (
            await db.fetchval(
                "SELECT count(*) FROM mentorship.relation_parties WHERE user_id = $1 AND state = 2", c.id
            )
            == 1
        )

    async def test_the_database_refuses_a_second_accepted_relation(
        self, programme: Programme, db: asyncpg.Connection
    ) -> None:
        mentor, _, _ = await programme.pair()
        other = await programme.person()
        relation_id = await db.fetchval(
            "INSERT INTO mentorship.relations (mentor_id, mentee_id, action_user_id, end_date, notes) "
            "VALUES ($1, $2, $2, now() + interval '8 weeks', '') RETURNING id",
            mentor.id,
            other.id,
        )
        with pytest.raises(asyncpg.UniqueViolationError):
            await db.execute("UPDATE mentorship.relations SET state = 2 WHERE id = $1", relation_id)


class TestLists:
    async def test_by_state_past_current_pending(self, programme: Programme, db: asyncpg.Connection) -> None:
        mentor, mentee, other = await programme.person(), await programme.person(), await programme.person()
        pending = await programme.request(other, other, mentor)
        accepted = await programme.accepted(mentor, mentee)
        await db.execute(
            "UPDATE mentorship.relations SET end_date = now() - interval '1 day' WHERE id = $1", pending
        )
        client, headers = programme.client, mentor.headers
        everything = (await client.get(f"{BASE}/mentorship_relations", headers=headers)).json()
        assert [item["id"] for item in everything] == [accepted, pending]  # as mentor first, then as mentee
        item = everything[0]
        assert item["sent_by_me"] is True
        assert item["mentee"] == {"id": mentee.id, "name": mentee.name}
        assert set(item) == {
            "id",
            "action_user_id",
            "sent_by_me",
            "mentor",
            "mentee",
            "creation_date",
            "accept_date",
            "start_date",
            "end_date",
            "state",
            "notes",
        }
        only = await client.get(
            f"{BASE}/mentorship_relations", params={"relation_state": "pending"}, headers=headers
        )
        assert [item["id"] for item in only.json()] == [pending]
        bad = await client.get(
            f"{BASE}/mentorship_relations", params={"relation_state": "nope"}, headers=headers
        )
        assert (bad.status_code, bad.json()) == (400, [])
        past = (await client.get(f"{BASE}/mentorship_relations/past", headers=headers)).json()
        assert [item["id"] for item in past] == [pending]
        assert (await client.get(f"{BASE}/mentorship_relations/pending", headers=headers)).json() == []
        current = (await client.get(f"{BASE}/mentorship_relations/current", headers=headers)).json()
        assert current["id"] == accepted
        none = await client.get(f"{BASE}/mentorship_relations/current", headers=other.headers)
        assert (none.status_code, none.json()) == (200, {"message": messages.NOT_IN_CURRENT_RELATION})
