// Start form: presets fill the fields; the estimate of steps and time follows every change.
(function () {
  const form = document.getElementById("run-form");
  if (!form) return;
  const presets = JSON.parse(document.getElementById("run-presets-data").textContent);
  const trainRows = JSON.parse(document.getElementById("run-train-rows").textContent);
  const estimate = document.getElementById("run-estimate");
  const recentPace = parseFloat(estimate.dataset.secondsPerStep);
  const basePace = JSON.parse((document.getElementById("run-base-pace") || {}).textContent || "{}");
  const field = (name) => form.elements.namedItem(name);

  function fill(key) {
    const values = (presets[key] || {}).values || {};
    for (const [name, value] of Object.entries(values)) {
      const input = field(name);
      if (!input || input instanceof RadioNodeList) continue;
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = Array.isArray(value) ? value.join(",") : value;
    }
    update();
  }

  function duration(seconds) {
    if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  function update() {
    const dataset = field("dataset");
    const rows = dataset ? trainRows[dataset.value] : undefined;
    if (rows === undefined) { estimate.textContent = "Estimate: choose a dataset."; return; }
    const number = (name) => Math.max(1, parseInt((field(name) || {}).value, 10) || 1);
    const perUpdate = number("batch_size") * number("gradient_accumulation");
    const steps = Math.ceil(rows / perUpdate) * number("num_epochs");
    let text = `Estimate: about ${steps} step${steps === 1 ? "" : "s"} (${rows} training rows, ` +
      `${perUpdate} per step, ${number("num_epochs")} epoch${number("num_epochs") === 1 ? "" : "s"})`;
    // The chosen stored base model's own pace (its runs here, else its measured figure) when known.
    const typed = ((field("base_model") || {}).value || "").trim();
    const chosen = typed ? undefined : basePace[(field("stored_base") || {}).value];
    const perStep = chosen === undefined || chosen === null ? recentPace : chosen;
    const pace = chosen === undefined || chosen === null ? "recent runs here" : "this base model here";
    text += Number.isFinite(perStep) ? `, about ${duration(steps * perStep)} at the pace of ${pace}.`
      : "; the time is measured after the first run here.";
    estimate.textContent = text;
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "preset") fill(event.target.value);
    else if (event.target.name === "dataset" && presets.suggested) {
      // The suggestion depends on the dataset: ask again for the new one.
      const chosen = form.querySelector('input[name="preset"]:checked');
      location.search = `?dataset=${encodeURIComponent(event.target.value)}&preset=${chosen ? chosen.value : "standard"}`;
    } else update();
  });
  form.addEventListener("input", update);
  update();
})();
