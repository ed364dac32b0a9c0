"""The backups dashboard's first page in Chromium, with 100 000 runs in the catalog.

    DATABASE_URL=… python -m bench.backups_dashboard [--loads 20]

Serves Dockyard with SERVICES=accounts,backups on DATABASE_URL (migrated and seeded with the bench
catalog if it has no runs), makes a superuser, raises the alerts once, logs in through the page's
form, then loads /backups/ `--loads` times two ways:

- warm: the same tab navigates again (the browser has the scripts and styles cached, as on a reload);
- cold: a new browser context each time (empty cache; the token is put in sessionStorage first).

A load is timed from navigation start to the moment the overview is drawn (the `backups-ready`
performance mark the page sets with `data-ready`), and to the end of the load event. Prints
p50/p95 and writes
bench/results/backups_dashboard.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from typing import Any

import httpx
from playwright.async_api import Browser, Page, async_playwright

from bench.backups import PASSWORD, bench_env, prepare
from bench.common import record, served

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
TIMINGS = """() => {
    const ready = performance.getEntriesByName("backups-ready")[0];
    const data = performance.getEntriesByName("backups-data")[0];
    const api = performance.getEntriesByType("resource").find((e) => e.name.includes("/api/v1/overview"));
    const navigation = performance.getEntriesByType("navigation")[0];
    return {
        ready_ms: ready.startTime,
        load_ms: navigation.loadEventEnd,
        render_ms: ready.startTime - data.startTime,
        overview_ms: api ? api.responseEnd - api.startTime : null,
        overview_bytes: api ? api.encodedBodySize : null,
        cells: document.querySelectorAll("#grid td[data-series]").length,
    };
}"""


def _chromium() -> str:
    for path in CHROMIUM:
        if os.path.exists(path):
            return path
    sys.exit("Chromium is needed: apt-get install chromium")


async def _load(page: Page, url: str) -> dict[str, Any]:
    await page.goto(url)
    await page.wait_for_selector("body[data-ready]", state="attached", timeout=60_000)
    await page.wait_for_function(
        "() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0", timeout=60_000
    )
    timings: dict[str, Any] = await page.evaluate(TIMINGS)
    return timings


def _summary(loads: list[dict[str, Any]]) -> dict[str, Any]:
    ready = sorted(load["ready_ms"] for load in loads)
    api = sorted(load["overview_ms"] for load in loads if load["overview_ms"] is not None)
    return {
        "loads": len(ready),
        "p50_ms": round(statistics.median(ready), 1),
        "p95_ms": round(ready[max(0, int(len(ready) * 0.95) - 1)], 1),
        "max_ms": round(ready[-1], 1),
        "load_event_p50_ms": round(statistics.median(load["load_ms"] for load in loads), 1),
        "overview_api_p50_ms": round(statistics.median(api), 1) if api else None,
        "render_p50_ms": round(statistics.median(load["render_ms"] for load in loads), 1),
        "overview_bytes": loads[-1]["overview_bytes"],
        "grid_cells": loads[-1]["cells"],
    }


async def _measure(browser: Browser, base: str, email: str, loads: int) -> dict[str, Any]:
    url = base + "/backups/"
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(url)
    await page.locator("#login-email").fill(email)
    await page.locator("#login-password").fill(PASSWORD)
    await page.locator("#login-form button[type=submit]").click()
    await page.wait_for_selector("body[data-ready]", state="attached", timeout=60_000)
    tokens: dict[str, str] = await page.evaluate("() => ({...sessionStorage})")
    warm = [await _load(page, url) for _ in range(loads)]
    await context.close()

    seed_tokens = "; ".join(f"sessionStorage.setItem({name!r}, {value!r})" for name, value in tokens.items())
    cold = []
    for _ in range(loads):
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        await context.add_init_script(f"if (!sessionStorage.length) {{ {seed_tokens}; }}")
        cold.append(await _load(await context.new_page(), url))
        await context.close()
    return {"warm": _summary(warm), "cold": _summary(cold)}


async def _run(base: str, email: str, loads: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        login = await client.post("/accounts/v1/login", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        (await client.post("/backups/api/v1/alerts/refresh", headers=headers)).raise_for_status()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            return await _measure(browser, base, email, loads)
        finally:
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    env = bench_env()
    email = prepare(env)
    with served(1, env={"SERVICES": "accounts,backups", **env}) as base:
        result = asyncio.run(_run(base, email, args.loads))
    for mode in ("warm", "cold"):
        measured = result[mode]
        print(
            f"/backups/ {mode}: drawn p50 {measured['p50_ms']} ms, p95 {measured['p95_ms']} ms, "
            f"load event p50 {measured['load_event_p50_ms']} ms "
            f"over {measured['loads']} loads (GET /overview p50 {measured['overview_api_p50_ms']} ms, "
            f"drawing p50 {measured['render_p50_ms']} ms, "
            f"{measured['grid_cells']} series)"
        )
    print(f"recorded {record('backups_dashboard', {'runs': 100_000, 'browser': 'chromium', **result})}")


if __name__ == "__main__":
    main()
