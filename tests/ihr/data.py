"""A small, hand-made IHR data set whose every row the endpoint tests can predict.

Fixed days (2024-05-01 and 2024-05-02, every 15 minutes) for range queries, plus a few rows
relative to today for the default-window rules. Values are exact binary fractions, so a test can
compare floats with ==, and include 1.0 and 0.1 to check how floats are printed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

UTC = dt.UTC
DAY = dt.datetime(2024, 5, 1, tzinfo=UTC)
QUARTER = dt.timedelta(minutes=15)
BINS = [DAY + i * QUARTER for i in range(192)]  # 2024-05-01T00:00 .. 2024-05-02T23:45
TODAY = dt.datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
RECENT = [TODAY - dt.timedelta(days=1) + i * QUARTER for i in range(4)]
TOO_OLD_FOR_DEFAULT = TODAY - dt.timedelta(days=8)

ASNS = {
    0: "IHR global graph",
    2497: "IIJ Internet Initiative Japan Inc., JP",
    174: "COGENT-174, US",
    1299: "TWELVE99 Arelion, SE",
    15169: "GOOGLE, US",
    20712: "ANDREWS-AS Andrews & Arnold Ltd, GB",
    -1: 'DE-CIX "Frankfurt"',
}
COUNTRIES = {"JP": "Japan", "FR": "France", "US": "United States"}

# Local graph of AS2497 (af 4) and the global graph, every bin of both days.
LOCAL_2497 = {2497: 1.0, 174: 0.25, 1299: 0.125}
GLOBAL = {174: 0.5, 1299: 0.375}
HEGEMONY_V6 = {2497: 1.0, 174: 0.1}  # af 6, the first 4 bins only
HEGEMONY_PER_DAY_2497 = 96 * len(LOCAL_2497)

LOCATIONS = [
    # id, name, type, af
    (1, "2497", "AS", 4),
    (2, "15169", "AS", 4),
    (3, "Amsterdam, North Holland, NL", "CT", 4),
    (4, "New York City, New York, US", "CT", 4),
    (5, "2497", "AS", 6),
]

TR_IDENTIFIERS = [
    (1, "2497", "AS", 4),
    (2, "174", "AS", 4),
    (3, "DE-CIX", "IX", 4),
    (4, "2001:db8::1", "IP", 6),
]


# prefix, originasn, country, asn, hege, rpki, irr, delegated prefix, delegated asn, moas (first bin, af 4).
PREFIXES = [
    ("192.0.2.0/24", 2497, "JP", 2497, 1.0, "Valid", "Valid", "assigned", "assigned", False),
    (
        "198.51.100.0/24",
        2497,
        "JP",
        174,
        0.25,
        "Invalid,more-specific",
        "NotFound",
        "assigned",
        "assigned",
        True,
    ),
    ("203.0.113.0/24", 15169, "US", 15169, 1.0, "NotFound", "Invalid", "available", "available", False),
]


def _hegemony_rows() -> list[tuple[Any, ...]]:
    rows = []
    for timebin in BINS:
        rows += [(timebin, hege, 4, asn, 2497) for asn, hege in LOCAL_2497.items()]
        rows += [(timebin, hege, 4, asn, 0) for asn, hege in GLOBAL.items()]
    for timebin in BINS[:4]:
        rows += [(timebin, hege, 6, asn, 2497) for asn, hege in HEGEMONY_V6.items()]
    for timebin in RECENT:
        rows.append((timebin, 0.75, 4, 174, 2497))
    rows.append((TOO_OLD_FOR_DEFAULT, 0.75, 4, 174, 2497))
    return [(index + 1, *row) for index, row in enumerate(rows)]


async def load(conn: asyncpg.Connection) -> None:
    """Fill the IHR tables of a migrated, empty database with the data set above."""
    copy = conn.copy_records_to_table
    await copy("ihr_asn", records=[(n, name, True, n != 0, True) for n, name in ASNS.items()])
    await copy("ihr_country", records=[(code, name, True, True) for code, name in COUNTRIES.items()])
    await copy(
        "ihr_hegemony",
        records=_hegemony_rows(),
        columns=["id", "timebin", "hege", "af", "asn_id", "originasn_id"],
    )
    await copy(
        "ihr_hegemonycone",
        records=[(i + 1, t, 3000 + i, 4, 174) for i, t in enumerate(BINS[::4])]
        + [(1000 + i, t, 2, 4, 2497) for i, t in enumerate(BINS[::4])],
        columns=["id", "timebin", "conesize", "af", "asn_id"],
    )
    await copy(
        "ihr_hegemony_alarms",
        records=[
            (1, BINS[10], 25.5, 4, 174, 2497),
            (2, BINS[20], -30.0, 4, 1299, 2497),
            (3, BINS[30], 5.0, 4, 174, 0),
        ],
        columns=["id", "timebin", "deviation", "af", "asn_id", "originasn_id"],
    )
    await copy(
        "ihr_hegemony_country",
        records=[
            (i + 1, t, hege, 4, 0.5, scheme, transit, asn, "JP")
            for i, (t, hege, scheme, transit, asn) in enumerate(
                [(t, 0.5, "as", False, 2497) for t in BINS[::16]]
                + [(t, 0.25, "eyeball", True, 174) for t in BINS[::16]]
                + [(RECENT[0], 0.125, "as", False, 2497)]
            )
        ],
        columns=[
            "id",
            "timebin",
            "hege",
            "af",
            "weight",
            "weightscheme",
            "transitonly",
            "asn_id",
            "country_id",
        ],
    )
    await copy(
        "ihr_hegemony_prefix",
        records=[
            (index + 1, BINS[0], prefix, hege, 4, 100.0, rpki, irr, dp, da, "TEST-NET", moas, asn, cc, origin)
            for index, (prefix, origin, cc, asn, hege, rpki, irr, dp, da, moas) in enumerate(PREFIXES)
        ],
        columns=[
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
        ],
    )
    await copy("ihr_atlas_location", records=LOCATIONS, columns=["id", "name", "type", "af"])
    await copy(
        "ihr_atlas_delay",
        records=[
            (i + 1, t, 10.5 + end, 3, 2, 0.5, 4, 12, end, 1)
            for i, (t, end) in enumerate((t, end) for t in BINS[::4] for end in (2, 3, 4))
        ],
        columns=[
            "id",
            "timebin",
            "median",
            "nbtracks",
            "nbprobes",
            "entropy",
            "hop",
            "nbrealrtts",
            "endpoint_id",
            "startpoint_id",
        ],
    )
    await copy(
        "ihr_atlas_delay_alarms",
        records=[(1, BINS[5], 25.0, 3, 1), (2, BINS[6], 12.0, 4, 1)],
        columns=["id", "timebin", "deviation", "endpoint_id", "startpoint_id"],
    )
    await copy(
        "ihr_delay",
        records=[(i + 1, t, 0.5, 2497) for i, t in enumerate(BINS[::8])],
        columns=["id", "timebin", "magnitude", "asn_id"],
    )
    await copy(
        "ihr_forwarding",
        records=[(i + 1, t, 1.5, 174) for i, t in enumerate(BINS[::8])],
        columns=["id", "timebin", "magnitude", "asn_id"],
    )
    await copy(
        "ihr_delay_alarms",
        records=[
            (1, BINS[3], "192.0.2.1", "192.0.2.1-192.0.2.2", 20.0, 5.0, 9.5, 7, '{"5001": [11, 12]}', 2497)
        ],
        columns=[
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
        ],
    )
    await copy(
        "ihr_delay_alarms_msms",
        records=[(1, 5001, 11, 1), (2, 5001, 12, 1)],
        columns=["id", "msmid", "probeid", "alarm_id"],
    )
    await copy(
        "ihr_forwarding_alarms",
        records=[(1, BINS[4], "198.51.100.1", 0.25, 0.5, 3.0, "198.51.100.254", None, 174)],
        columns=[
            "id",
            "timebin",
            "ip",
            "correlation",
            "responsibility",
            "pktdiff",
            "previoushop",
            "msm_prb_ids",
            "asn_id",
        ],
    )
    await copy(
        "ihr_disco_events",
        records=[
            (1, "a" * 24, "asn", "20712", BINS[8], BINS[12], 0.75, 3, 10, False),
            (2, "b" * 24, "country", "JP", BINS[40], BINS[41], 0.5, 2, 8, True),
        ],
        columns=[
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
        ],
    )
    await copy(
        "ihr_disco_probes",
        records=[
            (1, 6001, BINS[8], BINS[11], 0.5, "192.0.2.10", "192.0.2.0/24", 51.5, -0.125, 1),
            (2, 6002, BINS[9], BINS[12], 1.0, "192.0.2.11", "192.0.2.0/24", 51.25, 0.0, 1),
            (3, 6003, BINS[40], BINS[41], 0.5, "198.51.100.7", "198.51.100.0/24", 35.5, 139.75, 2),
        ],
        columns=[
            "id",
            "probe_id",
            "starttime",
            "endtime",
            "level",
            "ipv4",
            "prefixv4",
            "lat",
            "lon",
            "event_id",
        ],
    )
    metis = [
        (t, metric, rank, 4, 0.5, asn)
        for t in (RECENT[0], BINS[0])
        for metric in ("as_path_length", "rtt")
        for rank, asn in enumerate((2497, 174, 1299))
    ]
    await copy(
        "ihr_metis_atlas_selection",
        records=[(i + 1, *row) for i, row in enumerate(metis)],
        columns=["id", "timebin", "metric", "rank", "af", "mean", "asn_id"],
    )
    await copy(
        "ihr_metis_atlas_deployment",
        records=[(i + 1, *row[:5], 100 + i, row[5]) for i, row in enumerate(metis)],
        columns=["id", "timebin", "metric", "rank", "af", "mean", "nbsamples", "asn_id"],
    )
    await copy("ihr_tr_hegemony_identifier", records=TR_IDENTIFIERS, columns=["id", "name", "type", "af"])
    await copy(
        "ihr_tr_hegemony",
        records=[
            (1, RECENT[0], 0.5, 4, 30, 2, 1),
            (2, RECENT[1], 0.25, 4, 30, 3, 1),
            (3, BINS[0], 0.5, 4, 30, 2, 1),
        ],
        columns=["id", "timebin", "hege", "af", "nbsamples", "dependency_id", "origin_id"],
    )
