"""Mentorship fixtures: the accounts fixtures with an app mounting accounts and mentorship, and
`Programme`, shortcuts over the HTTP API for people and relations in a given state."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from dockyard import accounts, mentorship
from dockyard.core.config import Settings
from tests.accounts.conftest import db, settings, smtp
from tests.support.app import AppClient, app_client

__all__ = ["client", "db", "programme", "settings", "smtp"]

PASSWORD = "secret_pass1"
BASE = "/mentorship"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AppClient]:
    async with app_client(settings, (accounts.service, mentorship.service)) as client:
        yield client


@dataclass
class Person:
    """A mentorship user the test created."""

    id: int
    username: str
    email: str
    name: str
    headers: dict[str, str]
    refresh_token: str = ""


def weeks_ahead(weeks: float) -> float:
    """A UNIX timestamp `weeks` from now."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(weeks=weeks)).timestamp()


def unique(tag: str = "u") -> str:
    """A username nobody else uses (letters, digits, underscore; 5 to 25 characters)."""
    return f"{tag}_{uuid.uuid4().hex[:12]}"


class Programme:
    """Shortcuts for tests that need mentorship users and relations in a given state."""

    def __init__(self, client: AppClient, db: asyncpg.Connection) -> None:
        self.client = client
        self.db = db

    def registration(self, **overrides: Any) -> dict[str, Any]:
        """A valid registration body with a fresh username and email."""
        username = unique()
        body = {
            "name": "Test User",
            "username": username,
            "password": PASSWORD,
            "email": f"{username}@example.org",
            "terms_and_conditions_checked": True,
            "need_mentoring": True,
            "available_to_mentor": True,
        }
        body.update(overrides)
        return body

    async def person(
        self, *, verified: bool = True, login: bool = True, admin: bool | None = False, **overrides: Any
    ) -> Person:
        """A registered user (verified in SQL unless told otherwise), logged in when possible."""
        body = self.registration(**overrides)
        answer = await self.client.post(f"{BASE}/register", json=body)
        assert answer.status_code == 201, answer.text
        user_id = await self.db.fetchval(
            "SELECT user_id FROM mentorship.profiles WHERE username = $1", body["username"]
        )
        if verified:
            await self.db.execute(
                "UPDATE accounts.users SET email_verified_at = now() WHERE id = $1", user_id
            )
        if admin is not None:  # None: as registration left it (the first user is the admin)
            await self.db.execute(
                "UPDATE mentorship.profiles SET is_admin = $2 WHERE user_id = $1", user_id, admin
            )
        person = Person(user_id, body["username"], body["email"], body["name"], {})
        if verified and login:
            tokens = await self.login(body["username"])
            person.headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            person.refresh_token = tokens["refresh_token"]
        return person

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        answer = await self.client.post(f"{BASE}/login", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        tokens: dict[str, Any] = answer.json()
        return tokens

    async def request(self, sender: Person, mentor: Person, mentee: Person, *, weeks: float = 8) -> int:
        """A PENDING relation sent by `sender`; its id."""
        answer = await self.client.post(
            f"{BASE}/mentorship_relation/send_request",
            headers=sender.headers,
            json={
                "mentor_id": mentor.id,
                "mentee_id": mentee.id,
                "end_date": weeks_ahead(weeks),
                "notes": "hi",
            },
        )
        assert answer.status_code == 201, answer.text
        relation_id: int = await self.db.fetchval(
            "SELECT max(id) FROM mentorship.relations WHERE mentor_id = $1 AND mentee_id = $2",
            mentor.id,
            mentee.id,
        )
        return relation_id

    async def accepted(self, mentor: Person, mentee: Person) -> int:
        """An ACCEPTED relation (sent by the mentor, accepted by the mentee); its id."""
        relation_id = await self.request(mentor, mentor, mentee)
        answer = await self.client.put(
            f"{BASE}/mentorship_relation/{relation_id}/accept", headers=mentee.headers
        )
        assert answer.status_code == 200, answer.text
        return relation_id

    async def pair(self) -> tuple[Person, Person, int]:
        """A mentor and a mentee in an ACCEPTED relation."""
        mentor, mentee = await self.person(), await self.person()
        return mentor, mentee, await self.accepted(mentor, mentee)

    async def task(self, person: Person, relation_id: int, description: str = "Read the guide") -> int:
        """A new task in the relation; its per-relation id."""
        answer = await self.client.post(
            f"{BASE}/mentorship_relation/{relation_id}/task",
            headers=person.headers,
            json={"description": description},
        )
        assert answer.status_code == 201, answer.text
        number: int = await self.db.fetchval(
            "SELECT max(number) FROM mentorship.tasks WHERE relation_id = $1", relation_id
        )
        return number

    async def comment(self, person: Person, relation_id: int, task_id: int, text: str = "Nice") -> int:
        """A new comment on the task; its id."""
        answer = await self.client.post(
            f"{BASE}/mentorship_relation/{relation_id}/task/{task_id}/comment",
            headers=person.headers,
            json={"comment": text},
        )
        assert answer.status_code == 201, answer.text
        comment_id: int = await self.db.fetchval(
            "SELECT max(id) FROM mentorship.task_comments WHERE user_id = $1", person.id
        )
        return comment_id


@pytest.fixture
def programme(client: AppClient, db: asyncpg.Connection) -> Programme:
    return Programme(client, db)
