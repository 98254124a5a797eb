// Compare runs: overlay the loss curves of the selected runs, by step or by epoch.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("compare-data").textContent);
  const chart = document.getElementById("compare-chart");
  const palette = ["#2f5bea", "#c0392b", "#1e874b", "#b7791f", "#7b3fb5", "#0f8a9d", "#d35400", "#34495e"];
  const options = { x: "step", showEval: true, logScale: false };

  function traces() {
    const out = [];
    data.forEach((run, i) => {
      const color = palette[i % palette.length];
      out.push({ name: `${run.label} train`, x: run.train[options.x], y: run.train.loss, mode: "lines",
                 line: { color: color, width: 2 }, legendgroup: String(run.id) });
      if (options.showEval && run.eval.step.length) {
        out.push({ name: `${run.label} eval`, x: run.eval[options.x], y: run.eval.loss, mode: "lines+markers",
                   line: { color: color, width: 1, dash: "dash" }, marker: { size: 5 }, legendgroup: String(run.id) });
      }
    });
    return out;
  }

  function draw() {
    Plotly.react(chart, traces(), {
      uirevision: options.x,
      margin: { l: 60, r: 20, t: 20, b: 45 },
      xaxis: { title: { text: options.x } },
      yaxis: { title: { text: "loss" }, type: options.logScale ? "log" : "linear" },
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
