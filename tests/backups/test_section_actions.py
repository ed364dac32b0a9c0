"""The section page's actions in a real Chromium: Run now, the thresholds form, the restore tests.

Each is exercised at desktop (1280x800) and phone (390x844) sizes, against a live server on a demo
catalog of this module's own. Screenshots for review are saved to tests/artifacts/backups/section/
(git-ignored: tests/artifacts/), named after the test and the size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.backups.test_dashboard import (
    ARTIFACTS,
    Site,
    browser,
    catalog_db,
    conn,
    log_in,
    rendered,
    site,
    watch,
)

__all__ = ["browser", "catalog_db", "conn", "site"]

SHOTS = ARTIFACTS / "section"
SIZES = {
    "desktop": {"viewport": ViewportSize(width=1280, height=800)},
    "phone": {
        "viewport": ViewportSize(width=390, height=844),
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}
SECTION = "s1"


@pytest.fixture(params=list(SIZES))
async def sized(request: pytest.FixtureRequest, browser: Browser) -> AsyncIterator[tuple[Page, str]]:
    """A fresh tab at each size, failing the test on any script error."""
    context = await browser.new_context(**SIZES[request.param])
    tab = await context.new_page()
    errors = watch(tab)
    try:
        yield tab, request.param
    finally:
        await context.close()
    assert errors == []


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def part_shot(page: Page, selector: str, name: str) -> None:
    """One part of the page, at its real size, for a closer look than the full page gives."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.locator(selector).screenshot(path=str(SHOTS / f"{name}.png"))


async def no_sideways_scroll(page: Page) -> None:
    scroll, client = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= client


async def test_run_now_queues_a_run_and_refuses_a_second(
    sized: tuple[Page, str], site: Site, conn: asyncpg.Connection
) -> None:
    page, size = sized
    await conn.execute(
        "DELETE FROM backups.runs WHERE section = $1 AND registered_by LIKE 'api:%' AND status = 'scheduled'",
        SECTION,
    )
    await conn.execute(
        "UPDATE backups.schedules SET source_env = 'BACKUP_SOURCE_S1_DUMP' "
        "WHERE (section, type, datacenter) = ($1, 'dump', 'eqiad')",
        SECTION,
    )
    await log_in(page, f"{site.base}/backups/sections/{SECTION}", site.manager)
    await rendered(page)
    button = page.locator("#series [data-series='dump/eqiad'] button.run-now")
    await expect(button).to_be_enabled()
    external = page.locator("#series [data-series='snapshot/codfw'] button.run-now")
    await expect(external).to_be_disabled()
    await expect(external).to_have_attribute(
        "title", "Another tool takes this backup; Dockyard's scheduler cannot run it."
    )

    await button.click()
    notice = page.locator("#notice [data-code='run-queued']")
    await expect(notice).to_contain_text("is queued: the scheduler starts it on its next round")
    run_id = await conn.fetchval(
        "SELECT id FROM backups.runs WHERE section = $1 AND type = 'dump' AND datacenter = 'eqiad' "
        "AND status = 'scheduled' AND registered_by = $2",
        SECTION,
        f"api:{site.manager}",
    )
    assert run_id is not None
    await expect(notice.locator("a")).to_have_attribute("href", f"/backups/runs/{run_id}")
    await no_sideways_scroll(page)
    await shot(page, f"run-now-{size}")
    await part_shot(page, "#series", f"run-now-cards-{size}")

    await button.click()
    await expect(page.locator("#notice [data-code='run-refused']")).to_contain_text(
        f"Run {run_id} of the dump of {SECTION} in eqiad is due and about to start"
    )


async def test_viewers_get_no_run_now_and_a_read_only_form(sized: tuple[Page, str], site: Site) -> None:
    page, size = sized
    await log_in(page, f"{site.base}/backups/sections/{SECTION}", site.viewer)
    await rendered(page)
    await expect(page.locator("#series .series-card")).to_have_count(4)
    await expect(page.locator("button.run-now")).to_have_count(0)
    await expect(page.locator("#threshold-freshness_s")).to_be_disabled()
    await expect(page.locator("#threshold-type")).to_be_disabled()
    await expect(page.locator("#thresholds [data-code='no-manage']")).to_be_visible()
    await expect(page.locator("#thresholds-save")).to_have_count(0)
    await expect(page.locator("#threshold-freshness_s")).to_have_attribute("placeholder", "691200")
    await shot(page, f"viewer-{size}")


