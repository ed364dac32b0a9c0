"""The backups overview with 100 000 runs in the catalog (`dockyard db seed --size bench --service backups`).

    DATABASE_URL=… python -m bench.backups [--requests 60]

Serves Dockyard with SERVICES=accounts,backups on DATABASE_URL (seeded with the bench catalog if it
has no runs), makes a superuser, then fetches GET /backups/api/v1/overview and /checks one at a
time: p50/p95/max in ms, and the size of the answer. Writes bench/results/backups.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid

import asyncpg
import httpx

from bench.common import DOCKYARD, record, served

PASSWORD = "benchmark password"  # noqa: S105 - a throwaway account on a benchmark database


async def _runs(url: str) -> int | None:
    """Runs in the catalog, or None when the database is not migrated yet."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM backups.runs"))
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        return None
    finally:
        await conn.close()


def seed_catalog(env: dict[str, str]) -> None:
    """Migrate and seed DATABASE_URL when it does not hold the bench catalog (100,000 runs) yet."""
    runs = asyncio.run(_runs(env["DATABASE_URL"]))
    if runs is None:
        subprocess.run([DOCKYARD, "db", "migrate"], env=env, check=True, capture_output=True)
    if not runs or runs < 100_000:
        seed = [DOCKYARD, "db", "seed", "--size", "bench", "--service", "backups", "--force"]
        subprocess.run(seed, env=env, check=True)


def prepare(env: dict[str, str]) -> str:
    """Migrate and seed when needed; a new superuser's email."""
    seed_catalog(env)
    email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
    subprocess.run(
        [DOCKYARD, "user", "create-superuser", "--email", email, "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        env=env,
        capture_output=True,
    )
    return email


def bench_env() -> dict[str, str]:
    """The environment of the server under test: DATABASE_URL (required) and a JWT secret."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("set DATABASE_URL to the database to measure (it gets the bench catalog)")
    return {
        **os.environ,
        "DATABASE_URL": url,
        "JWT_SECRET": os.environ.get("JWT_SECRET") or secrets.token_urlsafe(48),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    env = bench_env()
    email = prepare(env)
    result: dict[str, object] = {}
    overview, checks = "/backups/api/v1/overview", "/backups/api/v1/checks"
    # Computed on every request, then as served by default (computed at most every 5 s per worker):
    # the second pass runs long enough to include several recomputations in its distribution.
    for label, cache_s, paths, seconds in (
        ("computed every time", "0", (overview, checks), 0.0),
        ("default 5 s overview cache", "5", (overview,), 20.0),
    ):
        with (
            served(
                1, env={"SERVICES": "accounts,backups", "BACKUPS_OVERVIEW_CACHE_S": cache_s, **env}
            ) as base,
            httpx.Client(base_url=base, timeout=60) as client,
        ):
            login = client.post("/accounts/v1/login", json={"email": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            for path in paths:
                measured = _measure(client, path, headers, args.requests, seconds)
                result[f"{path} ({label})"] = measured
                print(
                    f"{path} ({label}): {measured['requests']} requests, p50 {measured['p50_ms']} ms, "
                    f"p95 {measured['p95_ms']} ms, max {measured['max_ms']} ms, {measured['bytes']:,} bytes"
                )
    print(f"recorded {record('backups', {'runs': 100_000, 'results': result})}")


def _measure(
    client: httpx.Client, path: str, headers: dict[str, str], requests: int, seconds: float
) -> dict[str, float | int]:
    """One request at a time: `requests` of them, or as many as fit in `seconds` when that is set."""
    client.get(path, headers=headers).raise_for_status()  # warm-up
    timings, size = [], 0
    deadline = time.perf_counter() + seconds
    while len(timings) < requests or (seconds and time.perf_counter() < deadline):
        began = time.perf_counter()
        answer = client.get(path, headers=headers)
        timings.append((time.perf_counter() - began) * 1000)
        answer.raise_for_status()
        size = len(answer.content)
    timings.sort()
    return {
        "requests": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 1),
        "max_ms": round(timings[-1], 1),
        "bytes": size,
    }


if __name__ == "__main__":
    main()
