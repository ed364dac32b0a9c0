"""RIPE Atlas-side tables: locations and the delays between them, link delay and forwarding
magnitudes per AS, and their alarms with the measurements and probes behind them."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass

from dockyard.ihr.seed.catalog import WEBSITE_CITIES
from dockyard.ihr.seed.loader import Batches, Row, Table
from dockyard.ihr.seed.world import BINS_PER_DAY, NOISE_LENGTH, City, Network, World, rng

# Atlas built-in traceroute measurement ids; alarms also cite drawn 7-digit (anchoring) ids.
BUILTIN_MSMS = tuple(range(5001, 5031))


@dataclass(frozen=True)
class Location:
    """An Atlas location and the city its delays are computed from."""

    id: int
    type: str  # AS, CT, PB or IP
    name: str
    af: int
    city: City


DELAY_ALARM_COLUMNS = (
    "id",
    "timebin",
    "ip",
    "link",
    "medianrtt",
    "diffmedian",
    "deviation",
    "nbprobes",
    "msm_prb_ids",
    "asn_id",
)
FORWARDING_ALARM_COLUMNS = (
    "id",
    "timebin",
    "ip",
    "correlation",
    "responsibility",
    "pktdiff",
    "previoushop",
    "msm_prb_ids",
    "asn_id",
)

# (startpoint id, endpoint id, median, nbtracks, nbprobes, entropy, hop, phase)
Pair = tuple[int, int, float, int, int, float, int, int]


def tables(world: World) -> list[Table]:
    """The Atlas and link tables, parents first."""
    locations = atlas_locations(world)
    pairs = delay_pairs(world, locations)
    subjects = sum(1 for net in world.networks if net.tartiflette) + len(world.ixps)
    link_estimate = int(subjects * len(world.bins(15)) * world.plan.link_share)
    delay_alarms = link_alarms(world, "delay")
    forwarding_alarms = link_alarms(world, "forwarding")
    return [
        Table(
            "ihr_atlas_location",
            ("id", "name", "type", "af"),
            lambda: iter([[(loc.id, loc.name, loc.type, loc.af) for loc in locations]]),
            len(locations),
        ),
        Table(
            "ihr_atlas_delay",
            (
                "timebin",
                "median",
                "nbtracks",
                "nbprobes",
                "entropy",
                "hop",
                "nbrealrtts",
                "endpoint_id",
                "startpoint_id",
            ),
            lambda: atlas_delay(world, pairs),
            len(pairs) * len(world.bins(world.plan.atlas_step)),
        ),
        Table(
            "ihr_atlas_delay_alarms",
            ("timebin", "deviation", "endpoint_id", "startpoint_id"),
            lambda: atlas_alarms(world, locations, pairs),
            world.plan.atlas_alarms,
        ),
        Table(
            "ihr_delay",
            ("timebin", "magnitude", "asn_id"),
            lambda: magnitudes(world, "delay"),
            link_estimate,
        ),
        Table(
            "ihr_forwarding",
            ("timebin", "magnitude", "asn_id"),
            lambda: magnitudes(world, "forwarding"),
            link_estimate,
        ),
        Table(
            "ihr_delay_alarms",
            DELAY_ALARM_COLUMNS,
            lambda: iter([[alarm[:-1] for alarm in delay_alarms]]),
            len(delay_alarms),
        ),
        Table(
            "ihr_delay_alarms_msms",
            ("msmid", "probeid", "alarm_id"),
            lambda: msms(delay_alarms),
            sum(len(alarm[-1]) for alarm in delay_alarms),
        ),
        Table(
            "ihr_forwarding_alarms",
            FORWARDING_ALARM_COLUMNS,
            lambda: iter([[alarm[:-1] for alarm in forwarding_alarms]]),
            len(forwarding_alarms),
        ),
        Table(
            "ihr_forwarding_alarms_msms",
            ("msmid", "probeid", "alarm_id"),
            lambda: msms(forwarding_alarms),
            sum(len(alarm[-1]) for alarm in forwarding_alarms),
        ),
    ]


def atlas_locations(world: World) -> list[Location]:
    """Cities (CT), ASes (AS: the number as text), probes (PB: the probe id) and anchors (IP), per af."""
    draw = rng("atlas-locations")
    found: list[tuple[str, str, int, City]] = []
    for af in (4, 6):
        found += [("CT", city.name, af, city) for city in world.cities]
        for net in _measured(world):
            if af == 4 or net.v6:
                found.append(("AS", str(net.number), af, net.city))
        for probe in range(max(8, world.plan.atlas_ases // 2)):
            if af == 4 or probe % 2 == 0:
                found.append(("PB", str(1000 + probe * 997 % 60000), af, draw.choice(world.cities)))
        for net in _measured(world)[:12]:
            if af == 4 or net.v6:
                found.append(("IP", net.ipv4(257) if af == 4 else net.ipv6(1), af, net.city))
    return [Location(i, kind, name, af, city) for i, (kind, name, af, city) in enumerate(found, start=1)]


def _measured(world: World) -> list[Network]:
    """The networks with an Atlas AS location: the website's examples first, then in world order."""
    first = [world.by_number[number] for number in (2497, 15169, 13335, 20712)]
    rest = [net for net in world.networks if net not in first]
    return (first + rest)[: max(world.plan.atlas_ases, len(first))]


