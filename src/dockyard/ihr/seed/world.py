"""The synthetic Internet the IHR tables describe: networks, who depends on whom, and the clock.

Everything is drawn from `random.Random` instances seeded with fixed strings, so two runs build the
same world; only the timestamps move, anchored on the newest 15-minute boundary before now (UTC).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dockyard.ihr.seed.catalog import (
    CITIES,
    COUNTRIES,
    GENERATED_ASN_BASE,
    IXPS,
    NAME_STEMS,
    NETWORKS,
    TRANSIT_STEMS,
    Kind,
)

BINS_PER_DAY = 96
NOISE_LENGTH = 4099  # prime, so (bin * k + row) walks the whole table

# Tier-1 networks an AS of each region buys transit from first.
TIER1_BY_REGION: dict[str, tuple[int, ...]] = {
    "AS": (2914, 6453, 174, 3356, 1299),
    "OC": (2914, 6453, 3356, 174),
    "EU": (1299, 3356, 5511, 6762, 174, 3257),
    "NA": (3356, 174, 7018, 701, 6939, 6461, 3257),
    "SA": (3356, 6762, 1299, 174),
    "AF": (5511, 6762, 3356, 1299),
}
# Countries the generated networks are spread over, with weights.
GENERATED_COUNTRIES = {"JP": 6, "US": 8, "DE": 4, "FR": 4, "GB": 4, "NL": 3, "BR": 4, "IN": 3, "SG": 2}


@dataclass(frozen=True)
class Plan:
    """How much of each table one size holds.

    Hegemony, cones and network delay come every 15 minutes as in production (the IHR website breaks
    a delay line at any step over 30 minutes and expects 15-minute cones); Metis once a week.
    """

    days: int  # the window, back from the newest bin
    generated: int  # synthetic networks besides the catalog
    max_deps: int  # upstreams in an AS's local graph, besides the AS itself
    v6_share: float  # share of edge networks with IPv6 data
    cone_step: int  # minutes between bins
    country_step: int
    country_top: int  # ASes per country, weight scheme and transitonly
    prefix_step: int
    prefixes_v4: int  # IPv4 prefixes per origin AS, at most
    prefix_deps: int  # upstream rows per prefix besides the origin's own
    atlas_step: int
    atlas_ases: int  # AS locations the Atlas delays start from
    link_share: float  # chance an AS has a link delay (and forwarding) value in a bin
    hegemony_alarms: int
    atlas_alarms: int
    link_alarms: int
    disco_events: int
    metis_ranks: int
    tr_step: int
    tr_origins: int
    maintenance_mem: str  # for rebuilding the indexes after the load


PLANS: dict[str, Plan] = {
    "demo": Plan(
        days=9,
        generated=12,
        max_deps=3,
        v6_share=0.15,
        cone_step=15,
        country_step=180,
        country_top=3,
        prefix_step=360,
        prefixes_v4=2,
        prefix_deps=2,
        atlas_step=15,
        atlas_ases=24,
        link_share=0.2,
        hegemony_alarms=1500,
        atlas_alarms=800,
        link_alarms=600,
        disco_events=160,
        metis_ranks=20,
        tr_step=240,
        tr_origins=12,
        maintenance_mem="64MB",
    ),
    "bench": Plan(
        days=30,
        generated=1260,
        max_deps=4,
        v6_share=0.15,
        cone_step=15,
        country_step=60,
        country_top=5,
        prefix_step=120,
        prefixes_v4=3,
        prefix_deps=2,
        atlas_step=15,
        atlas_ases=200,
        link_share=0.3,
        hegemony_alarms=40_000,
        atlas_alarms=20_000,
        link_alarms=20_000,
        disco_events=4000,
        metis_ranks=100,
        tr_step=60,
        tr_origins=200,
        maintenance_mem="512MB",
    ),
}


@dataclass(frozen=True)
class City:
    name: str
    cc: str
    lat: float
    lon: float


@dataclass(eq=False)
class Network:
    """One AS and the base values its time series wobble around."""

    number: int
    name: str
    cc: str
    kind: Kind
    region: str
    city: City
    v6: bool
    tartiflette: bool
    disco: bool
    generated: bool
    global_hege: float = 0.0  # 0: absent from the global graph
    deps: list[tuple[int, float]] = field(default_factory=list)  # (upstream asn, base hege), decreasing
    cone: int = 0
    shift: int = 0  # phase in the daily wave, in bins
    slot: int = 0  # position in the world, which picks its address space

    def ipv4(self, host: int) -> str:
        """An address in the network's IPv4 /16."""
        return f"{20 + self.slot // 200}.{10 + self.slot % 200}.{host >> 8 & 0xFF}.{host & 0xFF}"

    def ipv6(self, host: int) -> str:
        """An address in the network's IPv6 /32."""
        return f"2a{self.slot >> 8 & 0xFF:02x}:{0x100 + (self.slot & 0xFF):x}::{host:x}"

    def prefixes(self, count: int, sizes: list[int]) -> list[str]:
        """The network's /16, then `count - 1` more-specifics of the given lengths (20, 22 or 24)."""
        blocks = [f"{self.ipv4(0)}/16"]
        blocks += [f"{self.ipv4(j << 12)}/{size}" for j, size in enumerate(sizes[: count - 1], start=1)]
        return blocks

    def prefix6(self) -> str:
        """The network's IPv6 /32."""
        return f"2a{self.slot >> 8 & 0xFF:02x}:{0x100 + (self.slot & 0xFF):x}::/32"

    @property
    def short(self) -> str:
        """The name's first word, as prefix descriptions use it."""
        return self.name.split(" ", 1)[0].split(",", 1)[0][:32]


