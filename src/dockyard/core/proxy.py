"""Where a request comes from and which host it names: forwarded headers from trusted proxies only.

`X-Forwarded-For/Proto/Host` are applied to the request (client address, scheme, Host) only when
the connection comes from an address in TRUSTED_PROXIES, and removed from every request, so no
code downstream can be tricked by them. The Host is then checked against ALLOWED_HOSTS before
anything reflects it in a link or a redirect; probes and scrapes, which reflect nothing, are exempt
(orchestrators send the pod's address as Host).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded")
HOST_CHECK_EXEMPT = ("/healthz", "/readyz", "/metrics")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Sequence[str]) -> list[Network] | None:
    """Parsed addresses/CIDRs; None stands for `*` (any address)."""
    if "*" in entries:
        return None
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def address_in(address: str, allowed: list[Network] | None) -> bool:
    """True when `address` is in `allowed` (None: any)."""
    if allowed is None:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in allowed)


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Django's rule: `*` any, `.example.org` the domain and its subdomains, else an exact name."""
    name = host.lower().rstrip(".")
    for pattern in allowed:
        pattern = pattern.lower()
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith(".") and (name == pattern[1:] or name.endswith(pattern)):
            return True
    return False


def _hostname(value: str) -> str:
    if value.startswith("["):  # [::1]:8000
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _first(value: bytes) -> str:
    return value.decode("latin-1").split(",")[0].strip()


class ForwardedMiddleware:
    """Apply forwarded headers from trusted proxies, drop them from everyone, and check the Host."""

    def __init__(self, app: ASGIApp, *, trusted: Sequence[str], allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.trusted = networks(trusted) if trusted else []
        self.allowed_hosts = list(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", ()))
        forwarded = {name: value for name, value in headers if name in FORWARDED}
        if forwarded:
            client = scope.get("client")
            if client and address_in(client[0], self.trusted):
                self._apply(scope, headers, forwarded)
            headers = [(name, value) for name, value in headers if name not in FORWARDED]
            scope["headers"] = headers
        if scope["type"] == "http" and not scope["path"].startswith(HOST_CHECK_EXEMPT):
            host = next((value.decode("latin-1") for name, value in headers if name == b"host"), "")
            if not host_allowed(_hostname(host), self.allowed_hosts):
                await self._refuse(scope, receive, send, host)
                return
        await self.app(scope, receive, send)

    def _apply(self, scope: Scope, headers: list[tuple[bytes, bytes]], forwarded: dict[bytes, bytes]) -> None:
        chain = forwarded.get(b"x-forwarded-for")
        if chain is not None:
            hops = [hop.strip() for hop in chain.decode("latin-1").split(",") if hop.strip()]
            # The nearest hop not itself a trusted proxy is the client; anything left of it is hearsay.
            for hop in reversed(hops):
                if not address_in(hop, self.trusted) or hop == hops[0]:
                    scope["client"] = (hop, 0)
                    break
        proto = forwarded.get(b"x-forwarded-proto")
        if proto is not None and _first(proto).lower() in {"http", "https"}:
            scope["scheme"] = _first(proto).lower()
        host = forwarded.get(b"x-forwarded-host")
        if host is not None and _first(host):
            headers[:] = [(name, value) for name, value in headers if name != b"host"]
            headers.append((b"host", _first(host).encode("latin-1")))

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, host: str) -> None:
        renderer = scope["app"].state.error_styles.for_path(scope["path"])
        detail = f"The host {host[:100]!r} is not served here; an operator can add it to ALLOWED_HOSTS."
        response = renderer(Request(scope, receive), 400, detail, {})
        await response(scope, receive, send)
