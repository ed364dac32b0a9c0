"""Swagger UI in a real browser: the Authorize button takes an access token or an API token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from dockyard.core.config import Settings
from tests.accounts.conftest import SERVICES, Accounts
from tests.support.live import chromium, live_server


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def authorize_and_call_me(page: Page, base: str, scheme: str, credential: str) -> tuple[int, str, str]:
    """Authorize `scheme` with `credential` in Swagger UI, then try GET /accounts/v1/me."""
    await page.goto(f"{base}/docs")
    await page.locator("button.authorize").first.click()
    dialog = page.locator(".modal-ux")
    section = dialog.locator(".auth-container", has=page.locator(f"h4:has-text('{scheme}')"))
    await section.locator("input").fill(credential)
    await section.locator("button.authorize").click()
    await section.locator("button.btn-done").click()

    operation = page.locator(".opblock-get", has=page.locator('[data-path="/accounts/v1/me"]'))
    await operation.locator(".opblock-summary").click()
    await operation.locator("button.try-out__btn").click()
    async with page.expect_response(lambda r: r.url == f"{base}/accounts/v1/me") as caught:
        await operation.locator("button.execute").click()
    response = await caught.value
    sent = await response.request.all_headers()
    return response.status, sent.get("authorization", ""), await response.text()


async def test_authorize_with_an_access_token(browser: Browser, settings: Settings, users: Accounts) -> None:
    _, email = await users.user("swagger")
    access = (await users.login(email))["access_token"]
    with live_server(settings, SERVICES) as base:
        page = await browser.new_page()
        status, header, body = await authorize_and_call_me(page, base, "AccessToken", access)
    assert header == f"Bearer {access}"
    assert status == 200
    assert email in body


async def test_authorize_with_an_api_token(browser: Browser, settings: Settings, users: Accounts) -> None:
    _, headers = await users.bearer("swagger")
    created = await users.client.post(
        "/accounts/v1/me/tokens", json={"name": "swagger", "scope": ["accounts.self"]}, headers=headers
    )
    token = created.json()["token"]
    with live_server(settings, SERVICES) as base:
        page = await browser.new_page()
        status, header, body = await authorize_and_call_me(page, base, "ApiToken", token)
    assert header == f"Bearer {token}"
    assert status == 200
    assert "swagger-" in body
