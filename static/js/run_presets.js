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

  const whyList = document.getElementById("run-why-list");
  const whyPreset = document.getElementById("run-why-preset");

  function chosenKey() {
    const chosen = form.querySelector('input[name="preset"]:checked');
    return chosen && presets[chosen.value] ? chosen.value : "standard";
  }

  function shown(value) { return Array.isArray(value) ? value.join(",") : String(value); }

  function same(input, value) {
    if (input.type === "checkbox") return input.checked === Boolean(value);
    const a = parseFloat(input.value), b = parseFloat(value);
    if (typeof value === "number" && Number.isFinite(a)) return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
    return input.value.trim() === shown(value);
  }

  // "Why these settings": each reason once, with the settings it explains; a value changed here says so.
  function explain() {
    if (!whyList) return;
    const preset = presets[chosenKey()] || {};
    const groups = new Map();
    for (const [name, reason] of Object.entries(preset.reasons || {})) {
      const input = field(name);
      if (!input || input instanceof RadioNodeList || !input.closest(".field")) continue;
      const value = preset.values[name];
      const changed = !same(input, value);
      const why = changed ? `set by you (the ${preset.label} preset had ${shown(value)})` : reason;
      if (!groups.has(why)) groups.set(why, []);
      groups.get(why).push([name, input.type === "checkbox" ? String(input.checked) : input.value]);
    }
    whyList.textContent = "";
    for (const [why, settings] of groups) {
      const item = document.createElement("li");
      const names = document.createElement("span");
      names.className = "why-settings";
      settings.forEach(([name, value], index) => {
        const code = document.createElement("code");
        code.textContent = name;
        names.append(code, ` ${value}${index < settings.length - 1 ? ", " : ""}`);
      });
      item.append(names, `: ${why}`);
      whyList.appendChild(item);
    }
    if (whyPreset) whyPreset.textContent = `Values of the ${preset.label} preset; a value you change says so.`;
  }

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
    explain();
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "preset") fill(event.target.value);
    else if (event.target.name === "dataset" || event.target.name === "stored_base") {
      // The presets are fitted to the dataset's size and the base model: ask again for the new pair.
      const query = new URLSearchParams({ dataset: field("dataset").value, base: field("stored_base").value,
                                          preset: chosenKey() });
      location.search = "?" + query.toString();
    } else update();
  });
  form.addEventListener("input", update);
  update();
})();
