"""The backups dashboard in a real Chromium, against a live server and the demo catalog.

The module has a database of its own holding the demo data set and the alerts one round of
checks raises (the pages show every series, so a shared catalog would show other tests' runs).
One live server and one browser serve every test; each test gets a fresh browser context, so
its own sessionStorage, and fails on any script error or CSP violation in the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from dockyard import accounts, backups
from dockyard.backups import alerts, checks
from dockyard.backups.seed import seed
from tests.accounts.conftest import PASSWORD, Accounts, accounts_settings
from tests.support.app import app_client
from tests.support.live import chromium, live_server
from tests.support.postgres import PgServer
from tests.support.smtp import Inbox

SERVICES = (accounts.service, backups.service)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "backups"
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=390, height=844)
ACCESS = "dockyard.backups.access"
REFRESH = "dockyard.backups.refresh"
VIEW_MESSAGE = (
    "Your account lacks the backups.view permission — ask an admin to add you to a group that has it."
)
RANK = {"unknown": 3, "critical": 2, "warning": 1, "ok": 0}
VISIBILITY = """hidden => {
    Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
    const state = hidden ? "hidden" : "visible";
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
    document.dispatchEvent(new Event("visibilitychange"));
}"""
HOST = "dbprov1002.eqiad.wmnet"
PAST = "state=finished&state=failed&state=ongoing&state=stalled&state=missed&state=expired"
SHORT = {"ok": "OK", "warning": "WARN", "critical": "CRIT", "unknown": "UNKN"}


@dataclass
class Site:
    """The live server, its database and the people who use it."""

    base: str
    database: str
    people: Accounts
    viewer: str
    manager: str
    nobody: str


@pytest.fixture(scope="module")
def catalog_db(pg: PgServer) -> Iterator[str]:
    with pg.fresh_database("dy_bk_dash") as url:
        pg.migrate(url)
        yield url


@pytest.fixture(scope="module")
async def site(catalog_db: str, smtp: Inbox) -> AsyncIterator[Site]:
    """The demo catalog with its alerts raised, a viewer, a manager and a user without permissions."""
    conn = await asyncpg.connect(catalog_db)
    settings = accounts_settings(catalog_db, smtp)
    try:
        await seed(conn, "demo", lambda done, total: None)
        await alerts.sync(conn, await checks.check(conn))
        async with app_client(settings, SERVICES) as client:
            people = Accounts(client, conn)
            _, viewer = await people.user("viewer", groups=(await people.group("backups.view"),))
            managers = await people.group("backups.view", "backups.manage")
            _, manager = await people.user("manager", groups=(managers,))
            _, nobody = await people.user("nobody")
            with live_server(settings, SERVICES) as base:
                yield Site(base, catalog_db, people, viewer, manager, nobody)
    finally:
        await conn.close()


@pytest.fixture
async def conn(site: Site) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(site.database)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


def watch(page: Page) -> list[str]:
    """Script errors and console errors of `page` (failed requests aside: 401 and 403 are expected)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}")
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    return errors


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=DESKTOP)
    tab = await context.new_page()
    errors = watch(tab)
    try:
        yield tab
    finally:
        await context.close()
    assert errors == []


async def log_in(page: Page, url: str, email: str, password: str = PASSWORD) -> None:
    """Open `url`, which shows the login form, and log in there."""
    await page.goto(url)
    await expect(page.locator("#login")).to_be_visible()
    await page.locator("#login-email").fill(email)
    await page.locator("#login-password").fill(password)
    await page.locator("#login-form button[type=submit]").click()


async def rendered(page: Page) -> None:
    await page.wait_for_selector("body[data-ready]", state="attached")


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def api(site: Site, email: str, path: str) -> Any:
    """GET `path` as `email`, straight from the API."""
    async with httpx.AsyncClient(base_url=site.base) as http:
        login = await http.post("/accounts/v1/login", json={"email": email, "password": PASSWORD})
        answer = await http.get(path, headers={"Authorization": f"Bearer {login.json()['access_token']}"})
        answer.raise_for_status()
        return answer.json()


async def storage(page: Page) -> dict[str, str]:
    stored: dict[str, str] = await page.evaluate("() => ({...sessionStorage})")
    return stored


