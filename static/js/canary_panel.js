// The line page's canary panel: the live split, outcomes per version and the sequential test's
// interval as a chart, kept current by the line's socket (/ws/lines/<name>/, "canary.update").
(function () {
  "use strict";
  const panel = document.getElementById("canary");
  const source = document.getElementById("canary-data");
  if (!panel || !source) return;
  let current = JSON.parse(source.textContent);

  function pct(x) { return x === null || x === undefined ? "—" : (100 * x).toFixed(1) + " %"; }

  function render(canary) {
    current = canary;
    panel.dataset.canaryState = canary.state;
    const state = panel.querySelector('[data-canary-field="state"]');
    state.textContent = canary.state.replace("_", " ");
    state.className = "badge " + canary.state;
    panel.querySelector('[data-canary-field="reason"]').textContent = canary.reason || "";
    const stop = panel.querySelector("[data-canary-stop]");
    if (stop) stop.style.display = canary.state === "running" ? "" : "none";  // a class may set display
    const versions = canary.versions || {};
    const total = Object.values(versions).reduce((n, v) => n + (v.completions || 0), 0);
    Object.entries(versions).forEach(function ([role, v]) {
      const row = panel.querySelector(`[data-canary-role="${role}"]`);
      if (!row) return;
      const set = (name, text) => { row.querySelector(`[data-f="${name}"]`).textContent = text; };
      set("version", v.version);
      set("traffic", total ? pct(v.completions / total) : "—");
      set("completions", v.completions);
      set("outcomes", `${v.successes} of ${v.outcomes} succeeded`);
      set("success_rate", pct(v.success_rate));
      set("errors", `${v.errors + v.timeouts}` + (v.error_rate === null ? "" : ` (${pct(v.error_rate)})`));
      set("p95_ms", v.p95_ms === null ? "—" : Math.round(v.p95_ms) + " ms");
    });
    const test = canary.test || {};
    panel.querySelector('[data-canary-field="test"]').textContent = test.difference === null || test.difference === undefined
      ? "The test waits for outcomes from both versions."
      : `Candidate minus active: ${test.difference.toFixed(3)}, ${Math.round(100 * canary.policy.confidence)} % always-valid interval [${Math.max(-1, test.low).toFixed(3)}, ${Math.min(1, test.high).toFixed(3)}]: promoted above ${canary.policy.min_effect}, rolled back below 0.`;
    draw(canary);
  }

  function draw(canary) {
    if (!window.Plotly) return;
    const trace = canary.trace || [];
    const x = trace.map((p) => p[0]);
    const line = (i, name, dash) => ({x: x, y: trace.map((p) => p[i]), name: name, mode: "lines",
                                      line: {dash: dash || "solid"}});
    const flat = (y, name) => ({x: [0, Math.max(1, ...x)], y: [y, y], name: name, mode: "lines",
                                line: {dash: "dot", color: "#999"}});
    window.Plotly.react("canary-chart", [line(1, "difference"), line(2, "lower bound", "dash"),
                                         line(3, "upper bound", "dash"), flat(0, "roll back below"),
                                         flat(canary.policy.min_effect || 0, "promote above")],
      {margin: {t: 10, r: 10, b: 40, l: 50}, xaxis: {title: "outcomes"}, yaxis: {title: "success rate difference",
       range: [-1, 1]}, legend: {orientation: "h"}}, {displayModeBar: false, responsive: true});
  }

  function connect(retry) {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      `/ws/lines/${panel.dataset.canaryLine}/`;
    const socket = new WebSocket(url);
    socket.onmessage = function (event) {
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "canary.update" && msg.canary && msg.canary.id === current.id) render(msg.canary);
      if (msg.type === "line.state" && msg.canary && msg.canary.id === current.id) render(msg.canary);
    };
    socket.onclose = function (event) {
      if (event.code >= 4400 && event.code < 4500) return;
      setTimeout(() => connect(Math.min(retry * 2, 30000)), retry);
    };
  }

  render(current);
  connect(1000);
})();
