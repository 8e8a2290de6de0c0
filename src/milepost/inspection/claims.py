"""The manager's queue of buyer-confirmation claims awaiting verification (on the inspection
page): accept or reject each, with the version read (optimistic locking); and the sales-ops
admin's page of acceptance rules (``inspection:evidence_rules``, 403 for everyone else).

``GET claims/`` answers the queue partial for HTMX (the inspection page loads it after the page)
and a full page otherwise; the POSTs answer the queue re-rendered (200, 409 when someone else
changed the evidence, 422 with the reason refused) or, without JavaScript, redirect back to the
page with a message. The services check who may review (never one's own deal; a deal one may
not see is a 404).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.forms import first_error
from milepost.core.htmx import is_partial
from milepost.core.schema_forms import SchemaForm
from milepost.evidence.forms import EvidenceRejectForm, EvidenceReviewForm
from milepost.evidence.selectors import acceptance_rules, claims_awaiting, evidence_scope
from milepost.evidence.services import (
    acceptance_rule_set,
    evidence_accept,
    evidence_reject_claim,
)
from milepost.evidence.validation import RuleFields

CONFLICT = gettext_lazy(
    "This claim was changed by someone else since you loaded the page, so nothing was saved."
)


def _render(request: HttpRequest, status: int = 200, **extra: object) -> HttpResponse:
    context = {"nav": "inspection", "claims": list(claims_awaiting(user=request.user)), **extra}
    if is_partial(request):
        return render(request, "inspection/partials/claims.html", context, status=status)
    return render(request, "inspection/claims.html", context, status=status)


@login_required
@require_GET
def claim_list(request: HttpRequest) -> HttpResponse:
    """Claims on the deals of the people the user manages (none for a rep)."""
    return _render(request)


def _review(request: HttpRequest, evidence_id: int, action: str) -> HttpResponse:
    evidence = evidence_scope(user=request.user).filter(pk=evidence_id).first()
    if evidence is None:
        raise Http404("No such claim")
    form = (EvidenceRejectForm if action == "reject" else EvidenceReviewForm)(request.POST)
    status, error, done = 200, "", ""
    try:
        if not form.is_valid():
            name, message = first_error(form)
            raise InvalidChange(message, field=name)
        common = {
            "user": request.user,
            "opportunity_id": evidence.opportunity_id,
            "criterion_key": evidence.criterion_key,
            "expected_version": form.validated.version,
        }
        if action == "accept":
            evidence_accept(**common)
            done = gettext("Buyer confirmation accepted.")
        else:
            evidence_reject_claim(reason=form.validated.reason, **common)
            done = gettext("Buyer confirmation rejected.")
    except NotFound:
        raise Http404("No such claim") from None
    except VersionConflict:
        status, error = 409, str(CONFLICT)
    except InvalidChange as exc:
        status, error = 422, gettext("Nothing was saved: %(error)s.") % {"error": exc}
    if not is_partial(request):
        (messages.error if error else messages.success)(request, error or done)
        return HttpResponseRedirect(reverse("inspection:claims"))
    return _render(request, status, error=error, error_id=evidence_id, flash=done)


@login_required
@require_POST
def claim_accept(request: HttpRequest, evidence_id: int) -> HttpResponse:
    return _review(request, evidence_id, "accept")


@login_required
@require_POST
def claim_reject(request: HttpRequest, evidence_id: int) -> HttpResponse:
    return _review(request, evidence_id, "reject")


class RuleForm(SchemaForm):
    """Turn an acceptance rule on or off (the API's schema)."""

    schema = RuleFields

    enabled = forms.BooleanField(required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


@login_required
def evidence_rules(request: HttpRequest) -> HttpResponse:
    """The acceptance rules (GET) and turning one on or off (POST ``kind``, ``enabled``,
    ``version``): sales-ops admins only."""
    try:
        rules = acceptance_rules(user=request.user)
    except PermissionDenied:
        raise PermissionDenied(gettext("only sales-ops admins set acceptance rules")) from None
    status, error = 200, ""
    if request.method == "POST":
        form = RuleForm(request.POST)
        try:
            if not form.is_valid():
                name, message = first_error(form)
                raise InvalidChange(message, field=name)
            acceptance_rule_set(
                user=request.user,
                kind=request.POST.get("kind", ""),
                enabled=form.validated.enabled,
                expected_version=form.validated.version,
            )
        except NotFound:
            raise Http404("No such rule") from None
        except VersionConflict:
            status, error = 409, str(CONFLICT)
        except InvalidChange as exc:
            status, error = 422, gettext("Nothing was saved: %(error)s.") % {"error": exc}
        if not error:
            messages.success(request, gettext("Saved."))
            return HttpResponseRedirect(reverse("inspection:evidence_rules"))
        rules = acceptance_rules(user=request.user)
    elif request.method != "GET":
        return HttpResponse(status=405)
    context = {"nav": "inspection", "rules": rules, "error": error}
    return render(request, "inspection/evidence_rules.html", context, status=status)