def key(series: dict[str, Any]) -> str:
    return f"{series['section']}/{series['type']}/{series['datacenter']}"


class TestPages:
    async def test_shells_carry_no_inline_script_and_a_strict_policy(self, site: Site) -> None:
        async with httpx.AsyncClient(base_url=site.base) as http:
            for path in (
                "/backups/",
                "/backups/sections/s1",
                "/backups/runs/10000",
                f"/backups/hosts/{HOST}",
            ):
                answer = await http.get(path)
                assert answer.status_code == 200
                assert answer.headers["content-type"].startswith("text/html")
                assert "script-src 'self'" in answer.headers["content-security-policy"]
                assert "<script>" not in answer.text
                assert " on" + "click=" not in answer.text
            assert (await http.get("/backups/sections/bad%20name")).status_code == 422
            assert (await http.get("/backups/runs/0")).status_code == 422
            index = await http.get("/")
            assert 'href="/backups/">Dashboard</a>' in index.text
            for asset in (
                "/static/vendor/bootstrap/bootstrap.min.css",
                "/static/vendor/bootstrap/bootstrap.bundle.min.js",
                "/static/vendor/chart.js/chart.umd.min.js",
                "/static/vendor/chart.js/chartjs-adapter-date-fns.bundle.min.js",
            ):
                assert (await http.get(asset)).status_code == 200, asset


