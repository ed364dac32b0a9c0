"""The mentorship API on the bench data set: p95 of the busiest reads, login, and GET /users under load.

    DATABASE_URL=… python -m bench.mentorship [--requests 300] [--seconds 10] [--workers 2]

Seeds `dockyard db seed --size bench --service mentorship` first when needed (10,000 users, 50,000
relations, 200,000 tasks, 400,000 comments). Then, against `dockyard serve` (accounts and
mentorship only, the daily jobs off):
- login: sequential POST /mentorship/login, p50/p95 (one argon2id verification each);
- GET /mentorship/dashboard, /home and /users?search=<term>: sequential requests, each as one of 50
  users picked at random among those with relations, p50/p95/p99;
- GET /mentorship/users (first page, with X-Total-Count) at 16 connections: requests per second;
- for scale, the same sequential timing of GET /healthz and GET /accounts/v1/me, and each route's
  SQL run directly on one connection (the database's share of the request);
- the machine's load average, since the CPUs may be shared.
Writes bench/results/mentorship.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import time
from typing import Any

import asyncpg
import httpx

from bench.common import BENCH_DATA, DOCKYARD, load, record, served
from dockyard.core import embedded
from dockyard.mentorship import directory, overview
from dockyard.mentorship.seed import PASSWORD

WIDE_BUDGETS = {
    "RATE_LIMIT_LOGIN": "1000000/minute",
    "RATE_LIMIT_ANONYMOUS": "1000000000/day",
    "RATE_LIMIT_USER": "1000000000/day",
    "SERVICES": "accounts,mentorship",
    "MENTORSHIP_SCHEDULER": "false",
}
SEARCHES = ("grace", "ada", "hop", "lovelace", "li", "katherine_j", "mar", "x9y")


def _database_url() -> tuple[str, embedded.EmbeddedPostgres | None]:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], None
    server = embedded.start(BENCH_DATA)
    return server.url(), server


async def _people(url: str, count: int) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "VACUUM (ANALYZE) mentorship.profiles, mentorship.relations, mentorship.relation_parties, "
            "mentorship.tasks, mentorship.task_comments"
        )
        rows = await conn.fetch(
            "SELECT p.username FROM mentorship.profiles p JOIN accounts.users u ON u.id = p.user_id "
            "WHERE u.email_verified_at IS NOT NULL AND p.deleted_at IS NULL "
            "AND EXISTS (SELECT FROM mentorship.relation_parties rp WHERE rp.user_id = p.user_id) "
            "ORDER BY random() LIMIT $1",
            count,
        )
        return [row["username"] for row in rows]
    finally:
        await conn.close()


async def _sql_timings(url: str, usernames: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """Each route's statement on one connection (prepared, warm), p50/p95/p99."""
    conn = await asyncpg.connect(url)
    try:
        ids = [
            row["user_id"]
            for row in await conn.fetch(
                "SELECT user_id FROM mentorship.profiles WHERE username = ANY($1::text[])", usernames
            )
        ]
        rng = random.Random(2)
        timings: dict[str, list[float]] = {"dashboard": [], "home": [], "users_search": []}
        for _ in range(rounds):
            for name in timings:
                user_id = rng.choice(ids)
                began = time.perf_counter()
                if name == "dashboard":
                    await conn.fetchval(overview.DASHBOARD, user_id)
                elif name == "home":
                    await conn.fetchval(overview.HOME, user_id)
                else:
                    await directory.list_users(conn, user_id, directory.Search(search=rng.choice(SEARCHES)))
                timings[name].append((time.perf_counter() - began) * 1000)
        return {name: _percentiles(values[rounds // 10 :]) for name, values in timings.items()}
    finally:
        await conn.close()


def _percentiles(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    cut = statistics.quantiles(ordered, n=100)
    return {"p50_ms": round(cut[49], 2), "p95_ms": round(cut[94], 2), "p99_ms": round(cut[98], 2)}


def _timed(client: httpx.Client, method: str, path: str, **kwargs: Any) -> float:
    began = time.perf_counter()
    answer = client.request(method, path, **kwargs)
    elapsed = (time.perf_counter() - began) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    url, server = _database_url()
    try:
        env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(BENCH_DATA)}
        subprocess.run([DOCKYARD, "db", "migrate"], env=env, check=True)
        began = time.monotonic()
        subprocess.run(
            [DOCKYARD, "db", "seed", "--size", "bench", "--service", "mentorship"], env=env, check=True
        )
        seed_s = time.monotonic() - began
        people = asyncio.run(_people(url, 50))
        sql = asyncio.run(_sql_timings(url, people, args.requests))
    finally:
        if server is not None:
            server.stop()

    rng = random.Random(1)
    results: dict[str, Any] = {
        "data": "bench (10,000 users, 50,000 relations, 200,000 tasks, 400,000 comments)"
    }
    results["seed_or_check_s"] = round(seed_s, 1)
    results["sql_only"] = sql
    results["load_average_before"] = os.getloadavg()
    with (
        served(args.workers, env={**WIDE_BUDGETS, "DATABASE_URL": url}) as base,
        httpx.Client(base_url=base) as client,
    ):
        login_ms = [
            _timed(
                client,
                "POST",
                "/mentorship/login",
                json={"username": rng.choice(people), "password": PASSWORD},
            )
            for _ in range(args.logins)
        ]
        results["login"] = _percentiles(login_ms)
        tokens = []
        for username in people:
            answer = client.post("/mentorship/login", json={"username": username, "password": PASSWORD})
            tokens.append({"Authorization": f"Bearer {answer.json()['access_token']}"})
        for token in tokens:  # warm: each worker's prepared statements and the cache pages
            for path in ("/mentorship/dashboard", "/mentorship/home", "/mentorship/users?search=ada"):
                _timed(client, "GET", path, headers=token)
        for name, path in (("dashboard", "/mentorship/dashboard"), ("home", "/mentorship/home")):
            timings = [_timed(client, "GET", path, headers=rng.choice(tokens)) for _ in range(args.requests)]
            results[name] = _percentiles(timings)
        search = [
            _timed(
                client,
                "GET",
                "/mentorship/users",
                params={"search": rng.choice(SEARCHES)},
                headers=rng.choice(tokens),
            )
            for _ in range(args.requests)
        ]
        results["users_search"] = _percentiles(search)
        results["baseline_healthz"] = _percentiles(
            [_timed(client, "GET", "/healthz") for _ in range(args.requests)]
        )
        results["baseline_accounts_me"] = _percentiles(
            [
                _timed(client, "GET", "/accounts/v1/me", headers=rng.choice(tokens))
                for _ in range(args.requests)
            ]
        )
        results["users_16_connections"] = load(
            f"{base}/mentorship/users", seconds=args.seconds, connections=16, headers=tokens[0]
        )
    results["load_average_after"] = os.getloadavg()
    path = record("mentorship", results)
    p95 = {name: results[name]["p95_ms"] for name in ("dashboard", "home", "users_search", "login")}
    print(
        f"mentorship: p95 dashboard {p95['dashboard']} ms, home {p95['home']} ms, "
        f"users?search {p95['users_search']} ms, login {p95['login']} ms; "
        f"GET /users {results['users_16_connections'].rps:,.0f} req/s at 16 connections -> {path}"
    )


if __name__ == "__main__":
    main()
