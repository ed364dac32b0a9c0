"""Disconnection events (disco) with their probes, Metis probe selection and deployment rankings,
and traceroute hegemony."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from dockyard.ihr.seed.catalog import SUBDIVISIONS
from dockyard.ihr.seed.loader import Batches, Row, Table
from dockyard.ihr.seed.world import NOISE_LENGTH, Network, World, rng

METRICS = (("as_path_length", 2.2, 6.5), ("ip_hops", 7.0, 19.0), ("rtt", 35.0, 260.0))
DISCO_DAYS = 21  # disco events reach further back than the time series

# (id, mongoid, streamtype, streamname, start, end, avglevel, nbdiscoprobes, totalprobes, ongoing)
# followed by the probe rows.
Event = tuple[Row, list[Row]]


def tables(world: World) -> list[Table]:
    """Disco, Metis and traceroute hegemony tables, parents first."""
    events = disco_events(world)
    identifiers, edges = tr_graph(world)
    selection_rows = len(world.weeks()) * len(METRICS) * 2 * world.plan.metis_ranks
    return [
        Table(
            "ihr_disco_events",
            (
                "id",
                "mongoid",
                "streamtype",
                "streamname",
                "starttime",
                "endtime",
                "avglevel",
                "nbdiscoprobes",
                "totalprobes",
                "ongoing",
            ),
            lambda: iter([[event for event, _ in events]]),
            len(events),
        ),
        Table(
            "ihr_disco_probes",
            ("probe_id", "starttime", "endtime", "level", "ipv4", "prefixv4", "lat", "lon", "event_id"),
            lambda: iter([[probe for _, probes in events for probe in probes]]),
            sum(len(probes) for _, probes in events),
        ),
        Table(
            "ihr_metis_atlas_selection",
            ("timebin", "metric", "rank", "af", "mean", "asn_id"),
            lambda: metis(world, deployment=False),
            selection_rows,
        ),
        Table(
            "ihr_metis_atlas_deployment",
            ("timebin", "metric", "rank", "af", "mean", "nbsamples", "asn_id"),
            lambda: metis(world, deployment=True),
            selection_rows,
        ),
        Table(
            "ihr_tr_hegemony_identifier",
            ("id", "name", "type", "af"),
            lambda: iter([[(ident, name, kind, af) for (kind, name, af), ident in identifiers.items()]]),
            len(identifiers),
        ),
        Table(
            "ihr_tr_hegemony",
            ("timebin", "hege", "af", "nbsamples", "dependency_id", "origin_id"),
            lambda: tr_hegemony(world, edges),
            len(edges) * len(world.bins(world.plan.tr_step)),
        ),
    ]


def disco_events(world: World) -> list[Event]:
    """Outages of ASes, countries and regions over the last weeks; a few are still ongoing."""
    draw = rng("disco")
    span = timedelta(days=max(DISCO_DAYS, world.plan.days))
    watched = [net for net in world.networks if net.disco]
    showcase = [("asn", "20712"), ("asn", "20712"), ("country", "JP"), ("asn", "2497"), ("geo", "JP-13")]
    events: list[Event] = []
    for event_id in range(1, world.plan.disco_events + 1):
        recent = event_id <= len(showcase)
        if recent:
            streamtype, streamname = showcase[event_id - 1]
        else:
            roll = draw.random()
            if roll < 0.6:
                streamtype, streamname = "asn", str(draw.choice(watched).number)
            elif roll < 0.85:
                streamtype, streamname = "country", draw.choice(world.countries)[0]
            else:
                streamtype, streamname = "geo", draw.choice(SUBDIVISIONS)
        back = draw.uniform(0.1, 6.0) * 86400 if recent else draw.uniform(0, span.total_seconds())
        start = (world.end - timedelta(seconds=int(back))).replace(microsecond=0)
        length = timedelta(seconds=int(min(draw.expovariate(1 / 5400) + 600, 3 * 86400)))
        ongoing = start + length > world.end or (not recent and draw.random() < 0.02)
        end = world.end if ongoing else start + length
        probes = _disco_probes(draw, world, event_id, streamtype, streamname, start, end)
        levels = [probe[3] for probe in probes]
        event = (
            event_id,
            f"{draw.getrandbits(96):024x}",
            streamtype,
            streamname,
            start,
            end,
            round(sum(levels) / len(levels), 3),
            len(probes),
            len(probes) + draw.randint(0, 40),
            ongoing,
        )
        events.append((event, probes))
    return events


def _disco_probes(
    draw: random.Random,
    world: World,
    event_id: int,
    streamtype: str,
    streamname: str,
    start: datetime,
    end: datetime,
) -> list[Row]:
    """The Atlas probes that lost connectivity, inside the event's time span."""
    if streamtype == "asn":
        hosts = [world.by_number[int(streamname)]]
    else:
        code = streamname[:2]
        hosts = [net for net in world.networks if net.cc == code] or world.networks[:5]
    seconds = int((end - start).total_seconds())
    probes: list[Row] = []
    for _ in range(draw.randint(2, 12 if streamtype != "country" else 24)):
        net: Network = draw.choice(hosts)
        host = draw.randint(256, 65_000)
        address = net.ipv4(host)
        prefix = address.rsplit(".", 1)[0] + ".0/24"
        lead, trail = draw.randint(0, min(600, seconds // 4)), draw.randint(0, min(600, seconds // 4))
        probes.append(
            (
                draw.randint(1, 60_000),
                start + timedelta(seconds=lead),
                end - timedelta(seconds=trail),
                round(draw.uniform(4.0, 30.0), 3),
                address,
                prefix,
                round(net.city.lat + draw.uniform(-0.6, 0.6), 4),
                round(net.city.lon + draw.uniform(-0.6, 0.6), 4),
                event_id,
            )
        )
    return probes


def metis(world: World, *, deployment: bool) -> Batches:
    """Weekly rankings per metric and address family, as Metis publishes; the order drifts a little."""
    draw = rng("metis-deployment" if deployment else "metis-selection")
    ranks = world.plan.metis_ranks
    pools = {af: [net for net in world.networks if af == 4 or net.v6] for af in (4, 6)}
    scores = {
        (metric, af): [(net.number, draw.random()) for net in pools[af]]
        for metric, *_ in METRICS
        for af in (4, 6)
    }
    noise = world.noise
    for day, timebin in enumerate(world.weeks()):
        batch: list[Row] = []
        for metric, low, high in METRICS:
            for af in (4, 6):
                drifted = sorted(
                    scores[metric, af],
                    key=lambda item: -(item[1] + 0.05 * noise[(day * 131 + item[0]) % NOISE_LENGTH]),
                )
                for rank, (asn, _) in enumerate(drifted[:ranks]):
                    mean = round(high - (high - low) * rank / max(1, ranks) * draw.uniform(0.9, 1.0), 4)
                    if deployment:
                        batch.append((timebin, metric, rank, af, mean, draw.randint(50, 5000), asn))
                    else:
                        batch.append((timebin, metric, rank, af, mean, asn))
        yield batch


# (origin id, dependency id, af, base hege, base nbsamples)
TrEdge = tuple[int, int, int, float, int]


def tr_graph(world: World) -> tuple[dict[tuple[str, str, int], int], list[TrEdge]]:
    """Traceroute dependencies of some ASes on ASes, IXPs, IXP members and router IPs."""
    draw = rng("tr-hegemony")
    identifiers: dict[tuple[str, str, int], int] = {}

    def ident(kind: str, name: str, af: int) -> int:
        return identifiers.setdefault((kind, name, af), len(identifiers) + 1)

    showcase = [world.by_number[number] for number in (2497, 15169, 20712)]
    ranked = sorted(world.networks, key=lambda net: (net.generated, -net.cone))
    origins = (showcase + [net for net in ranked if net not in showcase])[: world.plan.tr_origins]
    edges: list[TrEdge] = []
    for net in origins:
        for af in (4, 6) if net.v6 else (4,):
            origin = ident("AS", str(net.number), af)
            samples = draw.randint(200, 8000)
            edges.append((origin, origin, af, 1.0, samples))
            for number, hege in net.deps:
                edges.append((origin, ident("AS", str(number), af), af, hege, int(samples * hege) + 1))
            _, ixp_name, _ = draw.choice(world.ixps)
            share = draw.uniform(0.05, 0.5)
            edges.append((origin, ident("IX", ixp_name, af), af, share, int(samples * share) + 1))
            if net.deps:
                provider, hege = net.deps[0]
                member = ident("MB", f"{provider}@{ixp_name}", af)
                edges.append((origin, member, af, share * 0.8, int(samples * share * 0.8) + 1))
                host = draw.randint(1, 4000)
                upstream = world.by_number[provider]
                router = upstream.ipv4(host) if af == 4 else upstream.ipv6(host)
                edges.append((origin, ident("IP", router, af), af, hege * 0.9, samples // 3 + 1))
    return identifiers, edges


def tr_hegemony(world: World, edges: list[TrEdge]) -> Batches:
    """Every edge in each bin, wobbling."""
    noise = world.noise
    for b, timebin in enumerate(world.bins(world.plan.tr_step)):
        yield [
            (
                timebin,
                min(1.0, hege * (1.0 + 0.03 * noise[(b * 5 + k) % NOISE_LENGTH])) if origin != dep else 1.0,
                af,
                max(1, int(samples * (1.0 + 0.05 * noise[(b * 3 + k) % NOISE_LENGTH]))),
                dep,
                origin,
            )
            for k, (origin, dep, af, hege, samples) in enumerate(edges)
        ]