def delay_pairs(world: World, locations: list[Location]) -> list[Pair]:
    """AS→(AS 15169, the website's three cities, a home-region city), AS→AS, CT→CT, PB→CT, AS→IP."""
    draw = rng("atlas-pairs")
    index = {(loc.type, loc.name, loc.af): loc for loc in locations}
    cities = {af: [loc for loc in locations if loc.type == "CT" and loc.af == af] for af in (4, 6)}
    links: list[tuple[Location, Location]] = []
    for start in locations:
        af = start.af
        if start.type == "AS":
            ends = [index[("AS", "15169", af)]]
            ends += [index[("CT", name, af)] for name in WEBSITE_CITIES[: 3 if af == 4 else 1]]
            if af == 4:
                ends.append(draw.choice(cities[af]))
                if start.name != "13335":
                    ends.append(index[("AS", "13335", af)])
            links += [(start, end) for end in ends if end is not start]
        elif start.type == "CT" and start.name in WEBSITE_CITIES:
            links += [(start, end) for end in draw.sample(cities[af], 6) if end is not start]
        elif start.type == "PB":
            links += [(start, end) for end in draw.sample(cities[af], 2)]
        elif start.type == "IP":
            sources = [loc for loc in locations if loc.type == "AS" and loc.af == af]
            links += [(source, start) for source in draw.sample(sources, 2)]
    anycast = {str(net.number) for net in world.networks if net.kind == "content"}
    pairs: list[Pair] = []
    for start, end in dict.fromkeys(links):
        km = _distance(start.city, end.city)
        if end.type == "AS" and end.name in anycast:
            km = min(km, draw.uniform(50, 1500))
        median = 1.5 + km / 100 * draw.uniform(1.2, 1.8)
        hops = 4 + int(km / 1500) + draw.randint(0, 5)
        tracks = draw.randint(20, 400) if start.type == "AS" else draw.randint(3, 60)
        probes = max(1, tracks // draw.randint(3, 8))
        pairs.append(
            (start.id, end.id, median, tracks, probes, draw.uniform(0.4, 0.98), hops, draw.randrange(96))
        )
    return pairs


def _distance(a: City, b: City) -> float:
    """Great-circle distance in km."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def atlas_delay(world: World, pairs: list[Pair]) -> Batches:
    """Each pair's median RTT per bin, with a daily wave and jitter."""
    wave, noise = world.wave, world.noise
    per_step = world.plan.atlas_step // 15
    for b, timebin in enumerate(world.bins(world.plan.atlas_step)):
        phase, start = b * per_step, b * 11
        batch: list[Row] = []
        for k, (begin, end, median, tracks, probes, entropy, hops, shift) in enumerate(pairs):
            wobble = noise[(start + k) % NOISE_LENGTH]
            nbtracks = max(1, int(tracks * (1.0 + 0.1 * wobble)))
            value = median * (1.0 + 0.04 * wave[(phase + shift) % BINS_PER_DAY] + 0.015 * abs(wobble))
            batch.append((timebin, value, nbtracks, probes, entropy, hops, nbtracks * 6, end, begin))
        yield batch


def atlas_alarms(world: World, locations: list[Location], pairs: list[Pair]) -> Batches:
    """Sparse delay alarms, a share of them at deviation >= 20, most from AS startpoints."""
    draw = rng("atlas-alarms")
    bins = world.bins(world.plan.atlas_step)
    kinds = {loc.id: loc.type for loc in locations}
    from_as = [pair for pair in pairs if kinds[pair[0]] == "AS"]
    rows: list[Row] = []
    for _ in range(world.plan.atlas_alarms):
        begin, end, *_ = draw.choice(from_as if draw.random() < 0.8 else pairs)
        deviation = draw.uniform(20, 250) if draw.random() < 0.4 else draw.uniform(3, 20)
        rows.append((draw.choice(bins), round(deviation, 3), end, begin))
    yield rows


def magnitudes(world: World, kind: str) -> Batches:
    """Link delay or forwarding anomaly magnitude of the tartiflette ASes and IXPs, in some bins."""
    draw = rng(f"link-{kind}")
    share = world.plan.link_share
    numbers = [net.number for net in world.networks if net.tartiflette] + [ixp[0] for ixp in world.ixps]
    spread = 3.0 if kind == "delay" else 4.0
    for timebin in world.bins(15):
        batch: list[Row] = []
        for number in numbers:
            if draw.random() >= share:
                continue
            roll = draw.random()
            if roll < 0.02:
                magnitude = draw.uniform(3.0, 40.0)
            elif kind == "forwarding" and roll < 0.05:
                magnitude = -draw.uniform(0.0, 2.0)
            else:
                magnitude = draw.expovariate(spread)
            batch.append((timebin, round(magnitude, 4), number))
        yield batch


def link_alarms(world: World, kind: str) -> list[Row]:
    """Delay or forwarding alarms with explicit ids; each row ends with its [(msmid, probeid)]."""
    draw = rng(f"link-alarms-{kind}")
    bins = world.bins(15)
    subjects = [net for net in world.networks if net.tartiflette]
    alarms: list[Row] = []
    for alarm_id in range(1, world.plan.link_alarms + 1):
        net = draw.choice(subjects)
        v6 = draw.random() < 0.15
        ip = _router(draw, net, v6)
        msm_probes = _measurements(draw)
        grouped: dict[str, list[int]] = {}
        for msmid, probeid in msm_probes:
            grouped.setdefault(str(msmid), []).append(probeid)
        cited = json.dumps(grouped)
        timebin = draw.choice(bins)
        if kind == "delay":
            near = _router(draw, draw.choice(subjects) if draw.random() < 0.3 else net, v6)
            median = draw.uniform(2.0, 180.0)
            deviation = draw.uniform(20, 300) if draw.random() < 0.3 else draw.uniform(3, 20)
            diff = median * draw.uniform(0.05, 0.8)
            probes = len({probe for _, probe in msm_probes})
            row: Row = (alarm_id, timebin, ip, f"{near}-{ip}", median, diff, deviation, probes, cited)
        else:
            row = (
                alarm_id,
                timebin,
                ip,
                -draw.uniform(0.2, 1.0),
                draw.uniform(0.1, 1.0),
                draw.uniform(-60.0, 60.0),
                _router(draw, net, v6),
                cited,
            )
        alarms.append((*row, net.number, msm_probes))
    return alarms


def _router(draw: random.Random, net: Network, v6: bool) -> str:
    return net.ipv6(draw.randint(1, 4000)) if v6 else net.ipv4(draw.randint(1, 4000))


def _measurements(draw: random.Random) -> list[tuple[int, int]]:
    """The (msmid, probeid) pairs behind one alarm: built-in ids or 7-digit anchoring ones."""
    found: list[tuple[int, int]] = []
    for _ in range(draw.randint(1, 3)):
        msmid = draw.choice(BUILTIN_MSMS) if draw.random() < 0.6 else draw.randint(1_000_000, 9_999_999)
        found += [(msmid, draw.randint(1, 60_000)) for _ in range(draw.randint(1, 4))]
    return list(dict.fromkeys(found))


def msms(alarms: list[Row]) -> Batches:
    """One row per (msmid, probeid) an alarm cites."""
    yield [(msmid, probeid, alarm[0]) for alarm in alarms for msmid, probeid in alarm[-1]]
