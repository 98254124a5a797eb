// Poll the progress of repositories being mined (once a second) and reload when one finishes.
(function () {
  "use strict";
  const ACTIVE = ["queued", "running"];
  const rows = Array.from(document.querySelectorAll("[data-progress-url]"));

  function show(row, data) {
    const status = row.querySelector('[data-field="status"]');
    const progress = row.querySelector('[data-field="progress"]');
    const bar = row.querySelector('[data-field="bar"]');
    if (status) { status.textContent = data.status; status.className = "badge " + data.status; }
    if (progress) { progress.textContent = data.progress_done + " / " + data.progress_total + " commits"; }
    if (bar) { bar.max = Math.max(data.progress_total, 1); bar.value = data.progress_done; }
  }

  function poll(row) {
    fetch(row.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        if (ACTIVE.includes(data.status)) { show(row, data); setTimeout(function () { poll(row); }, 1000); }
        else { window.location.reload(); }
      })
      .catch(function () { setTimeout(function () { poll(row); }, 5000); });
  }

  rows.forEach(function (row) {
    const status = row.querySelector('[data-field="status"]');
    if (status && ACTIVE.includes(status.textContent.trim().toLowerCase())) { setTimeout(function () { poll(row); }, 1000); }
  });
})();
