"""The backups overview and run page at desktop (1280x800) and phone (390x844) sizes, in Debian's Chromium.

What a DBA reading the dashboard needs on the first screen, measured in the browser: the slots due but
not started, the running runs near the top with their progress and ETA, each problem message once (an
open alert is shown under its problem, not repeated in a list of its own), host:port never split across
lines, no sideways scrolling on a phone, and the run page's location and restore tests.

The module has a database of its own: the demo catalog plus six overdue dump slots, a dump running
now and a failure whose message names a host:port. Screenshots of every page at both sizes are saved
under tests/backups/screenshots/ (git-ignored) for review.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from dockyard import accounts, backups
from dockyard.backups import alerts, checks
from dockyard.backups.seed import seed
from tests.accounts.conftest import Accounts, accounts_settings
from tests.backups.test_dashboard import Site, api, log_in, rendered, watch
from tests.support.app import app_client
from tests.support.live import chromium, live_server
from tests.support.postgres import PgServer
from tests.support.smtp import Inbox

SERVICES = (accounts.service, backups.service)
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CSS = Path(__file__).resolve().parents[2] / "src" / "dockyard" / "static" / "backups" / "dashboard.css"
SIZES = {"desktop": ViewportSize(width=1280, height=800), "phone": ViewportSize(width=390, height=844)}
# Six dump slots of today that nothing started: three within the 5 h grace, three past it.
OVERDUE = [("m2", 1), ("m3", 2), ("m5", 3), ("zarcillo", 6), ("es4", 7), ("es5", 8)]
BROKEN = "mydumper: CRITICAL: Could not connect to db2125.codfw.wmnet:3312: Lost connection to server"
NO_SIDEWAYS_SCROLL = "() => document.scrollingElement.scrollWidth <= window.innerWidth"
LINES = "nodes => nodes.map(n => [n.textContent, new Set([...n.getClientRects()].map(r => r.top)).size])"


@pytest.fixture(scope="module")
def layout_db(pg: PgServer) -> Iterator[str]:
    with pg.fresh_database("dy_bk_layout") as url:
        pg.migrate(url)
        yield url


@pytest.fixture(scope="module")
async def site(layout_db: str, smtp: Inbox) -> AsyncIterator[Site]:
    """The demo catalog, six overdue slots, a dump running now, a failure naming a host:port, alerts."""
    conn = await asyncpg.connect(layout_db)
    settings = accounts_settings(layout_db, smtp)
    try:
        await seed(conn, "demo", lambda done, total: None)
        for section, hours in OVERDUE:
            await conn.execute(
                "INSERT INTO backups.runs (section, type, datacenter, host, status, scheduled_for)"
                " VALUES ($1, 'dump', 'eqiad', 'dbprov1001.eqiad.wmnet', 'scheduled',"
                " now() - make_interval(hours => $2))",
                section,
                hours,
            )
        await conn.execute(
            "INSERT INTO backups.runs (section, type, datacenter, source, host, status, started_at,"
            " heartbeat_at, bytes_done, location) VALUES ('s4', 'snapshot', 'codfw',"
            " 'db2110.codfw.wmnet:3314', 'dbprov2001.codfw.wmnet', 'ongoing', now() - interval '40 minutes',"
            " now(), 500000000000, '/srv/backups/snapshots/ongoing/snapshot.s4.now')"
        )
        await conn.execute(
            "INSERT INTO backups.runs (section, type, datacenter, source, host, status, started_at,"
            " ended_at, heartbeat_at, error_stage, error_exit_code, error_message) VALUES ('s2', 'dump',"
            " 'codfw', 'db2125.codfw.wmnet:3312', 'dbprov2002.codfw.wmnet', 'failed',"
            " now() - interval '2 hours', now() - interval '1 hour', now() - interval '1 hour',"
            " 'backup', 3, $1)",
            BROKEN,
        )
        await alerts.sync(conn, await checks.check(conn))
        async with app_client(settings, SERVICES) as client:
            people = Accounts(client, conn)
            _, viewer = await people.user("viewer", groups=(await people.group("backups.view"),))
            _, manager = await people.user(
                "manager", groups=(await people.group("backups.view", "backups.manage"),)
            )
            _, nobody = await people.user("nobody")
            with live_server(settings, SERVICES) as base:
                yield Site(base, layout_db, people, viewer, manager, nobody)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture(params=list(SIZES))
async def page(request: pytest.FixtureRequest, browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=SIZES[request.param])
    tab = await context.new_page()
    errors = watch(tab)
    try:
        yield tab
    finally:
        await context.close()
    assert errors == []


async def shot(page: Page, name: str) -> None:
    """The whole page, and the first screen (what shows before any scrolling)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    size = "phone" if (page.viewport_size or SIZES["desktop"])["width"] < 576 else "desktop"
    await page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}-first-screen.png"))


