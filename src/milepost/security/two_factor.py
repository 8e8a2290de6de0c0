"""Optional TOTP two-factor with django-otp: enrol, confirm, remove, and check a code.

A user has at most one authenticator. Enrolling creates an unconfirmed device whose secret is
shown once (with a QR code); it counts only after a code from it is confirmed, so a mistyped
scan cannot lock anyone out. Codes go through django-otp's throttling (each failure doubles the
wait before the next try).
"""

from __future__ import annotations

import base64
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from milepost.security.models import EventKind
from milepost.security.services import security_event_record

DEVICE_NAME = "authenticator"


def confirmed_device(user: Any) -> TOTPDevice | None:
    """The user's confirmed authenticator, if they enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@transaction.atomic
def enrolment_device(*, user: Any) -> TOTPDevice:
    """The unconfirmed device being enrolled (created on first visit, kept until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def secret_of(device: TOTPDevice) -> str:
    """The base32 secret an authenticator app accepts when typed in by hand."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def code_accepted(device: TOTPDevice, code: str) -> tuple[bool, str]:
    """Whether ``code`` is valid now, honouring the throttle; the reason when it is not."""
    allowed, _info = device.verify_is_allowed()
    if not allowed:
        return False, "too many wrong codes: wait a little and try again"
    if device.verify_token(code):
        return True, ""
    return False, "that code is not valid (check the time on your phone)"


@transaction.atomic
def otp_confirm(*, user: Any, code: str, request: HttpRequest) -> tuple[TOTPDevice | None, str]:
    """Confirm enrolment with a code from the new device. Returns (device, "") or (None, why)."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        return None, "start enrolment again"
    ok, why = code_accepted(device, code)
    if not ok:
        security_event_record(
            kind=EventKind.OTP_FAILED, user=user, request=request, detail="enrolment"
        )
        return None, why
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    security_event_record(kind=EventKind.OTP_ENROLLED, user=user, request=request)
    return device, ""


@transaction.atomic
def otp_remove(*, user: Any, code: str, request: HttpRequest) -> str:
    """Remove the authenticator; needs a current code from it. Returns "" or why not."""
    device = confirmed_device(user)
    if device is None:
        return "no authenticator is enrolled"
    ok, why = code_accepted(device, code)
    if not ok:
        security_event_record(
            kind=EventKind.OTP_FAILED, user=user, request=request, detail="removal"
        )
        return why
    TOTPDevice.objects.filter(user=user).delete()
    security_event_record(kind=EventKind.OTP_REMOVED, user=user, request=request)
    return ""


@transaction.atomic
def two_factor_reset(*, user: Any, request: HttpRequest, by: Any) -> bool:
    """An admin removes a user's authenticator (a lost phone). Returns whether there was one."""
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    if removed:
        security_event_record(
            kind=EventKind.OTP_REMOVED,
            user=user,
            request=request,
            detail=f"by {by.get_username()} (admin)",
        )
    return bool(removed)
