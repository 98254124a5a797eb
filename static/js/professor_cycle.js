// A cycle, live, on the Professor page and the cycle page. job_live.js opens the cycle's socket
// (/ws/jobs/cycle/<id>/) and fires each message as a "job:message" event; this file renders
// the cycle's own kinds:
// - job.status of the cycle: its status label, outcome ("not ready: ...") and summary;
// - cycle.journal: a new timeline entry (one that starts a job gets a badge that follows the job);
// - cycle.step: the current step's job (dataset build, training run, evaluation), relayed by the
//   cycle's socket: its state, percentage, progress label, ETA and a link to its own page.
(function () {
  "use strict";
  const format = window.JobFormat;  // job_format.js, loaded with job_live.js by jobs/live_job.html

  function field(root, name) { return root.querySelector(`[data-step-field="${name}"]`); }

  function showStep(root, step) {
    const panel = root.querySelector("[data-step-job]");
    if (!panel) return;
    panel.hidden = false;
    field(panel, "step_label").textContent = step.step_label;
    const link = field(panel, "link");
    link.href = step.url; link.textContent = step.kind + " " + step.id;
    if (step.status) {
      const state = field(panel, "state");
      state.textContent = step.state_label; state.className = "badge " + step.status;
    }
    const progress = step.progress || 0;
    field(panel, "progress").value = progress;
    field(panel, "percent").textContent = Math.floor(progress * 100) + " %";
    field(panel, "progress_label").textContent = step.progress_label || "";
    field(panel, "eta").textContent = format.etaText(step.status, step.eta_seconds);
    if (step.status) {
      root.querySelectorAll(`[data-job-badge="${step.kind}:${step.id}"]`).forEach(function (badge) {
        badge.textContent = badge.dataset.stepLabel + " · " + step.state_label;
        badge.className = "badge " + step.status;
      });
    }
  }

  function addEntry(root, entry) {
    const list = root.querySelector("[data-cycle-timeline]");
    if (!list) return;
    const empty = list.querySelector("li.muted");
    if (empty) empty.remove();
    const li = document.createElement("li");
    li.className = "journal " + entry.outcome;
    li.dataset.step = entry.step;
    const time = document.createElement("time");
    time.textContent = entry.at.replace("T", " ").slice(0, 19);
    const badge = document.createElement("span");
    const job = entry.job;
    badge.className = "badge " + (job ? job.status : entry.outcome);
    badge.textContent = (job ? job.step_label : entry.step) + " · " + (job ? job.state_label : entry.outcome);
    if (job) {
      badge.dataset.jobBadge = job.kind + ":" + job.id;
      badge.dataset.stepLabel = job.step_label;
    }
    li.append(time, " ", badge, " " + entry.message);
    for (const l of entry.links || []) {
      const a = document.createElement("a");
      a.href = l.url; a.textContent = l.label;
      li.append(" · ", a);
    }
    list.append(li);
  }

  function showCycle(root, msg) {
    const set = function (name, text) {
      root.querySelectorAll(`[data-cycle-field="${name}"]`).forEach(function (node) {
        node.textContent = text || "";
        if (name === "summary") node.hidden = !text || msg.outcome === "not_ready";
        if (name === "status") node.className = "badge " + msg.status;
        if (name === "outcome_text") node.className = "badge " + msg.outcome;
      });
    };
    set("status", msg.status_label);
    if (msg.outcome_text !== undefined) set("outcome_text", msg.outcome_text);
    if (msg.summary !== undefined) set("summary", msg.summary);
  }

  document.querySelectorAll("[data-cycle-live]").forEach(function (root) {
    const socket = root.querySelector("[data-job-socket]");
    if (!socket) return;
    socket.addEventListener("job:message", function (event) {
      const msg = event.detail;
      if (msg.type === "cycle.journal") addEntry(root, msg);
      else if (msg.type === "cycle.step") showStep(root, msg);
      else if (msg.type === "job.status" && msg.kind === "cycle") showCycle(root, msg);
    });
  });
})();
