// Arena: per-category mean reference loss of both models as a grouped bar chart (Plotly, offline).
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("[data-arena-chart]").forEach(function (node) {
      if (node.dataset.drawn || !window.Plotly) return;
      const source = document.getElementById(node.dataset.arenaChart);
      if (!source) return;
      const data = JSON.parse(source.textContent);
      node.dataset.drawn = "1";
      window.Plotly.newPlot(node, [
        {type: "bar", name: data.against.name, x: data.categories, y: data.against.loss},
        {type: "bar", name: data.candidate.name, x: data.categories, y: data.candidate.loss},
      ], {barmode: "group", margin: {t: 30}, yaxis: {title: "mean reference loss (lower is better)"}},
      {displayModeBar: false, responsive: true});
    });
  }
  document.addEventListener("arena:results", draw);  // the evaluation page swapped its verdict in
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
