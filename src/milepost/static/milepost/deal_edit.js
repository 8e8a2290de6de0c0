// Inline deal edits: Escape cancels the open editor (its Cancel link puts the facts back).
// Focus on the field to fix comes from the server's autofocus attribute, which htmx honours.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape" || !event.target.closest) return;
  var form = event.target.closest("form.inline-edit");
  if (!form) return;
  var cancel = form.querySelector("[data-cancel]");
  if (cancel) {
    event.preventDefault();
    cancel.click();
  }
});

// A signal's link opens the editor with a fragment (#next-step); browsers skip autofocus when
// the URL targets an element, so the field the server marked gets the focus here.
function focusMarkedField() {
  var field = document.querySelector("form.inline-edit [autofocus]");
  if (field && document.activeElement !== field) field.focus();
}
document.addEventListener("DOMContentLoaded", focusMarkedField);
// Chrome moves to the fragment after the load event; focus again once it has.
window.addEventListener("load", function () { setTimeout(focusMarkedField, 0); });
