"""Abuse resistance: login, registration and mail budgets, and the general API budgets (memory and Redis)."""

from __future__ import annotations

import random
import time

import pytest
from pydantic import SecretStr

from dockyard.core.config import Settings
from dockyard.core.errors import TooManyRequests
from dockyard.core.ratelimit import RateLimiter
from tests.accounts.conftest import PASSWORD, SERVICES, Accounts, new_email
from tests.support.app import app_client
from tests.support.redis import RedisServer

V1 = "/accounts/v1"


@pytest.fixture(autouse=True)
def clear_of_a_minute_boundary() -> None:
    """Start each test at least 15 s before the minute ends.

    Windows slide: right after a minute boundary the previous minute's hits count a little less
    than whole, so three hits made at 59.9 s no longer fill a 3/minute budget at 0.1 s. A test
    counting hits must not straddle a boundary.
    """
    seconds = time.time() % 60
    if seconds > 45:
        time.sleep(60 - seconds + 0.05)


def random_ip() -> str:
    """An address no earlier run has counted in a shared Redis."""
    return "10." + ".".join(str(random.randint(0, 255)) for _ in range(3))


def assert_throttled(answer: object, what: str) -> None:
    assert answer.status_code == 429, answer.text  # type: ignore[attr-defined]
    retry_after = int(answer.headers["retry-after"])  # type: ignore[attr-defined]
    assert 1 <= retry_after <= 60
    detail = answer.json()["detail"]  # type: ignore[attr-defined]
    assert detail.startswith(f"Too many {what}: the limit is ")
    assert f"Try again in {retry_after} s." in detail


async def test_login_brute_force_from_one_address_reaches_429_even_for_the_right_password(
    settings: Settings,
) -> None:
    narrow = settings.model_copy(update={"rate_limit_login": "5/minute"})
    async with app_client(narrow, SERVICES) as client:
        email = new_email("target")
        for _ in range(5):
            wrong = await client.post(f"{V1}/login", json={"email": email, "password": "guess guess"})
            assert wrong.status_code == 401
        blocked = await client.post(f"{V1}/login", json={"email": email, "password": PASSWORD})
        assert_throttled(blocked, "failed logins to this account from your address")
        assert "the limit is 5 per minute." in blocked.json()["detail"]


async def test_registration_is_limited_per_address(settings: Settings) -> None:
    narrow = settings.model_copy(update={"rate_limit_register": "2/minute"})
    async with app_client(narrow, SERVICES) as client:
        for _ in range(2):
            ok = await client.post(f"{V1}/register", json={"email": new_email(), "password": PASSWORD})
            assert ok.status_code == 202
        blocked = await client.post(f"{V1}/register", json={"email": new_email(), "password": PASSWORD})
        assert_throttled(blocked, "registrations")


async def test_mail_requests_are_limited_per_account_and_address(settings: Settings, users: Accounts) -> None:
    narrow = settings.model_copy(update={"rate_limit_mail": "2/hour"})
    _, email = await users.user()
    async with app_client(narrow, SERVICES) as client:
        for path in (f"{V1}/password/reset", f"{V1}/verify/resend"):
            assert (await client.post(path, json={"email": email})).status_code == 202
        blocked = await client.post(f"{V1}/password/reset", json={"email": email.upper()})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 60  # an hourly budget


async def test_anonymous_budget_counts_per_address_and_spares_probes(settings: Settings) -> None:
    narrow = settings.model_copy(update={"rate_limit_anonymous": "3/minute"})
    async with app_client(narrow, SERVICES) as client:
        for _ in range(3):
            assert (await client.get("/demo/whoami")).status_code == 200
        assert_throttled(await client.get("/demo/whoami"), "requests")
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 200


async def test_authenticated_callers_have_their_own_budget(settings: Settings, users: Accounts) -> None:
    _, headers = await users.bearer()
    narrow = settings.model_copy(update={"rate_limit_anonymous": "1/minute", "rate_limit_user": "3/minute"})
    async with app_client(narrow, SERVICES) as client:
        assert (await client.get("/demo/whoami")).status_code == 200
        assert (await client.get("/demo/whoami")).status_code == 429  # anonymous budget spent
        for _ in range(3):
            assert (await client.get("/demo/whoami", headers=headers)).status_code == 200
        assert_throttled(await client.get("/demo/whoami", headers=headers), "requests")


async def test_api_token_callers_are_charged_per_user(settings: Settings, users: Accounts) -> None:
    _, headers = await users.bearer()
    token = (await users.client.post(f"{V1}/me/tokens", json={"name": "t"}, headers=headers)).json()["token"]
    narrow = settings.model_copy(update={"rate_limit_user": "2/minute"})
    shared = RateLimiter()
    counts = []
    for _ in range(3):  # three addresses, one user
        async with app_client(narrow, SERVICES, client_ip=random_ip()) as client:
            client.app.state.auth.limiter = shared
            answer = await client.get("/demo/whoami", headers={"Authorization": f"Bearer {token}"})
            counts.append(answer.status_code)
    assert counts == [200, 200, 429]


async def test_redis_counters_are_shared_between_workers(settings: Settings, redis: RedisServer) -> None:
    on_redis = settings.model_copy(update={"redis_url": SecretStr(redis.url), "rate_limit_login": "4/minute"})
    email = new_email("redis")
    ip = random_ip()
    async with (
        app_client(on_redis, SERVICES, client_ip=ip) as first,
        app_client(on_redis, SERVICES, client_ip=ip) as second,
    ):
        answers = []
        for client in (first, second, first, second, first):
            answers.append(await client.post(f"{V1}/login", json={"email": email, "password": "guess guess"}))
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert_throttled(answers[-1], "failed logins to this account from your address")


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_limiter_counts_and_clears(backend: str, redis: RedisServer) -> None:
    limiter = RateLimiter(redis.url if backend == "redis" else None)
    key = random_ip()
    await limiter.hit("probe", "2/minute;3/hour", key)
    await limiter.hit("probe", "2/minute;3/hour", key)
    with pytest.raises(TooManyRequests) as caught:
        await limiter.hit("probe", "2/minute;3/hour", key)
    assert caught.value.headers["Retry-After"] == str(int(caught.value.headers["Retry-After"]))
    await limiter.hit("probe", "2/minute;3/hour", random_ip())  # keys are independent
    await limiter.clear("probe", "2/minute;3/hour", key)
    await limiter.hit("probe", "2/minute;3/hour", key)


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_limiter_checks_takes_and_tells_what_is_used(backend: str, redis: RedisServer) -> None:
    """check() refuses without counting, take() counts only what fits, used() reads the count."""
    limiter = RateLimiter(redis.url if backend == "redis" else None)
    key = random_ip()
    await limiter.check("probe", "2/minute", key)
    assert await limiter.used("probe", "2/minute", key) == 0, "checking counts nothing"
    assert [await limiter.take("probe", "2/minute", key) for _ in range(3)] == [True, True, False]
    assert await limiter.used("probe", "2/minute", key) == 2
    with pytest.raises(TooManyRequests) as caught:
        await limiter.check("probe", "2/minute", key, what="tries")
    assert caught.value.detail.startswith("Too many tries: the limit is 2 per minute.")
    await limiter.check("probe", "2/minute", random_ip())