async def single_lines(page: Page, selector: str) -> list[Any]:
    """Each matching element's text and the number of lines it takes (distinct tops of its boxes)."""
    measured: list[Any] = await page.locator(selector).evaluate_all(LINES)
    return measured


def test_no_style_breaks_words_anywhere() -> None:
    for path in [CSS, *CSS.parent.glob("*.js")]:
        assert "break-all" not in path.read_text(), path.name


class TestOverview:
    async def test_due_running_and_problems_each_once(self, page: Page, site: Site) -> None:
        await log_in(page, site.base + "/backups/", site.viewer)
        await rendered(page)
        overview = await api(site, site.viewer, "/backups/api/v1/overview")
        open_alerts = await api(site, site.viewer, "/backups/api/v1/alerts")
        height = await page.evaluate("() => window.innerHeight")

        # The six overdue slots, latest first, with how late each is; the three past the grace MISSED.
        due = page.locator("#due tbody tr")
        await expect(due).to_have_count(6)
        shown = await due.evaluate_all(
            "rows => rows.map(r => [r.querySelector('.series-name').textContent, r.dataset.state,"
            " r.querySelector('.late').textContent])"
        )
        assert [name for name, _, _ in shown] == [f"{s} · dump · eqiad" for s, _ in OVERDUE]
        assert [state for _, state, _ in shown] == ["scheduled"] * 3 + ["missed"] * 3
        for (_, hours), (_, _, late) in zip(OVERDUE, shown, strict=True):
            assert late.startswith(f"{hours} h "), late
            assert " late" in late, late
        await expect(page.locator("#due")).to_contain_text("Due, not started (6)")
        assert overview["due_total"] == 6

        # Running runs are on the first screen, with progress and ETA in view.
        running = page.locator("#ongoing tbody tr")
        await expect(running).to_have_count(len(overview["ongoing"]))
        assert len(overview["ongoing"]) >= 2
        first = await running.first.bounding_box()
        assert first is not None
        assert first["y"] + first["height"] <= height
        now = page.locator("#ongoing tr[data-state=ongoing]").first
        for part in (".progress-column", ".eta"):
            box = await now.locator(part).bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= (page.viewport_size or {"width": 0})["width"]
        await expect(now.locator(".eta")).not_to_be_empty()
        assert await page.locator("#ongoing .table-responsive").evaluate(
            "n => n.scrollWidth <= n.clientWidth"
        )

        # One problems list: each message once, each open alert once, under its problem.
        messages = await page.locator("#problems .problem .message").all_inner_texts()
        assert len(messages) == len(set(messages))
        assert await page.locator("#alerts").count() == 0
        await expect(page.locator("#problems .alert-item")).to_have_count(len(open_alerts))
        body = await page.locator("#page").inner_text()
        for alert in open_alerts:
            assert body.count(alert.get("message")) == 1, alert["message"]
            item = page.locator(f"#problems [data-alert-id='{alert['id']}']")
            await expect(item).to_have_attribute("data-rule", alert["rule"])
        failed = page.locator("#problems [data-series='s2/dump/codfw'] li[data-rule=failed]")
        await expect(failed).to_contain_text("db2125.codfw.wmnet:3312")

        # Names and ports stay whole; the phone never scrolls sideways.
        for text, lines in await single_lines(page, "#page .hostport, #page .series-name"):
            assert lines == 1, text
        assert "db2125.codfw.wmnet:3312" in [
            text for text, _ in await single_lines(page, "#problems .hostport")
        ]
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        await shot(page, "overview")


