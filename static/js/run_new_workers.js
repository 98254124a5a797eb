// The start form's worker table: marks which online workers can take the run as its needs change.
// Mirrors training/capabilities.py refusal(): cards report a little less than their nominal size.
(function () {
  "use strict";
  const table = document.getElementById("run-workers");
  const form = document.getElementById("run-form");
  if (!table || !form) return;
  const NOMINAL = 0.95;
  const holds = (mb, gb) => mb >= gb * 1024 * NOMINAL;
  const field = (name) => form.elements.namedItem(name);

  function needs() {
    const gpuMemory = Number(field("gpu_memory_gb")?.value || 0);
    return {
      gpu: Boolean(field("gpu")?.checked) || gpuMemory > 0,
      gpuMemory: gpuMemory,
      memory: Number(field("memory_gb")?.value || 0),
      backend: field("backend")?.value || "auto",
    };
  }

  function canTake(row, need) {
    const gpuMb = row.dataset.gpuMb === "" ? null : Number(row.dataset.gpuMb);
    const ramMb = row.dataset.ramMb === "" ? null : Number(row.dataset.ramMb);
    const backends = row.dataset.backends.split(" ");
    if (need.gpu && gpuMb === null) return false;
    if (need.gpuMemory && !holds(gpuMb || 0, need.gpuMemory)) return false;
    if (need.memory && ramMb !== null && !holds(ramMb, need.memory)) return false;
    return need.backend === "auto" || backends.includes(need.backend);
  }

  function update() {
    const need = needs();
    let any = false;
    table.querySelectorAll("tr[data-worker]").forEach((row) => {
      const ok = canTake(row, need);
      any = any || ok;
      row.querySelector("[data-can-take]").textContent = ok ? "yes" : "no";
      row.classList.toggle("muted", !ok);
    });
    const none = document.getElementById("run-workers-none");
    if (none) none.hidden = any;
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