class TestSectionApi:
    async def test_permissions_unknown_section_and_history(
        self, site: Site, conn: asyncpg.Connection
    ) -> None:
        async with httpx.AsyncClient(base_url=site.base) as http:
            assert (await http.get("/backups/api/v1/sections/s1")).status_code == 401
            login = await http.post("/accounts/v1/login", json={"email": site.nobody, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            refused = await http.get("/backups/api/v1/sections/s1", headers=headers)
            assert refused.status_code == 403
            assert "backups.view" in refused.json()["detail"]
            assert (await http.get("/openapi.json")).json()["paths"]["/backups/api/v1/sections/{section}"]
        unknown = await http_get(site, "/backups/api/v1/sections/nosuchsection")
        assert unknown.status_code == 404
        assert unknown.json()["detail"] == "No section 'nosuchsection': it has no runs and no schedule."
        assert (await http_get(site, "/backups/api/v1/sections/s1?days=0")).status_code == 422
        body = await api(site, site.viewer, "/backups/api/v1/sections/s1?days=30")
        assert [(s["type"], s["datacenter"]) for s in body["series"]] == [
            ("dump", "codfw"),
            ("dump", "eqiad"),
            ("snapshot", "codfw"),
            ("snapshot", "eqiad"),
        ]
        # A run retention expired stays in the history (put back after: the module shares its data).
        expired = await conn.fetchval(
            "UPDATE backups.runs SET status = 'expired', expired_at = now() WHERE id = ("
            " SELECT id FROM backups.runs WHERE section = 's1' AND type = 'dump' AND datacenter = 'eqiad'"
            " AND status = 'finished' AND started_at >= now() - interval '29 days'"
            " ORDER BY started_at LIMIT 1) RETURNING id"
        )
        try:
            body = await api(site, site.viewer, "/backups/api/v1/sections/s1?days=30")
            points = {p["id"] for series in body["series"] for p in series["points"]}
            assert expired in points
            for series in body["series"]:
                rows = await conn.fetch(
                    "SELECT id, total_size FROM backups.runs WHERE section = 's1' AND type = $1"
                    " AND datacenter = $2 AND status IN ('finished', 'expired')"
                    " AND started_at >= now() - interval '30 days' ORDER BY started_at",
                    series["type"],
                    series["datacenter"],
                )
                assert [(p["id"], p["total_size"]) for p in series["points"]] == [tuple(row) for row in rows]
                assert series["last_good"]["id"] == rows[-1]["id"]
        finally:
            await conn.execute(
                "UPDATE backups.runs SET status = 'finished', expired_at = NULL WHERE id = $1", expired
            )


async def http_get(site: Site, path: str) -> httpx.Response:
    """GET `path` as the viewer."""
    async with httpx.AsyncClient(base_url=site.base) as http:
        login = await http.post("/accounts/v1/login", json={"email": site.viewer, "password": PASSWORD})
        return await http.get(path, headers={"Authorization": f"Bearer {login.json()['access_token']}"})


class TestOverview:
    async def test_login_form_then_problems_first(self, page: Page, site: Site) -> None:
        await page.goto(site.base + "/backups/")
        await expect(page.locator("#login")).to_be_visible()
        await expect(page.locator("#page")).to_be_hidden()
        await page.locator("#login-email").fill(site.viewer)
        await page.locator("#login-password").fill("not the password")
        await page.locator("#login-form button[type=submit]").click()
        await expect(page.locator("#login-error")).to_have_text("Wrong email or password.")
        await page.locator("#login-password").fill(PASSWORD)
        await page.locator("#login-form button[type=submit]").click()
        await rendered(page)
        await expect(page.locator("#login")).to_be_hidden()
        await expect(page.locator("#who")).to_have_text(site.viewer)
        overview = await api(site, site.viewer, "/backups/api/v1/overview")

        cards = await page.locator("#page section.card").evaluate_all("nodes => nodes.map(n => n.id)")
        assert cards == ["ongoing", "due", "problems", "upcoming", "grid"]
        items = page.locator("#problems li.problem-series")
        shown = await items.evaluate_all("nodes => nodes.map(n => [n.dataset.series, n.dataset.status])")
        assert [series for series, _ in shown] == [key(p) for p in overview["problems"]]
        statuses = [status for _, status in shown]
        assert statuses == sorted(statuses, key=RANK.__getitem__, reverse=True)
        assert statuses.count("critical") == overview["counts"]["critical"] >= 4
        assert statuses.count("warning") == overview["counts"]["warning"] >= 2
        critical = {series for series, status in shown if status == "critical"}
        assert {"s6/snapshot/codfw", "matomo/dump/eqiad", "s6/dump/eqiad", "m1/dump/codfw"} <= critical
        assert {"x1/dump/codfw", "analytics_meta/dump/eqiad"} <= {s for s, st in shown if st == "warning"}
        stale = items.filter(has=page.locator("[data-rule=stale]"))
        await expect(stale).to_have_attribute("data-series", "s6/snapshot/codfw")
        await expect(stale).to_contain_text("is older than 3 days")
        await expect(
            page.locator("#problems [data-series='matomo/dump/eqiad'] li[data-rule=too_small]")
        ).to_contain_text("under 300 KiB")
        await expect(page.locator("#problems [data-series='s6/dump/eqiad']")).to_contain_text("-20.0 %")
        await expect(page.locator("#problems [data-series='x1/dump/codfw']")).to_contain_text("+7.0 %")
        stalled = page.locator("#problems [data-series='m1/dump/codfw'] .rule-stalled")
        await expect(stalled).to_have_text("STALLED")
        for status, count in overview["counts"].items():
            if count:
                await expect(page.locator(f"#counts [data-status={status}] strong")).to_have_text(str(count))

        cells = await page.locator("#grid td[data-series]").evaluate_all(
            "cells => cells.map(c => [c.dataset.series, c.dataset.status, c.textContent])"
        )
        assert len(cells) == len(overview["series"]) == 52
        assert sorted(cells) == sorted([key(s), s["status"], SHORT[s["status"]]] for s in overview["series"])

        running = page.locator("#ongoing tbody tr")
        await expect(running).to_have_count(len(overview["ongoing"]))
        stuck = page.locator("#ongoing tr[data-state=stalled]")
        await expect(stuck.locator(".state-stalled")).to_have_text("STALLED")
        await expect(stuck.locator(".eta")).to_contain_text("no heartbeat since 30 h ago")
        await expect(stuck.locator(".progress-text")).to_contain_text("% (")
        await expect(page.locator("#upcoming tbody tr")).to_have_count(len(overview["upcoming"]))
        first_upcoming = overview["upcoming"][0]["host"]
        await expect(page.locator("#upcoming tbody tr").first.locator("a.host-link")).to_have_attribute(
            "href", f"/backups/hosts/{first_upcoming}"
        )
        await expect(page.locator("#problems .alert-item")).to_have_count(
            len(await api(site, site.viewer, "/backups/api/v1/alerts"))
        )
        await shot(page, "overview")

        before = await storage(page)
        assert before[ACCESS]
        assert before[REFRESH]
        await page.reload()
        await rendered(page)
        await expect(page.locator("#login")).to_be_hidden()
        assert await storage(page) == before

    async def test_refreshes_every_30_s_but_not_while_the_tab_is_hidden(self, page: Page, site: Site) -> None:
        await page.clock.install()
        await log_in(page, site.base + "/backups/", site.viewer)
        await rendered(page)
        updated = page.locator("#last-updated")
        first = await updated.get_attribute("data-updated")
        await page.clock.fast_forward("00:31")
        await expect(updated).not_to_have_attribute("data-updated", first or "")
        second = await updated.get_attribute("data-updated") or ""

        fetched: list[str] = []
        page.on(
            "request", lambda request: fetched.append(request.url) if "/overview" in request.url else None
        )
        await page.evaluate(VISIBILITY, True)
        await page.clock.fast_forward("02:00")
        await page.wait_for_timeout(300)
        assert fetched == []
        await expect(updated).to_have_attribute("data-updated", second)
        await page.evaluate(VISIBILITY, False)
        await expect(updated).not_to_have_attribute("data-updated", second)
        assert len(fetched) == 1

    async def test_ongoing_runs_show_progress_and_an_eta_from_the_previous_run(
        self, page: Page, site: Site, conn: asyncpg.Connection
    ) -> None:
        previous = await conn.fetchrow(
            "SELECT * FROM backups.runs WHERE (section, type, datacenter) = ('s1', 'dump', 'eqiad')"
            " AND status = 'finished' ORDER BY started_at DESC LIMIT 1"
        )
        took = previous["ended_at"] - previous["started_at"]
        now = dt.datetime.now(dt.UTC)
        run_id = await conn.fetchval(
            "INSERT INTO backups.runs (section, type, datacenter, source, host, status, started_at,"
            " heartbeat_at, bytes_done) VALUES ('s1', 'dump', 'eqiad', $1, $2, 'ongoing', $3, $4, $5)"
            " RETURNING id",
            previous["source"],
            previous["host"],
            now - took / 4,
            now,
            previous["total_size"] // 4,
        )
        try:
            await log_in(page, site.base + "/backups/", site.viewer)
            await rendered(page)
            row = page.locator(f"#ongoing tr[data-run-id='{run_id}']")
            await expect(row.locator(".progress-text")).to_contain_text("25 % (")
            eta = (now + took * 3 / 4).strftime("%Y-%m-%d %H:%M")
            late = (now + took * 3 / 4 + dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
            assert (await row.locator(".eta").inner_text()).split(" UTC")[0] in (eta, late)
        finally:
            await conn.execute("DELETE FROM backups.runs WHERE id = $1", run_id)

    async def test_an_expired_access_token_is_renewed_once(self, page: Page, site: Site) -> None:
        await log_in(page, site.base + "/backups/", site.viewer)
        await rendered(page)
        first = await storage(page)
        await page.evaluate(f"sessionStorage.setItem('{ACCESS}', 'an-expired-token')")
        await page.reload()
        await rendered(page)
        renewed = await storage(page)
        assert renewed[ACCESS] not in (first[ACCESS], "an-expired-token")
        assert renewed[REFRESH] != first[REFRESH]

        # Reusing a spent refresh token ends the session: the page goes back to its login form.
        async with httpx.AsyncClient(base_url=site.base) as http:
            reused = await http.post("/accounts/v1/refresh", json={"refresh_token": first[REFRESH]})
        assert reused.status_code == 401
        await page.evaluate(f"sessionStorage.setItem('{ACCESS}', 'an-expired-token')")
        await page.reload()
        await expect(page.locator("#login")).to_be_visible()
        await expect(page.locator("#notice")).to_contain_text("Your session has ended; please log in again.")
        assert await storage(page) == {}

    async def test_log_out_ends_the_session(self, page: Page, site: Site) -> None:
        await log_in(page, site.base + "/backups/", site.viewer)
        await rendered(page)
        refresh = (await storage(page))[REFRESH]
        await page.locator("#logout").click()
        await expect(page.locator("#login")).to_be_visible()
        await expect(page.locator("#notice")).to_contain_text("You have logged out.")
        await expect(page.locator("#page")).to_be_hidden()
        assert await storage(page) == {}
        async with httpx.AsyncClient(base_url=site.base) as http:
            answer = await http.post("/accounts/v1/refresh", json={"refresh_token": refresh})
        assert answer.status_code == 401


class TestAlerts:
    async def test_a_manager_acknowledges_and_silences_while_the_page_refreshes(
        self, page: Page, site: Site, conn: asyncpg.Connection
    ) -> None:
        await page.clock.install()
        await log_in(page, site.base + "/backups/", site.manager)
        await rendered(page)
        manager_id = await conn.fetchval("SELECT id FROM accounts.users WHERE email = $1", site.manager)
        stale = await conn.fetchval(
            "SELECT id FROM backups.alerts WHERE (section, type, datacenter, rule) ="
            " ('s6', 'snapshot', 'codfw', 'stale') AND resolved_at IS NULL"
        )
        row = page.locator(f"#problems [data-alert-id='{stale}']")
        await row.locator("button.acknowledge").click()
        dialog = page.locator("#ack-dialog")
        await expect(dialog).to_be_visible()
        await dialog.locator("#ack-note").fill("restarting the transfer from db2141")
        await dialog.locator("button[type=submit]").click()
        await expect(dialog).to_be_hidden()
        await expect(row.locator(".acknowledged")).to_contain_text(f"Acknowledged by {site.manager}")
        alert = await conn.fetchrow("SELECT * FROM backups.alerts WHERE id = $1", stale)
        assert alert["acknowledged_by"] == manager_id
        assert alert["note"] == "restarting the transfer from db2141"
        assert alert["acknowledged_at"] is not None
        events = await conn.fetch("SELECT event FROM backups.alert_events WHERE alert_id = $1", stale)
        assert "acknowledged" in [event["event"] for event in events]

        # A refresh while the silence dialog is open leaves the dialog and what was typed in it.
        jump = await conn.fetchval(
            "SELECT id FROM backups.alerts WHERE (section, type, datacenter, rule) ="
            " ('x1', 'dump', 'codfw', 'size_change') AND resolved_at IS NULL"
        )
        row = page.locator(f"#problems [data-alert-id='{jump}']")
        await row.locator("button.silence").click()
        dialog = page.locator("#silence-dialog")
        await expect(dialog).to_be_visible()
        await dialog.locator("#silence-duration").select_option(label="1 day")
        await dialog.locator("#silence-note").fill("x1 grew: new table, expected")
        updated = await page.locator("#last-updated").get_attribute("data-updated")
        await page.clock.fast_forward("00:31")
        await expect(page.locator("#last-updated")).not_to_have_attribute("data-updated", updated or "")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#silence-note")).to_have_value("x1 grew: new table, expected")
        await dialog.locator("button[type=submit]").click()
        await expect(dialog).to_be_hidden()
        await expect(row.locator(".silenced")).to_contain_text("Silenced until")
        await expect(row.locator("button.unsilence")).to_be_visible()
        alert = await conn.fetchrow(
            "SELECT *, silenced_until - now() AS left FROM backups.alerts WHERE id = $1", jump
        )
        assert dt.timedelta(hours=23, minutes=50) < alert["left"] < dt.timedelta(days=1, minutes=10)
        assert alert["note"] == "x1 grew: new table, expected"
        await shot(page, "overview-alerts-handled")

        await row.locator("button.unsilence").click()
        await expect(row.locator("button.silence")).to_be_visible()
        assert await conn.fetchval("SELECT silenced_until FROM backups.alerts WHERE id = $1", jump) is None

    async def test_a_viewer_is_told_what_acknowledging_needs(
        self, page: Page, site: Site, conn: asyncpg.Connection
    ) -> None:
        await log_in(page, site.base + "/backups/", site.viewer)
        await rendered(page)
        await expect(page.locator("#problems [data-code=no-manage]")).to_contain_text(
            "backups.manage permission"
        )
        await expect(page.locator("#problems button.acknowledge").first).to_be_disabled()
        await expect(page.locator("#problems button.silence").first).to_be_disabled()
        await expect(page.locator("#run-checks")).to_have_count(0)

        # The permission withdrawn while the page is open: the API refuses and the dialog says why.
        group = await site.people.group("backups.view", "backups.manage")
        _, email = await site.people.user("revoked", groups=(group,))
        await page.locator("#logout").click()
        await log_in(page, site.base + "/backups/", email)
        await rendered(page)
        tiny = await conn.fetchval(
            "SELECT id FROM backups.alerts WHERE (section, type, datacenter, rule) ="
            " ('matomo', 'dump', 'eqiad', 'too_small') AND resolved_at IS NULL"
        )
        await page.locator(f"#problems [data-alert-id='{tiny}'] button.acknowledge").click()
        await conn.execute(
            "DELETE FROM accounts.group_permissions WHERE permission = 'backups.manage'"
            " AND group_id = (SELECT id FROM accounts.groups WHERE name = $1)",
            group,
        )
        dialog = page.locator("#ack-dialog")
        await dialog.locator("button[type=submit]").click()
        error = dialog.locator(".dialog-error")
        await expect(error).to_contain_text("Your account lacks the backups.manage permission")
        await expect(error).to_contain_text("ask an admin to add you to a group that has it")
        await expect(error).to_have_attribute("data-code", "403-manage")
        await expect(dialog).to_be_visible()
        await shot(page, "overview-manage-refused")
        assert await conn.fetchval("SELECT acknowledged_at FROM backups.alerts WHERE id = $1", tiny) is None

    async def test_without_view_permission_every_page_names_it(self, page: Page, site: Site) -> None:
        await log_in(page, site.base + "/backups/", site.nobody)
        notice = page.locator("#notice [data-code='403-view']")
        await expect(notice).to_have_text(VIEW_MESSAGE)
        await expect(page.locator("#problems")).to_have_count(0)
        await shot(page, "no-view-permission")
        for path in ("/backups/sections/s1", "/backups/runs/10000"):
            await page.goto(site.base + path)
            await expect(notice).to_have_text(VIEW_MESSAGE)


class TestSection:
    async def test_charts_last_good_runs_and_paged_history(
        self, page: Page, site: Site, conn: asyncpg.Connection
    ) -> None:
        await log_in(page, site.base + "/backups/sections/s1", site.viewer)
        await rendered(page)
        assert page.url == site.base + "/backups/sections/s1"
        await expect(page.locator("#page h1")).to_have_text("Section s1")
        cards = page.locator("#series .series-card")
        await expect(cards).to_have_count(4)
        for type_, datacenter in (
            ("dump", "eqiad"),
            ("dump", "codfw"),
            ("snapshot", "eqiad"),
            ("snapshot", "codfw"),
        ):
            latest = await conn.fetchval(
                "SELECT id FROM backups.runs WHERE section = 's1' AND type = $1 AND datacenter = $2"
                " AND status = 'finished' ORDER BY started_at DESC LIMIT 1",
                type_,
                datacenter,
            )
            good = page.locator(f"#series [data-series='{type_}/{datacenter}'] a.last-good")
            await expect(good).to_have_attribute("data-run-id", str(latest))
        await expect(page.locator("#series [data-series='dump/eqiad'] a.host-link")).to_have_attribute(
            "href", f"/backups/hosts/{HOST}"
        )

        canvases = page.locator("#charts canvas")
        await expect(canvases).to_have_count(4)
        for index in range(4):
            canvas = canvases.nth(index)
            type_ = await canvas.get_attribute("data-type")
            drawn = await canvas.evaluate(
                "c => { const chart = Chart.getChart(c); return [chart.config.type, "
                "chart.data.datasets.map(d => d.label).sort(), "
                "chart.data.datasets.reduce((n, d) => n + d.data.length, 0)]; }"
            )
            finished = await conn.fetchval(
                "SELECT count(*) FROM backups.runs WHERE section = 's1' AND type = $1"
                " AND status IN ('finished', 'expired') AND started_at >= now() - interval '365 days'",
                type_,
            )
            kind = await canvas.get_attribute("data-kind")
            assert drawn == ["line" if kind == "size" else "bar", ["codfw", "eqiad"], finished]
            assert finished > (20 if type_ == "dump" else 90)

        past = await conn.fetchval(
            "SELECT count(*) FROM backups.runs WHERE section = 's1' AND status <> 'scheduled'"
        )
        missed = (await api(site, site.viewer, "/backups/api/v1/runs?section=s1&state=missed&limit=1"))[
            "total"
        ]
        pager = page.locator("#history-range")
        await expect(pager).to_have_attribute("data-total", str(past + missed))
        await expect(pager).to_contain_text(f"Runs 1 to 25 of {past + missed}")
        rows = page.locator("#history-body tbody tr")
        await expect(rows).to_have_count(25)
        first_page = await rows.evaluate_all("rows => rows.map(r => r.dataset.runId)")
        await shot(page, "section")

        await page.locator("#history-next").click()
        await expect(pager).to_contain_text("Runs 26 to 50")
        assert page.url.endswith("/backups/sections/s1?page=2")
        second_page = await rows.evaluate_all("rows => rows.map(r => r.dataset.runId)")
        assert len(second_page) == 25
        assert not set(first_page) & set(second_page)
        await page.reload()
        await rendered(page)
        await expect(pager).to_contain_text("Runs 26 to 50")

        await page.locator("#filter-state").select_option("failed")
        failed = await conn.fetchval(
            "SELECT count(*) FROM backups.runs WHERE section = 's1' AND status = 'failed'"
        )
        await expect(pager).to_have_attribute("data-total", str(failed))
        states = await rows.evaluate_all("rows => rows.map(r => r.dataset.state)")
        assert states == ["failed"] * min(failed, 25)
        assert "state=failed" in page.url
        assert "page=" not in page.url

    async def test_an_unknown_section_says_so(self, page: Page, site: Site) -> None:
        await log_in(page, site.base + "/backups/sections/nosuchsection", site.viewer)
        await expect(page.locator("#notice")).to_contain_text("No section 'nosuchsection'")


class TestRun:
    async def test_a_failed_run_shows_its_error(
        self, page: Page, site: Site, conn: asyncpg.Connection
    ) -> None:
        failed = await conn.fetchrow(
            "SELECT * FROM backups.runs WHERE status = 'failed' AND error_exit_code IS NOT NULL"
            " ORDER BY started_at DESC LIMIT 1"
        )
        await log_in(page, f"{site.base}/backups/runs/{failed['id']}", site.viewer)
        await rendered(page)
        error = page.locator("#run-error")
        await expect(error).to_contain_text(
            f"This run failed at stage {failed['error_stage']} with exit code {failed['error_exit_code']}"
        )
        await expect(error.locator("pre")).to_have_text(failed["error_message"])
        await expect(page.locator("[data-field=error_stage]")).to_have_text(failed["error_stage"])
        await expect(page.locator("[data-field=error_exit_code]")).to_have_text(
            str(failed["error_exit_code"])
        )
        await expect(page.locator("[data-field=section] a")).to_have_attribute(
            "href", f"/backups/sections/{failed['section']}"
        )
        await expect(page.locator("[data-field=name]")).to_have_text(failed["name"])
        await shot(page, "run-failed")

    async def test_a_finished_run_lists_files_and_objects(
        self, page: Page, site: Site, conn: asyncpg.Connection
    ) -> None:
        run_id = await conn.fetchval(
            "SELECT run_id FROM backups.files GROUP BY run_id ORDER BY count(*) DESC, run_id LIMIT 1"
        )
        files = await conn.fetch(
            "SELECT path, name FROM backups.files WHERE run_id = $1 ORDER BY path, name", run_id
        )
        objects = await conn.fetchval("SELECT count(*) FROM backups.objects WHERE run_id = $1", run_id)
        await log_in(page, f"{site.base}/backups/runs/{run_id}", site.viewer)
        await rendered(page)
        await expect(page.locator("#run-error")).to_have_count(0)
        names = await page.locator("#files tbody tr td.file-name").all_inner_texts()
        assert names == [row["name"] for row in files]
        await expect(page.locator("#objects tbody tr")).to_have_count(objects)
        assert objects > 0
        await shot(page, "run-files")

        await page.goto(site.base + "/backups/runs/999999999")
        await expect(page.locator("#notice")).to_contain_text("No run 999999999.")


class TestHost:
    async def test_a_host_shows_its_runs_paged_and_filtered(
        self, page: Page, site: Site, conn: asyncpg.Connection
    ) -> None:
        await log_in(page, f"{site.base}/backups/hosts/{HOST}", site.viewer)
        await rendered(page)
        await expect(page.locator("#page h1")).to_have_text(f"Host {HOST}")
        total = (await api(site, site.viewer, f"/backups/api/v1/runs?host={HOST}&{PAST}&limit=1"))["total"]
        assert total > 25
        pager = page.locator("#history-range")
        await expect(pager).to_have_attribute("data-total", str(total))
        rows = page.locator("#history-body tbody tr")
        await expect(rows).to_have_count(25)
        assert set(await rows.evaluate_all("rows => rows.map(r => r.dataset.host)")) == {HOST}

        running = await conn.fetchval(
            "SELECT count(*) FROM backups.runs WHERE host = $1 AND status = 'ongoing'", HOST
        )
        await expect(page.locator("[data-stat=running] .stat-value")).to_have_text(str(running))
        await expect(page.locator("#running tbody tr")).to_have_count(running)
        latest = await conn.fetch(
            "SELECT DISTINCT ON (section, type) id, total_size FROM backups.runs"
            " WHERE host = $1 AND status = 'finished' ORDER BY section, type, started_at DESC",
            HOST,
        )
        shown = await page.locator("#latest tbody tr").evaluate_all("rows => rows.map(r => r.dataset.runId)")
        assert sorted(shown) == sorted(str(row["id"]) for row in latest)
        await shot(page, "host")

        await page.locator("#history-next").click()
        await expect(pager).to_contain_text("Runs 26 to 50")
        assert page.url.endswith(f"/backups/hosts/{HOST}?page=2")
        await page.locator("#filter-state").select_option("failed")
        failed = (await api(site, site.viewer, f"/backups/api/v1/runs?host={HOST}&state=failed&limit=1"))[
            "total"
        ]
        await expect(pager).to_have_attribute("data-total", str(failed))
        assert page.url.endswith(f"/backups/hosts/{HOST}?state=failed")
        states = await rows.evaluate_all("rows => rows.map(r => [r.dataset.state, r.dataset.host])")
        assert states == [["failed", HOST]] * min(failed, 25)
        await page.reload()
        await rendered(page)
        await expect(pager).to_have_attribute("data-total", str(failed))

    async def test_the_run_page_links_to_its_host(
        self, page: Page, site: Site, conn: asyncpg.Connection
    ) -> None:
        run_id = await conn.fetchval(
            "SELECT id FROM backups.runs WHERE host = $1 AND status = 'finished'"
            " ORDER BY started_at DESC LIMIT 1",
            HOST,
        )
        await log_in(page, f"{site.base}/backups/runs/{run_id}", site.viewer)
        await rendered(page)
        await page.locator("[data-field=host] a").click()
        await page.wait_for_url(f"{site.base}/backups/hosts/{HOST}")
        await rendered(page)
        await expect(page.locator(f"#history-body tr[data-run-id='{run_id}']")).to_have_count(1)

    async def test_an_invalid_or_unknown_host(self, page: Page, site: Site) -> None:
        async with httpx.AsyncClient(base_url=site.base) as http:
            for bad in ("bad%20name", "-leading-dash", "x" * 101, "a%3Cb%3E"):
                answer = await http.get(f"/backups/hosts/{bad}")
                assert answer.status_code == 404, bad
                assert answer.json()["status"] == 404
        await log_in(page, f"{site.base}/backups/hosts/nosuchhost.eqiad.wmnet", site.viewer)
        await rendered(page)
        await expect(page.locator("#notice [data-code=no-runs]")).to_contain_text(
            "No run is recorded on host 'nosuchhost.eqiad.wmnet'."
        )


async def test_on_a_phone_no_page_scrolls_sideways(
    browser: Browser, site: Site, conn: asyncpg.Connection
) -> None:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = await context.new_page()
    errors = watch(page)
    failed = await conn.fetchval(
        "SELECT id FROM backups.runs WHERE status = 'failed' ORDER BY started_at DESC LIMIT 1"
    )
    try:
        await log_in(page, site.base + "/backups/", site.manager)
        for path, name in (
            ("/backups/", "phone-overview"),
            ("/backups/sections/s6", "phone-section"),
            (f"/backups/runs/{failed}", "phone-run"),
            (f"/backups/hosts/{HOST}", "phone-host"),
        ):
            if path != "/backups/":
                await page.goto(site.base + path)
            await rendered(page)
            width = await page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert width[0] <= width[1] == PHONE["width"], (path, width)
            await shot(page, name)
    finally:
        await context.close()
    assert errors == []
