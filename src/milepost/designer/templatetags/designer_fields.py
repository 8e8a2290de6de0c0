"""Render a designer field tied to the validator's problems about it (for screen readers).

The problems come from the process validator, not from the Django form, so Django's own
``aria-invalid`` does not know about them; this filter marks the input invalid and points its
``aria-describedby`` at the problem messages.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()


def problems_id(field: BoundField) -> str:
    return f"{field.auto_id or field.html_name}-problems"


@register.filter
def problem_id(field: BoundField) -> str:
    """The id of the element holding the field's problems."""
    return problems_id(field)


@register.filter
def with_problems(field: BoundField, problems: Any) -> SafeString:
    """The field's widget, marked invalid and described by its problems when there are any."""
    if not problems and not field.errors:
        return field.as_widget()
    described = [problems_id(field)]
    if field.help_text:
        described.append(f"{field.auto_id}_helptext")
    return field.as_widget(attrs={"aria-invalid": "true", "aria-describedby": " ".join(described)})
