"""The data routes: Lbasedb's API under /gateway/lbasedb/, checked, then streamed both ways.

A plain ASGI app (no FastAPI parameters, nothing reads a whole body): for each request it finds
the operation, authenticates the caller, parses the query into the canonical one it will send,
checks the caller's rights, and hands over to `forwarding`. Once the answer's headers went out, a
failure aborts the caller's connection: a truncated body never ends cleanly. The audit record is
handed to the batched writer after the last byte.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from dockyard.accounts.auth import Principal, authenticate
from dockyard.core.db import translated_errors
from dockyard.core.errors import (
    BadInput,
    DockyardError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
)
from dockyard.gateway import forwarding, metrics, queries, service
from dockyard.gateway.audit import AuditRecord
from dockyard.gateway.bodies import ClientGone
from dockyard.gateway.errors import LBASEDB_STYLE, UnsupportedMediaType
from dockyard.gateway.forwarding import Exchange, content_length, header_values
from dockyard.gateway.operations import OPERATIONS, Operation, Query, Target, feed_of, parse_query
from dockyard.gateway.rights import Rights
from dockyard.gateway.runtime import GatewayRuntime

CLIENT_GONE = 499  # recorded for callers that left before the answer ended (nginx's convention)


class LbasedbGateway:
    """The ASGI app behind /gateway/lbasedb/{operation}."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime: GatewayRuntime | None = getattr(scope["app"].state, "gateway", None)
        began = time.perf_counter()
        record = AuditRecord(
            client=(scope.get("client") or (None,))[0],
            method=scope["method"],
            route=scope["path"],
            request_id=scope.get("state", {}).get("request_id"),
        )
        exchange = Exchange(scope, receive, send, runtime, record)  # type: ignore[arg-type]
        try:
            await self._handle(exchange)
        except DockyardError as exc:
            if exchange.started:
                raise
            record.reason = record.reason or exc.detail
            response = LBASEDB_STYLE.render(Request(scope, receive), exc.status, exc.detail, exc.headers)
            record.status = exc.status
            record.bytes_out += len(response.body)
            await response(scope, receive, send)
        except ClientGone:
            record.status = CLIENT_GONE
        finally:
            record.duration_ms = round((time.perf_counter() - began) * 1000, 3)
            metrics.REQUESTS.labels(record.route, record.decision, str(record.status)).inc()
            metrics.BYTES_IN.inc(record.bytes_in)
            metrics.BYTES_OUT.inc(record.bytes_out)
            if runtime is not None:
                runtime.audit.submit(record)

    async def _handle(self, exchange: Exchange) -> None:
        scope, record = exchange.scope, exchange.record
        op = _operation(scope)
        record.route = op.path
        _check_framing(scope)
        runtime = exchange.runtime
        if runtime is None or runtime.upstream is None:
            raise ServiceUnavailable(
                "LBASEDB_URL is not set: this gateway has no Lbasedb to forward to; an operator must set it."
            )
        request = Request(scope, exchange.receive)
        principal = await authenticate(request)
        if principal is None:
            record.reason = "no credentials"
            raise _unauthorized()
        record.user_id, record.token_id = principal.user_id, principal.api_token_id
        query = parse_query(op, scope.get("query_string", b""))
        record.feed = feed_of(op, query)
        record.cols = query.cols or None
        record.ix, record.size = query.ix, query.size
        declared = content_length(scope)
        if declared is not None and declared > runtime.settings.max_body:
            raise PayloadTooLarge(
                f"The body ({declared} bytes) is larger than this gateway accepts "
                f"({runtime.settings.max_body} bytes, GATEWAY_MAX_BODY)."
            )
        rights = await _rights(runtime, op, query, principal)
        record.reason = service.authorize(op, query, principal, rights)
        record.decision = "allow"
        if op.follows:
            await forwarding.schema_change(exchange, op, query)
        elif op.filters:
            await forwarding.filtered_list(exchange, op, query, rights)
        else:
            await forwarding.stream(exchange, op, query, rights)


def _unauthorized() -> DockyardError:
    return Unauthorized("Log in first: send `Authorization: Bearer <access token or API token>`.")


def _operation(scope: Scope) -> Operation:
    name = "/" + scope.get("path_params", {}).get("operation", "")
    methods = OPERATIONS.get(name)
    if methods is None:
        raise NotFound(f"Lbasedb has no route {name}; its routes are {', '.join(OPERATIONS)}.")
    op = methods.get(scope["method"])
    if op is None:
        allow = ", ".join(methods)
        raise _MethodNotAllowed(f"{scope['method']} is not allowed on {name}; use {allow}.", allow)
    return op


class _MethodNotAllowed(DockyardError):
    status = 405

    def __init__(self, detail: str, allow: str) -> None:
        super().__init__(detail, headers={"Allow": allow})


def _check_framing(scope: Scope) -> None:
    """Refuse what could be read two ways (section 4.5) or encoded past the checks."""
    lengths = header_values(scope, b"content-length")
    if header_values(scope, b"transfer-encoding") and lengths:
        raise BadInput("Send either Transfer-Encoding or Content-Length, not both.")
    if len(set(lengths)) > 1 or (lengths and not lengths[0].isdigit()):
        raise BadInput("Content-Length must be one whole number.")
    for value in header_values(scope, b"content-encoding"):
        if value.strip().lower() not in (b"", b"identity"):
            raise UnsupportedMediaType(
                "Request bodies are passed to Lbasedb as they are; send them without Content-Encoding."
            )


async def _rights(runtime: GatewayRuntime, op: Operation, query: Query, principal: Principal) -> Rights:
    if op.target in (Target.NOTHING, Target.CREATE) or principal.is_superuser:
        return Rights.of(principal, ())
    feed = feed_of(op, query)
    if feed is None and not op.filters:
        return Rights.of(principal, ())
    with translated_errors():
        # One statement on the primary (a revoked grant applies to the next request), no reset after it.
        pool = await runtime.db().stateless_primary_pool()
        async with pool.acquire() as conn:
            grants = await queries.grants_of_user(conn, principal.user_id, feed=feed)
    return Rights.of(principal, grants)
