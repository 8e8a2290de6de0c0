"""Where browsers report Content-Security-Policy violations: logged, never stored.

A violation on our own pages means a template broke the policy (an inline script or style that
slipped in) or someone is trying to inject one; either way an operator should see it in the log.
The endpoint is public (a browser may send the report without the session cookie), accepts both
report formats (``report-uri``'s ``application/csp-report`` and the Reporting API's
``application/reports+json``) and answers 204 whatever it gets.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

logger = logging.getLogger("milepost.csp")

# Fields worth a log line; anything else a browser adds is dropped, so a report cannot fill the
# log with whatever it likes.
_FIELDS = (
    "document-uri",
    "documentURL",
    "violated-directive",
    "effectiveDirective",
    "effective-directive",
    "blocked-uri",
    "blockedURL",
    "source-file",
    "sourceFile",
    "line-number",
    "lineNumber",
    "sample",
)


def _reports(body: bytes) -> list[dict]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    if isinstance(data, dict) and isinstance(data.get("csp-report"), dict):
        return [data["csp-report"]]
    if isinstance(data, list):  # Reporting API: a batch of {"type", "body": {...}}
        return [r["body"] for r in data if isinstance(r, dict) and isinstance(r.get("body"), dict)]
    return []


@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Log each violation in the report (at most 20 per request) and answer 204."""
    for report in _reports(request.body)[:20]:
        fields = {k: str(report[k])[:300] for k in _FIELDS if k in report}
        logger.warning("CSP violation: %s", json.dumps(fields, sort_keys=True))
    return HttpResponse(status=204)
