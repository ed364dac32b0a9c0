// The check thresholds of a section on its page: what applies per scope (type and datacenter, or any),
// a form to change them for people holding backups.manage, and the history of who changed what.
"use strict";

(function () {
  const { h, api, query, card, fmt } = Backups;
  const FIELDS = [
    ["freshness_s", "Too old after", "s", "duration"],
    ["min_size", "Too small under", "bytes", "size"],
    ["warn_change_pct", "Size change warns at", "%", "pct"],
    ["crit_change_pct", "Size change critical at", "%", "pct"],
    ["max_duration_s", "Too long after", "s", "duration"],
    ["heartbeat_grace_s", "Stalled without heartbeat for", "s", "duration"],
    ["schedule_grace_s", "Missed when late by", "s", "duration"],
  ];
  const human = (kind, value) =>
    value === null || value === undefined
      ? "—"
      : kind === "duration"
        ? fmt.duration(value)
        : kind === "size"
          ? fmt.size(value)
          : value + " %";
  const scopeName = (row) =>
    [row.section || "every section", row.type || "both types", row.datacenter || "every datacenter"].join(" · ");

  // The most specific row other than the scope's own that sets `field` and covers the scope.
  function inherited(rows, scope, field) {
    const covers = (row) =>
      (row.section === null || row.section === scope.section) &&
      (row.type === null || row.type === scope.type) &&
      (row.datacenter === null || row.datacenter === scope.datacenter);
    const rank = (row) => (row.section ? 4 : 0) + (row.type ? 2 : 0) + (row.datacenter ? 1 : 0);
    const candidates = rows
      .filter((row) => covers(row) && row[field] !== null && rank(row) < rank(scope))
      .sort((a, b) => rank(b) - rank(a));
    return candidates.length ? candidates[0] : null;
  }

  Backups.thresholdsForm = function (section, summary, manage) {
    let rows = [];
    const types = [...new Set(summary.series.map((s) => s.type))];
    const datacenters = [...new Set(summary.series.map((s) => s.datacenter))];
    const select = (id, label, options) =>
      h(
        "div",
        { class: "col-6 col-md-3" },
        h("label", { class: "form-label small mb-1", for: id }, label),
        h(
          "select",
          { class: "form-select form-select-sm", id, onchange: fill },
          options.map(([value, text]) => h("option", { value }, text)),
        ),
      );
    const typeSelect = select("threshold-type", "Type", [["", "Both types"], ...types.map((t) => [t, t])]);
    const dcSelect = select("threshold-datacenter", "Datacenter", [
      ["", "Every datacenter"],
      ...datacenters.map((dc) => [dc, dc]),
    ]);
    const inputs = FIELDS.map(([field, label, unit]) =>
      h(
        "div",
        { class: "col-sm-6 col-lg-3" },
        h("label", { class: "form-label small mb-1", for: "threshold-" + field }, label + " (" + unit + ")"),
        h("input", {
          class: "form-control form-control-sm",
          id: "threshold-" + field,
          name: field,
          type: "number",
          min: "0",
          step: unit === "%" ? "any" : "1",
          inputmode: unit === "%" ? "decimal" : "numeric",
        }),
        h("div", { class: "form-text small text-break", id: "threshold-" + field + "-hint" }),
      ),
    );
    const error = h("div", { class: "alert alert-danger py-2 small", id: "thresholds-error", role: "alert", hidden: true });
    const history = h("ul", { class: "list-unstyled small mb-0", id: "thresholds-history" });
    const form = h(
      "form",
      { id: "thresholds-form", novalidate: true, onsubmit: save },
      h(
        "fieldset",
        { disabled: !manage },
        h("div", { class: "row g-2 mb-2" }, typeSelect, dcSelect),
        h("div", { class: "row g-2 mb-2" }, inputs),
        error,
        manage
          ? h(
              "div",
              { class: "d-flex flex-wrap align-items-center gap-2" },
              h("button", { class: "btn btn-sm btn-primary", type: "submit", id: "thresholds-save" }, "Save"),
              h("span", { class: "small text-body-secondary" }, "An empty field inherits the value shown under it."),
            )
          : h(
              "p",
              { class: "small text-body-secondary mb-0", "data-code": "no-manage" },
              "Changing thresholds needs the backups.manage permission.",
            ),
      ),
    );
    const element = card(
      "Check thresholds",
      h(
        "div",
        { class: "card-body" },
        form,
        h("h3", { class: "h6 mt-3" }, "Changes"),
        history,
      ),
      { id: "thresholds" },
    );

    function scope() {
      const value = (id) => element.querySelector("#" + id).value || null;
      return { section, type: value("threshold-type"), datacenter: value("threshold-datacenter") };
    }

    function fill() {
      const wanted = scope();
      const own = rows.find(
        (row) => row.section === wanted.section && row.type === wanted.type && row.datacenter === wanted.datacenter,
      );
      for (const [field, , , kind] of FIELDS) {
        const input = element.querySelector("#threshold-" + field);
        input.value = own && own[field] !== null ? own[field] : "";
        const from = inherited(rows, wanted, field);
        input.placeholder = from ? String(from[field]) : "";
        element.querySelector("#threshold-" + field + "-hint").textContent = from
          ? "inherits " + human(kind, from[field]) + " (" + scopeName(from) + ")"
          : "";
      }
    }

    function drawHistory(changes) {
      if (!changes.length) {
        history.replaceChildren(h("li", { class: "text-body-secondary" }, "No change recorded yet."));
        return;
      }
      history.replaceChildren(
        ...changes.map((change) => {
          const before = change.before || {};
          const after = change.after || {};
          const moved = FIELDS.filter(([field]) => before[field] !== after[field]).map(
            ([field, , , kind]) => field + " " + human(kind, before[field]) + " → " + human(kind, after[field]),
          );
          return h(
            "li",
            { class: "mb-1 text-break", "data-change-id": change.id },
            h("span", { class: "text-body-secondary", title: fmt.time(change.at) }, fmt.ago(change.at)),
            " · ",
            h("strong", null, change.changed_by.replace(/^(api|cli):/, "")),
            " · " + scopeName(change) + ": ",
            moved.join(", ") || (change.after ? "set" : "removed"),
          );
        }),
      );
    }

    async function load() {
      const [found, changes] = await Promise.all([
        api("/thresholds" + query({ section })),
        api("/thresholds/history" + query({ section, limit: 10 })),
      ]);
      rows = found;
      fill();
      drawHistory(changes);
    }

    async function save(event) {
      event.preventDefault();
      error.hidden = true;
      const body = scope();
      for (const [field, , unit] of FIELDS) {
        const text = element.querySelector("#threshold-" + field).value.trim();
        body[field] = text === "" ? null : unit === "%" ? Number(text) : Math.round(Number(text));
      }
      const button = element.querySelector("#thresholds-save");
      button.disabled = true;
      try {
        await api("/thresholds", { method: "PUT", body });
        Backups.notify("Thresholds of " + scopeName(body) + " saved.", "success", { code: "thresholds-saved" });
        await load();
      } catch (failure) {
        if (failure instanceof Backups.ApiError && (failure.status === 400 || failure.status === 422)) {
          error.textContent = failure.detail;
          error.hidden = false;
        } else {
          Backups.fail(failure, { action: "manage" });
        }
      } finally {
        button.disabled = false;
      }
    }

    return { element, load };
  };
})();
