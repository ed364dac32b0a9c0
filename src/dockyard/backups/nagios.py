"""Check results as a Nagios/Icinga plugin prints them (Nagios plugin guidelines, "Plugin Output").

The first line is the status and the worst problem, with how many others there are; performance
data, when asked for, follows it after a `|`. The following lines (the long output) list every
problem, worst first, the acknowledged and silenced ones marked as such; with more than one series,
the series that are OK come last, one line each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dockyard.backups.alerts import Handled
from dockyard.backups.checks import Result
from dockyard.backups.problems import Problem, Status


@dataclass
class Report:
    """What the plugin prints, and its exit code."""

    status: Status
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class _Item:
    result: Result
    problem: Problem
    handled: str | None

    def line(self) -> str:
        mark = f" [{self.handled}]" if self.handled else ""
        return f"{self.problem.status.name}: {self.problem.message}{mark}"


def _others(count: int) -> str:
    return f" (and {count} other problem{'s' if count != 1 else ''})" if count else ""


def report(results: Sequence[Result], *, handled: Handled | None = None, perfdata: bool = False) -> Report:
    """The plugin output for `results`; `handled` problems (acknowledged or silenced) do not count.

    Without `handled` (no --respect-acks), every problem counts.
    """
    handled = handled or {}
    items = [
        _Item(result, problem, handled.get((result.section, result.type, result.datacenter, problem.rule)))
        for result in results
        for problem in result.problems
    ]
    # Worst first; among equals, the ones nobody handles first, then in the order of the series.
    items.sort(key=lambda item: (item.handled is not None, -item.problem.status))
    active = [item for item in items if item.handled is None]
    status = max((item.problem.status for item in active), default=Status.OK)
    if active:
        first = f"{status.name}: {active[0].problem.message}{_others(len(items) - 1)}"
    elif items:
        count = len(items)
        first = (
            f"OK: {count} problem{'s' if count != 1 else ''} acknowledged or silenced, the worst: "
            f"{items[0].problem.status.name}: {items[0].problem.message} [{items[0].handled}]"
        )
    elif len(results) == 1:
        first = f"OK: {results[0].message}"
    else:
        first = f"OK: {len(results)} backup series checked, no problems"
    if perfdata:
        values = " ".join(performance(results))
        if values:
            first += f" | {values}"
    lines = [first, *(item.line() for item in items)]
    if len(results) > 1:
        lines += [f"OK: {result.message}" for result in results if not result.problems]
    return Report(status, lines)


def _label(result: Result, what: str, single: bool) -> str:
    # Labels are quoted; section and datacenter names cannot hold a quote or an equals sign.
    return f"'{what}'" if single else f"'{result.section} {result.type} {result.datacenter} {what}'"


def _threshold(value: object) -> str:
    return "" if value is None else str(value)


def performance(results: Sequence[Result]) -> Iterable[str]:
    """`'label'=value[UOM];warn;crit;min;max` for the age, size and duration of each last backup."""
    single = len(results) == 1
    for result in results:
        last, now = result.last_finished, result.checked_at
        if last is None or now is None:
            continue
        limits = result.thresholds
        age = max(round((now - last["started_at"]).total_seconds()), 0)
        yield f"{_label(result, 'age', single)}={age}s;;{_threshold(limits.get('freshness_s'))};0;"
        minimum = limits.get("min_size")
        critical = f"{minimum}:" if minimum is not None else ""  # a range: critical under the minimum
        yield f"{_label(result, 'size', single)}={last.get('total_size') or 0}B;;{critical};0;"
        if last.get("ended_at"):
            took = max(round((last["ended_at"] - last["started_at"]).total_seconds()), 0)
            warn = _threshold(limits.get("max_duration_s"))
            yield f"{_label(result, 'duration', single)}={took}s;{warn};;0;"
