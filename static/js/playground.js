// Playground on a version's page: ask one or two versions of the line the same question.
// Each column keeps its own conversation and posts it to that version's chat endpoint
// (the /v1 serving code; a session request, so it carries the CSRF token). Answers arrive as
// OpenAI chunks over server-sent events and are shown as they stream; the X-Academy-Version
// header names the version that answered. Columns are asked one after the other: the server
// generates one answer at a time anyway, and the second request does not take a queue slot.
(function () {
  "use strict";
  const root = document.getElementById("playground");
  if (!root) return;
  const form = root.querySelector("#playground-form");
  const status = root.querySelector("#playground-status");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const columns = Array.from(root.querySelectorAll(".playground-column")).map((element) => ({
    select: element.querySelector("select"), log: element.querySelector(".playground-log"), history: [],
  }));

  function clear(column) { column.history = []; column.log.replaceChildren(); }
  columns.forEach((column) => column.select.addEventListener("change", () => clear(column)));
  root.querySelector("[data-playground-clear]").addEventListener("click", () => columns.forEach(clear));

  function element(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function errorMessage(body, response) {
    if (body && typeof body.error === "string") return body.error + (body.details && body.details.length ? ": " + body.details.join("; ") : "");
    if (body && body.error && body.error.message) return body.error.message;
    return "the server answered " + response.status;
  }

  async function ask(column, question, maxTokens) {
    const entry = element("li", "playground-entry");
    const answer = element("div", "answer");
    const meta = element("div", "meta", "waiting for " + column.select.selectedOptions[0].dataset.label + "…");
    entry.append(element("div", "question", question), answer, meta);
    entry.dataset.state = "waiting";
    column.log.append(entry);
    const messages = column.history.concat([{ role: "user", content: question }]);
    const fail = (message) => { entry.dataset.state = "error"; answer.textContent = message; meta.textContent = ""; };
    let response;
    try {
      response = await fetch(column.select.value, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "text/event-stream" },
        body: JSON.stringify({ messages: messages, max_tokens: maxTokens, stream: true }),
      });
    } catch (e) { fail("Could not reach the server."); return; }
    const type = response.headers.get("Content-Type") || "";
    if (!response.ok || !type.startsWith("text/event-stream")) {
      let body = null;
      if (type.startsWith("application/json")) body = await response.json().catch(() => null);
      fail(response.redirected ? "Your session has ended: sign in again." : errorMessage(body, response));
      return;
    }
    const version = response.headers.get("X-Academy-Version") || "";
    entry.dataset.version = version;
    entry.dataset.state = "streaming";
    meta.textContent = "answered by " + version;
    let text = "", finish = null, pieces = 0, failed = null, buffer = "";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const data = buffer.slice(0, cut).replace(/^data: ?/, "");
        buffer = buffer.slice(cut + 2);
        if (!data || data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) { failed = chunk.error.message; continue; }
        const choice = chunk.choices && chunk.choices[0];
        if (!choice) continue;
        if (choice.delta && choice.delta.content) {
          text += choice.delta.content;
          pieces += 1;
          answer.textContent = text;
          entry.dataset.pieces = String(pieces);
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    if (failed) { fail(failed); return; }
    if (!text) answer.append(element("span", "muted", "(an empty answer)"));
    column.history = messages.concat([{ role: "assistant", content: text }]);
    meta.textContent = "answered by " + version + (finish === "length" ? " · cut at the token limit" : "");
    entry.dataset.state = "done";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = form.elements.question.value.trim();
    if (!question) return;
    const maxTokens = parseInt(form.elements.max_tokens.value, 10) || undefined;
    const chosen = columns.filter((column) => column.select.value);
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    form.elements.question.value = "";
    try {
      for (const [i, column] of chosen.entries()) {
        status.textContent = chosen.length > 1 ? "asking " + (i + 1) + " of " + chosen.length + "…" : "asking…";
        await ask(column, question, maxTokens);
      }
    } finally {
      status.textContent = "";
      submit.disabled = false;
      form.elements.question.focus();
    }
  });
})();
