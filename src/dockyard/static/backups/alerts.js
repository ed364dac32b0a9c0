// Open alerts on the overview, shown under the problem each one is about: since when, acknowledged or
// silenced by whom, and the Acknowledge and Silence dialogs for people holding backups.manage.
"use strict";

(function () {
  const { h, api, fmt, statusBadge, ruleBadge, seriesName } = Backups;
  const SILENCE_CHOICES = [
    ["1 hour", 3600],
    ["4 hours", 4 * 3600],
    ["12 hours", 12 * 3600],
    ["1 day", 86400],
    ["3 days", 3 * 86400],
    ["1 week", 7 * 86400],
  ];

  let alerts = [];
  let dialogs = null;
  let reload = async () => {};

  function alertState(alert) {
    const parts = [];
    if (alert.acknowledged_at) {
      parts.push(
        h(
          "div",
          { class: "acknowledged" },
          "Acknowledged by " + (alert.acknowledged_by || "someone") + " " + fmt.ago(alert.acknowledged_at),
        ),
      );
    }
    if (alert.silenced)
      parts.push(h("div", { class: "silenced" }, "Silenced until " + fmt.time(alert.silenced_until)));
    if (alert.note)
      parts.push(h("div", { class: "text-body-secondary note" }, "Note: " + alert.note));
    return parts;
  }

  // Remember the open alerts and what to call after an action; the dialogs are made once.
  function setup(open, onChange) {
    alerts = open;
    reload = onChange;
    dialogs = dialogs || buildDialogs();
  }

  // The problems card's header button ("Run the checks now"), for people holding backups.manage.
  function toolbar() {
    if (!Backups.can("backups.manage")) return null;
    return h(
      "button",
      { type: "button", class: "btn btn-sm btn-outline-secondary", id: "run-checks", onclick: runChecks },
      "Run the checks now",
    );
  }

  // What a viewer without backups.manage is told, once, above the problems.
  function hint() {
    if (Backups.can("backups.manage") || !alerts.length) return null;
    return h(
      "p",
      { class: "alert alert-info small m-2 mb-0", "data-code": "no-manage" },
      "You can see alerts; acknowledging or silencing them needs the backups.manage permission " +
        "— ask an admin to add you to a group that has it.",
    );
  }

  // The alert's line under its problem: since when, who acknowledged or silenced it, and the buttons.
  function controls(alert) {
    const manage = Backups.can("backups.manage");
    return h(
      "div",
      { class: "d-flex flex-wrap align-items-end gap-2 mt-1 alert-controls" },
      h(
        "div",
        { class: "small me-auto state-cell" },
        h(
          "span",
          { class: "text-body-secondary since", title: fmt.time(alert.since || alert.first_seen_at) },
          "since " + fmt.ago(alert.since || alert.first_seen_at),
        ),
        alertState(alert),
      ),
      h(
        "div",
        { class: "text-nowrap" },
        h(
          "button",
          {
            type: "button",
            class: "btn btn-sm btn-outline-primary me-1 acknowledge",
            disabled: !manage || Boolean(alert.acknowledged_at),
            onclick: () => dialogs.acknowledge(alert),
          },
          alert.acknowledged_at ? "Acknowledged" : "Acknowledge",
        ),
        alert.silenced
          ? h(
              "button",
              {
                type: "button",
                class: "btn btn-sm btn-outline-secondary unsilence",
                disabled: !manage,
                onclick: () => unsilence(alert),
              },
              "Lift silence",
            )
          : h(
              "button",
              {
                type: "button",
                class: "btn btn-sm btn-outline-secondary silence",
                disabled: !manage,
                onclick: () => dialogs.silence(alert),
              },
              "Silence",
            ),
      ),
    );
  }

  // --- actions --------------------------------------------------------------------------------------------

  async function runChecks(event) {
    event.target.disabled = true;
    try {
      const counts = await api("/alerts/refresh", { method: "POST" });
      Backups.notify(
        "Checks done: " +
          counts.raised +
          " raised, " +
          counts.changed +
          " changed, " +
          counts.resolved +
          " resolved.",
        "success",
        { code: "checked" },
      );
      await reload();
    } catch (error) {
      Backups.fail(error, { action: "manage" });
    } finally {
      event.target.disabled = false;
    }
  }

  async function unsilence(alert) {
    try {
      await api("/alerts/" + alert.id + "/silence", { method: "POST", body: { until: null } });
      Backups.notify("The silence of " + seriesName(alert) + " (" + alert.rule + ") is lifted.", "success", {
        code: "unsilenced",
      });
      await reload();
    } catch (error) {
      Backups.fail(error, { action: "manage" });
    }
  }

  // The two dialogs live outside the refreshed part of the page: a refresh never closes them.
  function buildDialogs() {
    function dialog(id, title, fields, submitLabel, submit) {
      const error = h("div", {
        class: "alert alert-danger small mt-3 mb-0 dialog-error",
        role: "alert",
        hidden: true,
      });
      const subject = h("p", { class: "subject" });
      const button = h("button", { type: "submit", class: "btn btn-primary" }, submitLabel);
      const form = h(
        "form",
        { class: "modal-content", novalidate: true },
        h(
          "div",
          { class: "modal-header" },
          h("h2", { class: "modal-title h5", id: id + "-title" }, title),
          h("button", {
            type: "button",
            class: "btn-close",
            "data-bs-dismiss": "modal",
            "aria-label": "Close",
          }),
        ),
        h("div", { class: "modal-body" }, subject, fields, error),
        h(
          "div",
          { class: "modal-footer" },
          h(
            "button",
            { type: "button", class: "btn btn-outline-secondary", "data-bs-dismiss": "modal" },
            "Cancel",
          ),
          button,
        ),
      );
      const element = h(
        "div",
        { class: "modal fade", id, tabindex: "-1", "aria-labelledby": id + "-title", "aria-hidden": "true" },
        h("div", { class: "modal-dialog modal-dialog-centered" }, form),
      );
      document.body.append(element);
      const modal = new bootstrap.Modal(element);
      let current = null;
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        error.hidden = true;
        button.disabled = true;
        try {
          await submit(current);
          modal.hide();
          await reload();
        } catch (failure) {
          const { message, code } = Backups.explain(failure, { action: "manage" });
          if (failure instanceof Backups.ApiError && failure.status === 401) {
            modal.hide();
            Backups.fail(failure);
            return;
          }
          error.textContent = message;
          error.dataset.code = code;
          error.hidden = false;
        } finally {
          button.disabled = false;
        }
      });
      return {
        element,
        modal,
        open(alert) {
          current = alert;
          subject.replaceChildren(
            statusBadge(alert.severity),
            " ",
            h("strong", null, seriesName(alert)),
            " ",
            ruleBadge(alert.rule, alert.severity),
            h("div", { class: "small mt-1 message" }, Backups.words(alert.message)),
          );
          form.reset();
          error.hidden = true;
          modal.show();
        },
      };
    }

    const ackNote = h("textarea", { class: "form-control", id: "ack-note", rows: 3, maxlength: 2000 });
    const ack = dialog(
      "ack-dialog",
      "Acknowledge alert",
      [
        h(
          "label",
          { class: "form-label", for: "ack-note" },
          "Note (optional): who is on it, what is being done",
        ),
        ackNote,
      ],
      "Acknowledge",
      async (alert) => {
        await api("/alerts/" + alert.id + "/acknowledge", {
          method: "POST",
          body: { note: ackNote.value.trim() || null },
        });
        Backups.notify("Acknowledged: " + seriesName(alert) + " (" + alert.rule + ").", "success", {
          code: "acknowledged",
        });
      },
    );

    const duration = h(
      "select",
      { class: "form-select", id: "silence-duration" },
      SILENCE_CHOICES.map(([label, seconds], index) =>
        h("option", { value: seconds, selected: index === 1 }, label),
      ),
    );
    const silenceNote = h("textarea", {
      class: "form-control",
      id: "silence-note",
      rows: 3,
      maxlength: 2000,
    });
    const silence = dialog(
      "silence-dialog",
      "Silence alert",
      [
        h("label", { class: "form-label", for: "silence-duration" }, "Silence for"),
        duration,
        h("label", { class: "form-label mt-3", for: "silence-note" }, "Note (optional): why"),
        silenceNote,
      ],
      "Silence",
      async (alert) => {
        const until = new Date(Date.now() + Number(duration.value) * 1000);
        await api("/alerts/" + alert.id + "/silence", {
          method: "POST",
          body: { until: until.toISOString(), note: silenceNote.value.trim() || null },
        });
        Backups.notify(
          "Silenced until " + fmt.time(until) + ": " + seriesName(alert) + " (" + alert.rule + ").",
          "success",
          { code: "silenced" },
        );
      },
    );

    return { acknowledge: ack.open, silence: silence.open, all: [ack, silence] };
  }

  Backups.alerts = {
    setup,
    toolbar,
    hint,
    controls,
    close() {
      if (dialogs) dialogs.all.forEach((d) => d.modal.hide());
    },
  };
})();
