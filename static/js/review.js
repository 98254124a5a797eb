// Review queue: keyboard navigation and in-place approve/reject. Without JS the same
// links and POST forms work with full page loads.
(function () {
  "use strict";
  const list = Array.from(document.querySelectorAll(".review-item"));
  if (!document.querySelector(".review-queue")) return;
  let current = Math.max(0, list.findIndex((li) => li.classList.contains("selected")));

  function article(li) { return document.getElementById("record-" + li.dataset.id); }

  function select(index) {
    if (!list.length) return;
    current = Math.min(Math.max(index, 0), list.length - 1);
    list.forEach((li, i) => {
      li.classList.toggle("selected", i === current);
      article(li).hidden = i !== current;
    });
    list[current].scrollIntoView({ block: "nearest" });
    const url = new URL(window.location);
    url.searchParams.set("item", list[current].dataset.id);
    history.replaceState(null, "", url);
  }

  function setStatus(li, status) {
    const label = status.charAt(0).toUpperCase() + status.slice(1);
    [li, article(li)].forEach((node) => node.querySelectorAll('[data-field="status"]').forEach((badge) => {
      badge.className = "badge " + status;
      badge.textContent = label;
    }));
  }

  function flash(text) {
    let box = document.getElementById("review-flash");
    if (!box) {
      box = document.createElement("p");
      box.id = "review-flash";
      box.className = "msg error";
      document.querySelector(".review-queue").before(box);
    }
    box.textContent = text;
  }

  async function decide(form) {
    const li = list[current];
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const data = await response.json().catch(() => ({ error: "unexpected answer " + response.status }));
    if (!response.ok) { flash(data.error); return; }
    setStatus(li, data.review_status);
    select(current + 1);
  }

  document.querySelectorAll("form.decide").forEach((form) => form.addEventListener("submit", (event) => {
    event.preventDefault();
    decide(form);
  }));

  list.forEach((li, i) => li.querySelector("a").addEventListener("click", (event) => {
    event.preventDefault();
    select(i);
  }));

  function act(decision) {
    if (!list.length) return;
    const form = article(list[current]).querySelector('form.decide[data-decision="' + decision + '"]');
    if (form) decide(form);
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    switch (event.key) {
      case "j": case "n": select(current + 1); break;
      case "k": case "p": select(current - 1); break;
      case "a": act("approve"); break;
      case "r": act("reject"); break;
      case "e": {
        const link = list.length && article(list[current]).querySelector(".edit-link");
        if (!link) break;
        // Come back to this very item (selection lives in the URL only after JS moved it).
        const target = new URL(link.href);
        target.searchParams.set("next", window.location.pathname + window.location.search);
        window.location = target.toString();
        break;
      }
      case "/": event.preventDefault(); document.getElementById("review-search").focus(); break;
      default: return;
    }
  });
})();
