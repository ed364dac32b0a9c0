"""Shared helpers of the per-endpoint tests (tests/ihr/test_ep_*.py) of the legacy IHR list API.

Every expected value is derived from tests/ihr/data.py; the messages are the legacy API's
(specs/ihr-api.md §1).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.ihr import data
from tests.support.app import AppClient

BASE = "/ihr/api/"
JSON = "application/json"
DAY = data.DAY
# The two fixed days of the data set (spec §7's R).
RANGE = {"timebin__gte": "2024-05-01T00:00:00Z", "timebin__lte": "2024-05-03T00:00:00Z"}

NO_TIMEBIN = (
    "No timebin parameter. Please provide a timebin value or a range of values with "
    "timebin__lte and timebin__gte."
)
HALF_RANGE = "Invalid timebin range. Please provide both timebin__lte and timebin__gte."
UNPARSEABLE = "Could not parse the timebin parameters."
ENTER_A_NUMBER = "Enter a number."
ENTER_A_DATETIME = "Enter a valid date/time."

# Values a text filter must survive: 200 with no rows, or a 400 — never a 500.
HOSTILE = [
    "' OR 1=1--",
    "'; DROP TABLE ihr_asn;--",
    "%",
    "_",
    "%%",
    "\\",
    "x" * 5000,
    "日本語 Ünïcødé \u202e",
    "\x00",
    "a\x00b",
]


def too_large(days: int) -> str:
    return f"The given timebin range is too large. Should be less than {days} days."


def one_of(*names: str) -> dict[str, str]:
    """The legacy one-of error body (names in the endpoint's order, Python list repr)."""
    return {
        "detail": "Required parameter missing. Please provide one of the following parameter: "
        + repr(list(names))
    }


def iso(value: dt.datetime) -> str:
    """A datetime as the legacy API printed it: `2024-05-01T00:00:00Z`."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def span(days: int, hours: int = 0, start: dt.datetime = DAY) -> dict[str, str]:
    """A timebin range starting at `start` and lasting `days` days and `hours` hours."""
    end = start + dt.timedelta(days=days, hours=hours)
    return {"timebin__gte": iso(start), "timebin__lte": iso(end)}


async def get(api: AppClient, path: str, **params: Any) -> httpx.Response:
    return await api.get(BASE + path, params=params)


async def page(api: AppClient, path: str, **params: Any) -> httpx.Response:
    """A 200 JSON answer holding every row in one page (the data set is small)."""
    answer = await get(api, path, **params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == JSON
    body = answer.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == len(body["results"])
    assert body["next"] is None
    assert body["previous"] is None
    return answer


async def rows(api: AppClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """The result rows of a 200 answer (asserting the envelope and that the count is exact)."""
    results: list[dict[str, Any]] = (await page(api, path, **params)).json()["results"]
    return results


async def error(api: AppClient, path: str, **params: Any) -> Any:
    """The JSON body of a 400 answer."""
    answer = await get(api, path, **params)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == JSON
    return answer.json()


def column(found: list[dict[str, Any]], name: str) -> list[Any]:
    return [row[name] for row in found]


# --- rules ---------------------------------------------------------------------------------------


async def assert_timebin_required(api: AppClient, path: str, **base: Any) -> None:
    assert await error(api, path, **base) == {"detail": NO_TIMEBIN}


async def assert_half_range(api: AppClient, path: str, **base: Any) -> None:
    gte, lte = RANGE["timebin__gte"], RANGE["timebin__lte"]
    assert await error(api, path, **base, timebin__gte=gte) == {"detail": HALF_RANGE}
    assert await error(api, path, **base, timebin__lte=lte) == {"detail": HALF_RANGE}


async def assert_range_limit(api: AppClient, path: str, days: int, **base: Any) -> list[dict[str, Any]]:
    """`days` days and 23 hours pass (whole days count); `days + 1` days fail. The passing rows."""
    assert await error(api, path, **base, **span(days + 1)) == {"detail": too_large(days)}
    assert await error(api, path, **base, **span(days + 2, 12)) == {"detail": too_large(days)}
    return await rows(api, path, **base, **span(days, 23))


async def assert_unparseable(api: AppClient, path: str, **base: Any) -> None:
    expected = {"detail": UNPARSEABLE}
    assert await error(api, path, **base, timebin__gte="yesterday", timebin__lte="today") == expected
    assert await error(api, path, **base, timebin__gte=RANGE["timebin__gte"], timebin__lte="x") == expected


async def assert_date_only(api: AppClient, path: str, **base: Any) -> None:
    """A bound without a time passes the range check, then the filter refuses it."""
    found = await error(api, path, **base, timebin__gte="2024-05-01", timebin__lte=RANGE["timebin__lte"])
    assert found == {"timebin__gte": [ENTER_A_DATETIME]}
    found = await error(api, path, **base, timebin__gte=RANGE["timebin__gte"], timebin__lte="2024-05-03")
    assert found == {"timebin__lte": [ENTER_A_DATETIME]}


async def assert_bad_number(api: AppClient, path: str, param: str, **base: Any) -> None:
    for value in ("x", "four", "1,2", "NaN", "' OR 1=1--"):
        assert await error(api, path, **base, **{param: value}) == {param: [ENTER_A_NUMBER]}, value


async def assert_bad_integer_list(api: AppClient, path: str, param: str, **base: Any) -> None:
    """A non-integer item gives a 400 naming the parameter (the legacy 500 is a fixed bug)."""
    for value in ("12,x", "x", "1.5", "' OR 1=1--", "174|1299"):
        body = await error(api, path, **base, **{param: value})
        assert list(body) == [param], value
        assert isinstance(body[param], list)
        assert len(body[param]) == 1
        assert isinstance(body[param][0], str)
        assert body[param][0]


async def assert_hostile(api: AppClient, path: str, param: str, **base: Any) -> None:
    """Injection strings, LIKE wildcards, long and odd text: no rows or a 400, never a 500."""
    for value in HOSTILE:
        answer = await get(api, path, **base, **{param: value})
        assert answer.status_code in (200, 400), (value, answer.status_code, answer.text)
        assert answer.headers["content-type"] == JSON
        if answer.status_code == 200:
            assert answer.json()["results"] == [], value
        else:
            assert set(answer.json()) <= {param, "detail"}, value
