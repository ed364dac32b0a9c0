// A host: its runs in progress, its last week, what it keeps (the latest finished run per section and
// type) and the history of its runs with a state filter and paging (kept in the query string).
"use strict";

(function () {
  const {
    h,
    api,
    query,
    card,
    table,
    fmt,
    stateBadge,
    sectionHref,
    runHref,
    runHistory,
    progressBar,
  } = Backups;
  const WEEK_MS = 7 * 86400 * 1000;
  // The latest finished run per section and type is looked for among this many of the host's newest.
  const LATEST_WINDOW = 1000;
  let host = "";
  let history = null;

  const runs = (params) => api("/runs" + query({ host, ...params }));

  // --- the summary -------------------------------------------------------------------------------------

  // The newest finished run of each section and type, in section then type order.
  function latestPerSeries(finished) {
    const latest = new Map();
    for (const run of finished) {
      const key = run.section + "/" + run.type;
      if (!latest.has(key)) latest.set(key, run);
    }
    return [...latest.values()].sort(
      (a, b) => a.section.localeCompare(b.section, "en", { numeric: true }) || a.type.localeCompare(b.type),
    );
  }

  function stat(name, label, value, note, kind) {
    return h(
      "div",
      { class: "col-6 col-lg-3" },
      h(
        "section",
        { class: "card h-100 host-stat", "data-stat": name },
        h(
          "div",
          { class: "card-body" },
          h("h2", { class: "h6 text-body-secondary mb-1" }, label),
          h(
            "div",
            { class: "fs-4 fw-semibold stat-value" + (kind ? " text-" + kind + "-emphasis" : "") },
            value,
          ),
          h("div", { class: "small text-body-secondary" }, note),
        ),
      ),
    );
  }

  function summary(running, finished, failed, latest) {
    const stored = latest.reduce((sum, run) => sum + (run.total_size || 0), 0);
    const stalled = running.results.filter((run) => run.state === "stalled").length;
    return h(
      "div",
      { class: "row g-3 mb-3", id: "stats" },
      stat(
        "running",
        "In progress",
        String(running.total),
        stalled ? stalled + " stalled" : "ongoing or stalled",
        stalled ? "danger" : null,
      ),
      stat("finished", "Finished", String(finished.total), "in the last 7 days", null),
      stat("failed", "Failed", String(failed.total), "in the last 7 days", failed.total ? "danger" : null),
      stat(
        "stored",
        "Stored",
        fmt.size(stored),
        "latest finished runs of " + latest.length + " series (section × type)",
        null,
      ),
    );
  }

  function runningCard(running) {
    const rows = running.results.map((run) =>
      h(
        "tr",
        { "data-run-id": run.id, "data-state": run.state },
        h("td", { class: "inline" }, h("a", { href: runHref(run.id) }, "#" + run.id)),
        h("td", { class: "inline" }, h("a", { href: sectionHref(run.section) }, run.section)),
        h("td", { class: "inline" }, run.type),
        h("td", { class: "state-cell" }, stateBadge(run.state)),
        h(
          "td",
          { class: "text-nowrap started", title: fmt.time(run.started_at) },
          h("span", { class: "phone-label" }, "started "),
          fmt.ago(run.started_at),
        ),
        h("td", { class: "progress-column" }, progressBar(run.bytes_done, null)),
      ),
    );
    return card(
      "Running now (" + running.total + ")",
      table(["Run", "Section", "Type", "State", "Started", "Done"], rows, {
        empty: "No run in progress on this host.",
        cls: "running stacked",
      }),
      { id: "running" },
    );
  }

  function latestCard(latest) {
    const rows = latest.map((run) =>
      h(
        "tr",
        { "data-run-id": run.id, "data-series": run.section + "/" + run.type },
        h("td", null, h("a", { href: sectionHref(run.section) }, run.section)),
        h("td", null, run.type),
        h("td", null, h("a", { href: runHref(run.id) }, "#" + run.id)),
        h("td", { class: "text-nowrap" }, fmt.time(run.started_at)),
        h("td", { class: "text-nowrap text-end" }, fmt.size(run.total_size)),
      ),
    );
    return card(
      "Latest finished run per section and type",
      table(["Section", "Type", "Run", "Start", "Size"], rows, {
        empty: "No run on this host ever finished.",
        cls: "latest",
      }),
      { id: "latest" },
    );
  }

  // --- the page ----------------------------------------------------------------------------------------

  async function start(page, dataset) {
    host = dataset.host;
    const since = new Date(Date.now() - WEEK_MS).toISOString();
    let any;
    let running;
    let finished;
    let failed;
    let recent;
    try {
      [any, running, finished, failed, recent] = await Promise.all([
        runs({ limit: 1 }),
        runs({ state: ["ongoing", "stalled"], sort: "started_at", limit: 100 }),
        runs({ state: "finished", since, limit: 1 }),
        runs({ state: "failed", since, limit: 1 }),
        runs({ state: "finished", sort: "-started_at", limit: LATEST_WINDOW }),
      ]);
    } catch (error) {
      Backups.fail(error);
      return;
    }
    const heading = [
      h(
        "nav",
        { "aria-label": "breadcrumb" },
        h(
          "ol",
          { class: "breadcrumb mb-2" },
          h("li", { class: "breadcrumb-item" }, h("a", { href: "/backups/" }, "Overview")),
          h("li", { class: "breadcrumb-item active text-break", "aria-current": "page" }, "Host " + host),
        ),
      ),
      h("h1", { class: "h4 mb-3 text-break" }, "Host " + host),
    ];
    if (!any.total) {
      page.replaceChildren(...heading);
      Backups.notify("No run is recorded on host '" + host + "'.", "warning", { code: "no-runs" });
      Backups.ready();
      return;
    }
    const latest = latestPerSeries(recent.results);
    history = runHistory({
      scope: { host },
      columns: ["Run", "Section", "Type", "DC", "State", "Start", "Duration", "Size", "Error"],
      lead: (run) => [
        h("td", null, h("a", { href: runHref(run.id) }, "#" + run.id)),
        h("td", null, h("a", { href: sectionHref(run.section) }, run.section)),
      ],
      empty: "No run matches this filter.",
    });
    page.replaceChildren(
      ...heading,
      summary(running, finished, failed, latest),
      h(
        "div",
        { class: "row g-3" },
        h("div", { class: "col-xl-6" }, runningCard(running)),
        h("div", { class: "col-xl-6" }, latestCard(latest)),
      ),
      card("Runs", history.elements, { id: "runs" }),
    );
    await history.load();
    Backups.ready();
  }

  Backups.pages.host = {
    start,
    stop() {
      if (history) history.stop();
    },
  };
})();
