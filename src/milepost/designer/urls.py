"""The designer's pages, mounted under ``/process/`` in the ``process`` URL namespace.

The designer was part of the process app, so its URL names are ``process:designer``,
``process:draft``... :mod:`milepost.urls` puts these patterns in front of the process pages'
in one ``process`` namespace (``designer/`` would otherwise be read as a process key); this
module therefore has no ``app_name`` of its own.
"""

from django.urls import path

from milepost.designer import views

draft = "drafts/<int:draft_id>/"
stage = draft + "stages/<int:stage>/"
criterion = stage + "criteria/<int:criterion>/"
urlpatterns = [
    path("designer/", views.designer_home, name="designer"),
    path("designer/new/", views.draft_new_process, name="draft_new_process"),
    path("designer/from-suggestion/", views.draft_from_suggestion, name="draft_from_suggestion"),
    path(draft, views.draft_view, name="draft"),
    path(draft + "settings/", views.draft_settings, name="draft_settings"),
    path(draft + "stages/add/", views.draft_stage_add, name="draft_stage_add"),
    path(stage, views.draft_stage, name="draft_stage"),
    path(stage + "move/", views.draft_stage_move, name="draft_stage_move"),
    path(stage + "delete/", views.draft_stage_delete, name="draft_stage_delete"),
    path(stage + "criteria/add/", views.draft_criterion_add, name="draft_criterion_add"),
    path(criterion, views.draft_criterion_edit, name="draft_criterion"),
    path(criterion + "move/", views.draft_criterion_move, name="draft_criterion_move"),
    path(criterion + "delete/", views.draft_criterion_delete, name="draft_criterion_delete"),
    path(draft + "yaml/", views.draft_yaml, name="draft_yaml"),
    path(draft + "publish/", views.draft_publish_view, name="draft_publish"),
    path(
        draft + "publish/jobs/<uuid:job_id>/",
        views.draft_publish_job,
        name="draft_publish_job",
    ),
    path(draft + "rebase/", views.draft_rebase_view, name="draft_rebase"),
    path(draft + "discard/", views.draft_discard_view, name="draft_discard"),
    path("<slug:key>/drafts/new/", views.draft_new, name="draft_new"),
]
