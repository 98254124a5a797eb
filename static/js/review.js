// Review queue: keyboard navigation and in-place approve/reject. Without JS the same
// links and POST forms work with full page loads.
// At the end of the loaded items the next page is fetched (the same page, by cursor) and appended,
// so j/a/r flow on past a page; counts follow each decision's answer.
(function () {
  "use strict";
  const queue = document.querySelector(".review-queue");
  if (!queue) return;
  const list = Array.from(document.querySelectorAll(".review-item"));
  const PREFETCH_WITHIN = 5;  // items from the end: the next page loads before the keys get there
  let current = Math.max(0, list.findIndex((li) => li.classList.contains("selected")));
  let nextUrl = queue.dataset.nextUrl || "";
  let loading = null;
  const opened = new URL(window.location);
  const openedCursor = { after: opened.searchParams.get("after"), before: opened.searchParams.get("before") };
  list.forEach((li) => { li.cursor = openedCursor; });

  function article(li) { return document.getElementById("record-" + li.dataset.id); }

  function select(index) {
    if (!list.length) return;
    current = Math.min(Math.max(index, 0), list.length - 1);
    list.forEach((li, i) => {
      li.classList.toggle("selected", i === current);
      article(li).hidden = i !== current;
    });
    list[current].scrollIntoView({ block: "nearest" });
    // A reload shows the page this item came from, with it selected.
    const url = new URL(window.location);
    const cursor = list[current].cursor;
    ["after", "before"].forEach((name) => {
      if (cursor[name]) url.searchParams.set(name, cursor[name]); else url.searchParams.delete(name);
    });
    url.searchParams.set("item", list[current].dataset.id);
    history.replaceState(null, "", url);
    if (list.length - current <= PREFETCH_WITHIN) loadMore();
  }

  // The next page of the queue, appended; resolves to whether it brought any new item.
  function loadMore() {
    if (!nextUrl) return Promise.resolve(false);
    if (!loading) loading = fetchPage(nextUrl).finally(() => { loading = null; });
    return loading;
  }

  async function fetchPage(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) { flash("Could not load more items (" + response.status + ")."); return false; }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fetched = page.querySelector(".review-queue");
    if (!fetched) { flash("Could not load more items."); return false; }
    nextUrl = fetched.dataset.nextUrl || "";
    const cursor = { after: new URL(url, window.location).searchParams.get("after"), before: null };
    const items = Array.from(page.querySelectorAll(".review-item"))
      .filter((li) => !document.getElementById("record-" + li.dataset.id));
    items.forEach((li) => {
      const record = page.getElementById("record-" + li.dataset.id);
      li.classList.remove("selected");
      record.hidden = true;
      document.querySelector(".review-list ol").append(li);
      document.querySelector(".review-detail").append(record);
      li.cursor = cursor;
      list.push(li);
      wire(li);
    });
    updatePager(fetched);
    return items.length > 0;
  }

  function updatePager(fetched) {
    const range = document.getElementById("queue-range");
    if (range) range.textContent = (Number(range.dataset.start) + 1) + "–" + (Number(range.dataset.start) + list.length);
    const next = document.getElementById("queue-next");
    if (next && nextUrl) next.href = nextUrl; else if (next) next.remove();
    if (!fetched.dataset.nextUrl) queue.removeAttribute("data-next-url");
  }

  async function move(step) {
    if (step > 0 && current + 1 >= list.length) {
      if (await loadMore()) select(current + 1);
      else document.getElementById("queue-end").hidden = false;
      return;
    }
    document.getElementById("queue-end").hidden = true;
    select(current + step);
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

  function showCounts(data) {
    Object.entries(data.pending || {}).forEach(([source, count]) => {
      const badge = document.querySelector('.review-tabs a[data-source="' + source + '"] [data-field="pending"]');
      if (badge) badge.textContent = count + " pending";
    });
    const total = document.getElementById("queue-count");
    if (total && typeof data.queue_count === "number") {
      total.textContent = data.queue_count + " " + total.dataset.noun + (data.queue_count === 1 ? "" : "s");
    }
  }

  async function decide(form) {
    const li = list[current];
    const body = new FormData(form);
    body.append("queue", window.location.search.slice(1));  // the filters, so the answer counts this queue
    const response = await fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const data = await response.json().catch(() => ({ error: "unexpected answer " + response.status }));
    if (!response.ok) { flash(data.error); return; }
    setStatus(li, data.review_status);
    showCounts(data);
    if (list[current] === li) await move(1);
  }

  function wire(li) {
    li.querySelector("a").addEventListener("click", (event) => {
      event.preventDefault();
      select(list.indexOf(li));
    });
    article(li).querySelectorAll("form.decide").forEach((form) => form.addEventListener("submit", (event) => {
      event.preventDefault();
      decide(form);
    }));
  }
  list.forEach(wire);

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
      case "j": case "n": move(1); break;
      case "k": case "p": move(-1); break;
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
