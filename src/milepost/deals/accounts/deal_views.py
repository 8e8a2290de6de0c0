"""The opportunity page's people and activity sections, mounted under
``/pipeline/opportunities/<id>/people/`` (namespace ``deal_people``).

HTMX posts get the section re-rendered (200, or 422 with the errors next to the fields and the
focus on the first one); a success also sends ``HX-Trigger: deal-changed``, on which the
process map (criteria, control banner, risk signals) re-fetches itself. A plain form gets a
message and a redirect back to the section, so the page works without JavaScript. A deal the
user may not see is a 404 whatever was posted.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from milepost.accounts.selectors import contact_list
from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.forms import first_error
from milepost.core.htmx import is_partial
from milepost.deals.accounts.forms import (
    ActivityEditForm,
    ActivityForm,
    RoleAddForm,
    RoleCreateForm,
    RoleEditForm,
)
from milepost.pipeline.engagement import (
    activity_delete,
    activity_update,
    opportunity_contact_create,
    opportunity_contact_update,
)
from milepost.pipeline.models import Opportunity
from milepost.pipeline.selectors import (
    activity_get,
    opportunity_activities,
    opportunity_contacts,
    opportunity_get,
)
from milepost.pipeline.services import (
    activity_log,
    opportunity_contact_add,
    opportunity_contact_remove,
)
from milepost.team.models import User

# The event the deal page listens to: anything that changes what the criteria, the control
# banner or the signals depend on sends it (deal-field edits send the same).
DEAL_CHANGED = "deal-changed"
# Sent with it when the account gained a contact, so the activity form offers them too.
CONTACTS_CHANGED = "contacts-changed"
CONFLICT = gettext_lazy(
    "Someone changed this {what} since you opened it, so nothing was saved. "
    "Reload the page and try again."
)


def _posted_version(request: HttpRequest) -> int | None:
    """The ``version`` a delete form posted (None when missing or not a number)."""
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


def _deal_or_404(user: User, opportunity_id: int) -> Opportunity:
    try:
        return opportunity_get(user=user, opportunity_id=opportunity_id)
    except NotFound:
        raise Http404("No such opportunity") from None


def _account_contacts(user: User, opp: Opportunity) -> list[Any]:
    if opp.account_id is None:
        return []
    return list(contact_list(user=user, account_id=opp.account_id))


def contacts_context(
    user: User,
    opp: Opportunity,
    *,
    add: RoleAddForm | None = None,
    create: RoleCreateForm | None = None,
    open_form: str = "",
    flash: str = "",
    error: str = "",
    focus_add: bool = False,
    people: list[Any] | None = None,
    roles: list[Any] | None = None,
) -> dict[str, Any]:
    """What the contacts section shows.

    ``focus_add`` (the page asked with ``?add=contact``) puts the focus in the add form;
    ``people`` (the account's contacts) and ``roles`` may be passed when already loaded.
    """
    people = _account_contacts(user, opp) if people is None else people
    roles = list(opportunity_contacts(opportunity=opp)) if roles is None else roles
    add = add or RoleAddForm(contacts=people)
    create = create or RoleCreateForm()
    if focus_add:
        (add if people else create).focus()
    return {
        "opp": opp,
        "roles": [
            (
                link,
                RoleEditForm(
                    initial={
                        "buying_role": link.buying_role,
                        "notes": link.notes,
                        "version": link.version,
                    },
                    prefix=f"role{link.pk}",
                ),
            )
            for link in roles
        ],
        "add_form": add,
        "create_form": create,
        "has_contacts": bool(people),
        "open_form": open_form,
        "flash": flash,
        "error": error,
    }


def activities_context(
    user: User,
    opp: Opportunity,
    *,
    form: ActivityForm | None = None,
    flash: str = "",
    error: str = "",
    people: list[Any] | None = None,
    activities: list[Any] | None = None,
) -> dict[str, Any]:
    """What the activity section shows; ``people`` and ``activities`` as for the contacts."""
    people = _account_contacts(user, opp) if people is None else people
    if activities is None:
        activities = list(opportunity_activities(opportunity=opp))
    return {
        "opp": opp,
        "activities": activities,
        "activity_form": form or ActivityForm(contacts=people),
        "flash": flash,
        "error": error,
    }


def page_context(
    user: User, opp: Opportunity, *, roles: list[Any], activities: list[Any], focus_add: bool
) -> dict[str, Any]:
    """Both sections for the opportunity page, from the roles and activities it has loaded
    (one more query: the account's contacts)."""
    people = _account_contacts(user, opp)
    return {
        **contacts_context(user, opp, focus_add=focus_add, people=people, roles=roles),
        **activities_context(user, opp, people=people, activities=activities),
    }


def _detail(opp_id: int, anchor: str) -> str:
    return f"{reverse('pipeline:detail', args=[opp_id])}#{anchor}"


def _answer(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    ok: bool,
    anchor: str,
    message: str,
    events: tuple[str, ...] = (),
    status: int = 422,
) -> HttpResponse:
    """The section (HTMX) or a redirect with a message (plain form); ``status`` is a refusal's."""
    if not is_partial(request):
        (messages.success if ok else messages.error)(request, message)
        return HttpResponseRedirect(_detail(context["opp"].pk, anchor))
    response = render(request, template, context, status=200 if ok else status)
    if ok:
        response["HX-Trigger"] = ", ".join((DEAL_CHANGED, *events))
    return response


CONTACTS = "accounts/partials/deal_contacts.html"
ACTIVITIES = "accounts/partials/deal_activities.html"


@login_required
@require_GET
def contacts_section(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """The contacts section alone (HTMX reload); a plain request goes to the deal page."""
    opp = _deal_or_404(request.user, opportunity_id)
    if not is_partial(request):
        return HttpResponseRedirect(_detail(opp.pk, "contacts"))
    return render(request, CONTACTS, contacts_context(request.user, opp))


@login_required
@require_POST
def role_add(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """An existing contact of the account, in a buying role."""
    user = request.user
    opp = _deal_or_404(user, opportunity_id)
    form = RoleAddForm(request.POST, contacts=_account_contacts(user, opp))
    if form.is_valid():
        data = form.validated.model_dump()  # type: ignore[union-attr]
        try:
            link = opportunity_contact_add(user=user, opportunity_id=opp.pk, **data)
        except InvalidChange as exc:
            form.add_service_error(exc)
        else:
            text = f"{link.contact} added as {link.get_buying_role_display()}."
            context = contacts_context(user, opp, flash=text)
            return _answer(request, CONTACTS, context, ok=True, anchor="contacts", message=text)
    form.focus_first_error()
    context = contacts_context(user, opp, add=form, open_form="existing")
    return _answer(
        request, CONTACTS, context, ok=False, anchor="contacts", message=first_error(form)[1]
    )


@login_required
@require_POST
def role_create(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """A new contact of the account, given a buying role in the same step."""
    user = request.user
    opp = _deal_or_404(user, opportunity_id)
    form = RoleCreateForm(request.POST)
    if form.is_valid():
        data = form.validated.model_dump()  # type: ignore[union-attr]
        try:
            link = opportunity_contact_create(user=user, opportunity_id=opp.pk, **data)
        except InvalidChange as exc:
            form.add_service_error(exc)
        else:
            text = f"{link.contact} added as {link.get_buying_role_display()}."
            context = contacts_context(user, opp, flash=text)
            return _answer(
                request,
                CONTACTS,
                context,
                ok=True,
                anchor="contacts",
                message=text,
                events=(CONTACTS_CHANGED,),
            )
    form.focus_first_error()
    context = contacts_context(user, opp, create=form, open_form="new")
    return _answer(
        request, CONTACTS, context, ok=False, anchor="contacts", message=first_error(form)[1]
    )


@login_required
@require_POST
def role_edit(request: HttpRequest, opportunity_id: int, link_id: int) -> HttpResponse:
    """Change one contact's role (or notes) on the deal."""
    user = request.user
    opp = _deal_or_404(user, opportunity_id)
    form = RoleEditForm(request.POST, prefix=f"role{link_id}")
    error = ""
    if form.is_valid():
        data = form.validated.model_dump()  # type: ignore[union-attr]
        version = data.pop("version")
        try:
            link = opportunity_contact_update(
                user=user, opportunity_id=opp.pk, link_id=link_id, expected_version=version, **data
            )
        except NotFound:
            raise Http404("No such contact role") from None
        except VersionConflict:
            error = str(CONFLICT.format(what=gettext("contact role")))
            context = contacts_context(user, opp, error=error)
            return _answer(
                request, CONTACTS, context, ok=False, anchor="contacts", message=error, status=409
            )
        except InvalidChange as exc:
            error = gettext("Nothing was changed: %(why)s.") % {"why": exc}
        else:
            text = f"{link.contact} is now {link.get_buying_role_display()}."
            context = contacts_context(user, opp, flash=text)
            return _answer(request, CONTACTS, context, ok=True, anchor="contacts", message=text)
    else:
        error = gettext("Nothing was changed: %(why)s") % {"why": first_error(form)[1]}
    context = contacts_context(user, opp, error=error)
    return _answer(request, CONTACTS, context, ok=False, anchor="contacts", message=error)


@login_required
@require_POST
def role_remove(request: HttpRequest, opportunity_id: int, link_id: int) -> HttpResponse:
    """Remove one contact-role row (the contact stays on the account)."""
    user = request.user
    opp = _deal_or_404(user, opportunity_id)
    try:
        opportunity_contact_remove(
            user=user,
            opportunity_id=opp.pk,
            link_id=link_id,
            expected_version=_posted_version(request),
        )
    except NotFound:
        raise Http404("No such contact role") from None
    except VersionConflict:
        error = str(CONFLICT.format(what=gettext("contact role")))
        context = contacts_context(user, opp, error=error)
        return _answer(
            request, CONTACTS, context, ok=False, anchor="contacts", message=error, status=409
        )
    except InvalidChange as exc:
        error = gettext("Nothing was changed: %(why)s.") % {"why": exc}
        context = contacts_context(user, opp, error=error)
        return _answer(request, CONTACTS, context, ok=False, anchor="contacts", message=error)
    text = gettext("Role removed.")
    context = contacts_context(user, opp, flash=text)
    return _answer(request, CONTACTS, context, ok=True, anchor="contacts", message=text)


@login_required
@require_GET
def activities_section(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """The activity section alone (HTMX reload); a plain request goes to the deal page."""
    opp = _deal_or_404(request.user, opportunity_id)
    if not is_partial(request):
        return HttpResponseRedirect(_detail(opp.pk, "activity"))
    return render(request, ACTIVITIES, activities_context(request.user, opp))


@login_required
@require_POST
def activity_add(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Log a call, meeting, e-mail, demo ... with the contacts who took part, in one step."""
    user = request.user
    opp = _deal_or_404(user, opportunity_id)
    people = _account_contacts(user, opp)
    form = ActivityForm(request.POST, contacts=people)
    if form.is_valid():
        data = form.validated.model_dump()  # type: ignore[union-attr]
        try:
            activity = activity_log(user=user, opportunity_id=opp.pk, **data)
        except InvalidChange as exc:
            form.add_service_error(exc)
        else:
            text = f"{activity.get_type_display()} logged."
            context = activities_context(user, opp, flash=text)
            return _answer(request, ACTIVITIES, context, ok=True, anchor="activity", message=text)
    form.focus_first_error()
    context = activities_context(user, opp, form=form)
    return _answer(
        request, ACTIVITIES, context, ok=False, anchor="activity", message=first_error(form)[1]
    )


@login_required
@require_http_methods(["GET", "POST"])
def activity_edit(request: HttpRequest, opportunity_id: int, activity_id: int) -> HttpResponse:
    """Edit one of your own activities (a page of its own; others' activities are a 404)."""
    user = request.user
    opp = _deal_or_404(user, opportunity_id)
    try:
        activity = activity_get(user=user, opportunity_id=opp.pk, activity_id=activity_id)
    except NotFound:
        raise Http404("No such activity") from None
    if activity.owner_id != user.pk:
        raise Http404("No such activity")
    people = _account_contacts(user, opp)
    if request.method == "POST":
        form = ActivityEditForm(request.POST, contacts=people)
        status = 422
        if form.is_valid():
            data = form.validated.model_dump()  # type: ignore[union-attr]
            version = data.pop("version")
            try:
                activity_update(
                    user=user,
                    opportunity_id=opp.pk,
                    activity_id=activity.pk,
                    expected_version=version,
                    **data,
                )
            except VersionConflict:
                form.add_error(None, CONFLICT.format(what=gettext("activity")))
                status = 409
            except InvalidChange as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, gettext("Activity saved."))
                return HttpResponseRedirect(_detail(opp.pk, "activity"))
        form.focus_first_error()
    else:
        form = ActivityEditForm(
            initial={
                "type": activity.type,
                "occurred_at": activity.occurred_at,
                "subject": activity.subject,
                "outcome": activity.outcome,
                "contact_ids": [c.pk for c in activity.contacts.all()],
                "version": activity.version,
            },
            contacts=people,
        )
        status = 200
    return render(
        request,
        "accounts/activity_edit.html",
        {"nav": "table", "opp": opp, "activity": activity, "form": form},
        status=status,
    )


@login_required
@require_POST
def activity_remove(request: HttpRequest, opportunity_id: int, activity_id: int) -> HttpResponse:
    """Delete one of your own activities."""
    user = request.user
    opp = _deal_or_404(user, opportunity_id)
    try:
        activity_delete(
            user=user,
            opportunity_id=opp.pk,
            activity_id=activity_id,
            expected_version=_posted_version(request),
        )
    except NotFound:
        raise Http404("No such activity") from None
    except VersionConflict:
        error = str(CONFLICT.format(what=gettext("activity")))
        context = activities_context(user, opp, error=error)
        return _answer(
            request, ACTIVITIES, context, ok=False, anchor="activity", message=error, status=409
        )
    except InvalidChange as exc:
        error = gettext("Nothing was changed: %(why)s.") % {"why": exc}
        context = activities_context(user, opp, error=error)
        return _answer(request, ACTIVITIES, context, ok=False, anchor="activity", message=error)
    text = gettext("Activity deleted.")
    context = activities_context(user, opp, flash=text)
    return _answer(request, ACTIVITIES, context, ok=True, anchor="activity", message=text)
