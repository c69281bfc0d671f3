// lessonbot's suggest form and status page: small, optional helpers (everything works without).
(function () {
  "use strict";

  // Copy text selected in the lesson into the "passage to change" field.
  function copySelection(event) {
    var container = event.currentTarget;
    var field = document.getElementById(container.getAttribute("data-copy-target"));
    var selection = window.getSelection ? window.getSelection() : null;
    if (!field || !selection || selection.isCollapsed) return;
    var text = selection.toString().trim();
    if (!text || !container.contains(selection.anchorNode)) return;
    field.value = text;
    var note = document.getElementById("copied");
    if (note) note.textContent = note.getAttribute("data-message") || "";
  }

  // Move focus to the first field with an error, so it is read out and can be fixed.
  function focusFirstError() {
    var invalid = document.querySelector("[aria-invalid='true']");
    var summary = document.getElementById("error-summary");
    if (invalid) invalid.focus();
    else if (summary) summary.focus();
  }

  // While a suggestion is being processed, ask the API now and then; reload on news.
  function poll(note) {
    var url = note.getAttribute("data-poll-url");
    var seconds = parseFloat(note.getAttribute("data-poll-seconds")) || 5;
    var status = note.getAttribute("data-status");
    var events = parseInt(note.getAttribute("data-events"), 10) || 0;
    var waiting = note.getAttribute("data-waiting") || "";
    function check() {
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          var until = data && data.waiting ? data.waiting.until : "";
          if (data && (data.status !== status || (data.events || []).length !== events ||
                       until !== waiting)) {
            window.location.reload();
          } else {
            window.setTimeout(check, seconds * 1000);
          }
        })
        .catch(function () { window.setTimeout(check, seconds * 2000); });
    }
    window.setTimeout(check, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var containers = document.querySelectorAll("[data-copy-target]");
    for (var i = 0; i < containers.length; i++) {
      containers[i].addEventListener("mouseup", copySelection);
      containers[i].addEventListener("keyup", copySelection);
      containers[i].addEventListener("touchend", copySelection);
    }
    focusFirstError();
    var note = document.getElementById("refresh-note");
    if (note && window.fetch) poll(note);
  });
})();
