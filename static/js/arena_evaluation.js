// Evaluation page: when the evaluation's job succeeds, fetch its rendered verdict section and swap it in
// (no reload). job_live.js fires every message of the job's socket as a "job:message" event.
(function () {
  "use strict";
  const target = document.getElementById("arena-results");
  if (!target) return;
  let loading = false;

  function load() {
    if (loading || target.querySelector("[data-arena-results-ready]")) return;
    loading = true;
    fetch(target.dataset.resultsUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        target.innerHTML = html;
        document.dispatchEvent(new CustomEvent("arena:results"));
      })
      .catch(function (error) {
        target.textContent = "The verdict could not be loaded (" + error.message + ").";
      })
      .finally(function () { loading = false; });
  }

  document.addEventListener("job:message", function (event) {
    if (event.detail && event.detail.status === "succeeded") load();
  });
})();
