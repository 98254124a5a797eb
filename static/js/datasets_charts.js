// Charts of a dataset snapshot: rows per source and split, token-length histograms.
(function () {
  "use strict";
  var node = document.getElementById("dataset-stats");
  if (!node || typeof Plotly === "undefined") return;
  var stats = JSON.parse(node.textContent);
  var layout = { margin: { t: 36, r: 16, b: 48, l: 48 }, barmode: "stack" };
  var config = { displaylogo: false, responsive: true };

  var splits = ["train", "eval"];
  var sources = Object.keys(stats.per_source || {});
  var bySplit = splits.map(function (split) {
    return { type: "bar", name: split, x: sources,
             y: sources.map(function (s) { return (stats.per_source_split || {})[s + "/" + split] || 0; }) };
  });
  Plotly.newPlot("chart-sources", bySplit, Object.assign({ title: { text: "Rows per source" } }, layout), config);

  var tokens = stats.tokens || {};
  var traces = ["prompt", "response"].filter(function (k) { return tokens[k]; }).map(function (k) {
    return { type: "bar", name: k, x: tokens[k].labels, y: tokens[k].counts };
  });
  Plotly.newPlot("chart-tokens", traces,
    Object.assign({}, layout, { title: { text: "Token length (approximate)" }, barmode: "group",
                               xaxis: { title: { text: "tokens" }, type: "category" }, yaxis: { title: { text: "rows" } } }), config);
})();
