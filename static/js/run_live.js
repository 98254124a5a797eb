// The live run page: one websocket (/ws/runs/<id>/) feeds the chart, progress, status and log.
// Protocol: docs/live-monitoring.md. The page keeps the last step, eval step and log line it
// saw, so a reconnect asks for exactly what it missed.
(function () {
  "use strict";
  const root = document.getElementById("run-live");
  if (!root) return;
  const runId = root.dataset.runId;
  const el = (id) => document.getElementById(id);
  const chart = el("loss-chart");
  const banner = el("live-banner");
  const logTail = el("log-tail");
  const MAX_LOG_LINES = 1000;

  const state = {
    train: [], eval: [], lastStep: -1, lastEvalStep: -1, lastLogSeq: -1,
    run: {}, totalSteps: 0, logLines: 0, connectedOnce: false,
  };
  let smoothing = Number(el("smoothing").value);
  let logScale = false;
  let drawPending = false;
  let retryDelay = 1000;
  let socket = null;

  // ------------------------------------------------------------------ data
  function addPoints(points) {
    let added = 0;
    for (const p of points || []) {
      if (typeof p.step !== "number") continue;
      if (p.kind === "eval") {
        if (p.step > state.lastEvalStep) { state.eval.push(p); state.lastEvalStep = p.step; added++; }
      } else if (p.step > state.lastStep) {
        state.train.push(p); state.lastStep = p.step; added++;
      }
    }
    return added;
  }

  function addLogs(lines) {
    const follow = el("log-follow").checked;
    const fragment = document.createDocumentFragment();
    for (const line of lines || []) {
      if (typeof line.seq === "number") {
        if (line.seq <= state.lastLogSeq) continue;
        state.lastLogSeq = line.seq;
      }
      const row = document.createElement("div");
      row.textContent = line.text;
      fragment.appendChild(row);
      state.logLines++;
    }
    logTail.appendChild(fragment);
    while (state.logLines > MAX_LOG_LINES && logTail.firstChild) { logTail.firstChild.remove(); state.logLines--; }
    if (follow) logTail.scrollTop = logTail.scrollHeight;
  }

  // The server-rendered results block (outcome, version link), fetched again when they change.
  let resultsShown = "";
  function refreshResults() {
    fetch(location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("run-results");
        const current = el("run-results");
        if (fresh && current && fresh.innerHTML !== resultsShown) {
          current.replaceChildren(...Array.from(fresh.childNodes).map((node) => document.importNode(node, true)));
          resultsShown = fresh.innerHTML;
        }
      })
      .catch((problem) => console.warn("run results:", problem));
  }

  // ------------------------------------------------------------------ chart
  // TensorBoard-style debiased EMA: the first points are not pulled towards zero.
  function ema(values, weight) {
    let last = 0, count = 0;
    return values.map((v) => {
      if (v === null || v === undefined || !isFinite(v)) return null;
      count++;
      last = last * weight + (1 - weight) * v;
      return weight > 0 ? last / (1 - Math.pow(weight, count)) : v;
    });
  }

  function when(ts) { return ts ? new Date(ts * 1000).toLocaleTimeString() : "–"; }

  function traces() {
    const x = state.train.map((p) => p.step);
    const loss = state.train.map((p) => p.loss);
    const custom = state.train.map((p) => [p.epoch === null || p.epoch === undefined ? "–" : p.epoch, when(p.ts)]);
    const hover = "step %{x}<br>epoch %{customdata[0]}<br>%{customdata[1]}<br>%{fullData.name}: %{y:.4f}<extra></extra>";
    // A lone point has no line to draw: markers until there are two.
    const mode = x.length < 2 ? "markers" : "lines";
    const raw = {
      name: "train loss", x: x, y: loss, customdata: custom, hovertemplate: hover, mode: mode, marker: { size: 7 },
      line: { color: "#2f5bea", width: 1 }, opacity: smoothing > 0 ? 0.3 : 1,
    };
    const smooth = {
      name: "train loss (smoothed)", x: x, y: ema(loss, smoothing), customdata: custom, hovertemplate: hover,
      mode: mode, marker: { size: 7 }, line: { color: "#2f5bea", width: 2 }, visible: smoothing > 0,
    };
    const evals = {
      name: "eval loss", x: state.eval.map((p) => p.step), y: state.eval.map((p) => p.loss),
      customdata: state.eval.map((p) => [p.epoch === null || p.epoch === undefined ? "–" : p.epoch, when(p.ts)]),
      hovertemplate: hover, mode: "lines+markers", line: { color: "#c0392b", width: 2 }, marker: { size: 6 },
    };
    const lr = {
      name: "learning rate", x: x, y: state.train.map((p) => p.lr), yaxis: "y2", customdata: custom,
      hovertemplate: "step %{x}<br>epoch %{customdata[0]}<br>%{customdata[1]}<br>lr %{y:.3e}<extra></extra>",
      mode: mode, line: { color: "#9aa3b5", width: 1, dash: "dot" }, marker: { size: 5, color: "#9aa3b5" },
    };
    return [raw, smooth, evals, lr];
  }

  function layout() {
    const empty = state.train.length === 0 && state.eval.length === 0;
    return {
      // No axes before the first point: a placeholder says why the chart is empty.
      annotations: empty ? [{ text: "Waiting for the first training step…", showarrow: false, xref: "paper",
                              yref: "paper", x: 0.5, y: 0.5, font: { color: "#6b7280" } }] : [],
      // A constant uirevision keeps the user's zoom and legend toggles while points stream in.
      uirevision: "run-" + runId,
      margin: { l: 60, r: 70, t: 20, b: 45 },
      xaxis: { title: { text: "step" }, visible: !empty },
      yaxis: { title: { text: "loss" }, type: logScale ? "log" : "linear", uirevision: "y-" + logScale,
               visible: !empty, tickformat: ".3~f" },
      // A learning rate is never negative: with one point Plotly would centre the axis on it. Its own round
      // ticks (not synced to the loss grid) in plain scientific notation: "1.5e−5", never "0.225e−4".
      yaxis2: { title: { text: "learning rate" }, overlaying: "y", side: "right", showgrid: false,
                tickmode: "auto", tickformat: ".2~e", rangemode: "nonnegative", visible: !empty },
      legend: { orientation: "h", y: 1.08 },
      hovermode: "closest",
    };
  }

  function draw() {
    drawPending = false;
    Plotly.react(chart, traces(), layout(), { responsive: true, displaylogo: false });
    el("points-count").textContent = state.train.length + " train points, " + state.eval.length + " eval points";
  }

  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(draw);
  }

  // ------------------------------------------------------------------ run state
  // The ETA from the trainer's own timestamps: seconds per step over the recent points, smoothed
  // (an exponential moving average updated once per new step) so the estimate does not jump
  // between minutes when one batch is slow. Before two points exist, the server's value is used.
  function liveEta() {
    const pts = state.train;
    if (!state.totalSteps || pts.length < 2) return null;
    const last = pts[pts.length - 1], first = pts[Math.max(0, pts.length - 50)];
    if (!last.ts || !first.ts || last.step <= first.step) return null;
    if (state.rateStep !== last.step) {
      const rate = (last.ts - first.ts) / (last.step - first.step);
      state.rate = state.rate === undefined ? rate : 0.8 * state.rate + 0.2 * rate;
      state.rateStep = last.step;
    }
    return Math.max(0, (state.totalSteps - last.step) * state.rate);
  }

  function showProgress(eta) {
    const run = state.run;
    const terminal = JobFormat.isTerminal(run.status);
    const step = Math.max(state.lastStep, run.current_step || 0);
    const live = liveEta();
    if (live !== null) eta = live;
    let progress = run.progress || 0;
    if (state.totalSteps && step > 0) progress = Math.max(progress, Math.min(1, step / state.totalSteps));
    const stoppedEarly = run.status === "succeeded" && state.totalSteps && step < state.totalSteps;
    if (run.status === "succeeded") progress = 1;
    el("run-progress").value = progress;
    // Floor, as the runs list does: both pages show the same number.
    el("run-progress-text").textContent = stoppedEarly ? "done" : Math.floor(progress * 100) + " %";
    el("run-step").textContent = stoppedEarly
      ? `stopped early at step ${step} of ${state.totalSteps} planned (eval loss stopped improving)`
      : "step " + Math.max(step, 0) + (state.totalSteps ? " / " + state.totalSteps : "");
    el("run-eta").textContent = terminal ? "" : (eta !== null && eta !== undefined ? "ETA " + JobFormat.duration(eta) : "");
  }

  function applyRun(fields) {
    Object.assign(state.run, fields);
    if (fields.total_steps) state.totalSteps = fields.total_steps;
    const status = state.run.status;
    const wasTerminal = JobFormat.isTerminal(state.shownStatus);
    if (status && JobFormat.isTerminal(status) && !wasTerminal && state.shownStatus !== undefined) refreshResults();
    state.shownStatus = status;
    if (status) {
      const badge = el("run-status");
      badge.textContent = status.charAt(0).toUpperCase() + status.slice(1);
      badge.className = "badge " + status;
      const cancel = el("cancel-form");
      if (cancel) cancel.hidden = JobFormat.isTerminal(status);
    }
    if (fields.human_error !== undefined) el("run-error").textContent = fields.human_error || "";
    showProgress(fields.eta_seconds);
  }

  // ------------------------------------------------------------------ messages
  const handlers = {
    "snapshot": (msg) => {
      if (!msg.resumed) {
        state.train = []; state.eval = []; state.lastStep = -1; state.lastEvalStep = -1;
        state.lastLogSeq = -1; state.logLines = 0; logTail.textContent = "";
      }
      addPoints(msg.points);
      addLogs(msg.logs);
      state.lastStep = Math.max(state.lastStep, msg.last_step);
      state.lastEvalStep = Math.max(state.lastEvalStep, msg.last_eval_step);
      state.lastLogSeq = Math.max(state.lastLogSeq, msg.last_log_seq);
      applyRun(msg.run);
      scheduleDraw();
    },
    "run.metrics": (msg) => {
      if (addPoints(msg.points)) { scheduleDraw(); showProgress(liveEta()); }
    },
    "run.log": (msg) => addLogs(msg.lines),
    "job.status": (msg) => applyRun(msg),
    "job.progress": (msg) => applyRun(msg),
    "run.start": (msg) => applyRun({ total_steps: msg.total_steps }),
    // The run's results (its outcome, the version the registry made of it) are recorded: show them.
    "run.results": () => refreshResults(),
    "resync": () => send(resumeMessage()),
    "error": (msg) => console.warn("live updates:", msg.error, msg.details || []),
  };

  function resumeMessage() {
    return { type: "resume", after_step: state.lastStep, after_eval_step: state.lastEvalStep,
             after_log_seq: state.lastLogSeq };
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  // ------------------------------------------------------------------ connection
  function socketUrl() {
    const base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.wsPath;
    if (!state.connectedOnce) return base;
    const r = resumeMessage();
    return `${base}?after_step=${r.after_step}&after_eval_step=${r.after_eval_step}&after_log_seq=${r.after_log_seq}`;
  }

  function setBanner(text) {
    banner.hidden = !text;
    banner.textContent = text || "";
  }

  function connect() {
    socket = new WebSocket(socketUrl());
    socket.onopen = () => { retryDelay = 1000; setBanner(""); state.connectedOnce = true; };
    socket.onmessage = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      const handle = handlers[msg.type];
      if (handle) handle(msg);
    };
    socket.onclose = () => {
      socket = null;
      // Exponential backoff with jitter, so a restarted server is not hit by every page at once.
      const wait = Math.round(retryDelay * (0.8 + Math.random() * 0.4));
      setBanner(`Live updates paused, retrying in ${Math.max(1, Math.round(wait / 1000))} s…`);
      setTimeout(connect, wait);
      retryDelay = Math.min(retryDelay * 2, 30000);
    };
  }

  // ------------------------------------------------------------------ controls
  el("smoothing").addEventListener("input", (e) => {
    smoothing = Number(e.target.value);
    el("smoothing-value").textContent = smoothing.toFixed(2);
    scheduleDraw();
  });
  el("log-scale").addEventListener("change", (e) => { logScale = e.target.checked; scheduleDraw(); });
  const cancelForm = el("cancel-form");
  if (cancelForm) {
    cancelForm.addEventListener("submit", (e) => {
      if (!window.confirm("Cancel this run? The trainer is stopped and the run cannot continue.")) e.preventDefault();
    });
  }

  // For the browser tests and the console: the state, and a way to drop the connection.
  window.academyLive = { state: state, chart: chart, drop: () => socket && socket.close() };
  draw();
  connect();
})();
