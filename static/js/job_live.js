// Live state of one job (dataset build, mining, evaluation, ...) over its websocket: no polling, no reload.
// Markup: an element with data-job-socket="/ws/<kind>/<pk>/" holding elements with
// data-job-field="status|progress|progress_text|eta|human_error|<payload key>" and
// data-job-show="active|terminal|succeeded|failed|..."; every message is also fired as a
// "job:message" DOM event on the socket element (detail: the payload) for page-specific rendering.
(function () {
  "use strict";
  const format = window.JobFormat;  // job_format.js, loaded before this file

  function setField(root, name, value, payload) {
    root.querySelectorAll(`[data-job-field="${name}"]`).forEach(function (node) {
      if (name === "status") {
        node.textContent = payload.status_label || value;
        node.className = "badge " + value;
      } else if (node.tagName === "PROGRESS") {
        node.value = value || 0;
      } else {
        node.textContent = value === null || value === undefined ? "" : value;
      }
    });
  }

  function applyVisibility(root, status) {
    root.dataset.status = status;
    const active = !format.isTerminal(status);
    document.querySelectorAll("[data-job-show]").forEach(function (node) {
      const wanted = node.dataset.jobShow.split(" ");
      node.hidden = !(wanted.includes(status) || (active && wanted.includes("active")) ||
                      (!active && wanted.includes("terminal")));
    });
  }

  function apply(root, msg) {
    Object.keys(msg).forEach(function (key) {
      if (key !== "type" && key !== "progress" && key !== "eta_seconds") setField(root, key, msg[key], msg);
    });
    if (msg.progress !== undefined) {
      setField(root, "progress", msg.progress, msg);
      setField(root, "progress_text", Math.floor((msg.progress || 0) * 100) + " %", msg);
    }
    if (msg.eta_seconds !== undefined) setField(root, "eta", format.etaText(msg.status, msg.eta_seconds), msg);
    if (msg.status) applyVisibility(root, msg.status);
  }

  function watch(root) {
    const banner = root.querySelector("[data-job-banner]");
    let retryDelay = 1000;
    function connect() {
      const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.jobSocket;
      const socket = new WebSocket(url);
      socket.onopen = function () { retryDelay = 1000; if (banner) banner.hidden = true; };
      socket.onmessage = function (event) {
        let msg;
        try { msg = JSON.parse(event.data); } catch (e) { return; }
        if (msg.type === "job.status" || msg.type === "job.progress") apply(root, msg);
        root.dispatchEvent(new CustomEvent("job:message", { detail: msg, bubbles: true }));
      };
      socket.onclose = function (event) {
        if (event.code >= 4400 && event.code < 4500) {
          if (banner) { banner.hidden = false; banner.textContent = "Live updates refused (" + event.code + ")."; }
          return;
        }
        const wait = Math.round(retryDelay * (0.8 + Math.random() * 0.4));
        if (banner) { banner.hidden = false; banner.textContent = "Live updates paused, retrying…"; }
        setTimeout(connect, wait);
        retryDelay = Math.min(retryDelay * 2, 30000);
      };
    }
    connect();
  }

  document.querySelectorAll("[data-job-socket]").forEach(watch);
})();
