"""Prometheus metrics of the gateway: requests and decisions by route, bytes, upstream latency and pool.

Module-level prometheus_client metrics, so they appear in /metrics with the core's (and are summed
over workers in multiprocess mode).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "dockyard_gateway_requests_total",
    "Lbasedb requests through the gateway, by route, decision and status sent",
    ["route", "decision", "status"],
)
BYTES = Counter(
    "dockyard_gateway_bytes_total",
    "Body bytes through the gateway: in = from callers to Lbasedb, out = from Lbasedb to callers",
    ["direction"],
)
BYTES_IN = BYTES.labels("in")  # bound once: a label lookup on every request costs more than the add
BYTES_OUT = BYTES.labels("out")
UPSTREAM_LATENCY = Histogram(
    "dockyard_gateway_upstream_seconds",
    "Time from sending a request to Lbasedb to its answer's headers",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)
UPSTREAM_IN_USE = Gauge(
    "dockyard_gateway_upstream_connections_in_use",
    "Connections to Lbasedb held by a request right now",
    multiprocess_mode="livesum",
)
AUDIT_WRITTEN = Counter("dockyard_gateway_audit_written_total", "Audit records written")
AUDIT_DROPPED = Counter(
    "dockyard_gateway_audit_dropped_total", "Audit records dropped because the queue was full"
)
