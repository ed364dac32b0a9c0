"""BGP-side tables: networks, countries, AS hegemony (global and local graphs), cones, alarms,
country hegemony and prefix hegemony."""

from __future__ import annotations

import random

from dockyard.ihr.seed.catalog import GLOBAL_GRAPH
from dockyard.ihr.seed.loader import Batches, Row, Table
from dockyard.ihr.seed.world import BINS_PER_DAY, NOISE_LENGTH, World, rng

# (asn, originasn, af, base hege, phase, daily amplitude, jitter)
Series = tuple[int, int, int, float, int, float, float]

RPKI = (("Valid", 0.62), ("NotFound", 0.3), ("Invalid", 0.04), ("Invalid,more-specific", 0.04))
IRR = (("Valid", 0.72), ("NotFound", 0.23), ("Invalid", 0.05))
DELEGATED_PREFIX = (("assigned", 0.94), ("available", 0.04), ("reserved", 0.02))
DELEGATED_ASN = (("assigned", 0.96), ("available", 0.04))


def tables(world: World) -> list[Table]:
    """The BGP-side tables, parents first."""
    series = hegemony_series(world)
    hegemony_bins = len(world.bins(15))
    cones = [(net.number, af) for net in world.networks for af in ((4, 6) if net.v6 else (4,))]
    countries = country_rankings(world)
    prefixes = prefix_plan(world)
    prefix_rows = sum(1 + len(prefix[4]) for prefix in prefixes)
    return [
        Table(
            "ihr_asn",
            ("number", "name", "tartiflette", "disco", "ashash"),
            lambda: asns(world),
            len(world.networks) + len(world.ixps) + 1,
        ),
        Table(
            "ihr_country",
            ("code", "name", "tartiflette", "disco"),
            lambda: countries_rows(world),
            len(world.countries),
        ),
        Table(
            "ihr_hegemony",
            ("timebin", "hege", "af", "asn_id", "originasn_id"),
            lambda: hegemony(world, series),
            len(series) * hegemony_bins,
        ),
        Table(
            "ihr_hegemonycone",
            ("timebin", "conesize", "af", "asn_id"),
            lambda: hegemony_cones(world, cones),
            len(cones) * len(world.bins(world.plan.cone_step)),
        ),
        Table(
            "ihr_hegemony_alarms",
            ("timebin", "deviation", "af", "asn_id", "originasn_id"),
            lambda: hegemony_alarms(world, series),
            world.plan.hegemony_alarms,
        ),
        Table(
            "ihr_hegemony_country",
            ("timebin", "hege", "af", "weight", "weightscheme", "transitonly", "asn_id", "country_id"),
            lambda: country_hegemony(world, countries),
            len(countries) * len(world.bins(world.plan.country_step)),
        ),
        Table(
            "ihr_hegemony_prefix",
            (
                "id",
                "timebin",
                "prefix",
                "hege",
                "af",
                "visibility",
                "rpki_status",
                "irr_status",
                "delegated_prefix_status",
                "delegated_asn_status",
                "descr",
                "moas",
                "asn_id",
                "country_id",
                "originasn_id",
            ),
            lambda: prefix_hegemony(world, prefixes),
            prefix_rows * len(world.bins(world.plan.prefix_step)),
        ),
    ]


def asns(world: World) -> Batches:
    """The global graph (0), every network, and the IXPs (negative numbers)."""
    rows: list[Row] = [(GLOBAL_GRAPH[0], GLOBAL_GRAPH[1], False, False, True)]
    rows += [(net.number, net.name, net.tartiflette, net.disco, True) for net in world.networks]
    rows += [(number, name, True, False, False) for number, name, _ in world.ixps]
    yield rows


def countries_rows(world: World) -> Batches:
    """Every country of the catalog; a few are not covered by delay/forwarding or disco."""
    draw = rng("countries")
    yield [(code, name, draw.random() < 0.9, draw.random() < 0.9) for code, name, _ in world.countries]


