"""Headers across the gateway (section 4.5): what goes to Lbasedb, what comes back to the caller.

Hop-by-hop headers — the fixed list of RFC 9110 §7.6.1 and every header a `Connection` header
names — never cross, in either direction. Requests carry only what Lbasedb reads (Content-Type,
Content-Length, Accept, Accept-Encoding) plus `Host`, `Via`, `X-Forwarded-For` (the caller's
address as the app determined it) and the request id; the caller's `Authorization` and `Cookie`
stay behind. Answers lose `Set-Cookie` (Lbasedb keeps no sessions, and a cookie from it would be
scoped to Dockyard's origin), CORS headers (the app's own CORS layer owns them) and
`Date`/`Server` (the server adds its own).
"""

from __future__ import annotations

from collections.abc import Iterable

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "transfer-encoding",
        "upgrade",
        "trailer",
        "proxy-authorization",
        "proxy-authenticate",
    }
)
FORWARDED_REQUEST = frozenset({"content-type", "content-length", "accept", "accept-encoding", "x-request-id"})
DROPPED_RESPONSE = frozenset({"set-cookie", "set-cookie2", "date", "server"})
VIA = "1.1 dockyard-gateway"

RawHeaders = Iterable[tuple[bytes, bytes]]


def connection_named(headers: RawHeaders) -> frozenset[str]:
    """The hop-by-hop set for one message: the fixed list plus the names its Connection headers list."""
    named = set(HOP_BY_HOP)
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(
                token.strip().lower() for token in value.decode("latin-1").split(",") if token.strip()
            )
    return frozenset(named)


def upstream_request(
    headers: list[tuple[bytes, bytes]], *, host: str, client: str | None, request_id: str | None
) -> dict[str, str]:
    """The headers sent to Lbasedb for a caller's request with these raw headers."""
    hop = connection_named(headers)
    sent: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        if name in hop or name not in FORWARDED_REQUEST or name in sent:
            continue
        sent[name] = raw_value.decode("latin-1")
    sent["host"] = host
    sent["via"] = VIA
    if client:
        # The address the app determined (behind TRUSTED_PROXIES, the real caller's), not a chain
        # the caller could have written itself.
        sent["x-forwarded-for"] = client
    if request_id:
        sent["x-request-id"] = request_id
    # Never let the client library pick a compression the caller did not ask for (section 4.7).
    sent.setdefault("accept-encoding", "identity")
    return sent


def caller_response(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """The headers sent back to the caller for Lbasedb's answer with these headers."""
    pairs = list(headers)
    hop = connection_named((name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs)
    kept = []
    for name, value in pairs:
        lowered = name.lower()
        if lowered in hop or lowered in DROPPED_RESPONSE or lowered.startswith("access-control-"):
            continue
        kept.append((lowered.encode("latin-1"), value.encode("latin-1")))
    return kept
