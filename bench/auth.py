"""What authentication costs: login latency (argon2id) and authenticated requests per second.

    python -m bench.auth [--seconds 10] [--connections 64] [--workers 2]

Serves Dockyard (DATABASE_URL when set, else the embedded PostgreSQL of the benchmarks), creates a
verified user, then measures:
- login: sequential POST /accounts/v1/login, p50 and p95 in ms (one argon2id verification each);
- GET /accounts/v1/me with a JWT access token and with an API token (the auth query + the user view);
- GET /accounts/v1/me without credentials (401 without touching the database: the budget
  middleware and error path alone), and /healthz as the no-auth baseline.
Writes bench/results/auth.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from dataclasses import asdict

import asyncpg
import httpx

from bench.common import BENCH_DATA, load, record, served
from dockyard.core import embedded

PASSWORD = "benchmark password"  # noqa: S105 - a throwaway account on a benchmark database
WIDE_BUDGETS = {
    "RATE_LIMIT_LOGIN": "1000000/minute",
    "RATE_LIMIT_REGISTER": "1000000/minute",
    "RATE_LIMIT_ANONYMOUS": "1000000000/day",
    "RATE_LIMIT_USER": "1000000000/day",
}


async def _verify(url: str, email: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE accounts.users SET email_verified_at = now() WHERE email = $1", email)
    finally:
        await conn.close()


def _database_url() -> tuple[str, embedded.EmbeddedPostgres | None]:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], None
    server = embedded.start(BENCH_DATA)
    return server.url(), server


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--logins", type=int, default=40)
    args = parser.parse_args()

    with served(args.workers, env=WIDE_BUDGETS) as base:
        url, server = _database_url()
        try:
            email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
            created = httpx.post(f"{base}/accounts/v1/register", json={"email": email, "password": PASSWORD})
            created.raise_for_status()
            asyncio.run(_verify(url, email))
        finally:
            if server is not None:
                server.stop()

        timings = []
        with httpx.Client(base_url=base) as client:
            for _ in range(args.logins):
                began = time.perf_counter()
                answer = client.post("/accounts/v1/login", json={"email": email, "password": PASSWORD})
                timings.append((time.perf_counter() - began) * 1000)
                answer.raise_for_status()
            access = answer.json()["access_token"]
            token = client.post(
                "/accounts/v1/me/tokens",
                json={"name": "bench", "scope": ["accounts.self"]},
                headers={"Authorization": f"Bearer {access}"},
            ).json()["token"]
        timings.sort()
        login = {
            "requests": len(timings),
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
        }
        print(
            f"login: p50 {login['p50_ms']} ms, p95 {login['p95_ms']} ms over {len(timings)} sequential logins"
        )

        cases = {
            "healthz": ("/healthz", None),
            "me_anonymous_401": ("/accounts/v1/me", None),
            "me_access_token": ("/accounts/v1/me", access),
            "me_api_token": ("/accounts/v1/me", token),
        }
        runs = {}
        for name, (path, credential) in cases.items():
            headers = {"Authorization": f"Bearer {credential}"} if credential else None
            load(base + path, seconds=2, connections=args.connections, headers=headers)  # warm-up
            result = load(base + path, seconds=args.seconds, connections=args.connections, headers=headers)
            runs[name] = asdict(result)
            print(
                f"{name}: {result.rps:,.0f} req/s, p50 {result.latency_p50_ms} ms, "
                f"p99 {result.latency_p99_ms} ms, non-2xx {result.errors} ({result.tool})"
            )
    path = record("auth", {"workers": args.workers, "login": login, "runs": runs})
    print(f"recorded {path}")


if __name__ == "__main__":
    main()
