"""Django admin for coaching: deliberately almost empty.

Sales-ops admins are staff and see every deal, but the coaching privacy rule says they do not
see 1:1 notes, action items or ratings by role alone (see
:mod:`milepost.coaching.sessions.selectors`). The admin site checks model permissions, not the
reporting line, so sessions, agenda items, action items, cadences and ratings are not
registered here. The competency model is edited
through its own page (validated YAML, optimistic lock); the admin only shows which version is
stored, read-only, to help support.
"""

from django.contrib import admin

from milepost.coaching.models import CompetencyModel
from milepost.core.admin import ReadOnlyAdmin


@admin.register(CompetencyModel)
class CompetencyModelAdmin(ReadOnlyAdmin):
    list_display = ("key", "version", "updated_at", "updated_by")
    fields = ("key", "version", "checksum", "updated_at", "updated_by")
