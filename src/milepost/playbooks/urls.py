"""Playbook, job aid and job-aid PDF of a stage, for the current or a given process version.

Mounted under ``process/`` next to the process pages (``/process/<key>/playbook/<stage>/``).
"""

from django.urls import path

from milepost.playbooks import views

app_name = "playbooks"

_PAGES = [
    ("playbook/<slug:stage>/", views.playbook_page, "playbook"),
    ("playbook/<slug:stage>/job-aid/", views.job_aid_page, "job_aid"),
    ("playbook/<slug:stage>/job-aid.pdf", views.job_aid_pdf_download, "job_aid_pdf"),
]

urlpatterns = [path(f"<slug:key>/{route}", view, name=name) for route, view, name in _PAGES] + [
    path(f"<slug:key>/v<int:number>/{route}", view, name=f"{name}_version")
    for route, view, name in _PAGES
]
