// Dataset build page: when the live build ends, show its snapshot link and funnel (job_live.js does the rest).
(function () {
  "use strict";
  const root = document.getElementById("build-live");
  if (!root) return;

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text === undefined || text === null ? "" : text;
    row.appendChild(td);
    return td;
  }

  function renderFunnel(funnel) {
    const holder = document.getElementById("build-funnel");
    if (!holder || !funnel || !funnel.length || holder.querySelector("table")) return;
    const title = document.createElement("h2");
    title.textContent = "Funnel";
    const table = document.createElement("table");
    table.className = "table funnel";
    const head = table.createTHead().insertRow();
    ["Stage", "In", "Kept", "Dropped", "Why"].forEach(function (name) {
      const th = document.createElement("th"); th.textContent = name; head.appendChild(th);
    });
    const body = table.createTBody();
    funnel.forEach(function (stage) {
      const row = body.insertRow();
      [stage.stage, stage["in"], stage.kept, stage.dropped].forEach(function (v) { cell(row, v); });
      const why = cell(row, "");
      Object.entries(stage.reasons || {}).forEach(function ([reason, n]) {
        const badge = document.createElement("span");
        badge.className = "badge"; badge.textContent = reason + ": " + n;
        why.appendChild(badge); why.appendChild(document.createTextNode(" "));
      });
    });
    holder.appendChild(title);
    holder.appendChild(table);
  }

  root.addEventListener("job:message", function (event) {
    const msg = event.detail;
    if (msg.type !== "job.status") return;
    if (msg.snapshot_url) {
      const link = document.getElementById("build-snapshot");
      link.href = msg.snapshot_url;
      link.querySelector("code").textContent = msg.snapshot_url.split("/").filter(Boolean).pop();
    }
    if (msg.funnel) renderFunnel(msg.funnel);
  });
})();