@dataclass
class World:
    """The networks, countries and cities, the clock, and shared wobble tables."""

    plan: Plan
    end: datetime  # the newest 15-minute bin
    networks: list[Network]
    by_number: dict[int, Network]
    ixps: tuple[tuple[int, str, str], ...]
    countries: tuple[tuple[str, str, str], ...]
    cities: list[City]
    wave: list[float]  # one day of a smooth curve in [-1, 1], per 15-minute bin
    noise: list[float]  # standard normal draws, clipped to [-2.5, 2.5]

    def bins(self, step_minutes: int) -> list[datetime]:
        """Timebins every `step_minutes` (a divisor of a day) over the window, oldest first."""
        step = timedelta(minutes=step_minutes)
        midnight = self.end.replace(hour=0, minute=0)
        last = midnight + ((self.end - midnight) // step) * step
        count = self.plan.days * 1440 // step_minutes
        return [last - (count - 1 - i) * step for i in range(count)]

    def days(self) -> list[datetime]:
        """Every UTC midnight in the window, today's included, oldest first."""
        today = self.end.replace(hour=0, minute=0)
        return [today - timedelta(days=d) for d in range(self.plan.days, -1, -1)]

    def weeks(self) -> list[datetime]:
        """Every seventh UTC midnight back from today's, oldest first: one in any 7-day window."""
        return self.days()[::-1][::7][::-1]


def rng(topic: str) -> random.Random:
    """The random stream of one part of the world; each table has its own, so they are independent."""
    return random.Random(f"ihr-seed:{topic}")  # noqa: S311 - reproducible data, not secrets


def newest_bin(now: datetime | None = None) -> datetime:
    """The most recent 15-minute boundary at or before `now` (UTC)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)


def build_world(plan: Plan, now: datetime | None = None) -> World:
    """Draw the networks and their dependencies for `plan`."""
    draw = rng("world")
    region_of = {code: region for code, _, region in COUNTRIES}
    cities = [City(name, name.rsplit(", ", 1)[1], lat, lon) for name, lat, lon in CITIES]
    cities_in: dict[str, list[City]] = {}
    for city in cities:
        cities_in.setdefault(city.cc, []).append(city)

    def network(number: int, name: str, cc: str, kind: Kind, generated: bool) -> Network:
        big = kind == "tier1" or (kind == "content" and not generated)
        return Network(
            number=number,
            name=name,
            cc=cc,
            kind=kind,
            region=region_of[cc],
            city=draw.choice(cities_in[cc]),
            v6=big or draw.random() < (0.7 if kind == "transit" and not generated else plan.v6_share),
            tartiflette=draw.random() < (0.4 if generated else 0.92),
            disco=draw.random() < (0.5 if generated else 0.85),
            generated=generated,
            shift=draw.randrange(BINS_PER_DAY),
        )

    networks = [network(number, name, cc, kind, False) for number, name, cc, kind in NETWORKS]
    for number in (2497, 15169, 20712, 13335):
        for net in networks:
            if net.number == number:
                net.tartiflette = net.disco = net.v6 = True
    stems = list(GENERATED_COUNTRIES)
    weights = list(GENERATED_COUNTRIES.values())
    for i in range(plan.generated):
        cc = draw.choices(stems, weights)[0] if draw.random() < 0.7 else draw.choice(COUNTRIES)[0]
        roll = draw.random()
        kind: Kind = "transit" if roll < 0.12 else "content" if roll < 0.25 else "eyeball"
        stem = draw.choice(TRANSIT_STEMS if kind == "transit" else NAME_STEMS)
        networks.append(network(GENERATED_ASN_BASE + i, f"{stem}-{i + 1}, {cc}", cc, kind, True))
    by_number = {net.number: net for net in networks}
    for slot, net in enumerate(networks):
        net.slot = slot
    transit = [net for net in networks if net.kind == "transit"]
    for net in networks:
        _draw_dependencies(draw, net, _providers(net, transit), plan.max_deps)
        _draw_size(draw, net)
    for rank, net in enumerate(net for net in networks if net.kind == "tier1"):
        net.global_hege = 0.2 * 0.88**rank * draw.uniform(0.85, 1.15)
    return World(
        plan=plan,
        end=newest_bin(now),
        networks=networks,
        by_number=by_number,
        ixps=IXPS,
        countries=COUNTRIES,
        cities=cities,
        wave=[math.sin(2 * math.pi * i / BINS_PER_DAY) for i in range(BINS_PER_DAY)],
        noise=[max(-2.5, min(2.5, draw.gauss(0.0, 1.0))) for _ in range(NOISE_LENGTH)],
    )


def _providers(net: Network, transit: list[Network]) -> list[Network]:
    """Transit networks `net` may buy from: in its country, or else in its region."""
    domestic = [other for other in transit if other.cc == net.cc and other is not net]
    return domestic or [other for other in transit if other.region == net.region and other is not net]


def _draw_dependencies(draw: random.Random, net: Network, providers: list[Network], most: int) -> None:
    """The upstreams `net` depends on, by kind: tier-1s for the big ones, local transit for the rest."""
    tier1s = [number for number in TIER1_BY_REGION[net.region] if number != net.number]
    deps: dict[int, float] = {}
    if net.kind == "tier1":
        for number in draw.sample(tier1s, 2):
            deps[number] = draw.uniform(0.01, 0.08)
    elif net.kind == "content":
        for number in draw.sample(tier1s, 3):
            deps[number] = draw.uniform(0.03, 0.2)
    elif net.kind == "transit" and not net.generated:
        first, second, third = tier1s[0], draw.choice(tier1s[1:3]), draw.choice(tier1s[3:])
        deps[first] = draw.uniform(0.3, 0.6)
        deps[second] = draw.uniform(0.1, 0.3)
        deps[third] = draw.uniform(0.02, 0.1)
    else:
        if providers:
            primary = draw.choice(providers[:3])
            share = draw.uniform(0.55, 0.95)
            deps[primary.number] = share
            for number, hege in primary.deps[:2]:
                deps[number] = max(deps.get(number, 0.0), share * hege * draw.uniform(0.8, 1.0))
        if not providers or draw.random() < 0.6:
            deps[draw.choice(tier1s)] = draw.uniform(0.15, 0.45)
        for number in draw.sample(tier1s, 2):
            deps.setdefault(number, draw.uniform(0.01, 0.12))
    ranked = sorted(deps.items(), key=lambda item: -item[1])[:most]
    net.deps = [(number, round(min(0.78, max(0.001, hege)), 6)) for number, hege in ranked]


def _draw_size(draw: random.Random, net: Network) -> None:
    """Customer cone and weight in the global graph, by kind."""
    if net.kind == "tier1":
        net.cone = int(draw.uniform(12_000, 45_000))
    elif net.kind == "transit":
        net.cone = int(draw.uniform(40, 900) if net.generated else draw.uniform(800, 9000))
        net.global_hege = draw.uniform(0.0005, 0.005) if net.generated else draw.uniform(0.004, 0.04)
    elif net.kind == "content":
        net.cone = draw.randint(0, 40)
        net.global_hege = 10 ** draw.uniform(-4.5, -3) if draw.random() < 0.5 else 0.0
    elif net.generated:
        net.cone = draw.randint(0, 5)
        net.global_hege = 10 ** draw.uniform(-5, -3.5) if draw.random() < 0.3 else 0.0
    else:
        net.cone = draw.randint(10, 700)
        net.global_hege = 10 ** draw.uniform(-4, -2.5)
