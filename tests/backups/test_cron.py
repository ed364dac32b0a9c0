"""Cron expressions: the production schedules, every field syntax, clear errors, and a brute-force check."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.backups import cron

UTC = dt.UTC
MONDAY = dt.datetime(2026, 11, 23, tzinfo=UTC)  # a Monday


def week(expression: str, start: dt.datetime = MONDAY) -> list[dt.datetime]:
    return list(cron.parse(expression).between(start, start + dt.timedelta(days=7)))


def test_the_production_dump_schedule_is_tuesday_midnight() -> None:
    assert week("0 0 * * tue") == [dt.datetime(2026, 11, 24, tzinfo=UTC)]


def test_the_production_snapshot_schedule_is_four_evenings_a_week() -> None:
    slots = week("0 19 * * sun,tue,wed,fri")
    assert [slot.strftime("%a %H:%M") for slot in slots] == [
        "Tue 19:00",
        "Wed 19:00",
        "Fri 19:00",
        "Sun 19:00",
    ]


def test_ranges_steps_and_lists() -> None:
    parsed = cron.parse("*/15 8-10,22 1-7 */3 *")
    assert parsed.minutes == {0, 15, 30, 45}
    assert parsed.hours == {8, 9, 10, 22}
    assert parsed.days == set(range(1, 8))
    assert parsed.months == {1, 4, 7, 10}
    assert cron.parse("5-50/20 * * * *").minutes == {5, 25, 45}
    assert cron.parse("10/25 * * * *").minutes == {10, 35}


def test_sunday_is_both_0_and_7_and_names_are_case_blind() -> None:
    assert cron.parse("0 0 * * 7").weekdays == cron.parse("0 0 * * SUN").weekdays == {0}
    assert cron.parse("0 0 * JAN-mar *").months == {1, 2, 3}


def test_both_day_fields_restricted_means_either_matches() -> None:
    # The 1st of the month OR any Friday, as in Vixie cron.
    slots = list(
        cron.parse("0 12 1 * fri").between(
            dt.datetime(2026, 11, 25, tzinfo=UTC), dt.datetime(2026, 12, 8, tzinfo=UTC)
        )
    )
    assert [slot.date().isoformat() for slot in slots] == ["2026-11-27", "2026-12-01", "2026-12-04"]


def test_the_window_is_half_open_and_in_utc() -> None:
    start = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # 00:00 UTC
    slots = list(cron.parse("0 0 * * *").between(start, start + dt.timedelta(days=1)))
    assert slots == [dt.datetime(2026, 11, 24, tzinfo=UTC)]


def test_times_are_read_in_the_zone_and_daylight_saving_runs_each_slot_once() -> None:
    berlin = cron.zone("Europe/Berlin")
    spring = list(
        cron.parse("30 2 * * *").between(
            dt.datetime(2026, 3, 28, tzinfo=UTC), dt.datetime(2026, 3, 31, tzinfo=UTC), berlin
        )
    )
    # 29 March: 02:30 does not exist, the slot runs at 03:30 CEST, right after the jump.
    assert [slot.astimezone(berlin).strftime("%d %H:%M") for slot in spring] == [
        "28 02:30",
        "29 03:30",
        "30 02:30",
    ]
    autumn = list(
        cron.parse("30 2 * * *").between(
            dt.datetime(2026, 10, 24, 12, tzinfo=UTC), dt.datetime(2026, 10, 26, tzinfo=UTC), berlin
        )
    )
    # 25 October: 02:30 happens twice; the slot runs once, the first time (CEST).
    assert [slot.strftime("%d %H:%M") for slot in autumn] == ["25 00:30"]
    both = list(
        cron.parse("30 2,3 * * *").between(
            dt.datetime(2026, 3, 29, tzinfo=UTC), dt.datetime(2026, 3, 29, 12, tzinfo=UTC), berlin
        )
    )
    assert [slot.strftime("%H:%M") for slot in both] == ["01:30"], "02:30 and 03:30 coincide: one slot"


@pytest.mark.parametrize("name", ["Mars/Olympus", "utc", "../etc/passwd", "/etc/localtime", "", "Europe"])
def test_a_zone_must_be_an_iana_name(name: str) -> None:
    with pytest.raises(cron.CronError, match="not an IANA time zone name"):
        cron.zone(name)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 * *", "has 5 fields"),
        ("60 0 * * *", "minute: 60 is outside 0-59"),
        ("0 24 * * *", "hour: 24 is outside 0-23"),
        ("0 0 0 * *", "day of month: 0 is outside 1-31"),
        ("0 0 * 13 *", "month: 13 is outside 1-12"),
        ("0 0 * * 8", "day of week: 8 is outside 0-7"),
        ("0 0 * * mon-sun", "day of week: the range 'mon-sun' runs backwards"),
        ("*/0 * * * *", "step in '*/0' must be a whole number above 0"),
        ("0 0 * foo *", "month: 'foo' is not a number from 1 to 12 or a name"),
        ("0,,5 0 * * *", "minute: an empty item"),
    ],
)
def test_errors_name_the_field(expression: str, message: str) -> None:
    with pytest.raises(cron.CronError, match=message.replace("*", r"\*")):
        cron.parse(expression)


def _brute_force(parsed: cron.Cron, start: dt.datetime, minutes: int) -> list[dt.datetime]:
    found = []
    for step in range(minutes):
        moment = start + dt.timedelta(minutes=step)
        weekday = moment.isoweekday() % 7
        day_ok = (
            (moment.day in parsed.days and weekday in parsed.weekdays)
            if parsed.any_day or parsed.any_weekday
            else (moment.day in parsed.days or weekday in parsed.weekdays)
        )
        fields_ok = moment.minute in parsed.minutes and moment.hour in parsed.hours
        if fields_ok and day_ok and moment.month in parsed.months:
            found.append(moment)
    return found


def _item(low: int, high: int) -> st.SearchStrategy[str]:
    single = st.integers(low, high).map(str)
    span = st.tuples(st.integers(low, high), st.integers(low, high)).map(
        lambda pair: f"{min(pair)}-{max(pair)}"
    )
    stepped = st.tuples(st.sampled_from(["*", f"{low}-{high}"]), st.integers(1, 9)).map(
        lambda p: f"{p[0]}/{p[1]}"
    )
    return st.one_of(st.just("*"), single, span, stepped)


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    return st.lists(_item(low, high), min_size=1, max_size=3).map(",".join)


@settings(max_examples=60, deadline=None)
@given(
    minute=_field(0, 59),
    hour=_field(0, 23),
    day=_field(1, 31),
    month=_field(1, 12),
    weekday=_field(0, 7),
    offset=st.integers(0, 365 * 24 * 60),
)
def test_between_lists_exactly_the_matching_minutes(
    minute: str, hour: str, day: str, month: str, weekday: str, offset: int
) -> None:
    parsed = cron.parse(f"{minute} {hour} {day} {month} {weekday}")
    start = dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=offset)
    span = 3 * 24 * 60
    assert list(parsed.between(start, start + dt.timedelta(minutes=span))) == _brute_force(
        parsed, start, span
    )
