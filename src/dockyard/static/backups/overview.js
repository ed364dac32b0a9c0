// The overview: runs in progress with progress and ETA and the slots due that nothing started (both
// short, so they fit the first screen), then the problems grouped by series, each with its open alert
// (alerts.js) under it, then upcoming runs and the status of every series in a grid. Refreshes every
// 30 s while the tab is visible.
"use strict";

(function () {
  const {
    h,
    api,
    card,
    table,
    fmt,
    progressBar,
    statusBadge,
    stateBadge,
    ruleBadge,
    sectionHref,
    runHref,
    hostLink,
    seriesName,
  } = Backups;
  const REFRESH_MS = 30000;
  const SHORT = { ok: "OK", warning: "WARN", critical: "CRIT", unknown: "UNKN" };
  const RANK = { unknown: 3, critical: 2, warning: 1, ok: 0 };

  let root = null;
  let timer = null;
  let stopped = true;
  let loading = false;
  let pending = false;
  let halted = false;
  let updated = null;
  let data = null;
  let alerts = [];

  const key = (s) => s.section + "/" + s.type + "/" + s.datacenter;
  const bySection = (a, b) => a.localeCompare(b, "en", { numeric: true });

  // --- loading and refreshing -------------------------------------------------------------------------

  async function load() {
    if (loading || stopped) return;
    loading = true;
    clearTimeout(timer);
    try {
      const [overview, open] = await Promise.all([api("/overview"), api("/alerts"), Backups.whoami()]);
      if (stopped) return;
      if (!updated && performance.mark) performance.mark("backups-data");
      data = overview;
      alerts = open;
      updated = new Date();
      render();
      const notice = document.querySelector("#notice [data-code='refresh']");
      if (notice) notice.parentElement.replaceChildren();
      Backups.ready();
    } catch (error) {
      if (stopped) return;
      if (error instanceof Backups.ApiError && (error.status === 401 || error.status === 403)) {
        halted = true;
        root.replaceChildren();
        Backups.fail(error);
        return;
      }
      if (!(error instanceof Backups.ApiError)) console.error(error);
      const since = updated
        ? " The page shows the data of " + fmt.time(updated, { seconds: true }) + "."
        : "";
      Backups.notify("Could not refresh: " + Backups.explain(error).message + since, "warning", {
        code: "refresh",
      });
    } finally {
      loading = false;
      schedule();
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (!stopped && !halted) timer = setTimeout(tick, REFRESH_MS);
  }

  // A hidden tab does not refresh; it catches up as soon as it is shown again.
  function tick() {
    if (document.hidden) {
      pending = true;
      return;
    }
    load();
  }

  function onVisibility() {
    if (document.hidden || stopped || halted) return;
    if (pending || (updated && Date.now() - updated.getTime() >= REFRESH_MS)) {
      pending = false;
      load();
    }
  }

  // --- rendering ----------------------------------------------------------------------------------------

  function render() {
    const series = new Map(data.series.map((s) => [key(s), s]));
    Backups.alerts.setup(alerts, load);
    // One replaceChildren: the page never collapses in between, so the scroll position stays.
    root.replaceChildren(
      header(),
      h(
        "div",
        { class: "row g-3 mb-3" },
        h("div", { class: "col-lg-7" }, ongoing(series)),
        h("div", { class: "col-lg-5" }, due()),
      ),
      problems(series),
      h(
        "div",
        { class: "row g-3" },
        h("div", { class: "col-lg-5" }, upcoming()),
        h("div", { class: "col-lg-7" }, grid()),
      ),
    );
  }

  function header() {
    return h(
      "div",
      { class: "d-flex flex-wrap align-items-baseline gap-2 mb-3" },
      h("h1", { class: "h4 mb-0 me-auto" }, "Backups overview"),
      h(
        "span",
        { id: "last-updated", class: "small text-body-secondary", "data-updated": updated.toISOString() },
        "Updated " + fmt.time(updated, { seconds: true }) + " · refreshes every 30 s",
      ),
      h(
        "button",
        { type: "button", class: "btn btn-sm btn-outline-primary", id: "refresh", onclick: load },
        "Refresh",
      ),
    );
  }

  // One list of what is wrong, by series: each problem of the checks once, with its open alert (since
  // when, acknowledged, silenced, the buttons) under it. An open alert the checks no longer report
  // (the next round resolves it) is listed in its series too, so every alert shows exactly once.
  function problems(series) {
    const counts = data.counts;
    const summary = h(
      "span",
      { class: "small", id: "counts" },
      ["critical", "warning", "unknown", "ok"]
        .filter((status) => counts[status] || status === "ok")
        .map((status) =>
          h(
            "span",
            { class: "me-2 count", "data-status": status },
            statusBadge(status),
            " ",
            h("strong", null, String(counts[status] || 0)),
          ),
        ),
    );
    const extra = [summary, Backups.alerts.toolbar()];
    const groups = new Map(data.problems.map((s) => [key(s), { series: s, alerts: new Map() }]));
    for (const alert of alerts) {
      if (!groups.has(key(alert))) {
        const known = series.get(key(alert));
        groups.set(key(alert), {
          series: { ...alert, status: known ? known.status : alert.severity, problems: [] },
          alerts: new Map(),
        });
      }
      groups.get(key(alert)).alerts.set(alert.rule, alert);
    }
    const title = "Problems (" + data.problems.length + " series, " + alerts.length + " open alerts)";
    if (!groups.size) {
      return card(title, h("p", { class: "m-3 text-success-emphasis" }, "Every series is OK."), {
        id: "problems",
        extra,
      });
    }
    const ordered = [...groups.values()].sort(
      (a, b) => RANK[b.series.status] - RANK[a.series.status],
    );
    const items = ordered.map(({ series: s, alerts: open }) => {
      const reported = [...s.problems].sort((a, b) => RANK[b.status] - RANK[a.status]);
      const lines = reported.map((p) => problemLine(p.rule, p.status, p.message, open.get(p.rule)));
      const seen = new Set(reported.map((p) => p.rule));
      for (const [rule, alert] of open) {
        if (seen.has(rule)) continue;
        lines.push(
          problemLine(rule, alert.severity, alert.message, alert, "no longer reported by the checks"),
        );
      }
      return h(
        "li",
        { class: "list-group-item problem-series", "data-series": key(s), "data-status": s.status },
        h(
          "div",
          { class: "d-flex flex-wrap align-items-center gap-2" },
          statusBadge(s.status),
          h("a", { href: sectionHref(s.section), class: "fw-semibold series-name" }, seriesName(s)),
        ),
        h("ul", { class: "list-unstyled mb-0 mt-1 small" }, lines),
      );
    });
    return card(
      title,
      [Backups.alerts.hint(), h("ul", { class: "list-group list-group-flush problem-list" }, items)],
      { id: "problems", extra },
    );
  }

  function problemLine(rule, status, message, alert, note) {
    return h(
      "li",
      {
        class: "problem" + (alert ? " alert-item" : ""),
        "data-rule": rule,
        "data-alert-id": alert ? alert.id : null,
        "data-severity": alert ? alert.severity : null,
      },
      ruleBadge(rule, status),
      " ",
      h("span", { class: "message" }, Backups.words(message)),
      note ? h("span", { class: "text-body-secondary" }, " (" + note + ")") : null,
      alert ? Backups.alerts.controls(alert) : null,
    );
  }

  // Where an ongoing run should end: the previous finished run of its series gives size and speed.
  function estimate(run, series) {
    const previous = series && series.last_finished;
    const started = fmt.parse(run.started_at);
    if (!previous || !started || fmt.parse(previous.started_at) >= started)
      return { expected: null, eta: null };
    const took = (fmt.parse(previous.ended_at) - fmt.parse(previous.started_at)) / 1000;
    const expected = previous.total_size || null;
    if (!(took > 0) || !expected) return { expected, eta: null };
    const rate = expected / took;
    const done = run.bytes_done || 0;
    const eta =
      done > 0
        ? new Date(
            (fmt.parse(run.heartbeat_at) || new Date()).getTime() +
              (1000 * Math.max(0, expected - done)) / rate,
          )
        : new Date(started.getTime() + took * 1000);
    return { expected, eta };
  }

  function ongoing(series) {
    const now = new Date();
    const rows = data.ongoing.map((run) => {
      const { expected, eta } = estimate(run, series.get(key(run)));
      let when;
      if (run.state === "stalled") {
        when = h(
          "span",
          { class: "text-danger-emphasis" },
          "no heartbeat since " + fmt.ago(run.heartbeat_at || run.started_at),
        );
      } else if (!eta) {
        when = h("span", { class: "text-body-secondary" }, "unknown: no earlier run to compare");
      } else if (eta < now) {
        when = h("span", { class: "text-warning-emphasis" }, "overdue (expected " + fmt.time(eta) + ")");
      } else {
        when = h("span", { title: fmt.time(eta) }, fmt.time(eta) + " (" + fmt.ago(eta, now) + ")");
      }
      return h(
        "tr",
        { "data-run-id": run.id, "data-state": run.state },
        seriesCell(
          run,
          h(
            "div",
            { class: "small" },
            h("a", { href: runHref(run.id), class: "run-link" }, "run #" + run.id),
            run.host ? [" on ", hostLink(run.host, { short: true, cls: "host-link" })] : null,
          ),
        ),
        h("td", { class: "state-cell" }, stateBadge(run.state)),
        h(
          "td",
          { class: "text-nowrap started", title: fmt.time(run.started_at) },
          h("span", { class: "phone-label" }, "started "),
          fmt.ago(run.started_at, now),
        ),
        h("td", { class: "progress-column" }, progressBar(run.bytes_done, expected)),
        h("td", { class: "eta small" }, h("span", { class: "phone-label" }, "ETA "), when),
      );
    });
    return card(
      "Running now (" + data.ongoing.length + ")",
      table(["Run", "State", "Started", "Progress", "ETA"], rows, {
        empty: "No run in progress.",
        cls: "ongoing stacked",
      }),
      { id: "ongoing" },
    );
  }

  // A runs table's first cell: the series (a link to its section) and what identifies the run under it.
  function seriesCell(run, under) {
    return h("td", null, h("a", { href: sectionHref(run.section), class: "series-name" }, seriesName(run)), under);
  }

  // Slots whose time has come that nothing started: how late each is; MISSED past the schedule grace.
  function due() {
    const now = new Date();
    const rows = data.due.map((run) =>
      h(
        "tr",
        { "data-run-id": run.id, "data-state": run.state },
        seriesCell(
          run,
          h("div", { class: "small text-body-secondary text-nowrap slot" }, "slot " + fmt.time(run.scheduled_for)),
        ),
        h(
          "td",
          { class: "late" },
          h(
            "span",
            { class: "text-nowrap" + (run.state === "missed" ? " text-danger-emphasis" : "") },
            fmt.duration((now - fmt.parse(run.scheduled_for)) / 1000) + " late",
          ),
          run.state === "missed" ? [" ", stateBadge(run.state)] : null,
        ),
        h("td", { class: "small host" }, hostLink(run.host, { short: true, cls: "host-link" })),
      ),
    );
    const more =
      data.due_total > data.due.length
        ? h(
            "p",
            { class: "small text-body-secondary m-2 mb-0", id: "due-more" },
            "The latest " + data.due.length + " of " + data.due_total + " are shown.",
          )
        : null;
    return card(
      "Due, not started (" + data.due_total + ")",
      [
        table(["Series and slot", "Late", "Host"], rows, {
          empty: "Every slot that is due has started.",
          cls: "due stacked",
        }),
        more,
      ],
      { id: "due" },
    );
  }

  function upcoming() {
    const rows = data.upcoming.map((run) =>
      h(
        "tr",
        { "data-run-id": run.id },
        h(
          "td",
          { class: "text-nowrap" },
          fmt.time(run.scheduled_for),
          h("div", { class: "small text-body-secondary" }, fmt.ago(run.scheduled_for)),
        ),
        h("td", null, h("a", { href: sectionHref(run.section), class: "series-name" }, seriesName(run))),
        h("td", { class: "small" }, hostLink(run.host, { short: true, cls: "host-link" })),
      ),
    );
    return card(
      "Upcoming",
      table(["When", "Series", "Host"], rows, { empty: "Nothing scheduled.", cls: "upcoming stacked" }),
      { id: "upcoming" },
    );
  }

  function grid() {
    const sections = [...new Set(data.series.map((s) => s.section))].sort(bySection);
    const columns = [...new Set(data.series.map((s) => s.type + "/" + s.datacenter))].sort();
    const types = [...new Set(columns.map((c) => c.split("/")[0]))];
    const series = new Map(data.series.map((s) => [key(s), s]));
    const head = h(
      "thead",
      null,
      h(
        "tr",
        null,
        h("th", { rowspan: 2, scope: "col", class: "grid-section" }, "Section"),
        types.map((type) =>
          h(
            "th",
            {
              colspan: columns.filter((c) => c.startsWith(type + "/")).length,
              scope: "colgroup",
              class: "text-center",
            },
            type,
          ),
        ),
      ),
      h(
        "tr",
        null,
        columns.map((c) => h("th", { scope: "col", class: "text-center small" }, c.split("/")[1])),
      ),
    );
    const body = h(
      "tbody",
      null,
      sections.map((section) =>
        h(
          "tr",
          null,
          h("th", { scope: "row", class: "grid-section" }, h("a", { href: sectionHref(section) }, section)),
          columns.map((column) => {
            const s = series.get(section + "/" + column);
            if (!s) return h("td", { class: "cell cell-none text-center", title: "No such series" }, "—");
            return h(
              "td",
              {
                class: "cell cell-" + s.status + " text-center",
                "data-series": key(s),
                "data-status": s.status,
                title: s.message,
              },
              h(
                "a",
                { href: sectionHref(section), "aria-label": seriesName(s) + ": " + s.status },
                SHORT[s.status] || s.status,
              ),
            );
          }),
        ),
      ),
    );
    const legend = h(
      "p",
      { class: "small text-body-secondary m-2 mb-0" },
      "OK: fresh and of a plausible size · WARN: look soon · CRIT: act now · — : no such series. " +
        "Hover a cell for its check, or open the section.",
    );
    return card(
      "Every series (" + data.series.length + ")",
      [
        h(
          "div",
          { class: "table-responsive" },
          h("table", { class: "table table-sm table-bordered mb-0 status-grid" }, head, body),
        ),
        legend,
      ],
      { id: "grid" },
    );
  }

  Backups.pages.overview = {
    start(page) {
      root = page;
      stopped = false;
      halted = false;
      document.addEventListener("visibilitychange", onVisibility);
      load();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
      Backups.alerts.close();
    },
  };
})();
