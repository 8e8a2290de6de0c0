"""The two-factor page: enrol an authenticator (secret + QR, confirm with a code) or remove it."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from milepost.security.forms import OtpCodeForm
from milepost.security.two_factor import (
    confirmed_device,
    enrolment_device,
    otp_confirm,
    otp_remove,
    secret_of,
)


@sensitive_post_parameters("code")
@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = OtpCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if form.is_valid() and action == "confirm":
            device, why = otp_confirm(user=user, code=form.cleaned_data["code"], request=request)
            if device is not None:
                otp_login(request, device)
                messages.success(request, gettext("Two-factor sign-in is on."))
                return redirect("security:two_factor")
            form.add_error("code", why)
        elif form.is_valid() and action == "remove":
            why = otp_remove(user=user, code=form.cleaned_data["code"], request=request)
            if not why:
                messages.success(request, gettext("Two-factor sign-in is off."))
                return redirect("security:two_factor")
            form.add_error("code", why)
        elif form.is_valid():
            form.add_error(None, "unknown action")
        status = 400
    enrolled = confirmed_device(user)
    context = {"form": form, "enrolled": enrolled, "nav": "two_factor"}
    if enrolled is None:
        device = enrolment_device(user=user)
        context["secret"] = secret_of(device)
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(
            scale=4, title="QR code of your authenticator secret"
        )
    return render(request, "security/two_factor.html", context, status=status)
