// The deal page opened at its contacts (`?add=contact#contacts`, the link signals such as "add
// the economic buyer" use): put the focus in the add-a-contact form. The server marks the field
// `autofocus`, but browsers skip autofocus when the URL has a fragment, and scrolling to the
// fragment moves the focus to the document; so it is done here, once the page has loaded.
window.addEventListener("load", () => {
  const field = document.querySelector("#add-contact [autofocus]");
  if (field) {
    field.focus();
  }
});
