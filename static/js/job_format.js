// How a job's state reads on a live page, shared by job_live.js, professor_cycle.js and run_live.js:
// which statuses are final, and a remaining time as "ETA 1 h 5 min".
window.JobFormat = (function () {
  "use strict";
  const TERMINAL = ["succeeded", "failed", "cancelled", "lost"];

  function isTerminal(status) { return TERMINAL.includes(status); }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "";
    seconds = Math.max(0, Math.round(seconds));
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h ? `${h} h ${m} min` : m ? `${m} min ${s} s` : `${s} s`;
  }

  // Empty once the job is over or while there is no estimate (professor.models.eta_text says it alike).
  function etaText(status, seconds) {
    return isTerminal(status) || !seconds ? "" : "ETA " + duration(seconds);
  }

  return { isTerminal: isTerminal, duration: duration, etaText: etaText };
})();
