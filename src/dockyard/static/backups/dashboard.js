// The backups dashboard's shared part: login through accounts, the API client, formatting, DOM building.
// Each page script (overview.js, section.js, run.js, host.js) registers Backups.pages[name] = {start, stop}.
// Every value reaches the DOM as text (textContent, createTextNode); nothing is parsed as HTML.
"use strict";

(function () {
  const ACCESS = "dockyard.backups.access";
  const REFRESH = "dockyard.backups.refresh";
  const API = "/backups/api/v1";
  const VIEW_MESSAGE =
    "Your account lacks the backups.view permission — ask an admin to add you to a group that has it.";
  const MANAGE_MESSAGE =
    "Your account lacks the backups.manage permission, which acknowledging and silencing alerts needs " +
    "— ask an admin to add you to a group that has it.";

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
      this.detail = detail;
    }
  }

  // --- tokens and the API client ------------------------------------------------------------------

  const tokens = {
    access: () => sessionStorage.getItem(ACCESS),
    refresh: () => sessionStorage.getItem(REFRESH),
    store(pair) {
      sessionStorage.setItem(ACCESS, pair.access_token);
      sessionStorage.setItem(REFRESH, pair.refresh_token);
    },
    clear() {
      sessionStorage.removeItem(ACCESS);
      sessionStorage.removeItem(REFRESH);
    },
  };

  async function detailOf(response) {
    try {
      const body = await response.json();
      if (Array.isArray(body.errors) && body.errors.length) {
        return body.errors.map((e) => (e.field ? e.field + ": " : "") + e.message).join("; ");
      }
      if (typeof body.detail === "string") return body.detail;
    } catch (ignored) {
      // not JSON: fall back on the status line
    }
    return response.status + " " + response.statusText;
  }

  let renewing = null;

  // One renewal at a time: a refresh token works once, so parallel 401s share the same attempt.
  function renew() {
    if (renewing) return renewing;
    renewing = (async () => {
      const refresh = tokens.refresh();
      if (!refresh) return false;
      const response = await fetch("/accounts/v1/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: refresh }),
        cache: "no-store",
      });
      if (!response.ok) {
        tokens.clear();
        return false;
      }
      tokens.store(await response.json());
      return true;
    })()
      .catch(() => false)
      .finally(() => {
        renewing = null;
      });
    return renewing;
  }

  // Fetch JSON with the access token; on a 401, renew the token once and try again.
  async function request(url, { method = "GET", body, retry = true } = {}) {
    const sent = tokens.access();
    const headers = { Accept: "application/json" };
    if (sent) headers.Authorization = "Bearer " + sent;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, "The server could not be reached (" + error.message + ").");
    }
    if (response.status === 401 && retry && sent) {
      const renewed = tokens.access() !== sent || (await renew());
      if (renewed) return request(url, { method, body, retry: false });
    }
    if (!response.ok) throw new ApiError(response.status, await detailOf(response));
    return response.status === 204 ? null : response.json();
  }

  const api = (path, options) => request(API + path, options);

  function query(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value === undefined || value === null || value === "") continue;
      for (const item of Array.isArray(value) ? value : [value]) search.append(name, item);
    }
    const text = search.toString();
    return text ? "?" + text : "";
  }

  // --- formatting ----------------------------------------------------------------------------------

  const UNITS = ["B", "KiB", "MiB", "GiB"];

  // Binary units and never TiB ("7168 GiB"), as the checks print sizes.
  function size(bytes) {
    if (bytes === null || bytes === undefined) return "—";
    let value = Number(bytes);
    let unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) {
      value /= 1024;
      unit += 1;
    }
    const digits = unit === 0 || value >= 100 ? 0 : 1;
    return value.toFixed(digits).replace(/\.0$/, "") + " " + UNITS[unit];
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
    const s = Math.max(0, Math.round(seconds));
    const pair = (big, bigUnit, small, smallUnit) =>
      big + " " + bigUnit + (small ? " " + small + " " + smallUnit : "");
    if (s < 60) return s + " s";
    if (s < 3600) return pair(Math.floor(s / 60), "min", s % 60, "s");
    if (s < 86400) return pair(Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "min");
    return pair(Math.floor(s / 86400), "d", Math.floor((s % 86400) / 3600), "h");
  }

  // One unit, for "3 h ago" and "in 2 d".
  function roughly(seconds) {
    const s = Math.abs(seconds);
    if (s < 90) return Math.round(s) + " s";
    if (s < 2 * 3600) return Math.round(s / 60) + " min";
    if (s < 2 * 86400) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " d";
  }

  function parse(value) {
    return value ? new Date(value) : null;
  }

  // "2026-11-24 00:00 UTC": the checks' messages speak UTC, so the pages do too.
  function time(value, { seconds = false } = {}) {
    const date = value instanceof Date ? value : parse(value);
    if (!date) return "—";
    const text = date.toISOString().replace("T", " ");
    return (seconds ? text.slice(0, 19) : text.slice(0, 16)) + " UTC";
  }

  function ago(value, now = new Date()) {
    const date = value instanceof Date ? value : parse(value);
    if (!date) return "";
    const delta = (date.getTime() - now.getTime()) / 1000;
    return delta >= 0 ? "in " + roughly(delta) : roughly(delta) + " ago";
  }

  const STATUS_CLASS = { ok: "success", warning: "warning", critical: "danger", unknown: "secondary" };
  const STATE_CLASS = {
    finished: "success",
    failed: "danger",
    interrupted: "warning",
    ongoing: "primary",
    stalled: "danger",
    missed: "danger",
    scheduled: "secondary",
    expired: "light",
  };
  const RULE_LABELS = {
    no_backup: "no backup",
    stale: "stale",
    too_small: "too small",
    only_one: "only one",
    size_change: "size change",
    failed: "failed",
    interrupted: "interrupted",
    stalled: "stalled",
    missed: "missed",
    too_long: "too long",
  };

  function statusBadge(status) {
    return h(
      "span",
      { class: "badge text-bg-" + (STATUS_CLASS[status] || "secondary"), "data-status": status },
      String(status).toUpperCase(),
    );
  }

  function stateBadge(state) {
    return h(
      "span",
      {
        class: "badge state state-" + state + " text-bg-" + (STATE_CLASS[state] || "secondary"),
        "data-state": state,
      },
      state === "stalled" || state === "missed" ? state.toUpperCase() : state,
    );
  }

  function ruleBadge(rule, status) {
    return h(
      "span",
      {
        class:
          "badge rounded-pill rule rule-" +
          rule +
          " border border-" +
          (STATUS_CLASS[status] || "secondary") +
          " text-" +
          (STATUS_CLASS[status] || "secondary") +
          "-emphasis",
        "data-rule": rule,
      },
      (RULE_LABELS[rule] || rule).toUpperCase(),
    );
  }

  // --- DOM -----------------------------------------------------------------------------------------

  // h("a", {href, class}, "text", child...): attributes are set as attributes, children as text or nodes.
  function h(tag, attrs, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") element.className = value;
      else if (name.startsWith("on") && typeof value === "function")
        element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  // host:port (db1139:3311, db2141.codfw.wmnet:3316): such a token never breaks across lines.
  const HOST_PORT = /(?<![\w.-])([A-Za-z][\w.-]*:\d{2,5})(?!\d)/;

  // A message as text nodes, with its host:port tokens in nowrap spans.
  function words(text) {
    return String(text)
      .split(HOST_PORT)
      .map((part, index) => (index % 2 ? h("span", { class: "hostport" }, part) : part))
      .filter((part) => part !== "");
  }

  const sectionHref = (section) => "/backups/sections/" + encodeURIComponent(section);
  const runHref = (id) => "/backups/runs/" + encodeURIComponent(id);
  const hostHref = (host) => "/backups/hosts/" + encodeURIComponent(host);
  const seriesName = (s) => s.section + " · " + s.type + " · " + s.datacenter;

  // An IP address ("10.64.0.12:3306", "[2620:0:861::1]:5432") has no first label to shorten to.
  const IP_ADDRESS = /^\[|:.*:|^\d{1,3}(\.\d{1,3}){3}(:\d+)?$/;

  // A host as a link to its page; `short` shows only the first label ("dbprov1002"), the full name on hover.
  function hostLink(host, { short = false, cls } = {}) {
    if (!host) return h("span", { class: "text-body-secondary" }, "—");
    const shown = short && !IP_ADDRESS.test(host) ? host.split(".")[0] : host;
    return h("a", { href: hostHref(host), class: "hostport" + (cls ? " " + cls : ""), title: host }, shown);
  }

  // The cells every runs table shares after its first columns: type, DC, state, start, duration, size, error.
  function runCells(run) {
    return [
      h("td", null, run.type),
      h("td", null, run.datacenter),
      h("td", null, stateBadge(run.state)),
      h("td", { class: "text-nowrap" }, time(run.started_at || run.scheduled_for)),
      h("td", { class: "text-nowrap" }, run.duration_s === null ? "—" : duration(run.duration_s)),
      h("td", { class: "text-nowrap" }, size(run.total_size)),
      h("td", null, errorCell(run)),
    ];
  }

  // The states a runs history can be filtered by; the chosen key is kept in the query string.
  const HISTORY_STATES = {
    past: {
      label: "All but scheduled",
      state: ["finished", "failed", "interrupted", "ongoing", "stalled", "missed", "expired"],
    },
    finished: { label: "Finished", state: ["finished"] },
    failed: { label: "Failed or interrupted", state: ["failed", "interrupted"] },
    running: { label: "Ongoing or stalled", state: ["ongoing", "stalled"] },
    missed: { label: "Missed", state: ["missed"], sort: "-scheduled_for" },
    scheduled: { label: "Scheduled", state: ["scheduled"], sort: "scheduled_for" },
  };
  const HISTORY_PAGE = 25;

  // A paged, filtered table of runs. Filters and page live in the query string, so a reload or a
  // link shows the same rows. `scope` goes with every /runs query ({ section } or { host });
  // `selects` are filters besides the state, as [name, label, [[value, text], ...]]; `lead(run)`
  // gives the cells before the shared ones, under `columns`. Returns the elements to show, `load()`
  // and `stop()` (answers still on their way are then dropped).
  function runHistory({ scope, selects = [], columns, lead, empty }) {
    const params = new URLSearchParams(location.search);
    const filters = {
      state: HISTORY_STATES[params.get("state")] ? params.get("state") : "past",
      page: Math.max(1, parseInt(params.get("page"), 10) || 1),
    };
    for (const [name] of selects) filters[name] = params.get(name) || "";
    const body = h("div", { id: "history-body" });
    let generation = 0;

    function remember() {
      const kept = {};
      for (const [name] of selects) if (filters[name]) kept[name] = filters[name];
      if (filters.state !== "past") kept.state = filters.state;
      if (filters.page > 1) kept.page = filters.page;
      window.history.replaceState(null, "", location.pathname + query(kept));
    }

    async function load() {
      remember();
      const mine = ++generation;
      const chosen = HISTORY_STATES[filters.state];
      const chosenSelects = Object.fromEntries(selects.map(([name]) => [name, filters[name]]));
      body.classList.add("opacity-50");
      try {
        const page = await api(
          "/runs" +
            query({
              ...scope,
              ...chosenSelects,
              state: chosen.state,
              sort: chosen.sort || "-started_at",
              limit: HISTORY_PAGE,
              offset: (filters.page - 1) * HISTORY_PAGE,
            }),
        );
        if (mine !== generation) return;
        const rows = page.results.map((run) =>
          h(
            "tr",
            { "data-run-id": run.id, "data-state": run.state, "data-host": run.host },
            ...lead(run),
            ...runCells(run),
          ),
        );
        const go = (delta) => {
          filters.page += delta;
          load();
        };
        body.replaceChildren(
          table(columns, rows, { empty, cls: "history" }),
          pager(page, filters.page, HISTORY_PAGE, go),
        );
        body.dataset.loaded = String(mine);
      } catch (error) {
        if (mine === generation) fail(error);
      } finally {
        if (mine === generation) body.classList.remove("opacity-50");
      }
    }

    const select = (name, label, options) =>
      h(
        "div",
        { class: "col-6 col-md-auto" },
        h(
          "select",
          {
            class: "form-select form-select-sm",
            id: "filter-" + name,
            "aria-label": label,
            onchange: (event) => {
              filters[name] = event.target.value;
              filters.page = 1;
              load();
            },
          },
          options.map(([value, text]) => h("option", { value, selected: filters[name] === value }, text)),
        ),
      );
    const states = Object.entries(HISTORY_STATES).map(([value, s]) => [value, s.label]);
    const bar = h(
      "div",
      { class: "row g-2 p-2 border-bottom" },
      ...selects.map(([name, label, options]) => select(name, label, options)),
      select("state", "State", states),
    );
    return {
      elements: [bar, body],
      load,
      stop() {
        generation += 1;
      },
    };
  }

  // The line under a paged table: "Runs 26 to 50 of 262 (page 2 of 11)" and Previous/Next, which
  // call `go(-1)` or `go(1)`.
  function pager(page, number, size, go) {
    const first = page.total ? page.offset + 1 : 0;
    const last = page.offset + page.results.length;
    const pages = Math.max(1, Math.ceil(page.total / size));
    const button = (id, label, disabled, delta) =>
      h(
        "button",
        { type: "button", class: "btn btn-sm btn-outline-secondary", id, disabled, onclick: () => go(delta) },
        label,
      );
    return h(
      "div",
      { class: "d-flex flex-wrap align-items-center gap-2 p-2 border-top" },
      h(
        "span",
        { class: "small me-auto", id: "history-range", "data-total": page.total },
        `Runs ${first} to ${last} of ${page.total} (page ${number} of ${pages})`,
      ),
      h(
        "div",
        { class: "btn-group", role: "group", "aria-label": "Pages" },
        button("history-prev", "Previous", number <= 1, -1),
        button("history-next", "Next", last >= page.total, 1),
      ),
    );
  }

  const clip = (text, length) => (text.length > length ? text.slice(0, length - 1) + "…" : text);

  // A run's error in a table cell: stage and exit code, then the message cut to 160 characters.
  function errorCell(run) {
    if (!run.error_stage && !run.error_message) return "";
    const head = [
      run.error_stage ? "stage " + run.error_stage : null,
      run.error_exit_code !== null ? "exit " + run.error_exit_code : null,
    ]
      .filter(Boolean)
      .join(", ");
    return h(
      "div",
      { class: "small error-cell", title: run.error_message || "" },
      head ? h("strong", null, head + ": ") : null,
      clip(run.error_message || "", 160),
    );
  }

  function card(title, body, { id, extra } = {}) {
    return h(
      "section",
      { class: "card mb-3", id },
      h(
        "div",
        { class: "card-header d-flex flex-wrap align-items-center gap-2" },
        h("h2", { class: "h6 mb-0 me-auto" }, title),
        extra,
      ),
      body,
    );
  }

  function table(headers, rows, { empty = "Nothing to show.", cls = "" } = {}) {
    if (!rows.length) return h("p", { class: "text-body-secondary m-3 empty" }, empty);
    return h(
      "div",
      { class: "table-responsive" },
      h(
        "table",
        { class: "table table-sm table-hover align-middle mb-0 " + cls },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            headers.map((title) => h("th", { scope: "col" }, title)),
          ),
        ),
        h("tbody", null, rows),
      ),
    );
  }

  function progressBar(done, expected) {
    if (!expected) return h("span", { class: "text-body-secondary" }, size(done) + " so far");
    const percent = Math.min(100, (100 * (done || 0)) / expected);
    const label = percent.toFixed(0) + " % (" + size(done) + " of ~" + size(expected) + ")";
    return h(
      "div",
      { class: "progress-cell" },
      h(
        "div",
        {
          class: "progress",
          role: "progressbar",
          "aria-label": "progress",
          "aria-valuenow": percent.toFixed(0),
          "aria-valuemin": "0",
          "aria-valuemax": "100",
        },
        h("div", { class: "progress-bar", style: "width: " + percent.toFixed(1) + "%" }),
      ),
      h("div", { class: "small text-body-secondary progress-text" }, label),
    );
  }

  // --- messages, login and the page life cycle --------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  // A message above the page; `lasting` ones (a missing permission) cannot be closed.
  function notify(message, kind = "danger", { code, lasting = false } = {}) {
    const box = $("notice");
    box.replaceChildren();
    if (!message) return;
    const close = () => box.replaceChildren();
    box.append(
      h(
        "div",
        {
          class: "alert alert-" + kind + " d-flex gap-2 align-items-start",
          role: "alert",
          "data-code": code,
        },
        h("div", { class: "flex-grow-1" }, message),
        lasting
          ? null
          : h("button", { type: "button", class: "btn-close", "aria-label": "Close", onclick: close }),
      ),
    );
  }

  // What the person should read for an error of the API: permissions and sessions in plain words.
  function explain(error, { action = "view" } = {}) {
    if (!(error instanceof ApiError)) return { message: String(error), code: "error" };
    if (error.status === 401) return { message: "Your session has ended; please log in again.", code: "401" };
    if (error.status === 403) {
      return { message: action === "manage" ? MANAGE_MESSAGE : VIEW_MESSAGE, code: "403-" + action };
    }
    if (error.status === 404) return { message: error.detail, code: "404" };
    if (error.status === 0) return { message: error.detail, code: "offline" };
    return {
      message: "The server answered " + error.status + ": " + error.detail,
      code: String(error.status),
    };
  }

  let current = null;
  let me = null;

  function stopPage() {
    if (current && current.stop) current.stop();
    current = null;
    const page = $("page");
    page.hidden = true;
    page.replaceChildren();
    delete document.body.dataset.ready;
  }

  function showLogin(message) {
    stopPage();
    me = null;
    $("session").hidden = true;
    if (message) notify(message, "warning", { code: "login" });
    $("login").hidden = false;
    $("login-form").querySelector("fieldset").disabled = false;
    $("login-email").focus();
  }

  // Called by the pages for errors they cannot show in place: a 401 goes back to the login form.
  function fail(error, options) {
    const { message, code } = explain(error, options);
    if (error instanceof ApiError && error.status === 401) {
      tokens.clear();
      showLogin(message);
      return;
    }
    notify(message, "danger", { code, lasting: error instanceof ApiError && error.status === 403 });
  }

  function can(permission) {
    return Boolean(me && (me.is_superuser || (me.permissions || []).includes(permission)));
  }

  function ready() {
    document.body.dataset.ready = "1";
    if (performance.mark) performance.mark("backups-ready");
  }

  let who = null;

  // The account (for what it may do) is asked for alongside the page's data, not before it.
  function whoami() {
    return who;
  }

  async function startPage() {
    who = request("/accounts/v1/me");
    who.catch(() => null);
    $("login").hidden = true;
    const definition = Backups.pages[document.body.dataset.page];
    const page = $("page");
    page.hidden = false;
    current = definition;
    definition.start(page, document.body.dataset);
    try {
      me = await who;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        tokens.clear();
        showLogin("Your session has ended; please log in again.");
      } else {
        notify(explain(error).message);
      }
      return;
    }
    $("session").hidden = false;
    $("who").textContent = me.display_name || me.email;
    $("who").title = me.email;
  }

  async function login(event) {
    event.preventDefault();
    const form = event.target;
    const fieldset = form.querySelector("fieldset");
    const error = $("login-error");
    error.hidden = true;
    fieldset.disabled = true;
    try {
      const response = await fetch("/accounts/v1/login", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ email: $("login-email").value.trim(), password: $("login-password").value }),
        cache: "no-store",
      });
      if (!response.ok) {
        error.textContent =
          response.status === 422 ? "Enter your email address and your password." : await detailOf(response);
        error.hidden = false;
        return;
      }
      tokens.store(await response.json());
      $("login-password").value = "";
      notify("");
      await startPage();
    } catch (failure) {
      error.textContent = "The server could not be reached (" + failure.message + ").";
      error.hidden = false;
    } finally {
      fieldset.disabled = false;
    }
  }

  async function logout() {
    const access = tokens.access();
    tokens.clear();
    if (access) {
      // Ends the session on the server too, so the refresh token stops working.
      await fetch("/accounts/v1/logout", {
        method: "POST",
        headers: { Authorization: "Bearer " + access },
      }).catch(() => null);
    }
    showLogin();
    notify("You have logged out.", "info", { code: "logout" });
  }

  function boot() {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    if (tokens.access() || tokens.refresh()) startPage();
    else showLogin();
  }

  window.Backups = {
    API,
    ApiError,
    api,
    request,
    query,
    tokens,
    pages: {},
    can,
    fail,
    explain,
    notify,
    ready,
    whoami,
    h,
    card,
    table,
    progressBar,
    statusBadge,
    stateBadge,
    ruleBadge,
    sectionHref,
    runHref,
    hostHref,
    hostLink,
    errorCell,
    pager,
    runCells,
    runHistory,
    seriesName,
    words,
    fmt: { size, duration, time, ago, parse },
    VIEW_MESSAGE,
    MANAGE_MESSAGE,
  };

  document.addEventListener("DOMContentLoaded", boot);
})();
