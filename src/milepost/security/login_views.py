"""Sign-in: password (throttled by django-axes), then the TOTP code for enrolled users.

The password step does not sign in a user who has an authenticator: it parks their id in the
session for a few minutes and asks for the code; only a valid code signs them in (and marks the
session verified for django-otp). The admin site's own login form is replaced by this one, so
there is no second password path that skips the code.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from milepost.security.forms import OtpCodeForm
from milepost.security.models import EventKind
from milepost.security.services import security_event_record
from milepost.security.sessions import PENDING_OTP_BACKEND, PENDING_OTP_NEXT, PENDING_OTP_USER
from milepost.security.two_factor import code_accepted, confirmed_device

PENDING_SECONDS = 300


class Login(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form) -> HttpResponse:  # type: ignore[no-untyped-def]
        user = form.get_user()
        if confirmed_device(user) is None:
            return super().form_valid(form)
        session = self.request.session
        session[PENDING_OTP_USER] = [user.pk, int(timezone.now().timestamp())]
        session[PENDING_OTP_BACKEND] = user.backend
        session[PENDING_OTP_NEXT] = self.get_success_url()
        return redirect("security:login_code")


def _pending_user(request: HttpRequest):  # type: ignore[no-untyped-def]
    pending = request.session.get(PENDING_OTP_USER)
    if not pending:
        return None
    user_id, since = pending
    if int(timezone.now().timestamp()) - int(since) > PENDING_SECONDS:
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of sign-in, for users with an authenticator."""
    user = _pending_user(request)
    device = confirmed_device(user) if user is not None else None
    if user is None or device is None:
        for key in (PENDING_OTP_USER, PENDING_OTP_BACKEND, PENDING_OTP_NEXT):
            request.session.pop(key, None)
        return redirect("login")
    form = OtpCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            ok, why = code_accepted(device, form.cleaned_data["code"])
            if ok:
                backend = request.session.pop(PENDING_OTP_BACKEND)
                target = request.session.pop(PENDING_OTP_NEXT, "")
                request.session.pop(PENDING_OTP_USER, None)
                login(request, user, backend)
                otp_login(request, device)
                if not url_has_allowed_host_and_scheme(
                    target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
                ):
                    target = reverse(settings.LOGIN_REDIRECT_URL)
                return redirect(target)
            security_event_record(
                kind=EventKind.OTP_FAILED, user=user, request=request, detail="sign-in"
            )
            form.add_error("code", why)
        status = 400
    return render(request, "security/login_code.html", {"form": form}, status=status)


def admin_login(request: HttpRequest) -> HttpResponse:
    """Stands in for the admin site's login form, which would skip the two-factor step."""
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect("admin:index")
        raise PermissionDenied("the admin site is for sales-ops admins")
    target = request.GET.get("next") or reverse("admin:index")
    return redirect(reverse("login") + "?" + urlencode({"next": target}))
