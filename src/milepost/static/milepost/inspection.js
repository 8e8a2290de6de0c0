/* Inspection list: a click anywhere on a deal's row (outside its links) opens its explanation
   through the row's "Why?" link (HTMX); a second click closes it without asking the server. */
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var row = evt.target.closest && evt.target.closest("tr.deal-row");
    if (!row || evt.target.closest("a, button, input, select, label")) return;
    var toggle = row.querySelector(".explain-toggle");
    if (toggle) toggle.click();
  });
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var toggle = evt.detail.elt;
    if (!toggle.classList || !toggle.classList.contains("explain-toggle")) return;
    if (toggle.getAttribute("aria-expanded") === "true") {
      evt.preventDefault();
      document.getElementById(toggle.getAttribute("aria-controls")).hidden = true;
      toggle.setAttribute("aria-expanded", "false");
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail.target;
    var row = target && target.closest && target.closest("tr.explain-row");
    if (row) {
      row.hidden = false;
      var toggle = document.querySelector('.explain-toggle[aria-controls="' + row.id + '"]');
      if (toggle) toggle.setAttribute("aria-expanded", "true");
    } else if (target && target.hasAttribute && target.hasAttribute("data-inspection-body")) {
      var heading = document.getElementById("inspection-count");
      if (heading) heading.focus();
    }
  });
})();
