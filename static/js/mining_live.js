// Repository page: when the live mining ends, show its statistics (job_live.js does the rest).
(function () {
  "use strict";
  const root = document.getElementById("repository-live");
  if (!root) return;

  function fillTable(name, counts) {
    const body = document.querySelector(`[data-stat-table="${name}"]`);
    if (!body) return;
    body.textContent = "";
    const entries = Object.entries(counts || {}).sort();
    if (!entries.length) entries.push(["none", ""]);
    entries.forEach(function ([reason, count]) {
      const row = body.insertRow();
      row.insertCell().textContent = reason;
      row.insertCell().textContent = count;
    });
  }

  root.addEventListener("job:message", function (event) {
    const msg = event.detail;
    const stats = msg.stats;
    if (msg.type === "job.status" && stats && Object.keys(stats).length) {
      const card = document.getElementById("mining-stats");
      card.hidden = false;
      ["commits_seen", "kept", "truncated"].forEach(function (key) {
        const node = card.querySelector(`[data-stat="${key}"]`);
        if (node) node.textContent = stats[key];
      });
      fillTable("skipped", stats.skipped);
      fillTable("files_skipped", stats.files_skipped);
    }
  });
})();
