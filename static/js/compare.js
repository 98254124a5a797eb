// Compare runs: overlay the loss curves of the selected runs, by step or by epoch.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("compare-data").textContent);
  const chart = document.getElementById("compare-chart");
  const palette = ["#2f5bea", "#c0392b", "#1e874b", "#b7791f", "#7b3fb5", "#0f8a9d", "#d35400", "#34495e"];
  const options = { x: "step", showEval: true, logScale: false };

  // Eval points often carry no epoch: place them on the epoch axis by the train points' step -> epoch
  // (linear between neighbours), so eval lines do not vanish when comparing by epoch.
  function epochsOf(run, steps) {
    const ts = run.train.step, te = run.train.epoch;
    return steps.map((step, i) => {
      const own = run.eval.epoch ? run.eval.epoch[i] : null;
      if (own !== null && own !== undefined) return own;
      let k = ts.findIndex((s) => s >= step);
      if (k === -1) k = ts.length - 1;
      if (k <= 0 || ts[k] === step) return te[Math.max(k, 0)] ?? null;
      const f = (step - ts[k - 1]) / (ts[k] - ts[k - 1]);
      return te[k - 1] === null || te[k] === null ? null : te[k - 1] + f * (te[k] - te[k - 1]);
    });
  }

  function traces() {
    const out = [];
    data.forEach((run, i) => {
      const color = palette[i % palette.length];
      out.push({ name: `${run.label} train`, x: run.train[options.x], y: run.train.loss, mode: "lines",
                 line: { color: color, width: 2 }, legendgroup: String(run.id) });
      if (options.showEval && run.eval.step.length) {
        const x = options.x === "epoch" ? epochsOf(run, run.eval.step) : run.eval.step;
        out.push({ name: `${run.label} eval`, x: x, y: run.eval.loss, mode: "lines+markers",
                   line: { color: color, width: 1, dash: "dash" }, marker: { size: 5 }, legendgroup: String(run.id) });
      }
    });
    return out;
  }

  function draw() {
    const shown = traces();
    const empty = !shown.some((t) => t.x && t.x.length);
    Plotly.react(chart, shown, {
      annotations: empty ? [{ text: "No loss points recorded for these runs yet.", showarrow: false,
                              xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { color: "#6b7280" } }] : [],
      uirevision: options.x,
      margin: { l: 60, r: 20, t: 20, b: 45 },
      xaxis: { title: { text: options.x }, visible: !empty },
      yaxis: { title: { text: "loss" }, type: options.logScale ? "log" : "linear", visible: !empty },
      legend: { orientation: "h", y: -0.2 },
      hovermode: "closest",
    }, { responsive: true, displaylogo: false });
  }

  document.querySelectorAll('input[name="xaxis"]').forEach((input) => {
    input.addEventListener("change", (e) => { options.x = e.target.value; draw(); });
  });
  document.getElementById("show-eval").addEventListener("change", (e) => { options.showEval = e.target.checked; draw(); });
  document.getElementById("log-scale").addEventListener("change", (e) => { options.logScale = e.target.checked; draw(); });
  draw();
})();
