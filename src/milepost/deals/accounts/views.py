"""Account pages, mounted under ``/accounts/`` (namespace ``accounts``): the list, an account
with its deals, contacts and recent activity, creating and editing accounts and contacts,
logging an activity from the account, and archiving (admins).

Only accounts the user may see (:func:`milepost.accounts.selectors.account_scope`, the one
visibility rule) are listed or opened; any other id is a 404, whatever the method. Forms are
plain POST + redirect; an invalid form is shown again (422) with the errors next to the fields
and the focus on the first one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from milepost.accounts.models import Account, Contact
from milepost.accounts.selectors import account_get, account_list, contact_get, contact_list
from milepost.accounts.services import (
    account_archive,
    account_create,
    account_update,
    contact_create,
    contact_update,
)
from milepost.core.errors import InvalidChange, NotFound, VersionConflict
from milepost.core.htmx import is_partial
from milepost.deals.accounts.forms import (
    AccountActivityForm,
    AccountEditForm,
    AccountForm,
    ArchiveForm,
    ContactEditForm,
    ContactForm,
)
from milepost.deals.views import _safe_next
from milepost.inspection.pipeline import control_by_deal
from milepost.pipeline.presentation import format_money
from milepost.pipeline.selectors import OpportunityFilters, account_activities, opportunity_list
from milepost.pipeline.services import activity_log
from milepost.team.models import Role, User
from milepost.team.selectors import user_list

PAGE_SIZE = 50
CONFLICT = gettext_lazy(
    "Someone changed this {what} since you opened it, so nothing was saved. "
    "Reload the page and try again."
)


def _account_or_404(user: User, account_id: int) -> Account:
    try:
        return account_get(user=user, account_id=account_id)
    except NotFound:
        raise Http404("No such account") from None


def _contact_or_404(user: User, account: Account, contact_id: int) -> Contact:
    try:
        contact = contact_get(user=user, contact_id=contact_id)
    except NotFound:
        raise Http404("No such contact") from None
    if contact.account_id != account.pk:
        raise Http404("No such contact")
    return contact


def _account_choices(user: User) -> dict[str, Any]:
    return {
        "owners": user_list(user=user),
        "parents": account_list(user=user, include_archived=False).only("id", "name"),
    }


@login_required
@require_GET
def account_index(request: HttpRequest) -> HttpResponse:
    """Accounts the user may see, searchable by name, 50 a page; archived ones on request."""
    search = request.GET.get("q", "").strip()[:200]
    archived = request.GET.get("archived") == "1"
    qs = account_list(
        user=request.user, search=search or None, include_archived=archived
    ).select_related("owner")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "nav": "accounts",
        "page": page,
        "search": search,
        "archived": archived,
        "query": query.urlencode(),
    }
    if is_partial(request):
        return render(request, "accounts/partials/account_results.html", context)
    return render(request, "accounts/list.html", context)


def _deal_rows(user: User, account: Account) -> list[dict[str, Any]]:
    deals = list(
        opportunity_list(
            user=user, filters=OpportunityFilters(status="all", account_id=account.pk)
        ).order_by("-close_date", "id")[:100]
    )
    controls = control_by_deal(user=user, opportunity_ids=[d.pk for d in deals])
    return [
        {"opp": d, "amount": format_money(d.amount, d.currency), "control": controls.get(d.pk)}
        for d in deals
    ]


def _detail_context(
    request: HttpRequest, account: Account, *, activity_form: AccountActivityForm | None = None
) -> dict[str, Any]:
    user = request.user
    deals = _deal_rows(user, account)
    contacts = list(contact_list(user=user, account_id=account.pk))
    open_deals = [row["opp"] for row in deals if row["opp"].stage.kind == "open"]
    return {
        "nav": "accounts",
        "account": account,
        "deals": deals,
        "contacts": contacts,
        "activities": account_activities(user=user, account_id=account.pk),
        "activity_form": activity_form
        or AccountActivityForm(deals=open_deals or [r["opp"] for r in deals], contacts=contacts),
        "contact_form": ContactForm(),
        "is_admin": user.role == Role.ADMIN,
    }


@login_required
@require_GET
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account_or_404(request.user, account_id)
    return render(request, "accounts/detail.html", _detail_context(request, account))


def _detail_url(account_id: int, anchor: str = "") -> str:
    url = reverse("accounts:detail", args=[account_id])
    return f"{url}#{anchor}" if anchor else url


@login_required
@require_http_methods(["GET", "POST"])
def account_new(request: HttpRequest) -> HttpResponse:
    """Add an account; the user owns it unless they choose someone they may see."""
    choices = _account_choices(request.user)
    form = AccountForm(request.POST if request.method == "POST" else None, **choices)
    if request.method == "POST":
        if form.is_valid():
            try:
                account = account_create(
                    user=request.user,
                    **form.validated.model_dump(),  # type: ignore[union-attr]
                )
            except InvalidChange as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request, gettext("Account “%(name)s” created.") % {"name": account.name}
                )
                return HttpResponseRedirect(_detail_url(account.pk))
        form.focus_first_error()
    else:
        form.focus()
    status = 422 if form.errors else 200
    return render(
        request,
        "accounts/account_form.html",
        {"nav": "accounts", "form": form, "account": None},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account_or_404(request.user, account_id)
    choices = _account_choices(request.user)
    choices["parents"] = choices["parents"].exclude(pk=account.pk)
    if request.method == "POST":
        form = AccountEditForm(request.POST, **choices)
        if form.is_valid():
            data = form.validated.model_dump()  # type: ignore[union-attr]
            version = data.pop("version")
            try:
                account_update(
                    user=request.user, account_id=account.pk, expected_version=version, **data
                )
            except VersionConflict:
                form.add_error(None, CONFLICT.format(what="account"))
            except InvalidChange as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, gettext("Account saved."))
                return HttpResponseRedirect(_detail_url(account.pk))
        form.focus_first_error()
    else:
        form = AccountEditForm(
            initial={
                "name": account.name,
                "sector": account.sector,
                "headquarters": account.headquarters,
                "year_established": account.year_established,
                "employees": account.employees,
                "annual_revenue_musd": account.annual_revenue_musd,
                "owner_id": account.owner_id,
                "parent_id": account.parent_id,
                "version": account.version,
            },
            **choices,
        )
    status = 422 if form.errors else 200
    return render(
        request,
        "accounts/account_form.html",
        {"nav": "accounts", "form": form, "account": account},
        status=status,
    )


@login_required
@require_POST
def account_archive_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Archive or restore (admins); others may not, and learn nothing about hidden accounts."""
    account = _account_or_404(request.user, account_id)
    form = ArchiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Nothing was changed: the form was incomplete."))
        return HttpResponseRedirect(_detail_url(account.pk))
    archived = form.cleaned_data["archived"]
    try:
        account_archive(
            user=request.user,
            account_id=account.pk,
            expected_version=form.cleaned_data["version"],
            archived=archived,
        )
    except VersionConflict:
        messages.error(request, CONFLICT.format(what="account"))
        return HttpResponseRedirect(_detail_url(account.pk))
    except InvalidChange as exc:
        return HttpResponse(f"Nothing was changed: {exc}.", status=403, content_type="text/plain")
    messages.success(
        request, gettext("Account archived.") if archived else gettext("Account restored.")
    )
    return HttpResponseRedirect(_detail_url(account.pk))