class TestRunPage:
    async def test_location_and_restore_tests(self, page: Page, site: Site) -> None:
        conn = await asyncpg.connect(site.database)
        try:
            drill = await conn.fetchrow(
                "SELECT t.run_id, t.detail, r.location, r.source FROM backups.restore_tests t"
                " JOIN backups.runs r ON r.id = t.run_id WHERE t.result = 'failed'"
            )
        finally:
            await conn.close()
        await log_in(page, f"{site.base}/backups/runs/{drill['run_id']}", site.viewer)
        await rendered(page)
        location = page.locator("[data-field=location]")
        await expect(location).to_contain_text(drill["location"])
        await expect(location.locator("a.hostport")).to_have_count(1)
        test = page.locator("#restore-tests .restore-test")
        await expect(test).to_have_count(1)
        await expect(test).to_have_attribute("data-result", "failed")
        await expect(test.locator(".comparison")).to_contain_text("1 differ")
        await expect(test.locator(".restore-error")).to_contain_text("rows, expected")
        tables = await api(site, site.viewer, f"/backups/api/v1/runs/{drill['run_id']}/restore-tests")
        compared = tables[0]["detail"]["tables"]
        await expect(test.locator(".restored-rows tbody tr")).to_have_count(len(compared))
        short = compared[0]
        row = test.locator(f".restored-rows tr[data-table='{short['db']}.{short['name']}']")
        await expect(row).to_have_class("table-danger")
        await expect(row).to_contain_text(f"{short['expected']:,}")
        await expect(row).to_contain_text(f"{short['restored']:,}")
        for text, lines in await single_lines(page, "#page .hostport"):
            assert lines == 1, text
        assert drill["source"] in [
            text for text, _ in await single_lines(page, "[data-field=source] .hostport")
        ]
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        await shot(page, "run-restore-tests")

    async def test_an_untested_run_says_how_to_test_it(self, page: Page, site: Site) -> None:
        conn = await asyncpg.connect(site.database)
        try:
            run_id = await conn.fetchval(
                "SELECT id FROM backups.runs r WHERE status = 'finished' AND NOT EXISTS"
                " (SELECT FROM backups.restore_tests t WHERE t.run_id = r.id)"
                " ORDER BY started_at DESC LIMIT 1"
            )
        finally:
            await conn.close()
        await log_in(page, f"{site.base}/backups/runs/{run_id}", site.viewer)
        await rendered(page)
        await expect(page.locator("#restore-tests")).to_contain_text(
            f"dockyard backups restore-test {run_id}"
        )
        await expect(page.locator("[data-field=location]")).to_contain_text("/srv/backups/")


class TestHostPage:
    async def test_running_runs_show_their_progress_in_view(self, page: Page, site: Site) -> None:
        await log_in(page, f"{site.base}/backups/hosts/dbprov2001.codfw.wmnet", site.viewer)
        await rendered(page)
        running = page.locator("#running tbody tr")
        await expect(running).to_have_count(1)
        box = await running.locator(".progress-column").bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= (page.viewport_size or {"width": 0})["width"]
        await expect(running.locator(".progress-column")).to_contain_text("466 GiB so far")
        widths = await page.locator("#running .table-responsive").evaluate(
            "n => [n.scrollWidth, n.clientWidth]"
        )
        assert widths[0] <= widths[1], widths
        assert await page.evaluate(NO_SIDEWAYS_SCROLL)
        await shot(page, "host")
