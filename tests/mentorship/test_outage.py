"""With the database stopped, every mentorship operation answers 503 `{"message": …}` with
Retry-After, never a 500. The app starts on a private PostgreSQL, which is then stopped."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from dockyard import accounts, mentorship
from dockyard.app import create_app
from dockyard.core import embedded
from tests.support.app import TEST_JWT_SECRET, app_client, settings_for
from tests.support.postgres import PgServer, embedded_pg_bin

NOWHERE = "postgresql://postgres@127.0.0.1:1/nowhere"  # only for reading the document

BODIES = {
    "/register": {
        "name": "Outage Person",
        "username": "outage_person",
        "password": "secret_pass1",
        "email": "outage@example.org",
        "terms_and_conditions_checked": True,
    },
    "/login": {"username": "outage_person", "password": "secret_pass1"},
    "/user/resend_email": {"email": "outage@example.org"},
    "/user/reset_password": {"email": "outage@example.org"},
    "/user/reset_password/confirm": {"token": "x" * 43, "new_password": "secret_pass2"},
    "/user": {"bio": "hello"},
    "/user/change_password": {"current_password": "secret_pass1", "new_password": "secret_pass2"},
    "/mentorship_relation/send_request": {
        "mentor_id": 1,
        "mentee_id": 2,
        "end_date": time.time() + 8 * 7 * 86400,
        "notes": "",
    },
    "/admin/new": {"user_id": 2},
    "/admin/remove": {"user_id": 2},
}


def _access_token() -> str:
    import jwt

    now = int(time.time())
    claims = {
        "iss": "dockyard",
        "aud": "dockyard",
        "sub": "1",
        "sid": str(uuid.uuid4()),
        "typ": "access",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")


def _operations() -> list[tuple[str, str]]:
    document = create_app(settings_for(NOWHERE), services=(accounts.service, mentorship.service)).openapi()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        if path.startswith("/mentorship/") and not path.startswith("/mentorship/v1/")
        for method in item
    ]


def _concrete(path: str) -> str:
    for name in ("{user_id}", "{request_id}", "{relation_id}", "{task_id}", "{comment_id}"):
        path = path.replace(name, "1")
    return path.replace("{token}", "x" * 43)


async def test_stopped_database_is_503(server_dir: Path) -> None:
    server = embedded.start(server_dir)
    try:
        url = server.url("postgres")  # a private server: its maintenance database will do
        PgServer(admin_url=url, pg_bin=embedded_pg_bin()).migrate(url)
        settings = settings_for(url, db_acquire_timeout_s=2.0)
        async with app_client(settings, (accounts.service, mentorship.service)) as client:
            server.stop()
            for method, path in _operations():
                short = path.removeprefix("/mentorship")
                body = BODIES.get(short, {"description": "d", "comment": "c"})
                headers = {"Authorization": f"Bearer {_access_token()}"}
                if short == "/refresh":
                    headers = {"Authorization": "Bearer some-refresh-token"}
                answer = await client.request(method, _concrete(path), json=body, headers=headers)
                assert answer.status_code == 503, (method, path, answer.text)
                assert set(answer.json()) == {"message"}, (method, path)
                assert answer.headers.get("retry-after"), (method, path)
    finally:
        server.stop()
