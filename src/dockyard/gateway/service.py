"""The gateway's rules: what a caller may do (section 3's operation table), and grants that follow feeds.

`authorize` decides from the operation, its checked query and the caller's rights, before Lbasedb is
contacted; refusals are the same whether the feed exists or not (no existence leak). What depends
on Lbasedb's own answer — filtering listings, every column for PUT, grants moving with a rename —
is in `filter_*`, `columns_refusal` and `follow_change`.
"""

from __future__ import annotations

from typing import Any

import orjson

from dockyard.accounts.auth import Principal
from dockyard.core.db import Connection
from dockyard.core.errors import Forbidden
from dockyard.gateway import queries
from dockyard.gateway.operations import Operation, Query, Target, feed_of
from dockyard.gateway.rights import SCOPE_CODENAMES, Grant, Level, Rights

CREATE_FEED = "gateway.create_feed"


def _refuse(rights: Rights, level: Level, what: str) -> Forbidden:
    if rights.cap < level:
        return Forbidden(
            f"This API token's scope does not include `{SCOPE_CODENAMES[level]}`, which {what} needs; "
            "use a token whose scope does."
        )
    return Forbidden(f"You need `{level.label}` on {what}; ask a gateway administrator for a grant.")


def authorize(op: Operation, query: Query, principal: Principal, rights: Rights) -> str:
    """Why the caller may run `op` with `query` (for the audit); Forbidden (403) when not."""
    if op.target is Target.NOTHING:
        return "authenticated"
    if op.target is Target.CREATE:
        if not principal.can(CREATE_FEED):
            if principal.scope is not None and CREATE_FEED not in principal.scope:
                raise Forbidden(f"This API token's scope does not include `{CREATE_FEED}`.")
            raise Forbidden(f"You need the permission `{CREATE_FEED}` to create feeds.")
        return f"holds {CREATE_FEED}"
    feed = feed_of(op, query)
    if feed is None:
        if op.filters and op.path == "/feed":
            return "listing filtered to readable feeds"
        return "incomplete query: Lbasedb refuses it without acting"
    level = op.level
    if op.target is Target.FEED:
        if rights.on_feed(feed) < level:
            raise _refuse(rights, level, f"feed `{feed}`")
        return f"{level.label} on feed {feed}"
    if rights.on_any(feed) < level:
        raise _refuse(rights, level, f"feed `{feed}`")
    if op.target is Target.COLUMNS:
        for column in query.cols:
            if rights.on_column(feed, column) < level:
                raise _refuse(rights, level, f"column `{column}` of feed `{feed}`")
        return f"{level.label} on columns {', '.join(query.cols) or '(none)'} of {feed}"
    if op.target is Target.KEYS and rights.column_limited(feed, level):
        return f"{level.label} on the body's columns of {feed} (scanned)"
    if op.target is Target.ALL and rights.column_limited(feed, level):
        return f"{level.label} on every column of {feed} (checked against Lbasedb's list)"
    return f"{level.label} on feed {feed}"


def key_check(op: Operation, query: Query, rights: Rights) -> Any:
    """For a JSON write with column-limited rights: the per-key check for the body scanner, else None."""
    feed = feed_of(op, query)
    if op.target is not Target.KEYS or feed is None or not rights.column_limited(feed, op.level):
        return None

    def check(key: str) -> Forbidden | None:
        if rights.on_column(feed, key) < op.level:
            shown = key if key.isprintable() and len(key) <= 256 else "(a key that is no column name)"
            return _refuse(rights, op.level, f"column `{shown}` of feed `{feed}`")
        return None

    return check


def needs_column_list(op: Operation, query: Query, rights: Rights) -> bool:
    """True when `op` zeroes unlisted columns and the caller's rights cover only some columns."""
    feed = feed_of(op, query)
    return op.target is Target.ALL and feed is not None and rights.column_limited(feed, op.level)


def columns_refusal(op: Operation, feed: str, listing: bytes, rights: Rights) -> Forbidden | None:
    """The refusal for a PUT when some column of Lbasedb's `listing` is beyond the caller's rights."""
    for column in orjson.loads(listing):
        name = column.get("name") if isinstance(column, dict) else None
        if isinstance(name, str) and rights.on_column(feed, name) < op.level:
            return _refuse(
                rights, op.level, f"column `{name}` of feed `{feed}` (a PUT zeroes unlisted columns)"
            )
    return None


def filter_feeds(listing: bytes, rights: Rights) -> bytes:
    """Lbasedb's feed list, keeping the feeds the caller may read something of."""
    feeds = orjson.loads(listing)
    return orjson.dumps([item for item in feeds if rights.on_any(str(item.get("name"))) >= Level.READ])


def filter_columns(listing: bytes, feed: str, rights: Rights) -> bytes:
    """Lbasedb's column list of `feed`, keeping the columns the caller may read."""
    columns = orjson.loads(listing)
    return orjson.dumps(
        [item for item in columns if rights.on_column(feed, str(item.get("name"))) >= Level.READ]
    )


async def follow_change(
    conn: Connection, op: Operation, query: Query, *, new_name: str | None, actor: dict[str, Any]
) -> str | None:
    """After Lbasedb confirmed `op`: grants follow (creator's admin, rename, delete); what changed."""
    route = op.route
    if route == "POST /feed" and new_name is not None:
        await queries.grant_creator(conn, actor=actor, feed=new_name)
        return f"creator granted admin on {new_name}"
    if route == "PATCH /feed" and query.name is not None and new_name is not None:
        moved = await queries.move_grants(conn, actor=actor, old=query.name, new=new_name)
        return f"{moved} grant(s) moved to {new_name}"
    if route == "DELETE /feed" and query.name is not None:
        dropped = await queries.drop_grants(conn, actor=actor, feed=query.name)
        return f"{dropped} grant(s) deleted with the feed"
    if route == "PATCH /col" and query.feed and query.name and new_name is not None:
        changed = await queries.rename_column(
            conn, actor=actor, feed=query.feed, old=query.name, new=new_name
        )
        return f"{changed} column list(s) follow the rename"
    if route == "DELETE /col" and query.feed and query.name:
        changed = await queries.remove_column(conn, actor=actor, feed=query.feed, column=query.name)
        return f"{changed} column list(s) lose the column"
    return None


def effective_rights(user_id: int, superuser: bool, feed: str | None, sources: list[Any]) -> dict[str, Any]:
    """The rights document of a user from their grant sources (`{grant, via_group}` items)."""
    grants = [
        Grant(
            item["grant"]["feed"],
            Level.of(item["grant"]["level"]),
            frozenset(item["grant"]["columns"]) if item["grant"]["columns"] is not None else None,
        )
        for item in sources
    ]
    rights = Rights(superuser, Level.ADMIN, tuple(grants))
    level: str | None = None
    columns: dict[str, str] = {}
    if feed is not None:
        on_feed = rights.on_feed(feed)
        level = on_feed.label if on_feed else None
        for grant in grants:
            for column in sorted(grant.columns or ()):
                on_column = rights.on_column(feed, column)
                if on_column > on_feed:
                    columns[column] = on_column.label
    return {
        "user_id": user_id,
        "is_superuser": superuser,
        "feed": feed,
        "level": level,
        "columns": columns,
        "grants": sources,
    }
