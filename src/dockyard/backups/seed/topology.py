"""Who backs up what, where, how big and how long: the 2021 production layout of specs/backups.md §7.

A series is one (section, type, datacenter); its source is the database instance backed up and its
host the machine that takes and keeps the backup. Sizes are decimal bytes, durations seconds.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from functools import cached_property

GB = 1_000_000_000
HOUR = 3600
DATACENTERS = ("eqiad", "codfw")
DUMP_CRON = "0 0 * * 2"
SNAPSHOT_CRON = "0 19 * * 0,2,3,5"


def rng(*key: object) -> random.Random:
    """A random stream named by `key`: the same key always gives the same draws."""
    return random.Random("/".join(str(part) for part in key))  # noqa: S311 - reproducible data, not secrets


def stable_hash(*key: object) -> int:
    """A process-independent hash of `key` (Python's own `hash` of a str changes per process)."""
    digest = hashlib.blake2b("/".join(str(part) for part in key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True)
class Dump:
    size: int  # eqiad's size now
    hours: tuple[float, float]  # usual duration range
    growth: float = 0.001  # per week


@dataclass(frozen=True)
class Snapshot:
    size: int
    codfw_extra: float  # codfw's datadir is this much bigger
    hours: tuple[float, float]  # post-processing time
    offset_min: int  # the row starts this long after the 19:00 slot


@dataclass(frozen=True)
class Section:
    name: str
    sources: dict[str, str]  # datacenter -> host[:port], the short host name
    dump: Dump | None
    snapshot: Snapshot | None
    dbs: tuple[str, ...]  # databases backed up, most important first
    tables: tuple[str, ...]  # tables of each database, largest first


@dataclass(frozen=True)
class Series:
    """One (section, type, datacenter), with where it is taken from and kept."""

    section: Section
    type: str
    datacenter: str
    source: str
    host: str

    @cached_property
    def key(self) -> tuple[str, str, str]:
        return (self.section.name, self.type, self.datacenter)

    @property
    def cron(self) -> str:
        return DUMP_CRON if self.type == "dump" else SNAPSHOT_CRON


def fqdn(name: str, datacenter: str) -> str:
    """`db1139:3311` in eqiad → `db1139.eqiad.wmnet:3311`."""
    host, _, port = name.partition(":")
    return f"{host}.{datacenter}.wmnet" + (f":{port}" if port else "")


MW = (
    "revision", "text", "comment", "pagelinks", "categorylinks", "templatelinks", "externallinks",
    "logging", "content", "slots", "actor", "page", "recentchanges", "watchlist", "user", "page_props",
    "langlinks", "image", "imagelinks", "change_tag", "redirect", "iwlinks", "archive", "user_properties",
    "category", "ipblocks", "user_groups", "oldimage", "filearchive", "page_restrictions", "site_stats",
    "linktarget", "protected_titles", "querycache", "updatelog",
)  # fmt: skip
SMALL_WIKIS = (
    "aawiki", "abwiki", "acewiki", "afwikibooks", "akwiki", "alswiki", "amwiki", "anwiki", "angwiki",
    "arcwiki", "astwiki", "avwiki", "aywiki", "bawiki", "barwiki", "bclwiki", "biwiki", "bjnwiki",
)  # fmt: skip
S2_WIKIS = (
    "bgwiki", "cswiki", "eowiki", "fiwiki", "idwiki", "itwiki", "nlwiki", "nowiki", "plwiki", "ptwiki",
    "svwiki", "thwiki", "trwiki", "zhwiki", "enwiktionary", "enwikiquote",
)  # fmt: skip
S7_WIKIS = (
    "eswiki", "huwiki", "hewiki", "fawiki", "viwiki", "ukwiki", "rowiki", "kowiki", "arwiki", "cawiki",
    "metawiki", "centralauth",
)  # fmt: skip


def _section(
    name: str,
    eqiad: str,
    codfw: str | None,
    dump: Dump | None,
    snapshot: Snapshot | None,
    dbs: tuple[str, ...],
    tables: tuple[str, ...] = MW,
) -> Section:
    sources = {"eqiad": eqiad} | ({"codfw": codfw} if codfw else {})
    return Section(name, sources, dump, snapshot, dbs, tables)


def _gb(size: float) -> int:
    return round(size * GB)


SECTIONS: tuple[Section, ...] = (
    _section("s1", "db1139:3311", "db2097:3311", Dump(_gb(168), (1.7, 1.75)),
             Snapshot(_gb(1127), 0.02, (1.2, 1.25), 98), ("enwiki",)),
    _section("s2", "db1171:3312", "db2098:3312", Dump(_gb(141.5), (1.5, 2.1)),
             Snapshot(_gb(905), 0.05, (1.2, 1.3), 247), S2_WIKIS),
    _section("s3", "db1171:3313", "db2139:3313", Dump(_gb(123), (2.6, 3.2)),
             Snapshot(_gb(1115), 0.014, (1.3, 3.0), 218), SMALL_WIKIS),
    _section("s4", "db1145:3314", "db2099:3314", Dump(_gb(403), (14.6, 15.3)),
             Snapshot(_gb(1808), 0.034, (1.65, 1.75), 350), ("commonswiki",)),
    _section("s5", "db1145:3315", "db2099:3315", Dump(_gb(114), (2.3, 2.5)),
             Snapshot(_gb(753), 0.01, (0.65, 0.75), 520), ("dewiki", "shwiki", "srwiki", "cebwiki")),
    _section("s6", "db1140:3316", "db2141:3316", Dump(_gb(99), (0.95, 1.05)),
             Snapshot(_gb(601), 0.025, (0.95, 1.05), 52), ("frwiki", "jawiki", "ruwiki")),
    _section("s7", "db1116:3317", "db2100:3317", Dump(_gb(145), (2.0, 2.2)),
             Snapshot(_gb(1122), 0.035, (1.4, 1.5), 420), S7_WIKIS),
    _section("s8", "db1116:3318", "db2100:3318", Dump(_gb(199), (2.4, 2.6)),
             Snapshot(_gb(1277), 0.05, (1.25, 1.35), 113), ("wikidatawiki",)),
    _section("x1", "db1102:3320", "db2101:3320", Dump(_gb(43.6), (1.15, 1.25)),
             Snapshot(_gb(259), 0.17, (0.33, 0.37), 127), ("wikishared", "flowdb", "cognate_wiktionary"),
             ("echo_event", "echo_notification", "echo_target_page", "flow_revision", "flow_tree_node",
              "flow_workflow", "cognate_pages", "cognate_titles", "cx_translations", "cx_corpora",
              "bucket", "user_global_prefs")),
    _section("m1", "db1117:3321", "db2078:3321", Dump(_gb(29), (0.95, 1.05)), None,
             ("bacula9", "etherpadlite", "librenms", "rt", "dbbackups"),
             ("File", "Job", "JobMedia", "Path", "store", "ports", "devices", "Tickets", "backup_files")),
    _section("m2", "db1117:3322", "db2078:3322", Dump(_gb(514), (5.3, 5.7)), None,
             ("otrs", "debmonitor", "heartbeat", "xhgui", "recommendationapi"),
             ("article_data_mime_plain", "article_data_mime_attachment", "article", "ticket_history",
              "ticket", "packages", "hosts", "heartbeat", "results")),
    _section("m3", "db1117:3323", "db2078:3323", Dump(_gb(66.8), (0.95, 1.05)), None,
             ("phabricator_maniphest", "phabricator_differential", "phabricator_repository",
              "phabricator_file", "phabricator_user"),
             ("transaction", "edge", "task", "customfieldstringindex", "revision", "commit",
              "filestoragefile", "user", "search_document")),
    _section("m5", "db1117:3325", "db2078:3325", Dump(_gb(38.6), (0.3, 0.37)), None,
             ("labswiki", "keystone", "nova_api", "designate", "striker"), MW[:10]),
    _section("matomo", "db1108:3351", None, Dump(_gb(0.28), (12 / HOUR, 14 / HOUR)), None,
             ("piwik",),
             ("piwik_log_link_visit_action", "piwik_log_visit", "piwik_archive_blob_2026_01",
              "piwik_archive_numeric_2026_01", "piwik_log_action", "piwik_site", "piwik_user")),
    _section("analytics_meta", "db1108:3352", None, Dump(_gb(1.04), (55 / HOUR, 65 / HOUR)), None,
             ("hive_metastore", "superset_production", "druid"),
             ("PARTITIONS", "PARTITION_PARAMS", "SDS", "COLUMNS_V2", "TBLS", "logs", "slices",
              "druid_segments")),
    _section("zarcillo", "db1115", "db2093", Dump(464_000, (4 / HOUR, 6 / HOUR), growth=0.0095), None,
             ("zarcillo",),
             ("instances", "servers", "sections", "section_instances", "masters", "dbs", "backups",
              "backup_files")),
    _section("es4", "es1022", "es2022", Dump(_gb(1942), (13.2, 13.8)), None,
             ("enwiki", "dewiki", "commonswiki", "frwiki", "wikidatawiki", "jawiki"), ("blobs_cluster26",)),
    _section("es5", "es1025", "es2025", Dump(_gb(1918), (12.4, 13.0)), None,
             ("enwiki", "dewiki", "commonswiki", "frwiki", "wikidatawiki", "eswiki"), ("blobs_cluster27",)),
)  # fmt: skip

# destination host -> the sections it keeps, in the order its weekly dumps start
HOSTS: dict[str, dict[str, tuple[str, ...]]] = {
    "eqiad": {
        "dbprov1001": ("s4", "s5", "s8"),
        "dbprov1002": ("s1", "s2", "s3", "s7"),
        "dbprov1003": ("s6", "x1", "m1", "m2", "m3", "m5", "matomo", "analytics_meta", "zarcillo"),
        "backup1002": ("es4", "es5"),
    },
    "codfw": {
        "dbprov2001": ("s4", "s5", "s8"),
        "dbprov2002": ("s1", "s2", "s7"),
        "dbprov2003": ("s3", "s6", "x1", "m1", "m2", "m3", "m5", "zarcillo"),
        "backup2002": ("es4", "es5"),
    },
}
SECTIONS_PER_EXTRA_HOST = 4


def extra_sections(count: int) -> list[Section]:
    """`count` more MediaWiki-like sections (s9, s10, ...), modelled on s1 to s8, for the bench data set."""
    templates = [section for section in SECTIONS if section.name.startswith("s")]
    made = []
    for index in range(count):
        model = templates[index % len(templates)]
        number = 9 + index
        wikis = tuple(f"{wiki}{number}" for wiki in model.dbs[:4])
        made.append(
            Section(
                name=f"s{number}",
                sources={"eqiad": f"db{1200 + index}", "codfw": f"db{2200 + index}"},
                dump=model.dump,
                snapshot=model.snapshot,
                dbs=wikis,
                tables=model.tables,
            )
        )
    return made


def build_series(extra: int = 0) -> list[Series]:
    """Every series: the 34 dump and 18 snapshot series of production, then `extra` sections' worth."""
    by_name = {section.name: section for section in SECTIONS}
    hosts = {datacenter: dict(assigned) for datacenter, assigned in HOSTS.items()}
    added = extra_sections(extra)
    by_name |= {section.name: section for section in added}
    for index in range(0, len(added), SECTIONS_PER_EXTRA_HOST):
        names = tuple(section.name for section in added[index : index + SECTIONS_PER_EXTRA_HOST])
        number = 4 + index // SECTIONS_PER_EXTRA_HOST
        hosts["eqiad"][f"dbprov{1000 + number}"] = names
        hosts["codfw"][f"dbprov{2000 + number}"] = names
    series = []
    for datacenter, assigned in hosts.items():
        for host, names in assigned.items():
            for name in names:
                section = by_name[name]
                source = fqdn(section.sources[datacenter], datacenter)
                for kind, spec in (("dump", section.dump), ("snapshot", section.snapshot)):
                    if spec is not None:
                        series.append(Series(section, kind, datacenter, source, fqdn(host, datacenter)))
    return series
