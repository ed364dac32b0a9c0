"""Checks that compare a series' last backup with more than the previous one: its own history (size
anomaly against the median and MAD), the other datacenters (the cross-check) and the restore tests.

Each rule reads one row of `checks.SERIES_STATE` (the statistics come from SQL) with the series'
effective thresholds, and a NULL threshold turns its rule off.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from dockyard.backups.problems import Problem, Status, human_duration, human_size, series_name, when

ANOMALY_MIN_RUNS = 5  # fewer earlier runs than this (or than anomaly_runs) and the anomaly rule stays silent
MAD_TO_SIGMA = 1.4826  # MAD x this estimates the standard deviation of normally distributed sizes


def median(values: list[float]) -> float:
    """The median as PostgreSQL's `percentile_cont(0.5)` computes it (the same float, to the bit)."""
    ordered = sorted(values)
    middle = (len(ordered) - 1) / 2
    low = math.floor(middle)
    if low == middle:
        return ordered[low]
    first, second = ordered[low], ordered[low + 1]
    return first + (second - first) * (middle - low)


def history(sizes: list[float] | None) -> dict[str, Any]:
    """The size-anomaly statistics of the sizes before the last finished run: how many, their
    median and their median absolute deviation (None without sizes)."""
    if not sizes:
        return {"anomaly_history": 0, "anomaly_median": None, "anomaly_mad": None}
    middle = median(sizes)
    return {
        "anomaly_history": len(sizes),
        "anomaly_median": middle,
        "anomaly_mad": median([abs(size - middle) for size in sizes]),
    }


def robust_score(size: float, median: float, mad: float, floor_pct: float) -> float:
    """How many robust deviations `size` lies from `median`, signed.

    The deviation is 1.4826 x MAD, but never less than `floor_pct` % of the median: sizes that barely
    move (MAD near 0) would otherwise turn a 0.1 % growth into an anomaly.
    """
    scale = max(MAD_TO_SIGMA * mad, abs(median) * floor_pct / 100)
    if scale == 0:
        return 0.0 if size == median else math.copysign(math.inf, size - median)
    return (size - median) / scale


def size_anomaly(row: dict[str, Any], finished: list[dict[str, Any]]) -> Problem | None:
    """The last finished run's size against the median and MAD of the (up to) `anomaly_runs` before it."""
    warn, crit, history = row["anomaly_warn"], row["anomaly_crit"], row["anomaly_history"]
    if not finished or warn is None or row["anomaly_runs"] is None or row["anomaly_median"] is None:
        return None
    if (history or 0) < min(ANOMALY_MIN_RUNS, row["anomaly_runs"]):
        return None
    last = finished[0]
    size, median = float(last["total_size"] or 0), float(row["anomaly_median"])
    score = robust_score(size, median, float(row["anomaly_mad"] or 0), row["anomaly_floor_pct"] or 0)
    if abs(score) <= warn:
        return None
    status = Status.CRITICAL if crit is not None and abs(score) > crit else Status.WARNING
    side = "under" if size < median else "over"
    change = f"{abs(size - median) / median * 100:.1f} % {side}" if median else side
    deviations = "∞" if math.isinf(score) else f"{abs(score):.1f}"
    message = (
        f"Last {series_name(row)} ({human_size(size)}, taken on {when(last['started_at'])}) is {change} "
        f"the median of the {history} before it ({human_size(median)}): {deviations} robust "
        f"deviations, limit {warn:g}"
    )
    return Problem("size_anomaly", status, message, since=last["ended_at"])


def cross_datacenter(
    row: dict[str, Any], finished: list[dict[str, Any]], peers: list[dict[str, Any]]
) -> Problem | None:
    """The last finished run against the same section and type's in the other datacenters.

    Only the lagging side is reported: its backup much smaller (`cross_dc_size_pct`) or much older
    (`cross_dc_age_s`) than another datacenter's.
    """
    if not finished or not peers:
        return None
    last = finished[0]
    size = last["total_size"] or 0
    findings: list[tuple[float, str, dt.datetime]] = []
    for peer in peers:
        began = max(last["ended_at"], peer["ended_at"])
        theirs = f"{peer['datacenter']}'s"
        pct, age_s = row["cross_dc_size_pct"], row["cross_dc_age_s"]
        other = peer["total_size"] or 0
        if pct is not None and other > 0 and size < other * (1 - pct / 100):
            smaller = (other - size) / other * 100
            text = f"{smaller:.1f} % smaller than {theirs} ({human_size(other)})"
            findings.append((smaller / pct, text, began))
        behind = (peer["started_at"] - last["started_at"]).total_seconds()
        if age_s is not None and behind > age_s:
            text = f"{human_duration(behind)} older than {theirs} (taken on {when(peer['started_at'])})"
            findings.append((behind / age_s, text, began))
    if not findings:
        return None
    findings.sort(key=lambda finding: -finding[0])
    message = (
        f"Last {series_name(row)} ({human_size(size)}, taken on {when(last['started_at'])}) is "
        + " and ".join(text for _, text, _ in findings)
    )
    return Problem("cross_dc", Status.WARNING, message, since=min(began for _, _, began in findings))


def restore_age(row: dict[str, Any], finished: list[dict[str, Any]], now: dt.datetime) -> Problem | None:
    """No restore test of the series passed within `restore_max_age_s` (off while that is NULL)."""
    limit = row["restore_max_age_s"]
    if limit is None or not finished:
        return None
    last: dt.datetime | None = row["last_restored"]
    if last is not None and (now - last).total_seconds() <= limit:
        return None
    since = min((last or row["first_run_at"] or now) + dt.timedelta(seconds=limit), now)
    if last is None:
        message = f"No restore test of a {series_name(row)} has passed (limit {human_duration(limit)})"
    else:
        message = (
            f"The last restore test of a {series_name(row)} that passed ended on {when(last)}, "
            f"{human_duration((now - last).total_seconds())} ago (limit {human_duration(limit)})"
        )
    return Problem("restore_too_old", Status.WARNING, message, since=since)
