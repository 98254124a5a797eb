// Copy buttons: <button data-copy="ID"> copies the text of the element with that id.
// navigator.clipboard exists only in secure contexts (HTTPS or localhost); elsewhere the text
// is selected and copied with execCommand, and stays selected for a manual copy if that fails.
(function () {
  "use strict";

  function copyBySelection(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  async function copy(button) {
    const element = document.getElementById(button.dataset.copy);
    if (!element) return;
    let copied = false;
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(element.textContent); copied = true; } catch (e) { copied = false; }
    }
    if (!copied) copied = copyBySelection(element);
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = copied ? "Copied" : "Selected: press Ctrl+C";
    button.classList.toggle("copied", copied);
    setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 2000);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy]");
    if (button) copy(button);
  });
})();