async def test_the_thresholds_form_sets_refuses_and_records(
    sized: tuple[Page, str], site: Site, conn: asyncpg.Connection
) -> None:
    page, size = sized
    await conn.execute("DELETE FROM backups.check_config WHERE section = $1", SECTION)
    await log_in(page, f"{site.base}/backups/sections/{SECTION}", site.manager)
    await rendered(page)
    form = page.locator("#thresholds-form")
    await form.scroll_into_view_if_needed()
    await page.locator("#threshold-type").select_option("dump")
    await page.locator("#threshold-datacenter").select_option("eqiad")
    freshness = page.locator("#threshold-freshness_s")
    await expect(freshness).to_have_value("")
    await expect(freshness).to_have_attribute("placeholder", "691200")
    await expect(page.locator("#threshold-freshness_s-hint")).to_contain_text("every section · both types")

    await freshness.fill("86400")
    await page.locator("#threshold-warn_change_pct").fill("20")
    await page.locator("#threshold-crit_change_pct").fill("10")
    await page.locator("#thresholds-save").click()
    await expect(page.locator("#thresholds-error")).to_contain_text(
        "warn_change_pct must not be above crit_change_pct"
    )
    assert await conn.fetchval("SELECT count(*) FROM backups.check_config WHERE section = $1", SECTION) == 0

    await page.locator("#threshold-crit_change_pct").fill("30")
    await page.locator("#thresholds-save").click()
    await expect(page.locator("#notice [data-code='thresholds-saved']")).to_contain_text(
        f"Thresholds of {SECTION} · dump · eqiad saved."
    )
    await expect(page.locator("#thresholds-error")).to_be_hidden()
    row = await conn.fetchrow(
        "SELECT freshness_s, warn_change_pct::float8 AS warn, crit_change_pct::float8 AS crit, min_size "
        "FROM backups.check_config WHERE (section, type, datacenter) = ($1, 'dump', 'eqiad')",
        SECTION,
    )
    assert tuple(row) == (86400, 20.0, 30.0, None)
    newest = page.locator("#thresholds-history li").first
    await expect(newest).to_contain_text(site.manager)
    await expect(newest).to_contain_text(f"{SECTION} · dump · eqiad")
    await expect(newest).to_contain_text("freshness_s — → 1 d")
    change = await conn.fetchval(
        "SELECT changed_by FROM backups.threshold_changes WHERE section = $1 ORDER BY id DESC LIMIT 1",
        SECTION,
    )
    assert change == f"api:{site.manager}"

    await page.locator("#threshold-type").select_option("")
    await expect(freshness).to_have_value("")
    await page.locator("#threshold-type").select_option("dump")
    await expect(freshness).to_have_value("86400"), "the scope's own values are shown again"
    await no_sideways_scroll(page)
    await shot(page, f"thresholds-{size}")
    await part_shot(page, "#thresholds", f"thresholds-form-{size}")


async def test_restore_tests_are_listed(
    sized: tuple[Page, str], site: Site, conn: asyncpg.Connection
) -> None:
    page, size = sized
    total = await conn.fetchval(
        "SELECT count(*) FROM backups.restore_tests t JOIN backups.runs r ON r.id = t.run_id"
        " WHERE r.section = $1",
        SECTION,
    )
    latest = await conn.fetch(
        "SELECT t.id, t.result FROM backups.restore_tests t JOIN backups.runs r ON r.id = t.run_id "
        "WHERE r.section = $1 ORDER BY t.started_at DESC, t.id DESC LIMIT 10",
        SECTION,
    )
    assert total > 0, "the demo data set has restore tests"
    await log_in(page, f"{site.base}/backups/sections/{SECTION}", site.viewer)
    await rendered(page)
    box = page.locator("#restore-tests")
    await expect(box.locator(".card-header h2")).to_contain_text(f"Restore tests: {total}")
    rows = box.locator("tbody tr")
    await expect(rows).to_have_count(len(latest))
    shown = await rows.evaluate_all("rows => rows.map(r => [Number(r.dataset.testId), r.dataset.result])")
    assert shown == [[row["id"], row["result"]] for row in latest]
    await expect(rows.first.locator("td").nth(3)).to_contain_text("ago")
    await box.scroll_into_view_if_needed()
    await no_sideways_scroll(page)
    await shot(page, f"restore-tests-{size}")
    await part_shot(page, "#restore-tests", f"restore-tests-card-{size}")
