// One run: every field (where the backup lies included), its error (stage, exit code, message), progress
// while it runs, its restore tests with their row-count comparison, files and objects.
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
    hostLink,
    progressBar,
  } = Backups;

  function field(term, value, name, cls = "") {
    return [
      h("dt", { class: "col-5 col-sm-4 col-lg-3 text-body-secondary fw-normal" }, term),
      h(
        "dd",
        { class: "col-7 col-sm-8 col-lg-9 " + cls, "data-field": name },
        value === null || value === undefined || value === ""
          ? h("span", { class: "text-body-secondary" }, "—")
          : value,
      ),
    ];
  }

  function when(value) {
    if (!value) return null;
    return [
      fmt.time(value, { seconds: true }),
      " ",
      h("span", { class: "text-body-secondary" }, "(" + fmt.ago(value) + ")"),
    ];
  }

  function exact(bytes) {
    if (bytes === null || bytes === undefined) return null;
    return [
      fmt.size(bytes),
      " ",
      h("span", { class: "text-body-secondary" }, "(" + Number(bytes).toLocaleString("en") + " bytes)"),
    ];
  }

  function errorBox(run) {
    if (!run.error_stage && !run.error_message && run.error_exit_code === null) return null;
    const what =
      run.status === "failed"
        ? "This run failed"
        : run.status === "interrupted"
          ? "This run was interrupted"
          : "This run reported an error";
    const where = [
      run.error_stage ? "at stage " + run.error_stage : null,
      run.error_exit_code !== null ? "with exit code " + run.error_exit_code : null,
    ]
      .filter(Boolean)
      .join(" ");
    return h(
      "div",
      { class: "alert alert-danger", id: "run-error", role: "alert" },
      h(
        "h2",
        { class: "h6" },
        what + (where ? " " + where : "") + (run.ended_at ? " on " + fmt.time(run.ended_at) : "") + ".",
      ),
      run.error_message ? h("pre", { class: "mb-0 error-message" }, run.error_message) : null,
    );
  }

  // While a run is open, the previous finished run of its series says how big it will be.
  async function progress(run) {
    if (run.status !== "ongoing") return null;
    let previous = null;
    try {
      const page = await api(
        "/runs" +
          query({
            section: run.section,
            type: run.type,
            datacenter: run.datacenter,
            state: "finished",
            until: run.started_at,
            sort: "-started_at",
            limit: 1,
          }),
      );
      previous = page.results[0] || null;
    } catch (error) {
      previous = null;
    }
    const expected = previous ? previous.total_size : null;
    const note =
      run.state === "stalled"
        ? h(
            "p",
            { class: "text-danger-emphasis small mb-0 mt-2" },
            "STALLED: no heartbeat since " +
              fmt.time(run.heartbeat_at || run.started_at) +
              " (" +
              fmt.ago(run.heartbeat_at || run.started_at) +
              ").",
          )
        : null;
    return card(
      "Progress",
      h(
        "div",
        { class: "card-body" },
        progressBar(run.bytes_done, expected),
        previous
          ? h(
              "p",
              { class: "small text-body-secondary mb-0 mt-2" },
              "Compared with run ",
              h("a", { href: runHref(previous.id) }, "#" + previous.id),
              ", which took " + fmt.duration(previous.duration_s) + ".",
            )
          : null,
        note,
      ),
      { id: "progress" },
    );
  }

  // A path that may wrap after each "/" (and only inside a folder name longer than the line).
  function path(text) {
    return text.split("/").flatMap((part, index) => (index ? ["/", h("wbr"), part] : [part]));
  }

  // Where the backup lies: its directory on the host; an expired run's files are gone.
  function location(run) {
    if (!run.location) return null;
    return [
      h("code", { class: "location-path" }, path(run.location)),
      run.host ? [" on ", hostLink(run.host)] : null,
      run.status === "expired"
        ? h(
            "div",
            { class: "small text-body-secondary" },
            "Expired by retention on " + fmt.time(run.expired_at) + ": the files are gone.",
          )
        : null,
    ];
  }

  // The restore tests of the run, newest first: outcome, when, where, and each table's rows expected
  // (counted at backup time) against restored.
  function restoreTests(run, tests) {
    const RESULT = { passed: "success", failed: "danger", ongoing: "primary" };
    const items = tests.map((test) => {
      const detail = test.detail || {};
      const tables = Array.isArray(detail.tables) ? detail.tables : [];
      const mismatches = Array.isArray(detail.mismatches) ? detail.mismatches : [];
      const differs = new Set(mismatches.map((t) => (t.db || "") + "." + (t.name || t.table)));
      const count = (value) => (value === null || value === undefined ? "—" : Number(value).toLocaleString("en"));
      const rows = tables.map((t) => {
        const bad = differs.has((t.db || "") + "." + t.name);
        return h(
          "tr",
          { class: bad ? "table-danger" : null, "data-table": (t.db ? t.db + "." : "") + t.name },
          h("td", null, t.db || "—"),
          h("td", null, t.name),
          h("td", { class: "text-end text-nowrap" }, count(t.expected)),
          h("td", { class: "text-end text-nowrap" }, t.restored === null ? "no such table" : count(t.restored)),
          h("td", null, bad ? "differs" : t.expected === null ? "not counted at backup" : "same"),
        );
      });
      const summary = tables.length
        ? tables.length + " table(s) compared, " + mismatches.length + " differ"
        : "no table compared";
      return h(
        "li",
        { class: "list-group-item restore-test", "data-result": test.result, "data-test-id": test.id },
        h(
          "div",
          { class: "d-flex flex-wrap align-items-center gap-2" },
          h("span", { class: "badge text-bg-" + (RESULT[test.result] || "secondary") }, test.result),
          h("span", { class: "when", title: fmt.time(test.started_at, { seconds: true }) }, fmt.time(test.started_at)),
          h("span", { class: "text-body-secondary" }, "(" + fmt.ago(test.started_at) + ")"),
          test.duration_s !== null ? h("span", { class: "text-body-secondary" }, "took " + fmt.duration(test.duration_s)) : null,
          h("span", { class: "small ms-auto comparison" }, summary),
        ),
        test.target ? h("div", { class: "small" }, "Restored into ", Backups.words(test.target)) : null,
        detail.error
          ? h(
              "div",
              { class: "small text-danger-emphasis location restore-error" },
              (detail.stage ? "At stage " + detail.stage + ": " : "") + detail.error,
            )
          : null,
        detail.note ? h("div", { class: "small text-body-secondary" }, detail.note) : null,
        rows.length
          ? table(["Database", "Table", "Rows at backup", "Rows restored", ""], rows, { cls: "restored-rows" })
          : null,
      );
    });
    return card(
      "Restore tests (" + tests.length + ")",
      items.length
        ? h("ul", { class: "list-group list-group-flush" }, items)
        : h(
            "p",
            { class: "text-body-secondary m-3 empty" },
            "No restore test of this backup yet (dockyard backups restore-test " + run.id + " runs one).",
          ),
      { id: "restore-tests" },
    );
  }

  function files(run) {
    const total = run.files.reduce((sum, f) => sum + f.size, 0);
    const rows = run.files.map((f) =>
      h(
        "tr",
        null,
        h("td", null, f.path || "/"),
        h("td", { class: "file-name" }, f.name),
        h("td", { class: "text-nowrap text-end", title: f.size + " bytes" }, fmt.size(f.size)),
        h("td", { class: "text-nowrap" }, fmt.time(f.modified_at, { seconds: true })),
      ),
    );
    return card(
      "Files (" + run.files.length + (run.files.length ? ", " + fmt.size(total) : "") + ")",
      table(["Path", "Name", "Size", "Modified"], rows, {
        empty: "No file is recorded for this run.",
        cls: "files",
      }),
      { id: "files" },
    );
  }

  function objects(run) {
    const rows = run.objects.map((o) =>
      h(
        "tr",
        null,
        h("td", null, o.db),
        h("td", null, o.name || h("em", null, "(whole database)")),
        h("td", { class: "text-nowrap text-end" }, fmt.size(o.size)),
      ),
    );
    return card(
      "Objects (" + run.objects.length + ")",
      table(["Database", "Table", "Size"], rows, {
        empty: "No database or table sizes are recorded for this run.",
        cls: "objects",
      }),
      { id: "objects" },
    );
  }

  async function start(page, dataset) {
    let run;
    let tests;
    try {
      [run, tests] = await Promise.all([
        api("/runs/" + encodeURIComponent(dataset.run)),
        api("/runs/" + encodeURIComponent(dataset.run) + "/restore-tests"),
      ]);
    } catch (error) {
      Backups.fail(error);
      return;
    }
    const fields = [
      field("Name", run.name, "name", "location"),
      field("Section", h("a", { href: sectionHref(run.section) }, run.section), "section"),
      field("Type", run.type, "type"),
      field("Datacenter", run.datacenter, "datacenter"),
      field("Source", run.source ? Backups.words(run.source) : null, "source"),
      field("Host", run.host ? hostLink(run.host) : null, "host"),
      field("Location", location(run), "location", "location"),
      field(
        "State",
        [stateBadge(run.state), run.state !== run.status ? " (stored as " + run.status + ")" : ""],
        "state",
      ),
      field("Scheduled for", when(run.scheduled_for), "scheduled_for"),
      field("Started", when(run.started_at), "started_at"),
      field("Ended", when(run.ended_at), "ended_at"),
      field("Duration", run.duration_s === null ? null : fmt.duration(run.duration_s), "duration"),
      field("Last heartbeat", when(run.heartbeat_at), "heartbeat_at"),
      field("Bytes done", exact(run.bytes_done), "bytes_done"),
      field("Total size", exact(run.total_size), "total_size"),
      field("Error stage", run.error_stage, "error_stage"),
      field(
        "Exit code",
        run.error_exit_code === null ? null : String(run.error_exit_code),
        "error_exit_code",
      ),
      field("Attempt", String(run.attempt), "attempt"),
      field(
        "Retry of",
        run.retry_of ? h("a", { href: runHref(run.retry_of) }, "#" + run.retry_of) : null,
        "retry_of",
      ),
      field("Registered by", run.registered_by, "registered_by"),
      field("Recorded", when(run.created_at), "created_at"),
    ];
    const progressCard = await progress(run);
    page.replaceChildren(
      ...[
        h(
          "nav",
          { "aria-label": "breadcrumb" },
          h(
            "ol",
            { class: "breadcrumb mb-2" },
            h("li", { class: "breadcrumb-item" }, h("a", { href: "/backups/" }, "Overview")),
            h(
              "li",
              { class: "breadcrumb-item" },
              h("a", { href: sectionHref(run.section) }, "Section " + run.section),
            ),
            h("li", { class: "breadcrumb-item active", "aria-current": "page" }, "Run #" + run.id),
          ),
        ),
        h(
          "h1",
          { class: "h4 mb-3 d-flex flex-wrap align-items-center gap-2" },
          "Run #" + run.id,
          stateBadge(run.state),
        ),
        errorBox(run),
        progressCard,
        card("Details", h("dl", { class: "row mb-0 p-3 small", id: "run-fields" }, fields), {
          id: "details",
        }),
        restoreTests(run, tests),
        files(run),
        objects(run),
      ].filter(Boolean),
    );
    Backups.ready();
  }

  Backups.pages.run = { start, stop() {} };
})();