def hegemony_series(world: World) -> list[Series]:
    """Every (asn, originasn, af) the hegemony table has a value for in each 15-minute bin."""
    draw = rng("hegemony")
    series: list[Series] = []
    for af in (4, 6):
        for net in world.networks:
            if net.global_hege and (af == 4 or net.v6):
                series.append((net.number, 0, af, net.global_hege, net.shift, draw.uniform(0.02, 0.08), 0.03))
        for net in world.networks:
            if af == 6 and not net.v6:
                continue
            series.append((net.number, net.number, af, 1.0, 0, 0.0, 0.0))
            for number, hege in net.deps if af == 4 else net.deps[:-1]:
                if af == 6 and not world.by_number[number].v6:
                    continue
                base = hege if af == 4 else min(0.78, hege * draw.uniform(0.8, 1.2))
                amplitude, jitter = draw.uniform(0.01, 0.06), draw.uniform(0.005, 0.03)
                series.append((number, net.number, af, base, draw.randrange(BINS_PER_DAY), amplitude, jitter))
    return series


def hegemony(world: World, series: list[Series]) -> Batches:
    """One batch per 15-minute bin: each series' base value with a daily wave and some jitter."""
    wave, noise = world.wave, world.noise
    for b, timebin in enumerate(world.bins(15)):
        start = b * 31
        yield [
            (
                timebin,
                base
                * (1.0 + amp * wave[(b + shift) % BINS_PER_DAY] + jit * noise[(start + k) % NOISE_LENGTH]),
                af,
                asn,
                origin,
            )
            for k, (asn, origin, af, base, shift, amp, jit) in enumerate(series)
        ]


def hegemony_cones(world: World, cones: list[tuple[int, int]]) -> Batches:
    """Customer cone sizes: tier-1s in the tens of thousands, stubs a handful, drifting slowly."""
    by_number, noise = world.by_number, world.noise
    bases = [(asn, af, by_number[asn].cone * (0.97 if af == 6 else 1.0)) for asn, af in cones]
    for b, timebin in enumerate(world.bins(world.plan.cone_step)):
        start = b * 17
        yield [
            (timebin, max(0, round(base * (1.0 + 0.004 * noise[(start + k) % NOISE_LENGTH]))), af, asn)
            for k, (asn, af, base) in enumerate(bases)
        ]


def hegemony_alarms(world: World, series: list[Series]) -> Batches:
    """Sparse alarms on local-graph dependencies: large rises and drops, and moderate ones."""
    draw = rng("hegemony-alarms")
    bins = world.bins(15)
    edges = [entry for entry in series if entry[1] not in (0, entry[0])]
    batch: list[Row] = []
    for _ in range(world.plan.hegemony_alarms):
        asn, origin, af, *_ = draw.choice(edges)
        roll = draw.random()
        if roll < 0.3:
            deviation = draw.uniform(20, 160)
        elif roll < 0.55:
            deviation = -draw.uniform(20, 120)
        else:
            deviation = draw.uniform(-20, 20)
        batch.append((draw.choice(bins), round(deviation, 3), af, asn, origin))
        if len(batch) == 10_000:
            yield batch
            batch = []
    yield batch


def country_rankings(world: World) -> list[tuple[str, int, int, str, bool, float, float]]:
    """(country, asn, af, weightscheme, transitonly, base hege, weight) for each country's top ASes."""
    draw = rng("country-hegemony")
    top = world.plan.country_top
    rankings: list[tuple[str, int, int, str, bool, float, float]] = []
    for code, _, region in world.countries:
        home = [net for net in world.networks if net.cc == code]
        transit = [net for net in home if net.kind in ("tier1", "transit")]
        eyeball = [net for net in home if net.kind == "eyeball"]
        upstream: dict[int, float] = {}
        for net in home:
            for number, hege in net.deps:
                upstream[number] = upstream.get(number, 0.0) + hege
        if not upstream:
            regional = [net for net in world.networks if net.region == region and net.kind == "transit"]
            pool = regional or [net for net in world.networks if net.kind == "tier1"]
            upstream = {net.number: draw.uniform(0.2, 1.0) for net in draw.sample(pool, min(3, len(pool)))}
        ranked = [number for number, _ in sorted(upstream.items(), key=lambda item: -item[1])]
        ranked = [net.number for net in transit if net.number not in ranked] + ranked
        weight_as = float(max(1, len(home)) * draw.randint(8, 40))
        for af in (4, 6):
            if af == 6 and not any(net.v6 for net in home):
                continue
            for scheme in ("as", "eyeball"):
                weight = weight_as if scheme == "as" else round(draw.uniform(40.0, 99.5), 2)
                for transitonly in (False, True):
                    chosen = ranked[:top]
                    if not transitonly and scheme == "eyeball" and eyeball:
                        chosen = [eyeball[0].number, *ranked[: top - 1]]
                    hege = draw.uniform(0.45, 0.9)
                    for asn in chosen:
                        rankings.append((code, asn, af, scheme, transitonly, round(hege, 6), weight))
                        hege *= draw.uniform(0.35, 0.8)
    return rankings


