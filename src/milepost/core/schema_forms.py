"""Django forms whose validation is a Pydantic schema: the one the API uses for the same input.

The form parses what a browser sends (text to numbers, dates and lists) and renders fields,
labels and errors; the bounds (lengths, NUL bytes, e-mail format, plausible dates) are the
schema's, so a page and the API refuse the same input with the same words. Errors the services
raise afterwards (:class:`~milepost.core.errors.InvalidChange`) are put on the field they name.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from pydantic import BaseModel
from pydantic import ValidationError as SchemaError

from milepost.core.api_errors import field_of


class IdListField(forms.Field):
    """A list of row ids (checkboxes); which ids are allowed is the service's business."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            return [int(v) for v in values]
        except (TypeError, ValueError):
            raise forms.ValidationError("choose from the list", code="invalid") from None


class SchemaForm(forms.Form):
    """A form validated by ``schema`` after the fields have parsed the input.

    ``validated`` holds the schema instance once the form is valid. ``aliases`` maps a field the
    schema or a service names to the form field that shows it (``contact_id`` → ``contact_ids``).
    """

    schema: ClassVar[type[BaseModel]]
    aliases: ClassVar[dict[str, str]] = {}

    validated: BaseModel | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def schema_input(self) -> dict[str, Any]:
        """What the schema validates: the cleaned fields it knows."""
        known = self.schema.model_fields
        return {name: value for name, value in self.cleaned_data.items() if name in known}

    def _post_clean(self) -> None:
        super()._post_clean()
        if self._errors:  # a field that did not parse: the schema would only repeat it
            return
        try:
            self.validated = self.schema.model_validate(self.schema_input())
        except SchemaError as exc:
            for error in exc.errors():
                self.add_error(self.field_name(field_of([error])), str(error["msg"]))

    def field_name(self, name: str) -> str | None:
        """The form field that shows an error about ``name``, or None (a form-wide error)."""
        name = self.aliases.get(name, name)
        return name if name in self.fields else None

    def add_service_error(self, exc: Exception) -> None:
        """Show a service's refusal next to the field it names (or above the form)."""
        self.add_error(self.field_name(getattr(exc, "field", "")), str(exc))

    def focus_first_error(self) -> None:
        """Put the keyboard focus on the first invalid field when the form is shown again."""
        for name in self.errors:
            if name in self.fields:
                self.focus(name)
                return

    def focus(self, name: str | None = None) -> None:
        """Put the keyboard focus on field ``name`` (default: the first) when rendered."""
        field = self.fields[name] if name else next(iter(self.fields.values()))
        field.widget.attrs["autofocus"] = True
