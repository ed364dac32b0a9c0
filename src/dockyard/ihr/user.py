"""/ihr/api/user: the calling account's monitored ASes and notification channels.

The successor of the legacy user API (specs/ihr-api.md §3): `add_monitoring`/`show` and
`savechannel`/`getchannel` become GET and PUT on two lists, and the caller is a Dockyard account
(`Authorization: Bearer <access token or API token>`) instead of a DRF token; an API token needs the
`accounts.self` scope, as for any personal data. A PUT replaces the whole list in one transaction:
one DELETE and one INSERT from arrays, whatever the list's length.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from dockyard.accounts.auth import SelfService
from dockyard.core.db import Conn, Connection
from dockyard.core.errors import BadInput
from dockyard.core.responses import RawJSONResponse
from dockyard.core.types import BIGINT_MAX, BIGINT_MIN

MAX_MONITORED_ASNS = 1000
MAX_CHANNELS = 20  # far above the allow-list; duplicates are refused with a clearer message

NotifyLevel = Literal[0, 5, 10]


class Channel(StrEnum):
    """Where notifications go; the allow-list (and the table's CHECK) grows with the notifier."""

    EMAIL = "email"


class Frequency(StrEnum):
    NORMAL = "normal"
    DAILY = "daily"
    WEEKLY = "weekly"


class MonitoredAsnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asn: Annotated[
        int,
        Field(
            strict=True,
            ge=BIGINT_MIN,
            le=BIGINT_MAX,
            description="The AS number (IHR uses negative numbers for IXPs and 0 for the global graph).",
        ),
    ]
    notifylevel: NotifyLevel = Field(
        default=10, description="Alarms to be told about: 0 low, 5 moderate, 10 high (the default)."
    )


class MonitoredAsnOut(BaseModel):
    asn: int
    notifylevel: int


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    frequency: Frequency = Frequency.NORMAL


class ChannelOut(BaseModel):
    channel: str
    frequency: str


# Two PUTs of one user at the same time would each delete only the rows they can see and then
# collide on the primary key; locking the account row makes them take turns. NO KEY UPDATE does
# not block foreign-key checks, so other services inserting rows for this user are not held up.
LOCK_USER = "SELECT 1 FROM accounts.users WHERE id = $1 FOR NO KEY UPDATE"

MONITORED_ASNS = """
SELECT coalesce(json_agg(json_build_object('asn', asn, 'notifylevel', notifylevel) ORDER BY asn), '[]')::text
FROM public.ihr_user_monitoredasn WHERE user_id = $1
"""

DELETE_MONITORED_ASNS = "DELETE FROM public.ihr_user_monitoredasn WHERE user_id = $1"

INSERT_MONITORED_ASNS = """
INSERT INTO public.ihr_user_monitoredasn (user_id, asn, notifylevel)
SELECT $1, asn, notifylevel FROM unnest($2::bigint[], $3::smallint[]) AS entry (asn, notifylevel)
"""

CHANNELS = """
SELECT coalesce(
    json_agg(json_build_object('channel', channel, 'frequency', frequency) ORDER BY channel), '[]'
)::text
FROM public.ihr_user_channel WHERE user_id = $1
"""

DELETE_CHANNELS = "DELETE FROM public.ihr_user_channel WHERE user_id = $1"

INSERT_CHANNELS = """
INSERT INTO public.ihr_user_channel (user_id, channel, frequency)
SELECT $1, channel, frequency FROM unnest($2::text[], $3::text[]) AS entry (channel, frequency)
"""


def _refuse_duplicates(values: Iterable[Hashable], *, field: str) -> None:
    repeated = [str(value) for value, seen in Counter(values).items() if seen > 1]
    if repeated:
        shown = ", ".join(repeated[:10]) + (", …" if len(repeated) > 10 else "")
        raise BadInput(f"Each {field} may appear only once in the list; repeated: {shown}.")


async def monitored_asns(conn: Connection, *, user_id: int) -> str:
    """The user's monitored ASes as JSON text, ordered by asn."""
    text: str = await conn.fetchval(MONITORED_ASNS, user_id)
    return text


async def replace_monitored_asns(conn: Connection, *, user_id: int, entries: Sequence[MonitoredAsnIn]) -> str:
    """Replace the user's monitored ASes with `entries` (call inside a transaction); the new list as JSON."""
    _refuse_duplicates((entry.asn for entry in entries), field="asn")
    await conn.execute(LOCK_USER, user_id)
    await conn.execute(DELETE_MONITORED_ASNS, user_id)
    await conn.execute(
        INSERT_MONITORED_ASNS,
        user_id,
        [entry.asn for entry in entries],
        [entry.notifylevel for entry in entries],
    )
    return await monitored_asns(conn, user_id=user_id)


async def channels(conn: Connection, *, user_id: int) -> str:
    """The user's notification channels as JSON text, ordered by channel."""
    text: str = await conn.fetchval(CHANNELS, user_id)
    return text


async def replace_channels(conn: Connection, *, user_id: int, entries: Sequence[ChannelIn]) -> str:
    """Replace the user's channels with `entries` (call inside a transaction); the new list as JSON."""
    _refuse_duplicates((entry.channel.value for entry in entries), field="channel")
    await conn.execute(LOCK_USER, user_id)
    await conn.execute(DELETE_CHANNELS, user_id)
    await conn.execute(
        INSERT_CHANNELS,
        user_id,
        [entry.channel.value for entry in entries],
        [entry.frequency.value for entry in entries],
    )
    return await channels(conn, user_id=user_id)


router = APIRouter(prefix="/api/user", tags=["ihr user"])

# Reads use the primary too (Conn): a user reading back what they just saved must see it, which a
# lagging replica would not guarantee.


@router.get("/monitored_asns", response_model=list[MonitoredAsnOut], summary="Your monitored ASes")
async def get_monitored_asns(user: SelfService, conn: Conn) -> RawJSONResponse:
    """The ASes you monitor with their notification level, ordered by asn."""
    return RawJSONResponse(await monitored_asns(conn, user_id=user.user_id))


@router.put("/monitored_asns", response_model=list[MonitoredAsnOut], summary="Replace your monitored ASes")
async def put_monitored_asns(
    entries: Annotated[list[MonitoredAsnIn], Body(max_length=MAX_MONITORED_ASNS)],
    user: SelfService,
    conn: Conn,
) -> RawJSONResponse:
    """Replace the whole list (at most 1000 ASes, each once); `[]` clears it. Answers with the new list."""
    return RawJSONResponse(await replace_monitored_asns(conn, user_id=user.user_id, entries=entries))


@router.get("/channels", response_model=list[ChannelOut], summary="Your notification channels")
async def get_channels(user: SelfService, conn: Conn) -> RawJSONResponse:
    """The channels notifications are sent through, with their frequency."""
    return RawJSONResponse(await channels(conn, user_id=user.user_id))


@router.put("/channels", response_model=list[ChannelOut], summary="Replace your notification channels")
async def put_channels(
    entries: Annotated[list[ChannelIn], Body(max_length=MAX_CHANNELS)],
    user: SelfService,
    conn: Conn,
) -> RawJSONResponse:
    """Replace the whole list (each channel once); `[]` turns notifications off. Answers with the new list."""
    return RawJSONResponse(await replace_channels(conn, user_id=user.user_id, entries=entries))
