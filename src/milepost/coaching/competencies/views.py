"""The competency model page: read-only for everyone, a YAML editor for sales-ops admins.

It sits in the skills section (``/coaching/skills/model/``, URL name ``skills:model``, routed by
:mod:`milepost.coaching.skills.urls`). The view parses input, calls one service or selector and
renders; problems come back at their lines (422), a stale version is a 409 with the saved text.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from milepost.coaching.competencies.forms import ModelYamlForm
from milepost.coaching.competencies.selectors import competency_model_state, effective_competencies
from milepost.coaching.competencies.services import can_edit_model, competency_model_save
from milepost.core.errors import VersionConflict
from milepost.engine.process_schema import ProcessInvalid

CONFLICT = gettext_lazy(
    "Someone else saved the competency model since you opened it, so nothing was saved. "
    "Their version is shown below; copy your changes over it and save again."
)


@login_required
@require_http_methods(["GET", "POST"])
def model_page(request: HttpRequest) -> HttpResponse:
    """Everyone reads the model; sales-ops admins edit it as YAML (problems at their lines)."""
    can_edit = can_edit_model(request.user)
    state = competency_model_state()
    status, error, problems = 200, "", []
    form = ModelYamlForm(initial={"version": state.version, "text": state.text})
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("only sales-ops admins edit the competency model")
        form = ModelYamlForm(request.POST)
        if form.is_valid():
            try:
                competency_model_save(
                    user=request.user,
                    text=form.cleaned_data["text"],
                    expected_version=form.cleaned_data["version"],
                )
            except ProcessInvalid as exc:
                status, problems = 422, exc.errors
                error = gettext("The competency model has problems; nothing was saved.")
            except VersionConflict:
                status, error = 409, CONFLICT
                state = competency_model_state()
                form = ModelYamlForm(initial={"version": state.version, "text": state.text})
            else:
                messages.success(request, gettext("Competency model saved."))
                return HttpResponseRedirect(reverse("skills:model"))
        else:
            status, error = 422, "The text is required."
    text = form["text"].value() or ""
    problem_lines = {p.line for p in problems if p.line}
    lines = [(n, line, n in problem_lines) for n, line in enumerate(text.splitlines(), start=1)]
    return render(
        request,
        "coaching/skills/model.html",
        {
            "nav": "coaching",
            "state": state,
            "competencies": effective_competencies(state.definition),
            "can_edit": can_edit,
            "form": form,
            "error": error,
            "problems": problems,
            "lines": lines if problems else [],
        },
        status=status,
    )
