"""Pages for a stage's playbook and job aid (print-ready page and PDF download).

Readable by every signed-in user, like the process pages. Views only look up the stage and
render: Markdown rendering and sanitising is in :mod:`render`, the job aid in :mod:`job_aid`,
the PDF in :mod:`pdf`.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from milepost.playbooks.pdf import job_aid_pdf
from milepost.playbooks.render import render_markdown, without_title
from milepost.playbooks.selectors import StageGuide, stage_guide
from milepost.process.selectors import packs_stamp


def _guide(key: str, stage: str, number: int | None) -> StageGuide:
    guide = stage_guide(process_key=key, stage_key=stage, number=number)
    if guide is None:
        raise Http404("no such process version or stage")
    return guide


def stage_urls(key: str, stage: str, number: int | None) -> dict[str, str]:
    """Playbook, job aid and PDF addresses of a stage (versioned when ``number`` is given)."""
    suffix, args = ("_version", [key, number, stage]) if number else ("", [key, stage])
    return {
        name: reverse(f"playbooks:{name}{suffix}", args=args)
        for name in ("playbook", "job_aid", "job_aid_pdf")
    }


def _context(guide: StageGuide, number: int | None) -> dict[str, object]:
    key = guide.definition.key
    return {
        "guide": guide,
        "urls": stage_urls(key, guide.stage.key, number),
        "stage_nav": [
            (s, stage_urls(key, s.key, number)["playbook"]) for s in guide.definition.stages
        ],
        "version": guide.version,
        "process": guide.definition,
        "stage": guide.stage,
        "is_current": guide.version.is_current,
        "nav": "process",
    }


@login_required
@require_GET
def playbook_page(
    request: HttpRequest, key: str, stage: str, number: int | None = None
) -> HttpResponse:
    guide = _guide(key, stage, number)
    rendered = render_markdown(without_title(guide.stage.playbook))
    context = _context(guide, number) | {"playbook": rendered}
    return render(request, "playbooks/playbook.html", context)


@login_required
@require_GET
def job_aid_page(
    request: HttpRequest, key: str, stage: str, number: int | None = None
) -> HttpResponse:
    guide = _guide(key, stage, number)
    aid = guide.job_aid()
    context = _context(guide, number) | {"aid": aid, "notes": render_markdown(aid.notes)}
    return render(request, "playbooks/job_aid.html", context)


@login_required
@require_GET
def job_aid_pdf_download(
    request: HttpRequest, key: str, stage: str, number: int | None = None
) -> HttpResponse:
    guide = _guide(key, stage, number)
    # A version never changes once loaded (its checksum says so), nor does a pack without a new
    # checksum, and laying a job aid out on one page takes about a second of CPU: it is made
    # once per version, packs, stage and language.
    version = guide.version
    cache_key = (
        f"job-aid-pdf:{version.pk}:{version.checksum}:{packs_stamp()}:{guide.stage.key}:"
        f"{get_language()}"
    )
    body = cache.get(cache_key)
    if body is None:
        body = job_aid_pdf(guide.job_aid())
        cache.set(cache_key, body, timeout=None)
    name = f"job-aid-{guide.definition.key}-v{guide.version.number}-{guide.stage.key}.pdf"
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
