"""Form helpers shared by the apps' views."""

from __future__ import annotations

from django import forms


def first_error(form: forms.Form) -> tuple[str, str]:
    """(field, message) of the first error of an invalid form, for a 422 answer or a message.

    The message starts with the field's label ("Amount: ...") so it reads on its own; errors
    that belong to no field (``__all__``) are returned as they are.
    """
    for name, errors in form.errors.items():
        if name == "__all__":
            return "", str(errors[0])
        field = form.fields.get(name)
        label = field.label if field is not None and field.label else name.replace("_", " ")
        return name, f"{label}: {errors[0]}"
    return "", "the form is not valid"