@login_required
@require_http_methods(["GET", "POST"])
def contact_new(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account_or_404(request.user, account_id)
    form = ContactForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                contact = contact_create(
                    user=request.user,
                    account_id=account.pk,
                    **form.validated.model_dump(),  # type: ignore[union-attr]
                )
            except InvalidChange as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, gettext("%(name)s added.") % {"name": contact.full_name})
                return HttpResponseRedirect(_detail_url(account.pk, "contacts"))
        form.focus_first_error()
    else:
        form.focus()
    status = 422 if form.errors else 200
    return render(
        request,
        "accounts/contact_form.html",
        {"nav": "accounts", "form": form, "account": account, "contact": None, "next": ""},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, account_id: int, contact_id: int) -> HttpResponse:
    account = _account_or_404(request.user, account_id)
    contact = _contact_or_404(request.user, account, contact_id)
    back = _safe_next(
        request,
        request.POST.get("next") or request.GET.get("next", ""),
        _detail_url(account.pk, "contacts"),
    )
    if request.method == "POST":
        form = ContactEditForm(request.POST)
        if form.is_valid():
            data = form.validated.model_dump()  # type: ignore[union-attr]
            version = data.pop("version")
            try:
                contact_update(
                    user=request.user, contact_id=contact.pk, expected_version=version, **data
                )
            except VersionConflict:
                form.add_error(None, CONFLICT.format(what="contact"))
            except InvalidChange as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, gettext("Contact saved."))
                return HttpResponseRedirect(back)
        form.focus_first_error()
    else:
        form = ContactEditForm(
            initial={
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "title": contact.title,
                "email": contact.email,
                "phone": contact.phone,
                "version": contact.version,
            }
        )
    status = 422 if form.errors else 200
    return render(
        request,
        "accounts/contact_form.html",
        {"nav": "accounts", "form": form, "account": account, "contact": contact, "next": back},
        status=status,
    )


@login_required
@require_POST
def account_activity_log(request: HttpRequest, account_id: int) -> HttpResponse:
    """Log an activity on one of the account's deals from the account page."""
    user = request.user
    account = _account_or_404(user, account_id)
    deals = opportunity_list(
        user=user, filters=OpportunityFilters(status="all", account_id=account.pk)
    )
    contacts = list(contact_list(user=user, account_id=account.pk))
    form = AccountActivityForm(request.POST, deals=deals, contacts=contacts)
    if form.is_valid():
        opp_id = form.cleaned_data["opportunity_id"]
        if not deals.filter(pk=opp_id).exists():
            form.add_error("opportunity_id", "choose one of this account's deals")
        else:
            try:
                activity = activity_log(
                    user=user,
                    opportunity_id=opp_id,
                    **form.validated.model_dump(),  # type: ignore[union-attr]
                )
            except InvalidChange as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request, gettext("%(type)s logged.") % {"type": activity.get_type_display()}
                )
                return HttpResponseRedirect(_detail_url(account.pk, "activity"))
    form.focus_first_error()
    context = _detail_context(request, account, activity_form=form)
    return render(request, "accounts/detail.html", context, status=422)
