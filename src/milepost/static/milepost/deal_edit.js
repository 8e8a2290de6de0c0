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
