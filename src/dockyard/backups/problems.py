"""What the checks say: Nagios states, problems (with since when they exist), and how sizes, durations,
hosts and times are written in their messages."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Status(IntEnum):
    """Nagios states, in their exit-code order."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass
class Problem:
    """One rule that does not pass; `since` is when the problem began (a run's time or a crossing)."""

    rule: str
    status: Status
    message: str
    since: dt.datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "status": self.status.label, "message": self.message, "since": self.since}


_UNITS = ("B", "KiB", "MiB", "GiB")


def human_size(size: float) -> str:
    """Binary units, never TiB (`7168 GiB`), as the wmfbackups checks print them."""
    value = float(size)
    unit = _UNITS[0]
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    if unit == "B" or value >= 100:
        return f"{value:.0f} {unit}"
    return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"


def human_duration(seconds: float) -> str:
    """`9 days`, `13 h` or `25 min`."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{max(seconds, 0) / 60:.0f} min"


def short_host(name: str | None) -> str:
    """`db1139.eqiad.wmnet:3311` → `db1139`; an IP address stays whole (`10.64.0.5`, `[::1]`)."""
    host = (name or "unknown").strip()
    if host.startswith("["):  # [IPv6]:port
        return host.split("]")[0] + "]"
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if not bare[:1].isdigit() and ":" not in bare:  # a name: no need to ask ipaddress
        return bare.split(".")[0]
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return bare.split(".")[0]
    return bare


def when(value: dt.datetime) -> str:
    """`2026-11-24 00:00:01` (UTC)."""
    # isoformat rather than strftime: the same text for years 1000 to 9999, in a fifth of the time
    return value.astimezone(dt.UTC).isoformat(" ", "seconds")[:19]


def series_name(row: dict[str, Any]) -> str:
    """`dump of s1 at eqiad`."""
    return f"{row['type']} of {row['section']} at {row['datacenter']}"
