"""Seeding: each service's generator runs once per size, in a transaction, and is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter

from dockyard.core.seeds import Progress
from dockyard.core.services import Service
from dockyard.seeding import seed
from tests.support.postgres import PgServer


@pytest.fixture
def db(pg: PgServer) -> Iterator[str]:
    with pg.fresh_database("dy_seed") as url:
        pg.migrate(url)
        pg.psql(url, "CREATE TABLE public.widgets (id int PRIMARY KEY)")
        yield url


calls: list[str] = []


async def widgets(conn: Any, size: str, progress: Progress) -> int:
    calls.append(size)
    count = 5 if size == "demo" else 50
    await conn.execute("INSERT INTO public.widgets SELECT generate_series(1, $1)", count)
    progress(count, count)
    return count


async def broken(conn: Any, size: str, progress: Progress) -> int:
    await conn.execute("INSERT INTO public.widgets VALUES (1000)")
    raise RuntimeError("generator failed half-way")


def service(name: str, seeder: Any) -> Service:
    return Service(
        name=name, title=name, description="", router=APIRouter(), prefix=f"/{name}", seeder=seeder
    )


async def test_runs_once_per_size_and_records(db: str, pg: PgServer) -> None:
    calls.clear()
    assert await seed(db, [service("widgets", widgets)], size="demo") == {"widgets": 5}
    assert await seed(db, [service("widgets", widgets)], size="demo") == {}
    assert calls == ["demo"]
    assert pg.psql(db, "SELECT service, size, rows FROM core.seed_runs") == "widgets|demo|5"
    assert pg.psql(db, "SELECT count(*) FROM public.widgets") == "5"


async def test_force_runs_again(db: str, pg: PgServer) -> None:
    await seed(db, [service("widgets", widgets)], size="demo")
    pg.psql(db, "TRUNCATE public.widgets")
    assert await seed(db, [service("widgets", widgets)], size="demo", force=True) == {"widgets": 5}
    assert pg.psql(db, "SELECT count(*) FROM public.widgets") == "5"


async def test_demo_is_not_loaded_over_bench_data(db: str, pg: PgServer) -> None:
    widgets_service = service("widgets", widgets)
    assert await seed(db, [widgets_service], size="demo") == {"widgets": 5}
    pg.psql(db, "TRUNCATE public.widgets")
    assert await seed(db, [widgets_service], size="bench") == {"widgets": 50}
    assert pg.psql(db, "SELECT size FROM core.seed_runs WHERE service = 'widgets'") == "bench"
    assert await seed(db, [widgets_service], size="demo") == {}, "the bench data set stays"
    assert pg.psql(db, "SELECT count(*) FROM public.widgets") == "50"
    pg.psql(db, "TRUNCATE public.widgets")
    assert await seed(db, [widgets_service], size="demo", force=True) == {"widgets": 5}
    assert pg.psql(db, "SELECT size FROM core.seed_runs WHERE service = 'widgets'") == "demo"


async def test_failed_generator_leaves_nothing(db: str, pg: PgServer) -> None:
    with pytest.raises(RuntimeError, match="half-way"):
        await seed(db, [service("broken", broken)], size="demo")
    assert pg.psql(db, "SELECT count(*) FROM public.widgets") == "0"
    assert pg.psql(db, "SELECT count(*) FROM core.seed_runs") == "0"


async def test_services_without_generators_are_skipped(db: str) -> None:
    assert await seed(db, [service("quiet", None)], size="bench") == {}
