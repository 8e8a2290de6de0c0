"""The one check for "answer this request with a fragment, not the whole page"."""

from __future__ import annotations

from django.http import HttpRequest


def is_partial(request: HttpRequest) -> bool:
    """True for an HTMX request that swaps part of a page.

    A boosted request (a normal link followed by HTMX) and a history-restore request (the
    browser's back button when HTMX's cache missed) both replace the whole page, so they get
    the full page: answering them with a fragment would leave the user on a page without its
    layout.
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted
