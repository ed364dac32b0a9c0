"""The backups dashboard: small HTML pages whose scripts read /backups/api/v1 with the user's token.

The pages hold no data and need no login: the scripts (static/backups/) log in through accounts,
keep the tokens in sessionStorage and send them as `Authorization: Bearer`. The pages carry no
inline script, as the HTML Content-Security-Policy (core/http.py) demands.
"""

from __future__ import annotations

import hashlib
import re
from html import escape
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from dockyard.core.errors import NotFound
from dockyard.core.types import Id

router = APIRouter(include_in_schema=False)

ASSETS = FilePath(__file__).resolve().parents[1] / "static" / "backups"
PageName = Literal["overview", "section", "run", "host"]
LABEL = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
HOST = re.compile(LABEL)


def _asset_version() -> str:
    """A digest of the dashboard's own scripts and styles, so a new release is never served from cache."""
    digest = hashlib.sha256()
    for path in sorted(ASSETS.glob("*.*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


VERSION = _asset_version()
SCRIPTS: dict[PageName, tuple[str, ...]] = {
    "overview": ("/static/backups/alerts.js", "/static/backups/overview.js"),
    "section": (
        "/static/vendor/chart.js/chart.umd.min.js",
        "/static/vendor/chart.js/chartjs-adapter-date-fns.bundle.min.js",
        "/static/backups/thresholds.js",
        "/static/backups/section.js",
    ),
    "run": ("/static/backups/run.js",),
    "host": ("/static/backups/host.js",),
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Backups - Dockyard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/vendor/bootstrap/bootstrap.min.css">
<link rel="stylesheet" href="/static/backups/dashboard.css?v={version}">
</head>
<body data-page="{page}" data-section="{section}" data-run="{run}" data-host="{host}">
<nav class="navbar navbar-expand bg-body-tertiary border-bottom">
  <div class="container-xl flex-nowrap">
    <a class="navbar-brand fw-semibold" href="/backups/">Backups</a>
    <div id="session" class="ms-auto d-flex align-items-center gap-2 min-w-0" hidden>
      <span id="who" class="navbar-text small text-truncate"></span>
      <button id="logout" class="btn btn-sm btn-outline-secondary text-nowrap" type="button">Log out</button>
    </div>
  </div>
</nav>
<main class="container-xl py-3">
  <div id="notice" aria-live="polite"></div>
  <section id="login" class="login mx-auto" hidden>
    <h1 class="h4 mb-3">Log in to see the backups</h1>
    <form id="login-form" novalidate>
      <fieldset disabled>
        <div class="mb-3">
          <label class="form-label" for="login-email">Email</label>
          <input class="form-control" id="login-email" name="email" type="email" autocomplete="username"
                 required>
        </div>
        <div class="mb-3">
          <label class="form-label" for="login-password">Password</label>
          <input class="form-control" id="login-password" name="password" type="password"
                 autocomplete="current-password" required>
        </div>
        <div id="login-error" class="alert alert-danger py-2" role="alert" hidden></div>
        <button class="btn btn-primary w-100" type="submit">Log in</button>
      </fieldset>
    </form>
    <p class="small text-body-secondary mt-3">Reading needs the <code>backups.view</code> permission;
      acknowledging and silencing alerts needs <code>backups.manage</code>.</p>
  </section>
  <div id="page" hidden></div>
  <noscript><div class="alert alert-warning">This dashboard needs JavaScript.</div></noscript>
</main>
<script src="/static/vendor/bootstrap/bootstrap.bundle.min.js" defer></script>
<script src="/static/backups/dashboard.js?v={version}" defer></script>
{scripts}
</body></html>
"""


def render(page: PageName, title: str, *, section: str = "", run: str = "", host: str = "") -> HTMLResponse:
    """The HTML shell of one dashboard page; its script fetches and draws the data."""
    scripts = "\n".join(
        f'<script src="{src}?v={VERSION}" defer></script>'
        if src.startswith("/static/backups/")
        else f'<script src="{src}" defer></script>'
        for src in SCRIPTS[page]
    )
    html = PAGE.format(
        title=escape(title),
        page=page,
        section=escape(section),
        run=escape(run),
        host=escape(host),
        version=VERSION,
        scripts=scripts,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/", response_class=HTMLResponse)
async def overview_page() -> HTMLResponse:
    """Problems first, then runs in progress, upcoming runs, alerts and the status grid."""
    return render("overview", "Overview")


@router.get("/sections/{section}", response_class=HTMLResponse)
async def section_page(
    section: Annotated[str, Path(pattern=LABEL)],
) -> HTMLResponse:
    """Last good run per type and datacenter, size and duration charts, the history of runs."""
    return render("section", f"Section {section}", section=section)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
async def run_page(run_id: Id) -> HTMLResponse:
    """Every field of a run, its error, files and objects."""
    return render("run", f"Run {run_id}", run=str(run_id))


@router.get("/hosts/{host}", response_class=HTMLResponse)
async def host_page(host: str) -> HTMLResponse:
    """Runs in progress on a host, its last week, what it keeps, the history of its runs."""
    if not HOST.fullmatch(host):
        raise NotFound(
            f"No host page for {host!r}: a host name is a letter or digit, then up to 99 of"
            " letters, digits and _.:-"
        )
    return render("host", f"Host {host}", host=host)
