"""No TOTP devices in the admin: django-otp registers them, and their page shows each user's
secret, which would let an admin generate anyone's codes. The security log has its own page."""

from django.contrib import admin
from django_otp.plugins.otp_totp.models import TOTPDevice

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
