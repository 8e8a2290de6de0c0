/* After the session body is swapped by HTMX, keep the keyboard where it was: the button that
   was pressed (Up / Down keep their id on the moved item) or the first field with an error. */
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function (evt) {
    if (!evt.detail.target || evt.detail.target.id !== "session-body") return;
    var el = document.querySelector("#session-body [data-focus]") ||
             document.querySelector("#session-body [role=alert]");
    if (el) el.focus();
  });
})();