def country_hegemony(world: World, rankings: list[tuple[str, int, int, str, bool, float, float]]) -> Batches:
    """Every country's rankings in each bin, wobbling."""
    noise = world.noise
    for b, timebin in enumerate(world.bins(world.plan.country_step)):
        start = b * 13
        yield [
            (
                timebin,
                min(1.0, hege * (1.0 + 0.03 * noise[(start + k) % NOISE_LENGTH])),
                af,
                weight,
                scheme,
                transitonly,
                asn,
                code,
            )
            for k, (code, asn, af, scheme, transitonly, hege, weight) in enumerate(rankings)
        ]


# prefix, af, origin, country, [(upstream, hege)], visibility, rpki, irr, delegated prefix/asn, descr, moas
Prefix = tuple[str, int, int, str, list[tuple[int, float]], float, str, str, str, str, str, bool]


def prefix_plan(world: World) -> list[Prefix]:
    """A few IPv4 (and IPv6) prefixes per origin AS, with their routing statuses."""
    draw = rng("prefixes")
    per_country: dict[str, list[int]] = {}
    prefixes: list[Prefix] = []
    for net in world.networks:
        sizes = [draw.choice((20, 22, 24)) for _ in range(world.plan.prefixes_v4)]
        names = net.prefixes(draw.randint(1, world.plan.prefixes_v4), sizes)
        if net.v6:
            names.append(net.prefix6())
        deps = net.deps[: world.plan.prefix_deps]
        for name in names:
            per_country.setdefault(net.cc, []).append(len(prefixes))
            rpki = _pick(draw, RPKI)
            if rpki == "Invalid,more-specific" and name.endswith(("/16", "/32")):
                rpki = "Invalid"
            prefixes.append(
                (
                    name,
                    6 if ":" in name else 4,
                    net.number,
                    net.cc,
                    deps,
                    round(draw.uniform(60.0, 100.0) if draw.random() < 0.2 else draw.uniform(97.0, 100.0), 2),
                    rpki,
                    _pick(draw, IRR),
                    _pick(draw, DELEGATED_PREFIX),
                    _pick(draw, DELEGATED_ASN),
                    net.short,
                    draw.random() < 0.03,
                )
            )
    for indexes in per_country.values():
        _ensure_each_status(draw, prefixes, indexes)
    return prefixes


def _pick(draw: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return draw.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


def _ensure_each_status(draw: random.Random, prefixes: list[Prefix], indexes: list[int]) -> None:
    """Give each country at least one prefix the website's status filters find."""
    for field, value in ((6, "Invalid"), (7, "Invalid"), (8, "available"), (9, "available")):
        if not any(prefixes[i][field] == value for i in indexes):
            i = draw.choice(indexes)
            changed = list(prefixes[i])
            changed[field] = value
            prefixes[i] = tuple(changed)  # type: ignore[assignment]


def prefix_hegemony(world: World, prefixes: list[Prefix]) -> Batches:
    """Per bin, each prefix's origin row (hege 1) and its main upstreams' rows."""
    noise = world.noise
    next_id = 1
    for b, timebin in enumerate(world.bins(world.plan.prefix_step)):
        batch: list[Row] = []
        for k, (name, af, origin, cc, deps, vis, *status) in enumerate(prefixes):
            batch.append((next_id, timebin, name, 1.0, af, vis, *status, origin, cc, origin))
            next_id += 1
            for j, (asn, hege) in enumerate(deps):
                value = min(1.0, hege * (1.0 + 0.02 * noise[(b * 7 + k * 3 + j) % NOISE_LENGTH]))
                batch.append((next_id, timebin, name, value, af, vis, *status, asn, cc, origin))
                next_id += 1
        yield batch
