// A section: per type and datacenter its check and last good run, size and duration charts, and the
// history of its runs with filters and paging (kept in the query string, so a reload shows the same page).
"use strict";

(function () {
  const { h, api, query, card, table, fmt, statusBadge, hostLink, runHistory, runHref } = Backups;
  const COLORS = { eqiad: "#0d6efd", codfw: "#d63384" };
  const SPARE_COLORS = ["#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d"];
  let root = null;
  let section = "";
  let charts = [];
  let history = null;

  const colorOf = (datacenter, index) => COLORS[datacenter] || SPARE_COLORS[index % SPARE_COLORS.length];

  // --- the summary: checks and last good runs ----------------------------------------------------------

  function seriesCard(series, check, schedule, manage) {
    const good = series.last_good;
    const rows = good
      ? [
          [
            "Last good",
            h(
              "span",
              null,
              h(
                "a",
                { href: runHref(good.id), class: "last-good", "data-run-id": good.id },
                fmt.time(good.started_at),
              ),
              " ",
              h("span", { class: "text-body-secondary" }, "(" + fmt.ago(good.started_at) + ")"),
            ),
          ],
          ["Size", fmt.size(good.total_size)],
          ["Took", fmt.duration(good.duration_s)],
          ["From", h("span", { class: "text-break" }, good.source || "—")],
          ["On", h("span", { class: "text-break" }, hostLink(good.host, { cls: "host-link" }))],
        ]
      : [["Last good", h("span", { class: "text-danger-emphasis last-good" }, "none: no run ever finished")]];
    rows.push(["Failed", series.failed + " in the window"]);
    const list = h(
      "dl",
      { class: "row small mb-0" },
      rows.map(([term, value]) => [
        h("dt", { class: "col-4 fw-normal text-body-secondary" }, term),
        h("dd", { class: "col-8 mb-1" }, value),
      ]),
    );
    const status = check ? check.status : "unknown";
    return h(
      "div",
      { class: "col-sm-6 col-xxl-3" },
      h(
        "section",
        {
          class: "card h-100 series-card",
          "data-series": series.type + "/" + series.datacenter,
          "data-status": status,
        },
        h(
          "div",
          { class: "card-header d-flex align-items-center gap-2" },
          h("h2", { class: "h6 mb-0 me-auto" }, series.type + " · " + series.datacenter),
          statusBadge(status),
        ),
        h(
          "div",
          { class: "card-body" },
          list,
          check && check.status !== "ok"
            ? h("p", { class: "small mt-2 mb-0 text-break check-message" }, check.message)
            : null,
        ),
        manage && schedule ? runNowFooter(schedule) : null,
      ),
    );
  }

  // --- run now -------------------------------------------------------------------------------------------

  // A scheduled series' "Run now": a run due at once, which the scheduler starts on its next round.
  function runNowFooter(schedule) {
    const why = !schedule.enabled
      ? "The schedule is disabled."
      : schedule.executed_by !== "dockyard"
        ? "Another tool takes this backup; Dockyard's scheduler cannot run it."
        : null;
    const button = h(
      "button",
      {
        type: "button",
        class: "btn btn-sm btn-outline-primary run-now",
        "data-schedule-id": schedule.id,
        disabled: Boolean(why),
        title: why || "Queue a run due now; the scheduler starts it on its next round.",
        onclick: (event) => runNow(event.currentTarget, schedule),
      },
      "Run now",
    );
    return h(
      "div",
      { class: "card-footer d-flex flex-wrap align-items-center gap-2" },
      button,
      h("span", { class: "small text-body-secondary" }, why || "cron " + schedule.cron + " (UTC)"),
    );
  }

  async function runNow(button, schedule) {
    button.disabled = true;
    try {
      const run = await api("/schedules/" + schedule.id + "/run", { method: "POST" });
      Backups.notify(
        h(
          "span",
          null,
          "Run ",
          h("a", { href: runHref(run.id) }, "#" + run.id),
          " of " + schedule.type + " · " + schedule.datacenter + " is queued: the scheduler starts it on its next round.",
        ),
        "success",
        { code: "run-queued" },
      );
      if (history) await history.load();
    } catch (error) {
      if (error instanceof Backups.ApiError && error.status === 409) {
        Backups.notify(error.detail, "warning", { code: "run-refused" });
      } else {
        Backups.fail(error, { action: "manage" });
      }
    } finally {
      button.disabled = false;
    }
  }

  // --- restore tests --------------------------------------------------------------------------------------

  const RESULT_CLASS = { passed: "success", failed: "danger", ongoing: "info" };

  function restoreTests(page) {
    const rows = page.results.map((test) =>
      h(
        "tr",
        { "data-test-id": test.id, "data-result": test.result },
        h("td", null, h("a", { href: runHref(test.run_id) }, "#" + test.run_id)),
        h("td", { class: "text-nowrap" }, test.type + " · " + test.datacenter),
        h(
          "td",
          null,
          h("span", { class: "badge text-bg-" + (RESULT_CLASS[test.result] || "secondary") }, test.result),
        ),
        h(
          "td",
          { class: "text-nowrap", title: fmt.time(test.started_at) },
          fmt.ago(test.started_at),
        ),
        h("td", { class: "text-nowrap" }, test.duration_s === null ? "—" : fmt.duration(test.duration_s)),
        h("td", { class: "text-break small" }, test.target || "—"),
      ),
    );
    const more = page.total > page.results.length ? " (latest " + page.results.length + ")" : "";
    return card(
      "Restore tests: " + page.total + more,
      table(["Run", "Series", "Result", "Age", "Took", "Restored into"], rows, {
        empty: "No restore test of this section yet: `dockyard backups restore-test RUN` runs one.",
      }),
      { id: "restore-tests" },
    );
  }

  // --- charts ------------------------------------------------------------------------------------------

  function scaleFor(values, units) {
    const largest = Math.max(0, ...values.filter((v) => v !== null));
    let chosen = units[0];
    for (const unit of units) if (largest >= unit.factor * 2) chosen = unit;
    return chosen;
  }

  const SIZE_UNITS = [
    { label: "B", factor: 1 },
    { label: "KiB", factor: 1024 },
    { label: "MiB", factor: 1024 ** 2 },
    { label: "GiB", factor: 1024 ** 3 },
  ];
  const TIME_UNITS = [
    { label: "seconds", factor: 1 },
    { label: "minutes", factor: 60 },
    { label: "hours", factor: 3600 },
  ];

  function drawChart(canvas, kind, type, seriesOfType) {
    const field = kind === "size" ? "total_size" : "duration_s";
    const unit = scaleFor(
      seriesOfType.flatMap((s) => s.points.map((p) => p[field])),
      kind === "size" ? SIZE_UNITS : TIME_UNITS,
    );
    // Bars as thin as the densest series needs: two datacenters' runs minutes apart would make them vanish.
    const most = Math.max(1, ...seriesOfType.map((s) => s.points.length));
    const barThickness = Math.max(2, Math.min(10, Math.floor(canvas.parentElement.clientWidth / most / 2.5)));
    const datasets = seriesOfType.map((s, index) => ({
      label: s.datacenter,
      data: s.points.map((p) => ({
        x: Date.parse(p.started_at),
        y: p[field] === null ? null : p[field] / unit.factor,
        id: p.id,
        raw: p[field],
      })),
      borderColor: colorOf(s.datacenter, index),
      backgroundColor: colorOf(s.datacenter, index),
      pointRadius: 2,
      borderWidth: kind === "size" ? 2 : 0,
      barThickness,
      grouped: true,
    }));
    return new Chart(canvas, {
      type: kind === "size" ? "line" : "bar",
      data: { datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: { type: "time", time: { minUnit: "day" }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: { beginAtZero: kind !== "size", title: { display: true, text: unit.label } },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? fmt.time(new Date(items[0].raw.x)) : ""),
              label: (item) =>
                item.dataset.label +
                ": " +
                (kind === "size" ? fmt.size(item.raw.raw) : fmt.duration(item.raw.raw)) +
                " (run #" +
                item.raw.id +
                ")",
            },
          },
        },
        onClick: (event, elements, chart) => {
          if (!elements.length) return;
          const point = chart.data.datasets[elements[0].datasetIndex].data[elements[0].index];
          location.href = runHref(point.id);
        },
      },
    });
  }

  function chartCards(summary) {
    const types = [...new Set(summary.series.map((s) => s.type))];
    const cards = [];
    const pending = [];
    for (const type of types) {
      const ofType = summary.series.filter((s) => s.type === type);
      const points = ofType.reduce((n, s) => n + s.points.length, 0);
      for (const kind of ["size", "duration"]) {
        const canvas = h("canvas", {
          "data-type": type,
          "data-kind": kind,
          "data-points": points,
          "aria-label": type + " " + kind + " per run, by datacenter",
          role: "img",
        });
        pending.push(() => drawChart(canvas, kind, type, ofType));
        cards.push(
          h(
            "div",
            { class: "col-lg-6" },
            card(
              type + ": " + (kind === "size" ? "size" : "duration") + " of finished runs",
              h(
                "div",
                { class: "card-body" },
                points
                  ? h("div", { class: "chart-box" }, canvas)
                  : h("p", { class: "text-body-secondary mb-0" }, "No finished run in the window."),
              ),
            ),
          ),
        );
      }
    }
    return { cards, draw: () => pending.map((draw) => draw()) };
  }

  // --- the page ----------------------------------------------------------------------------------------

  async function start(page, dataset) {
    root = page;
    section = dataset.section;
    let summary;
    let checks;
    let schedules;
    let tests;
    let me;
    try {
      [summary, checks, schedules, tests, me] = await Promise.all([
        api("/sections/" + encodeURIComponent(section)),
        api("/checks" + query({ section })),
        api("/schedules" + query({ section })),
        api("/restore-tests" + query({ section, limit: 10 })),
        Backups.whoami(),
      ]);
    } catch (error) {
      Backups.fail(error);
      return;
    }
    const manage = Boolean(me && (me.is_superuser || (me.permissions || []).includes("backups.manage")));
    const checkOf = new Map(checks.map((c) => [c.type + "/" + c.datacenter, c]));
    const scheduleOf = new Map(schedules.map((s) => [s.type + "/" + s.datacenter, s]));
    const limits = Backups.thresholdsForm(section, summary, manage);
    const { cards, draw } = chartCards(summary);
    const types = [...new Set(summary.series.map((s) => s.type))];
    const datacenters = [...new Set(summary.series.map((s) => s.datacenter))];
    history = runHistory({
      scope: { section },
      selects: [
        ["type", "Type", [["", "Every type"], ...types.map((t) => [t, t])]],
        ["datacenter", "Datacenter", [["", "Every datacenter"], ...datacenters.map((dc) => [dc, dc])]],
      ],
      columns: ["Run", "Type", "DC", "State", "Start", "Duration", "Size", "Error"],
      lead: (run) => [h("td", null, h("a", { href: runHref(run.id) }, "#" + run.id))],
      empty: "No run matches these filters.",
    });
    root.replaceChildren(
      h(
        "nav",
        { "aria-label": "breadcrumb" },
        h(
          "ol",
          { class: "breadcrumb mb-2" },
          h("li", { class: "breadcrumb-item" }, h("a", { href: "/backups/" }, "Overview")),
          h("li", { class: "breadcrumb-item active", "aria-current": "page" }, "Section " + section),
        ),
      ),
      h("h1", { class: "h4 mb-3" }, "Section " + section),
      h(
        "div",
        { class: "row g-3 mb-3", id: "series" },
        summary.series.map((s) =>
          seriesCard(s, checkOf.get(s.type + "/" + s.datacenter), scheduleOf.get(s.type + "/" + s.datacenter), manage),
        ),
      ),
      h(
        "p",
        { class: "small text-body-secondary" },
        "Charts: finished runs since " + fmt.time(summary.since) + ". Click a point to open its run.",
      ),
      h("div", { class: "row g-3", id: "charts" }, cards),
      restoreTests(tests),
      limits.element,
      card("Runs", history.elements, { id: "runs" }),
    );
    charts = draw();
    try {
      await Promise.all([history.load(), limits.load()]);
    } catch (error) {
      Backups.fail(error);
      return;
    }
    Backups.ready();
  }

  Backups.pages.section = {
    start,
    stop() {
      if (history) history.stop();
      charts.forEach((chart) => chart.destroy());
      charts = [];
    },
  };
})();
