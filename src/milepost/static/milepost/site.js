/* Behaviour every page shares, kept out of the templates so the Content-Security-Policy can
   forbid inline script: a button marked data-print prints the page. */
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-print]");
    if (button) window.print();
  });
})();
