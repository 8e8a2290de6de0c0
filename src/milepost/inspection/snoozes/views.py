"""The snooze pages' writes: snooze a deal or a signal, end a snooze early (plain POSTs from the
deal page and the explained inspection; each redirects back). A hidden deal or snooze is a 404;
a rep gets a 403; bad input is a 422 page naming the field, nothing written."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.inspection.snoozes.forms import SnoozeEndForm, SnoozeForm
from milepost.inspection.snoozes.services import snooze_create, snooze_end


def _back(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _refused(request: HttpRequest, message: str, field: str, back: str, status: int):
    context = {"nav": "inspection", "message": message, "field": field, "back": back}
    return render(request, "inspection/snooze_refused.html", context, status=status)


def _form_error(form: SnoozeForm | SnoozeEndForm) -> tuple[str, str]:
    field, errors = next(iter(form.errors.items()))
    message = gettext("%(field)s: %(errors)s") % {"field": field, "errors": " ".join(errors)}
    return message, field


@login_required
@require_POST
def create(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    back = _back(request, reverse("inspection:explain", args=[opportunity_id]))
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        message, field = _form_error(form)
        return _refused(request, message, field, back, 422)
    try:
        snooze_create(
            user=request.user,
            opportunity_id=opportunity_id,
            signal=form.cleaned_data["signal"],
            reason=form.cleaned_data["reason"],
            until=form.cleaned_data["until"],
        )
    except NotFound:
        raise Http404("No such opportunity") from None
    except PermissionDenied as exc:
        return _refused(request, str(exc), "", back, 403)
    except InvalidChange as exc:
        return _refused(request, str(exc), exc.field, back, 422)
    return redirect(back)


@login_required
@require_POST
def end(request: HttpRequest, snooze_id: int) -> HttpResponse:
    back = _back(request, reverse("inspection:list"))
    form = SnoozeEndForm(request.POST)
    if not form.is_valid():
        message, field = _form_error(form)
        return _refused(request, message, field, back, 422)
    try:
        snooze_end(user=request.user, snooze_id=snooze_id, version=form.cleaned_data["version"])
    except NotFound:
        raise Http404("No such snooze") from None
    except PermissionDenied as exc:
        return _refused(request, str(exc), "", back, 403)
    except VersionConflict as exc:
        return _refused(request, str(exc), "version", back, 409)
    except InvalidChange as exc:
        return _refused(request, str(exc), exc.field, back, 422)
    return redirect(back)
