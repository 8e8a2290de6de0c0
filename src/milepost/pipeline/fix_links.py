"""Where on the deal page each inspection signal is fixed, so a signal can link straight there.

"No next step" on the inspection page or in a 1:1 agenda is only useful if the person can fix
it in one step: each signal links to the deal page with the inline editor of the field that
clears it open and focused (``?edit=next_step#next-step``), or to the section where it is
fixed (contacts and buying roles, activities, the process map's exit criteria). The URL name
is the deal page's; the pages themselves live in :mod:`milepost.deals`.
"""

from __future__ import annotations

from django.urls import reverse

SIGNAL_FIXES: dict[str, tuple[str, str]] = {
    # signal: (query and anchor on the deal page, what the link says)
    "no_next_step": ("?edit=next_step#next-step", "Add a next step"),
    "close_date_past": ("?edit=close_date#close-date", "Update the close date"),
    "close_date_pushed": ("?edit=close_date#close-date", "Review the close date"),
    "amount_changed": ("?edit=amount#amount", "Review the amount"),
    "no_economic_buyer": ("#contacts", "Add the economic buyer"),
    "single_threaded": ("#contacts", "Add contacts"),
    "criteria_unmet": ("#process-map", "Record the evidence"),
    "stage_skipped": ("#process-map", "Record the evidence"),
    "went_backwards": ("#process-map", "See the exit criteria"),
    "stalled_in_stage": ("#move-title", "Move or plan the next stage"),
    "no_recent_activity": ("#activities", "See the activities"),
}


def signal_fix_url(opportunity_id: int, signal: str) -> str:
    """The deal page, opened where ``signal`` is fixed (the page's top for an unknown one)."""
    suffix = SIGNAL_FIXES.get(signal, ("", ""))[0]
    return reverse("pipeline:detail", args=[opportunity_id]) + suffix


def signal_fix_label(signal: str) -> str:
    return SIGNAL_FIXES.get(signal, ("", "Open the deal"))[1]
