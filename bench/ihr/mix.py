"""Request paths for the IHR benchmark, drawn from what the data set actually holds."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import asyncpg

API = "/ihr/api/"
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def iso(value: dt.datetime) -> str:
    """The website's format: `toISOString()`."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def path(endpoint: str, **params: Any) -> str:
    return API + endpoint + "?" + urlencode(params, quote_via=quote, safe=",|")


@dataclass
class Sample:
    """What the benchmark picks from: the time span and keys present in the data."""

    first: dt.datetime
    last: dt.datetime
    origins: list[int]
    countries: list[str]
    as_locations: list[str]
    endpoint_keys: list[str]
    streamnames: list[str]
    global_rows_per_day: int
    hegemony_rows: int

    @classmethod
    async def read(cls, conn: asyncpg.Connection) -> Sample:
        span = await conn.fetchrow("SELECT min(timebin), max(timebin) FROM public.ihr_hegemony")
        if span is None or span[0] is None:
            raise RuntimeError("ihr_hegemony is empty: seed the bench data (dockyard db seed --size bench)")
        first, last = span[0], span[1]
        origins = [
            row[0]
            for row in await conn.fetch(
                "SELECT DISTINCT originasn_id FROM public.ihr_hegemony "
                "WHERE timebin = $1 AND originasn_id <> 0",
                last,
            )
        ]
        countries = [
            row[0] for row in await conn.fetch("SELECT DISTINCT country_id FROM public.ihr_hegemony_country")
        ]
        as_locations = [
            row[0]
            for row in await conn.fetch(
                "SELECT name FROM public.ihr_atlas_location WHERE type = 'AS' AND af = 4"
            )
        ]
        endpoint_keys = [
            f"{row[0]}{row[1]}{row[2]}"
            for row in await conn.fetch(
                "SELECT type, af, name FROM public.ihr_atlas_location "
                "WHERE type = 'CT' AND af = 4 ORDER BY id LIMIT 4"
            )
        ]
        streamnames = [
            row[0]
            for row in await conn.fetch("SELECT DISTINCT streamname FROM public.ihr_disco_events LIMIT 50")
        ]
        day_start = last - DAY
        global_rows = await conn.fetchval(
            "SELECT count(*) FROM public.ihr_hegemony WHERE originasn_id = 0 AND af = 4 "
            "AND timebin > $1 AND timebin <= $2",
            day_start,
            last,
        )
        total = await conn.fetchval(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = 'public.ihr_hegemony'::regclass"
        )
        return cls(
            first, last, origins, countries, as_locations, endpoint_keys, streamnames, global_rows, total
        )

    def describe(self) -> dict[str, Any]:
        return {
            "hegemony_rows_estimate": self.hegemony_rows,
            "first_timebin": self.first.isoformat(),
            "last_timebin": self.last.isoformat(),
            "local_graphs": len(self.origins),
            "global_graph_rows_per_day": self.global_rows_per_day,
        }

    def random_start(self, rng: random.Random, span: dt.timedelta) -> dt.datetime:
        seconds = max(0, int((self.last - self.first - span).total_seconds()))
        start = self.first + dt.timedelta(seconds=rng.randrange(seconds + 1))
        return start.replace(minute=start.minute - start.minute % 15, second=0)

    def window(self, rng: random.Random, span: dt.timedelta) -> dict[str, str]:
        start = self.random_start(rng, span)
        return {"timebin__gte": iso(start), "timebin__lte": iso(start + span)}

    def global_day_path(self) -> str:
        start = self.last - DAY
        return path(
            "hegemony/",
            originasn=0,
            af=4,
            timebin__gte=iso(start + dt.timedelta(minutes=15)),
            timebin__lte=iso(self.last),
            ordering="timebin",
        )

    def global_rows_path(self, rows: int) -> str:
        """The global graph over the fewest whole hours (from the end) holding about `rows` rows."""
        hours = math.ceil(rows / max(1, self.global_rows_per_day / 24))
        start = self.last - dt.timedelta(hours=hours) + dt.timedelta(minutes=15)
        return path(
            "hegemony/",
            originasn=0,
            af=4,
            timebin__gte=iso(start),
            timebin__lte=iso(self.last),
            ordering="timebin",
        )

    def hundred_thousand_path(self) -> str:
        """The global graph over enough days (at most 7) that page 1 holds 100 000 rows."""
        days = min(7, math.ceil(100_000 / max(1, self.global_rows_per_day)) + 1)
        return path(
            "hegemony/",
            originasn=0,
            af=4,
            timebin__gte=iso(self.last - days * DAY),
            timebin__lte=iso(self.last),
            ordering="timebin",
        )


def hegemony_1h(sample: Sample, rng: random.Random, count: int) -> list[str]:
    """Random one-hour windows of random local graphs (af 4), as the AS page's click tables."""
    return [
        path("hegemony/", originasn=rng.choice(sample.origins), af=4, **sample.window(rng, HOUR))
        for _ in range(count)
    ]


def website_mix(sample: Sample, rng: random.Random, count: int) -> list[str]:
    """The website's calls, weighted by how often its pages make them (specs/ihr-api.md §5)."""

    def as_page() -> str:
        asn = rng.choice(sample.origins)
        return path("hegemony/", originasn=asn, af=4, ordering="timebin", **sample.window(rng, 3 * DAY))

    def dependents() -> str:
        return path("hegemony/", asn=rng.choice(sample.origins), af=4, **sample.window(rng, HOUR / 4))

    def cones() -> str:
        return path(
            "hegemony/cones/",
            asn=rng.choice(sample.origins),
            af=4,
            ordering="timebin",
            **sample.window(rng, 3 * DAY),
        )

    def prefixes() -> str:
        return path("hegemony/prefixes/", originasn=rng.choice(sample.origins), **sample.window(rng, DAY))

    def country() -> str:
        return path(
            "hegemony/countries/", country=rng.choice(sample.countries), af=4, **sample.window(rng, 3 * DAY)
        )

    def network_delay() -> str:
        start = "|".join(
            f"AS4{name}" for name in rng.sample(sample.as_locations, min(2, len(sample.as_locations)))
        )
        return path(
            "network_delay/",
            startpoint_key=start,
            endpoint_key="|".join(sample.endpoint_keys),
            ordering="timebin",
            **sample.window(rng, 3 * DAY),
        )

    def hegemony_alarms() -> str:
        return path("hegemony/alarms/", deviation__gte=20, **sample.window(rng, 3 * DAY))

    def delay_alarms() -> str:
        return path(
            "network_delay/alarms/", deviation__gte=20, startpoint_type="AS", **sample.window(rng, 3 * DAY)
        )

    def disco() -> str:
        window = sample.window(rng, 7 * DAY)
        return path(
            "disco/events/",
            streamname=rng.choice(sample.streamnames),
            ordering="starttime",
            starttime__gte=window["timebin__gte"],
            endtime__lte=window["timebin__lte"],
        )

    def search() -> str:
        return path("networks/", search=str(rng.choice(sample.origins))[:3], ordering="number")

    def metis() -> str:
        return path("metis/atlas/selection/", rank__lte=10, af=4, metric="as_path_length", ordering="timebin")

    weighted = [
        (as_page, 3),
        (dependents, 3),
        (cones, 1),
        (prefixes, 1),
        (country, 1),
        (network_delay, 2),
        (hegemony_alarms, 1),
        (delay_alarms, 2),
        (disco, 2),
        (search, 1),
        (metis, 1),
    ]
    makers = [maker for maker, weight in weighted for _ in range(weight)]
    return [rng.choice(makers)() for _ in range(count)]
